"""Unreachable endpoints, servers that are not Clickatell, and failures part-way through.

The impostor (``impostor.py``) is a real loopback HTTP server that answers ``auth`` like
Clickatell and every other request from a script the test writes, so each failure lands
exactly where intended.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import closed_port
from impostor import PASSWORD, SESSION, Reply, envelope

from clicksms.cli.exits import report_failure
from clicksms.errors import ExitCode

NUMBER = "27821234567"


def numbers(count: int) -> list[str]:
    return [f"2782{n:07d}" for n in range(1000000, 1000000 + count)]


def test_unreachable_endpoint(cli, monkeypatch) -> None:
    port = closed_port()
    monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{port}/soap")
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "p")
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert run.stderr.strip() == (
        f"Error: cannot connect to 127.0.0.1:{port}: connection refused (after 4 attempts)"
    )
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b"hello", content_type="text/plain"), "sent a malformed response"),
        (Reply(body=b"<not-soap/>"), "sent a malformed response"),
        (Reply(500, b"<html><body>Internal error</body></html>", "text/html"), "answered HTTP 500"),
        (Reply(503, b"busy", "text/html"), "answered HTTP 503"),
        (
            Reply(200, envelope("sendmsg", "Welcome!")),
            "answer for 1 recipient(s) was not understood",
        ),
    ],
)
def test_garbage_answer_to_sendmsg_leaves_outcome_unknown(cli, impostor, reply, message) -> None:
    impostor.replies = [reply]
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    (row,) = json.loads(run.stdout)
    assert (row["to"], row["ok"], row["status"]) == (NUMBER, False, "unknown")
    assert row["error"].startswith("outcome unknown, may have been sent")
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("Error: ") and message in line
    assert PASSWORD not in run.stderr + run.stdout


def test_garbage_answer_to_auth_is_one_line_and_keeps_the_session_secret(cli, impostor) -> None:
    answer = f"OK: {SESSION} (welcome)"
    impostor.auth = Reply(body=envelope("auth", answer))
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert run.stderr.strip() == (
        f"Error: unexpected answer to auth ({len(answer)} characters, not 'OK: <id>')"
    )
    assert SESSION not in run.stderr
    assert impostor.seen == ["auth"]


def test_soap_fault(cli, impostor) -> None:
    impostor.replies = [
        Reply(
            500,
            b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
            b"<faultstring>database on fire</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
            b"</SOAP-ENV:Envelope>",
        )
    ]
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert run.stderr.strip().endswith("answered with a SOAP fault: database on fire")


def test_failure_in_the_second_chunk(cli, impostor) -> None:
    """300 accepted, 300 in doubt, 50 never sent: each says so, and the exit code is 5."""
    targets = numbers(650)
    first = [f"ID: {n:032x} To: {number}" for n, number in enumerate(targets[:300])]
    impostor.replies = [
        Reply(body=envelope("sendmsg", *first)),
        Reply(500, b"<html/>", "text/html"),
    ]
    run = cli("send", *targets, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["accepted"] * 300 + ["unknown"] * 300 + ["not_sent"] * 50
    assert [r["to"] for r in rows] == targets
    assert impostor.seen == ["auth", "sendmsg", "sendmsg"]


def test_summary_line_counts_each_kind(cli, impostor) -> None:
    targets = numbers(2)
    impostor.replies = [Reply(body=envelope("sendmsg", f"ID: {'a' * 32} To: {targets[0]}", "??"))]
    run = cli("send", *targets, "-t", "x")
    assert run.exit_code == 5
    summary = run.stderr.splitlines()[0]
    assert summary.startswith("1 accepted, 0 rejected, 1 unknown: outcome unknown")  # one cause


def test_read_timeout_leaves_outcome_unknown(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("sendmsg", "ID: " + "b" * 32), delay=3)]
    run = cli("--timeout", "0.5", "send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    assert json.loads(run.stdout)[0]["status"] == "unknown"
    assert run.stderr.strip().endswith("within 0.5s (timeout)")


def test_connection_dropped_without_an_answer_leaves_outcome_unknown(cli, impostor) -> None:
    impostor.replies = [Reply(hang_up=True)]
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    assert json.loads(run.stdout)[0]["status"] == "unknown"
    host = impostor_host()
    assert run.stderr.strip() == (
        f"Error: lost the connection to {host}: the server closed the connection without answering"
    )
    assert impostor.seen == ["auth", "sendmsg"]


def impostor_host() -> str:
    return os.environ["CLICKSMS_ENDPOINT"].split("/")[2]


def test_redirects_are_not_followed_with_credentials(cli, impostor, sandbox) -> None:
    impostor.auth = Reply(307, b"", headers={"Location": sandbox.endpoint})
    run = cli("auth")
    assert run.exit_code == 5
    assert run.stderr.strip().endswith(
        f"redirected to {sandbox.endpoint}; not following it with your credentials: "
        "set the endpoint to the final URL"
    )
    assert impostor.seen == ["auth"]
    assert sandbox.requests == [], "the redirect target must receive nothing"


def test_session_expired_even_after_reauth_is_an_auth_error(cli, impostor) -> None:
    expired = Reply(body=envelope("sendmsg", "ERR: 003, Session ID expired"))
    impostor.replies = [expired, expired]
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 3
    assert impostor.seen == ["auth", "sendmsg", "auth", "sendmsg"]
    assert "expired the session again right after a fresh login" in run.stderr


def test_whole_request_error_for_many_recipients(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("sendmsg", "ERR: 113, Maximum message parts exceeded"))]
    run = cli("send", *numbers(3), "-t", "x", "-o", "json")
    assert run.exit_code == 4
    rows = json.loads(run.stdout)
    assert {(r["status"], r["error_code"]) for r in rows} == {("rejected", "113")}


def test_mt_limit_keeps_the_resume_time(cli, impostor) -> None:
    impostor.replies = [
        Reply(body=envelope("sendmsg", "ERR: 130, Maximum MT limit exceeded until 1764100000"))
    ]
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 4
    assert json.loads(run.stdout)[0]["error"] == (
        "maximum MT limit exceeded (gateway says: Maximum MT limit exceeded until 1764100000)"
    )


def test_liberal_parsing_of_answers(cli, impostor) -> None:
    """No space after ``ID:``, ``To:`` items out of order, errors with ``To:``."""
    a, b, c = numbers(3)
    impostor.replies = [
        Reply(
            body=envelope(
                "sendmsg",
                f"ERR: 105, Invalid Destination Address To: {c}",
                f"ID:{'c' * 32}  To: {a}",
                f"ID: {'d' * 32} To:{b}",
            )
        )
    ]
    run = cli("send", a, b, c, "-t", "x", "-o", "json")
    assert run.exit_code == 6
    rows = json.loads(run.stdout)
    assert [(r["to"], r["message_id"], r["error_code"]) for r in rows] == [
        (a, "c" * 32, None),
        (b, "d" * 32, None),
        (c, None, "105"),
    ]


@pytest.mark.parametrize("status", [200, 400, 500])
def test_debug_never_shows_an_echoed_request(cli, impostor, status) -> None:
    """A server that quotes our request back must not get the password onto the screen."""
    impostor.auth = Reply(status, b"<html>you sent: ", "text/html", echo=True)
    run = cli("--debug", "auth")
    assert run.exit_code == 5
    assert "Traceback" in run.stderr
    assert PASSWORD not in run.stderr + run.stdout
    assert PASSWORD.encode() in impostor.bodies[0], "the test must really send the password"


def test_debug_never_shows_an_echoed_session_id(cli, impostor) -> None:
    impostor.replies = [Reply(500, b"<html>you sent: ", "text/html", echo=True)]
    run = cli("--debug", "send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert SESSION.encode() in impostor.bodies[1]
    assert SESSION not in run.stderr + run.stdout


def test_failed_reauth_mid_send_leaves_the_rest_not_sent(cli, impostor) -> None:
    """ERR 003 on the second request, then the new login fails: 300 sent, 350 not sent."""
    targets = numbers(650)
    first = [f"ID: {n:032x} To: {number}" for n, number in enumerate(targets[:300])]
    impostor.replies = [
        Reply(body=envelope("sendmsg", *first)),
        Reply(body=envelope("sendmsg", "ERR: 003, Session ID expired")),
    ]
    impostor.auth = [Reply(body=envelope("auth", f"OK: {SESSION}")), Reply(503, b"", "text/html")]
    run = cli("send", *targets, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["accepted"] * 300 + ["not_sent"] * 350
    assert impostor.seen == ["auth", "sendmsg", "sendmsg"] + ["auth"] * 4  # login retried


def test_debug_as_message_text_is_not_the_debug_flag(cli, impostor) -> None:
    impostor.auth = Reply(body=b"garbage", content_type="text/plain")
    run = cli("send", NUMBER, "-t", "--debug")
    assert run.exit_code == 5
    assert "Traceback" not in run.stderr


def test_internal_errors_exit_1_with_a_hint(capsys) -> None:
    assert report_failure(RuntimeError("boom"), debug=False) == ExitCode.INTERNAL
    assert capsys.readouterr().err == (
        "Error: internal error: RuntimeError: boom (run with --debug for details)\n"
    )


def test_interrupt_exits_130(capsys) -> None:
    assert report_failure(KeyboardInterrupt(), debug=False) == ExitCode.INTERRUPTED
    assert capsys.readouterr().err == "Error: interrupted\n"
