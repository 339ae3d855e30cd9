"""Per-request credentials (--no-session, CLICKSMS_NO_SESSION=1) against the sandbox, over
both SOAP styles.

Every request carries api_id, user and password; auth is never called; no session file is
read, written or created, so the commands that keep no state work where the config dir is
unusable, and bulk, which needs its journal, says to pass --journal. A resumed job may switch
between a session and per-request credentials, never to another account or SOAP style. The
RPC/Encoded runs need the sandbox's RPC server (``Sandbox.rpc_endpoint``); until it has one
they skip, and tests/test_php_soapserver.py covers RPC against PHP's SoapServer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import helpers
import pytest
from conftest import PASSWORD, sent_ops
from impostor import PASSWORD as IMPOSTOR_PASSWORD
from impostor import Reply

from clicksms.bulk.journal import JobRow, Journal

NUMBER = "27821234567"
STYLES = ["document", "rpc"]
#: Commands that keep no state: they must run with no usable config dir at all.
STATELESS = [
    ["auth"],
    ["balance"],
    ["coverage", NUMBER],
    ["ping"],
    ["send", NUMBER, "-t", "hello"],
    ["send", NUMBER, "-t", "hello", "--dry-run"],
    ["status", "a" * 32],
    ["charge", "a" * 32],
    ["cancel", "a" * 32],
]


@pytest.fixture
def on(creds, monkeypatch):
    """Point the CLI at the sandbox's server of a SOAP style."""

    def point(style: str):
        if style == "rpc":
            monkeypatch.setenv("CLICKSMS_ENDPOINT", creds.rpc_endpoint)
        return creds

    return point


def requests(sandbox) -> list[dict]:
    return list(sandbox.requests)


def assert_per_request(sandbox) -> None:
    """Every request the sandbox got carried the account, none a session, none was auth."""
    seen = requests(sandbox)
    assert seen, "nothing was sent"
    for request in seen:
        assert request["op"] != "auth"
        fields = request["fields"]
        assert fields.get("password") == PASSWORD, request["op"]
        assert (str(fields.get("api_id")), fields.get("user")) == ("3512345", "sandbox")
        assert not fields.get("session_id"), request["op"]


@pytest.mark.parametrize("style", STYLES)
def test_every_command_without_a_session(cli, on, config_dir, monkeypatch, style) -> None:
    sandbox = on(style)
    monkeypatch.setenv("CLICKSMS_NO_SESSION", "1")
    auth = cli("auth", "-o", "json")
    assert auth.exit_code == 0, auth.stderr
    assert json.loads(auth.stdout)["file"] is None
    sent = cli("send", NUMBER, "-t", "hi €", "--client-id", "nosession1", "-o", "json")
    assert sent.exit_code == 0, sent.stderr
    message_id = json.loads(sent.stdout)[0]["message_id"]
    for command in (
        ["status", message_id],
        ["status", "--client-id", "nosession1"],
        ["charge", message_id],
        ["cancel", message_id],
        ["balance"],
        ["coverage", NUMBER],
        ["ping"],
        ["send", NUMBER, "-t", "x", "--dry-run"],
    ):
        run = cli(*command)
        assert run.exit_code in (0, 4), (command, run.stderr)  # 4: cancel may come too late
    assert "no session to keep alive" in cli("ping").stderr + cli("ping").stdout
    assert not config_dir.exists(), "no session file, nor its directory, was created"
    assert_per_request(sandbox)
    assert {"getbalance", "sendmsg", "querymsg", "getmsgcharge", "delmsg"} <= {
        r["op"] for r in requests(sandbox)
    }


@pytest.mark.parametrize("style", STYLES)
def test_bulk_and_jobs_without_a_session(cli, on, config_dir, tmp_path, style) -> None:
    sandbox = on(style)
    rows = ["phone,name", "27821234567,Ann", "27831234567,Bob", "27841234567,Cleo"]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
    run = cli("--no-session", "bulk", str(tmp_path / "people.csv"), "-t", "Hi {name}", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert [r["status"] for r in json.loads(run.stdout)] == ["accepted"] * 3
    jobs = json.loads(cli("--no-session", "jobs", "-o", "json").stdout)
    assert (jobs[0]["state"], jobs[0]["sent"]) == ("done", 3)
    assert not (config_dir / "session.json").exists()
    assert sorted(p.name for p in config_dir.iterdir() if "journal" not in p.name) == []
    assert_per_request(sandbox)
    assert sorted(r["text"] for r in sandbox.ledger) == ["Hi Ann", "Hi Bob", "Hi Cleo"]


def unusable(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the config dir unusable in one of the ways CI runners and cron hosts do."""
    monkeypatch.delenv("CLICKSMS_CONFIG_DIR")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    if case == "HOME is a file":
        (tmp_path / "home-file").write_text("")
        monkeypatch.setenv("HOME", str(tmp_path / "home-file"))
    elif case == "config dir is a file":
        (tmp_path / "config-file").write_text("")
        monkeypatch.setenv("CLICKSMS_CONFIG_DIR", str(tmp_path / "config-file"))
    elif case == "read-only":  # even root cannot create a directory in /proc
        monkeypatch.setenv("CLICKSMS_CONFIG_DIR", "/proc/clicksms-config")
    else:
        monkeypatch.delenv("HOME")


CASES = ["HOME is a file", "config dir is a file", "read-only", "HOME unset"]


@pytest.mark.parametrize("case", CASES)
def test_commands_that_keep_no_state_work_without_a_usable_config_dir(
    cli, creds, tmp_path, monkeypatch, case
) -> None:
    unusable(case, tmp_path, monkeypatch)
    before = set(Path.cwd().iterdir())
    for command in STATELESS:
        run = cli("--no-session", *command)
        assert run.exit_code in (0, 4), (command, run.stderr)  # 4: unknown message IDs
        assert "config dir" not in run.stderr, command
    assert set(Path.cwd().iterdir()) == before, "nothing was created in the working directory"
    assert_per_request(creds)
    if case != "HOME unset":  # the user database may give root a home: leave it alone
        # With a session the same command needs the config dir, and says so.
        assert cli("balance").exit_code != 0
        # bulk needs its journal: without a usable config dir it names --journal.
        (tmp_path / "numbers.csv").write_text(f"number\n{NUMBER}\n")
        run = cli("--no-session", "bulk", str(tmp_path / "numbers.csv"), "-t", "hi")
        assert run.exit_code != 0 and "pass --journal PATH" in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) <= 2  # the file line, then the error
    journal = tmp_path / "elsewhere" / "journal.sqlite3"
    (tmp_path / "numbers.csv").write_text(f"number\n{NUMBER}\n")
    run = cli("--no-session", "bulk", str(tmp_path / "numbers.csv"), "-t", "hi", "--journal",
              str(journal))  # fmt: skip
    assert run.exit_code == 0, run.stderr
    listed = cli("--no-session", "jobs", "--journal", str(journal), "-o", "json")
    assert json.loads(listed.stdout)[0]["sent"] == 1


def test_auth_status_and_logout_concern_a_session(cli, creds, config_dir) -> None:
    assert cli("auth").exit_code == 0
    stored = (config_dir / "session.json").read_bytes()
    for flag in ("--status", "--logout"):
        run = cli("--no-session", "auth", flag)
        assert run.exit_code == 2
        assert "--no-session never reads or writes" in run.stderr
    assert (config_dir / "session.json").read_bytes() == stored


def test_auth_with_a_wrong_password_stores_nothing(cli, creds, config_dir, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_PASSWORD", "not-the-Pa55word")
    run = cli("--no-session", "auth")
    assert run.exit_code == 3 and "(ERR 001)" in run.stderr
    assert not config_dir.exists()
    assert [r["op"] for r in requests(creds)] == ["getbalance"]


def new_job(journal: Path, sandbox, rows: int, style: str = "document") -> str:
    """A job left interrupted before anything was sent, as a Ctrl-C would leave it."""
    options = helpers.job_options(sandbox, soap_style=style)
    with Journal(journal) as opened:
        job = opened.create_job("made-up.csv", options)
        numbers = [f"2782{n:07d}" for n in range(3000000, 3000000 + rows)]
        opened.add_rows(job.id, [JobRow(i + 1, n, "x", "pending") for i, n in enumerate(numbers)])
        opened.set_state(job.id, "interrupted")
    return job.id


@pytest.mark.parametrize("first", ["session", "no-session"])
def test_a_resumed_job_may_switch_how_it_logs_in(cli, creds, config_dir, first) -> None:
    """Started one way and stopped (an MT limit), resumed the other way: every row once."""
    creds.faults.add("err-130", ops={"sendmsg"}, after=2, times=1)  # an MT limit stops it
    flags = ["--no-session"] if first == "no-session" else []
    path = config_dir.parent / "people.csv"
    path.write_text("number\n" + "".join(f"2782{n:07d}\n" for n in range(4000000, 4000005)))
    run = cli(*flags, "bulk", str(path), "-t", "hi {number}", "--concurrency", "1")
    assert run.exit_code != 0 and "--resume" in run.stderr, run.stderr
    job = json.loads(cli("jobs", "-o", "json").stdout)[0]["id"]
    creds.faults.clear()
    other = [] if flags else ["--no-session"]
    run = cli(*other, "bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert sorted(r["to"] for r in creds.ledger) == [
        f"2782{n:07d}" for n in range(4000000, 4000005)
    ]
    logins = len(sent_ops(creds, "auth"))
    assert logins == 1, "one run logged in, the other sent credentials with every request"


def test_a_resumed_job_keeps_its_soap_style_and_account(
    cli, creds, config_dir, monkeypatch
) -> None:
    journal = config_dir / "journal.sqlite3"
    config_dir.mkdir(mode=0o700)
    job = new_job(journal, creds, rows=2)
    run = cli("--soap-style", "rpc", "bulk", "--resume", job)
    assert run.exit_code == 2
    assert f"at {creds.endpoint} (--soap-style document): resume it with the same" in run.stderr
    monkeypatch.setenv("CLICKSMS_USER", "someone-else")
    run = cli("--no-session", "bulk", "--resume", job)
    assert run.exit_code == 2 and "was started as sandbox" in run.stderr
    monkeypatch.setenv("CLICKSMS_USER", "sandbox")
    run = cli("--no-session", "bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert len(creds.ledger) == 2 and not sent_ops(creds, "auth")


def test_a_job_from_before_rpc_resumes_as_document_literal(cli, creds, config_dir) -> None:
    """Jobs recorded before the SOAP style was: they were all Document/Literal."""
    journal = config_dir / "journal.sqlite3"
    config_dir.mkdir(mode=0o700)
    job = new_job(journal, creds, rows=1)
    with Journal(journal) as opened:
        recorded = opened.get_job(job).options["gateway"]
        del recorded["soap_style"]
        opened.update_options(job, {"gateway": recorded})
    assert cli("--soap-style", "rpc", "bulk", "--resume", job).exit_code == 2
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr


@pytest.mark.parametrize(
    "command",
    [["send", NUMBER, "-t", "x"], ["balance"], ["status", "a" * 32], ["coverage", NUMBER]],
)
def test_a_server_echoing_every_request_never_shows_the_password(
    cli, impostor, monkeypatch, command
) -> None:
    """The password now goes out with every request: an echo of any is masked, --debug too."""
    monkeypatch.setenv("CLICKSMS_RETRIES", "0")
    impostor.replies = [Reply(500, b"<html>you sent: ", "text/html", echo=True)]
    run = cli("--debug", "--no-session", *command)
    assert run.exit_code == 5, run.stderr
    assert impostor.seen != [] and "auth" not in impostor.seen
    assert IMPOSTOR_PASSWORD.encode() in impostor.bodies[0], "the password really went out"
    assert IMPOSTOR_PASSWORD not in run.stdout + run.stderr


def test_the_password_is_asked_once_and_never_stored(cli, creds, config_dir, monkeypatch) -> None:
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    run = cli("--no-session", "send", NUMBER, "-t", "x")
    assert run.exit_code == 3
    assert "no password: set CLICKSMS_PASSWORD" in run.stderr
    assert requests(creds) == [] and not config_dir.exists()
    assert os.environ.get("CLICKSMS_NO_SESSION") is None
