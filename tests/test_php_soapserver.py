"""The real CLI against PHP's own SoapServer, fed each bundled WSDL: what PHP decoded is what
the user meant.

PHP's SOAP extension is an independent implementation of both styles (a client and a sandbox
written together can share one misreading). One ``php -S`` server per module runs
tests/php/soapserver.php, which serves the RPC/Encoded WSDL at …/webservice_vs.php and the
Document/Literal one elsewhere, answers like Clickatell, and logs each request as PHP decoded
it: every part's PHP type and value. Each test drives several commands against it and checks
numbers, text, the unicode flag and every option, over both styles and both ways to
authenticate; every RPC request is also held to the strict rules of ``rpc_wire``.

Skipped when ``php`` or its soap extension is missing (Debian: php-cli php-soap php-xml).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import helpers
import pytest
from rpc_wire import check_encoded
from secrets_audit import AUDIT, PASSWORD_KIND, SESSION_KIND

SCRIPT = Path(__file__).parent / "php" / "soapserver.php"
API_ID, USER = 3512345, "phpuser"
PASSWORD = "php-server-Pa55word"
SESSION = "5e55105e" * 4
AUDIT.secret(PASSWORD_KIND, PASSWORD)
AUDIT.secret(SESSION_KIND, SESSION)
STYLES = ["document", "rpc"]
PATHS = {"document": "/soap/document_literal/webservice", "rpc": "/soap/webservice_vs.php"}


@dataclass
class PhpServer:
    base: str
    log: Path

    def endpoint(self, style: str) -> str:
        return self.base + PATHS[style]

    def take(self) -> list[dict[str, Any]]:
        """Every request logged since the last take, as PHP decoded it."""
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        self.log.write_text("")
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def php_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhpServer]:
    php = helpers.php_with_soap()
    folder = tmp_path_factory.mktemp("php")
    data = resources.files("clicksms").joinpath("data")
    port = helpers.closed_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PHPSOAP_WSDL_DIR": str(data),
        "PHPSOAP_LOG": str(folder / "requests.jsonl"),
        "PHPSOAP_STATE": str(folder / "state.json"),
        "PHPSOAP_API_ID": str(API_ID),
        "PHPSOAP_USER": USER,
        "PHPSOAP_PASSWORD": PASSWORD,
        "PHPSOAP_SESSION": SESSION,
    }
    proc = helpers.Popen(
        [php, "-d", "display_errors=stderr", "-S", f"127.0.0.1:{port}", str(SCRIPT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "php -S exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "php -S did not listen"
                time.sleep(0.05)
        yield PhpServer(f"http://127.0.0.1:{port}", folder / "requests.jsonl")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for name in ("requests.jsonl", "state.json"):  # they name the session ID
            (folder / name).unlink(missing_ok=True)


@pytest.fixture
def at_php(php_server: PhpServer, monkeypatch: pytest.MonkeyPatch):
    """Point the CLI at the PHP server in a style; returns the server, its log emptied."""

    def point(style: str) -> PhpServer:
        monkeypatch.setenv("CLICKSMS_ENDPOINT", php_server.endpoint(style))
        monkeypatch.setenv("CLICKSMS_API_ID", str(API_ID))
        monkeypatch.setenv("CLICKSMS_USER", USER)
        monkeypatch.setenv("CLICKSMS_PASSWORD", PASSWORD)
        php_server.take()
        return php_server

    return point


def decoded(entry: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """The parts PHP decoded to a value: name -> (PHP type, value); nulls left out."""
    params = entry["params"].items()
    return {k: (v["type"], v["value"]) for k, v in params if v["value"] is not None}


def checked(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries``, every RPC request among them first held to the strict rules."""
    for entry in entries:
        if entry["style"] == "rpc":
            assert check_encoded(entry["body"].encode(), entry["soapaction"])[0] == entry["op"]
    return entries


def ops(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["op"] for entry in entries]


@pytest.mark.parametrize("style", STYLES)
def test_send_with_every_option_arrives_as_meant(cli, at_php, config_dir, style) -> None:
    server = at_php(style)
    client_id = f"every{style}"
    run = cli(
        *("send", "+27 82 123 4567", "-t", "Привет, € {x}"),
        *("--from", "ACME", "--flash", "--deliver-in", "2h", "--validity", "90m"),
        *("--client-id", client_id, "--callback", "final,error", "--delivery-ack"),
        *("--max-credits", "1.5" if style == "rpc" else "2", "--queue", "2"),
        *("--escalate", "--mo", "--max-parts", "3"),
    )
    assert run.exit_code == 0, run.stderr
    query, send = checked(server.take())[-2:]
    assert ops([query, send]) == ["querymsg", "sendmsg"]  # --client-id is checked unused first
    client_part = "cliMsgId" if style == "rpc" else "climsgid"
    assert decoded(query) == {"session_id": ("string", SESSION), "climsgid": ("string", client_id)}
    assert decoded(send) == {
        "session_id": ("string", SESSION),
        "to": ("array", ["27821234567"]),
        "text": ("string", "Привет, € {x}".encode("utf-16-be").hex().upper()),
        "unicode": ("integer", 1),
        "concat": ("integer", 3),
        "from": ("string", "ACME"),
        "msg_type": ("string", "SMS_FLASH"),
        "deliv_time": ("integer", 120),
        "validity": ("integer", 90),
        client_part: ("string", client_id),
        "msg_callback": ("integer", 6),
        "deliv_ack": ("integer", 1),
        "max_credits": ("double", 1.5) if style == "rpc" else ("integer", 2),
        "queue": ("integer", 2),
        "escalate": ("integer", 1),
        "mo": ("integer", 1),
        "req_feat": ("integer", 0x0001 | 0x0008 | 0x0010 | 0x0200 | 0x2000),
    }

    # Binary content, and a GSM text to three numbers (one request, To: per answer).
    run = cli("send", "27821234567", "--udh", "0605040B8423F0", "--data", "C0FFEE")
    assert run.exit_code == 0, run.stderr
    run = cli("send", "27821234567", "27831234567", "27841234567", "-t", "Hi [ok] ~ {} €")
    assert run.exit_code == 0, run.stderr
    assert "3 accepted" in run.stderr
    binary, many = map(decoded, checked(server.take()))
    kind, own_id = binary.pop(client_part)
    assert kind == "string" and own_id.startswith("cs")  # one recipient: an ID of its own
    assert binary == {
        "session_id": ("string", SESSION),
        "to": ("array", ["27821234567"]),
        "udh": ("string", "0605040B8423F0"),
        "data": ("string", "C0FFEE"),
        "concat": ("integer", 1),
        "req_feat": ("integer", 0x0002 | 0x0004),
    }
    assert many == {
        "session_id": ("string", SESSION),
        "to": ("array", ["27821234567", "27831234567", "27841234567"]),
        "text": ("string", "Hi [ok] ~ {} €"),
        "concat": ("integer", 1),
    }

    # A dry run asks the route's charge, and PHP's answer prices it.
    run = cli("send", "27821234567", "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["charge"] == 0.8
    (coverage,) = checked(server.take())
    assert coverage["op"] == ("routeCoverage" if style == "rpc" else "routecoverage")
    assert decoded(coverage) == {
        "session_id": ("string", SESSION),
        "msisdn": ("string", "27821234567"),
    }
    assert not (config_dir / "session.json").read_text().count(PASSWORD)


@pytest.mark.parametrize("no_session", [False, True], ids=["session", "no-session"])
@pytest.mark.parametrize("style", STYLES)
def test_every_question_over_both_styles_and_both_logins(
    cli, at_php, config_dir, monkeypatch, style, no_session
) -> None:
    server = at_php(style)
    if no_session:
        monkeypatch.setenv("CLICKSMS_NO_SESSION", "1")
    run = cli("auth")
    assert run.exit_code == 0, run.stderr
    expected = "nothing stored" if no_session else "session stored"
    assert expected in run.stderr
    client_id = f"q{style}{no_session:d}"
    sent = cli("send", "27821234567", "-t", "track me", "--client-id", client_id, "-o", "json")
    assert sent.exit_code == 0, sent.stderr
    message_id = json.loads(sent.stdout)[0]["message_id"]
    runs = {
        "by client ID": cli("status", "--client-id", client_id, "-o", "json"),
        "balance": cli("balance", "-o", "json"),
        "coverage": cli("coverage", "27821234567", "-o", "json"),
        "status": cli("status", message_id, "-o", "json"),
        "charge": cli("charge", message_id, "-o", "json"),
        "cancel": cli("cancel", message_id, "-o", "json"),
        "ping": cli("ping", "-o", "json"),
    }
    for name, run in runs.items():
        assert run.exit_code == 0, (name, run.stderr)
    assert json.loads(runs["balance"].stdout) == {"balance": 42.5}
    assert json.loads(runs["coverage"].stdout)[0]["charge"] == 0.8
    assert json.loads(runs["status"].stdout)[0]["status"] == "003"
    assert json.loads(runs["by client ID"].stdout)[0]["id"] == message_id
    assert json.loads(runs["charge"].stdout)[0]["charge"] == 1.5
    assert json.loads(runs["cancel"].stdout)[0]["status"] == "006"
    assert json.loads(runs["ping"].stdout)["session_reused"] is (None if no_session else True)

    entries = checked(server.take())
    coverage = "routeCoverage" if style == "rpc" else "routecoverage"
    asked = ["querymsg", "sendmsg", "querymsg", "getbalance", coverage, "querymsg"]
    asked += ["getmsgcharge", "delmsg", "getbalance" if no_session else "ping"]
    auth = ["getbalance"] if no_session else ["auth"]
    assert ops(entries) == auth + asked
    by_op = {entry["op"]: decoded(entry) for entry in entries}
    assert by_op["getmsgcharge"]["apimsgid"] == ("string", message_id)
    assert by_op[coverage]["msisdn"] == ("string", "27821234567")
    if no_session:
        # Every request carries the account; none a session; and nothing was stored.
        api_id = ("string", str(API_ID)) if style == "rpc" else ("integer", API_ID)
        for entry in entries:
            parts = decoded(entry)
            assert "session_id" not in parts, entry["op"]
            assert parts["user"] == ("string", USER)
            assert parts["password"] == ("string", "<ok>")
            wanted = api_id if entry["op"] == "delmsg" else ("integer", API_ID)
            assert parts["api_id"] == wanted, entry["op"]  # delmsg.api_id: xsd:string in RPC
        assert not config_dir.exists()
    else:
        login, *others = entries
        assert decoded(login) == {
            "api_id": ("integer", API_ID),
            "user": ("string", USER),
            "password": ("string", "<ok>"),
        }
        for entry in others:
            parts = decoded(entry)
            assert parts["session_id"] == ("string", SESSION), entry["op"]
            assert not {"api_id", "user", "password"} & set(parts), entry["op"]


@pytest.mark.parametrize("style", STYLES)
def test_bulk_personalised_without_a_session(cli, at_php, tmp_path, monkeypatch, style) -> None:
    server = at_php(style)
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    monkeypatch.setenv("CLICKSMS_CONFIG_DIR", "/dev/null/clicksms")  # unusable: not a directory
    rows = ["number,name", "27821234567,Anna", "27831234567,Jürgen", "27841234567,Зоя"]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    journal = tmp_path / "journal.sqlite3"
    args = ["--no-session", "bulk", str(tmp_path / "people.csv"), "-t", "Hi {name}!"]
    run = cli(*args)
    assert run.exit_code != 0
    assert "--journal" in run.stderr and server.take() == []  # nothing sent without a journal
    run = cli(*args, "--journal", str(journal), "--concurrency", "1", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows_out = json.loads(run.stdout)
    assert [r["status"] for r in rows_out] == ["accepted"] * 3
    entries = checked(server.take())
    assert ops(entries) == ["sendmsg"] * 3  # no auth, no check: the sends are the first words
    sends = [decoded(e) for e in entries]
    texts = {s["to"][1][0]: s["text"][1] for s in sends}
    assert texts == {
        "27821234567": "Hi Anna!",
        "27831234567": "Hi Jürgen!",  # ü is GSM 03.38
        "27841234567": "Hi Зоя!".encode("utf-16-be").hex().upper(),
    }
    assert [s.get("unicode") for s in sends] == [None, None, ("integer", 1)]
    client_part = "cliMsgId" if style == "rpc" else "climsgid"
    job = json.loads(cli("jobs", "--journal", str(journal), "-o", "json").stdout)[0]
    assert job["state"] == "done" and job["sent"] == 3
    assert sorted(s[client_part][1] for s in sends) == [f"{job['id']}r{n}" for n in (1, 2, 3)]
    for parts in sends:
        assert parts["password"] == ("string", "<ok>") and "session_id" not in parts


@pytest.mark.parametrize("style", STYLES)
def test_topup_pushes_and_batches_arrive_as_meant(cli, at_php, tmp_path, style) -> None:
    server = at_php(style)
    assert cli("auth").exit_code == 0
    server.take()
    runs = [
        cli("topup", "4242-0000-0000-0100"),
        cli(
            *("push", "wap", "27821234567", "27831234567", "--url", "https://e.example/a"),
            *("-t", "Update", "--si-id", "u1", "--action", "high", "--from", "ACME"),
        ),
        cli(
            *("push", "mms", "27821234567", "--url", "https://m.example/m/1", "--subject", "Pic"),
            *("--class", "informational", "--expire", "1h", "--client-id", f"mms{style}"),
        ),
    ]
    rows = ["number,name", "27821234567,Anna", "27831234567,Bob", "27841234567,Anna"]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    runs.append(cli("bulk", str(tmp_path / "p.csv"), "-t", "Hi {name}!", "--batch"))
    (tmp_path / "s.csv").write_text("number\n27821234567\n27831234567\n", encoding="utf-8")
    runs.append(cli("bulk", str(tmp_path / "s.csv"), "-t", "Hello all", "--batch"))
    for run in runs:
        assert run.exit_code == 0, run.stderr
    entries = checked(server.take())
    by_op: dict[str, list[dict[str, tuple[str, Any]]]] = {}
    for entry in entries:
        by_op.setdefault(entry["op"], []).append(decoded(entry))
    session = ("string", SESSION)
    client_part = "cliMsgId" if style == "rpc" else "climsgid"
    assert by_op["token_pay"] == [{"session_id": session, "token": ("string", "4242000000000100")}]
    assert by_op["si_push"] == [
        {
            "session_id": session,
            "to": ("array", ["27821234567", "27831234567"]),
            "si_id": ("string", "u1"),
            "si_url": ("string", "https://e.example/a"),
            "si_text": ("string", "Update"),
            "si_action": ("string", "signal-high"),
            "from": ("string", "ACME"),
            "req_feat": ("integer", 0x0010),
        }
    ]
    mms = by_op["ind_push"][0]
    assert {k: v for k, v in mms.items() if k.startswith("mms_") or k == client_part} == {
        "mms_subject": ("string", "Pic"),
        "mms_class": ("string", "82"),
        "mms_expire": ("string", "3600"),
        "mms_from": ("string", "m.example"),
        "mms_url": ("string", "https://m.example/m/1"),
        client_part: ("string", f"mms{style}"),
    }
    personal, static = by_op["startbatch"]
    job_client_id = personal[client_part][1]
    assert job_client_id.endswith("batch")
    assert {k: personal[k] for k in ("template", "concat")} == {
        "template": ("string", "Hi #field1#!"),
        "concat": ("integer", 1),
    }
    assert static["template"] == ("string", "Hello all")
    assert [(i["to"], i["field1"]) for i in by_op["senditem"]] == [
        (("array", ["27821234567", "27841234567"]), ("string", "Anna")),
        (("array", ["27831234567"]), ("string", "Bob")),
    ]
    (quick,) = by_op["quicksend"]
    assert quick["to"] == ("array", ["27821234567", "27831234567"])
    assert quick["batch_id"][0] == "string" and len(by_op["endbatch"]) == 2
