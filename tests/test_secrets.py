"""The password and the session ID never reach output, files or tracebacks (--debug included).

Besides these direct checks, every run of the suite is audited (``secrets_audit.py``): the
first test proves that audit fails a run that leaks, and names the leak without showing it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import helpers
import pytest
from conftest import PASSWORD, sent_ops
from impostor import PASSWORD as IMPOSTOR_PASSWORD
from impostor import SESSION as IMPOSTOR_SESSION
from impostor import Reply, envelope
from secrets_audit import AUDIT

from clicksms.bulk.journal import default_journal_path

TESTS = Path(__file__).resolve().parent
NUMBER = "27821234567"
WRONG = "wrong-Pa55word-for-tests"

LEAKY_TESTS = """
import json
import sys

import helpers
from conftest import PASSWORD


def test_prints_the_password(cli, creds):
    assert cli("balance").exit_code == 0
    print("connecting with", PASSWORD)


def test_writes_the_session_id_to_a_results_file(cli, creds, config_dir, tmp_path):
    assert cli("auth").exit_code == 0
    session = json.loads((config_dir / "session.json").read_text())["session_id"]
    (tmp_path / "results.csv").write_text(f"to,message_id\\n27821234567,{session}\\n")


def test_child_process_shows_the_password():
    code = f"import sys; sys.stderr.write({PASSWORD!r})"
    helpers.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_shows_a_password_the_way_a_server_echoes_it(cli, monkeypatch):
    monkeypatch.setenv("CLICKSMS_PASSWORD", "Gappy  pass&word")
    assert cli("--version").exit_code == 0
    print("the server said: bad password Gappy pass&amp;word")


def test_clean(cli, creds):
    assert cli("send", "27821234567", "-t", "hello").exit_code == 0
"""


def session_ids(sandbox) -> set[str]:
    """Every session ID the client sent to ``sandbox``."""
    return {r["fields"]["session_id"] for r in sandbox.requests if "session_id" in r["fields"]}


def assert_hidden(text: str, *secrets: str) -> None:
    assert secrets, "nothing to look for"
    for secret in secrets:
        assert secret not in text, f"{secret[:3]}… is shown"


# -- the audit itself ---------------------------------------------------------------------


def test_the_audit_fails_a_run_that_leaks_and_names_the_leak(tmp_path: Path) -> None:
    """A separate pytest run with the suite's conftest, four leaky tests and a clean one."""
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS)
    with tempfile.TemporaryDirectory() as basetemp:  # its leaked file must not land in ours
        proc = helpers.run(
            [
                *(sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider"),
                *("-x", "-q", f"--basetemp={basetemp}/t", f"--rootdir={tmp_path}"),
                "test_leaky.py",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(TESTS)},
        )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "5 passed" in out, "the tests themselves pass: only the audit fails the run"
    section = out[out.index("secrets audit") :]
    assert re.search(
        r"test_leaky.py::test_prints_the_password: captured stdout call shows a password: "
        r"…connecting with <password>…",
        section,
    ), section
    assert re.search(
        r"test_leaky.py::test_writes_the_session_id_to_a_results_file: "
        r"file test_writes_the_session_id_to_\d+/results.csv shows a session ID: "
        r"…to,message_id 27821234567,<session ID>…",
        section,
    ), section
    assert re.search(
        r"test_leaky.py::test_child_process_shows_the_password: "
        r"subprocess stderr shows a password: …<password>…",
        section,
    ), section
    assert re.search(
        r"test_leaky.py::test_shows_a_password_the_way_a_server_echoes_it: "
        r"captured stdout call shows a password: …the server said: bad password <password>…",
        section,
    ), section
    assert "test_clean" not in section
    assert "4 output(s) show a password or a session ID" in section
    assert PASSWORD not in out + proc.stderr, "the report must not show what it found"


def test_every_child_process_is_recorded() -> None:
    """Running clicksms (or Python) with subprocess directly would hide its output from the
    audit; a call that means to must say why in a comment mentioning the secrets audit."""
    direct = re.compile(r"\bsubprocess\.(run|Popen|call|check_call|check_output)\(")
    unrecorded = []
    for path in sorted([*TESTS.glob("test_*.py"), TESTS / "conftest.py"]):
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            if not direct.search(line):
                continue
            before, after = "\n".join(lines[max(0, index - 8) : index]), lines[index : index + 6]
            ours = any(word in before + "\n".join(after) for word in ("clicksms", "sys.executable"))
            if ours and "secrets audit" not in before:
                unrecorded.append(f"{path.name}:{index + 1}: {line.strip()}")
    assert unrecorded == [], "use helpers.run or helpers.Popen"


def test_the_audit_knows_every_session_the_sandbox_issued(cli, creds, clock, config_dir) -> None:
    """Even one that was stored, replaced and expired without ever being sent back."""
    assert cli("auth").exit_code == 0
    unused = json.loads((config_dir / "session.json").read_text())["session_id"]
    clock.advance(16 * 60)  # the gateway forgets it at the next login
    assert cli("auth").exit_code == 0
    assert cli("send", NUMBER, "-t", "x").exit_code == 0
    assert unused not in session_ids(creds)
    assert {unused, *session_ids(creds)} <= AUDIT.secrets.keys()
    assert {PASSWORD, "sandbox-secret"} <= AUDIT.secrets.keys()


# -- --debug runs that fail ---------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["auth"], ["send", NUMBER, "-t", "x"], ["balance"], ["coverage", NUMBER]]
)
def test_wrong_password_under_debug(cli, creds, monkeypatch, command: list[str]) -> None:
    monkeypatch.setenv("CLICKSMS_PASSWORD", WRONG)
    run = cli("--debug", *command)
    assert run.exit_code == 3, run.stderr
    assert "Traceback" in run.stderr
    assert_hidden(run.stdout + run.stderr, WRONG, PASSWORD)
    assert sent_ops(creds, "auth")[0]["password"] == WRONG, "the password really went out"


@pytest.mark.parametrize(
    "command", [["send", NUMBER, "-t", "x"], ["balance"], ["ping"], ["status", "a" * 32]]
)
def test_gateway_gone_under_debug(cli, creds, config_dir, command: list[str]) -> None:
    """A stored session, then the network fails: the session ID stays out of the traceback."""
    assert cli("auth").exit_code == 0
    stored = json.loads((config_dir / "session.json").read_text())["session_id"]
    creds.stop()
    run = cli("--debug", "--retries", "0", *command)
    assert run.exit_code == 5, run.stderr
    assert "Traceback" in run.stderr
    assert_hidden(run.stdout + run.stderr, PASSWORD, stored)


def test_nothing_listening_under_debug(cli, monkeypatch) -> None:
    helpers.point_at_closed_port(monkeypatch)
    run = cli("--debug", "send", NUMBER, "-t", "x")
    assert run.exit_code == 5, run.stderr
    assert "Traceback" in run.stderr
    assert_hidden(run.stdout + run.stderr, "closed-port-Pa55word")


@pytest.mark.parametrize(
    "kind", ["drop-after", "http-500", "http-503", "malformed-xml", "soap-fault", "err-901"]
)
@pytest.mark.parametrize("op", ["auth", "sendmsg"])
def test_faults_under_debug(cli, creds, kind: str, op: str) -> None:
    """Whatever breaks, and wherever: no password, and no session ID, not even a half-sent one."""
    if op == "sendmsg":
        assert cli("auth").exit_code == 0
    creds.faults.add(kind, ops={op})
    run = cli("--debug", "--retries", "0", "send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code != 0, run.stdout
    issued = [s for s, k in AUDIT.secrets.items() if k == "session ID"]
    assert_hidden(run.stdout + run.stderr, PASSWORD, *issued)
    if op == "auth" and kind in ("drop-after", "malformed-xml"):
        assert sent_ops(creds, "auth"), "the gateway processed the login and issued a session"


@pytest.mark.parametrize(
    "command", [["send", NUMBER, "-t", "x"], ["balance"], ["status", "a" * 32], ["ping"]]
)
def test_server_echoing_the_request_under_debug(cli, impostor, monkeypatch, command) -> None:
    """A careless error page quotes our request: session ID and all."""
    monkeypatch.setenv("CLICKSMS_RETRIES", "0")
    impostor.replies = [Reply(500, b"<html>you sent: ", "text/html", echo=True)] * 4
    run = cli("--debug", *command)
    assert run.exit_code == 5, run.stderr
    assert IMPOSTOR_SESSION.encode() in impostor.bodies[1], "the session ID really went out"
    assert_hidden(run.stdout + run.stderr, IMPOSTOR_SESSION, IMPOSTOR_PASSWORD)


# -- files --------------------------------------------------------------------------------


def assert_files_hold_none(paths: list[Path], secrets: set[str]) -> None:
    for path in paths:
        data = path.read_bytes()  # raw pages: free and overwritten ones too
        for secret in secrets:
            assert secret.encode() not in data, f"{path.name} holds {secret[:3]}…"


def test_bulk_journal_and_results_hold_no_secret(cli, creds, config_dir, tmp_path) -> None:
    """A bulk that logs in again (its session expires), is killed with its WAL on disk, and is
    resumed with --debug and --results: no byte of any of those files is a secret."""
    source = tmp_path / "in.csv"
    source.write_text("phone,name\n" + "".join(f"2782{n:07d},p{n}\n" for n in range(1, 61)))
    assert cli("auth").exit_code == 0
    creds.faults.add("expire-session", ops={"sendmsg"}, times=1)
    creds.config.latency = 0.02
    args = ["bulk", str(source), "-t", "Hi {name}", "--concurrency", "1", "--rate", "0"]
    proc = helpers.Popen([sys.executable, "-m", "clicksms", *args], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(creds.ledger) < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert 10 <= len(creds.ledger) < 60
    journal = default_journal_path(config_dir)
    wal = journal.with_name(journal.name + "-wal")
    assert wal.exists(), "killed mid-run, the journal's latest pages are still in its WAL"
    secrets = {PASSWORD, *session_ids(creds)}
    assert len(secrets) == 3, "two sessions: the run must really have logged in again"
    assert_files_hold_none([*journal.parent.glob(journal.name + "*")], secrets)
    creds.config.latency = 0
    job = json.loads(cli("jobs", "-o", "json").stdout)[0]["id"]
    results = tmp_path / "results.csv"
    resumed = cli("--debug", "bulk", "--resume", job, "--results", str(results))
    assert resumed.exit_code == 0, resumed.stderr
    assert_hidden(resumed.stdout + resumed.stderr, *secrets)
    assert len(results.read_text().splitlines()) == 61
    assert_files_hold_none([*journal.parent.glob(journal.name + "*"), results], secrets)


def soap_fault(text: str) -> Reply:
    return Reply(
        500,
        (
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
            "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>"
            f"<faultstring>{text}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
            "</SOAP-ENV:Envelope>"
        ).encode(),
    )


def test_a_fault_that_echoes_the_password_is_masked(cli, impostor) -> None:
    impostor.auth = soap_fault(f"Bad login for password {IMPOSTOR_PASSWORD}")
    run = cli("--debug", "balance")
    assert run.exit_code == 5, run.stderr
    assert "Bad login for password <password hidden>" in run.stderr
    assert_hidden(run.stdout + run.stderr, IMPOSTOR_SESSION, IMPOSTOR_PASSWORD)


@pytest.mark.parametrize("command", [["balance"], ["status", "a" * 32, "-o", "json"]])
def test_an_error_that_echoes_the_session_id_is_masked(cli, impostor, command) -> None:
    op = "getbalance" if command[0] == "balance" else "querymsg"
    echo = f"ERR: 999, Unexpected session {IMPOSTOR_SESSION} (bad state)"
    impostor.replies = [Reply(body=envelope(op, echo))]
    run = cli("--debug", *command)
    assert "<session id hidden>" in run.stdout + run.stderr
    assert_hidden(run.stdout + run.stderr, IMPOSTOR_SESSION, IMPOSTOR_PASSWORD)


# -- echoes in other shapes: clipped, collapsed, escaped, cut -------------------------------

#: Passwords with what servers mangle when they echo them: runs of spaces and a tab, and the
#: characters XML escapes.
GAPPED = "Pa55  word\twith-gaps"
ESCAPED = 'S3cret&PW<x>y"q'


def fault_echo(cli, impostor, monkeypatch, password: str, text: str) -> str:
    """Log in with ``password`` against a server whose fault says ``text`` (XML-escaped once,
    so that ``text`` is what any SOAP client reads); everything the run printed."""
    monkeypatch.setenv("CLICKSMS_PASSWORD", password)
    impostor.auth = soap_fault(xml_escape(text))
    run = cli("--debug", "--retries", "0", "balance")
    assert run.exit_code == 5, run.stderr
    assert "answered with a SOAP fault" in run.stderr
    return run.stdout + run.stderr


def test_a_password_straddling_the_clip_is_masked_whole(cli, impostor, monkeypatch) -> None:
    """Fault texts are cut at 100 characters: a password across the cut shows none of itself."""
    text = f"{'Login refused. ' * 6}password {IMPOSTOR_PASSWORD} is wrong"
    assert text.index(IMPOSTOR_PASSWORD) < 100 < text.index(IMPOSTOR_PASSWORD) + 19
    shown = fault_echo(cli, impostor, monkeypatch, IMPOSTOR_PASSWORD, text)
    assert "password <…" in shown, "masked, then clipped"
    assert IMPOSTOR_PASSWORD[:6] not in shown


@pytest.mark.parametrize(
    "echo",
    [GAPPED, " ".join(GAPPED.split()), GAPPED.replace("\t", " ")],
    ids=["as-sent", "collapsed", "tab-as-space"],
)
def test_a_password_with_gaps_is_masked_however_they_are_echoed(
    cli, impostor, monkeypatch, echo
) -> None:
    shown = fault_echo(cli, impostor, monkeypatch, GAPPED, f"bad password {echo} for user u")
    assert "bad password <password hidden> for user u" in shown
    assert "Pa55 word" not in " ".join(shown.split())


@pytest.mark.parametrize(
    "echo",
    [ESCAPED, xml_escape(ESCAPED), xml_escape(ESCAPED, {'"': "&quot;"})],
    ids=["as-sent", "escaped", "escaped-quotes"],
)
def test_a_password_with_xml_characters_is_masked_escaped_too(
    cli, impostor, monkeypatch, echo
) -> None:
    shown = fault_echo(cli, impostor, monkeypatch, ESCAPED, f"bad password {echo} for user u")
    assert "bad password <password hidden> for user u" in shown
    assert "S3cret" not in shown


def test_a_password_the_server_cut_short_is_masked(cli, impostor, monkeypatch) -> None:
    shown = fault_echo(cli, impostor, monkeypatch, ESCAPED, "bad password S3cret&amp;PW<x...")
    assert "bad password <password hidden>..." in shown
    assert "S3cret" not in shown


def test_an_err_answer_echoing_the_password_escaped_is_masked(cli, impostor, monkeypatch) -> None:
    """Not a fault: an ``ERR:`` string in ``<return>``, read by the fast path or by zeep."""
    monkeypatch.setenv("CLICKSMS_PASSWORD", ESCAPED)
    echo = xml_escape(xml_escape(ESCAPED))  # in the XML; what zeep reads is escaped once
    impostor.auth = Reply(body=envelope("auth", f"ERR: 999, Unknown login ({echo})"))
    run = cli("--debug", "balance")
    assert run.exit_code != 0, run.stderr
    assert "Unknown login (<password hidden>)" in run.stderr
    assert "<password hidden>" in run.stderr
    assert "S3cret" not in run.stdout + run.stderr
