"""Timeouts and safe retries, end to end: what is asked again, what is never sent twice.

Every test drives the real CLI against the impostor (``impostor.py``), which counts the
requests it receives, so "retried" and "sent exactly once" are what the server saw. The
suite sets ``CLICKSMS_RETRY_DELAY=0`` (conftest), so retries never sleep here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import helpers
import pytest
from helpers import closed_port
from impostor import SESSION, Reply, envelope, serve_impostor, silent_port

from clicksms.gateway.retry import RetryPolicy, call_with_retries
from clicksms.gateway.soap import SoapClient

NUMBER = "27821234567"
OTHER = "27831234567"
MSG_ID = "9c1f3e2b8a7d4c6e5f4a3b2c1d0e9f8a"
ACCEPTED = Reply(body=envelope("sendmsg", f"ID: {'a' * 32}"))
ERR_901 = "ERR: 901, Internal error"

#: A command that only asks, its operation, and a good answer to it.
QUESTIONS = {
    "balance": (["balance"], "getbalance", "Credit: 12.5"),
    "status": (["status", MSG_ID], "querymsg", f"ID: {MSG_ID} Status: 004"),
    "coverage": (["coverage", NUMBER], "routecoverage", "OK: Supported Charge: 0.8"),
    "charge": (["charge", MSG_ID], "getmsgcharge", f"apiMsgId: {MSG_ID} charge: 1 status: 004"),
    "ping": (["ping"], "ping", "OK:"),
}


def host() -> str:
    return os.environ["CLICKSMS_ENDPOINT"].split("/")[2]


def one_line(stderr: str) -> str:
    (line,) = stderr.strip().splitlines()
    return line


def client_ids(impostor) -> list[str]:
    """The climsgid of every sendmsg the impostor received, in order."""
    ids = []
    for op, body in zip(impostor.seen, impostor.bodies, strict=True):
        if op == "sendmsg":
            found = re.search(rb"<climsgid>(\w+)</climsgid>", body)
            ids.append(found.group(1).decode() if found else None)
    return ids


# ------------------------------------------------------------------ questions are safe


@pytest.mark.parametrize("command", list(QUESTIONS))
def test_questions_are_asked_again_until_answered(cli, impostor, command) -> None:
    """An error page, a hang-up and an ERR 901, then the answer: exit 0, four requests."""
    args, op, answer = QUESTIONS[command]
    impostor.replies = [
        Reply(503, b"<html>busy</html>", "text/html"),
        Reply(hang_up=True),
        Reply(body=envelope(op, ERR_901)),
        Reply(body=envelope(op, answer)),
    ]
    run = cli(*args)
    assert run.exit_code == 0, run.stderr
    assert impostor.seen == ["auth"] + [op] * 4
    assert "Error" not in run.stderr


@pytest.mark.parametrize(
    ("failure", "options"),
    [
        (Reply(body=b"<not-xml", content_type="text/xml"), []),
        (
            Reply(
                500,
                b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
                b"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
                b"<faultstring>busy</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
                b"</SOAP-ENV:Envelope>",
            ),
            [],
        ),
        (Reply(body=envelope("getbalance", "Credit: 1"), delay=1.5), ["--timeout", "0.5"]),
        (Reply(drip=0.05), ["--timeout", "0.5"]),
    ],
    ids=["malformed-xml", "soap-fault", "read-timeout", "slow-drip"],
)
def test_balance_survives_one_bad_answer(cli, impostor, failure, options) -> None:
    impostor.replies = [failure, Reply(body=envelope("getbalance", "Credit: 12.5"))]
    run = cli(*options, "balance", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["balance"] == 12.5
    assert impostor.seen == ["auth", "getbalance", "getbalance"]


def test_login_is_retried(cli, impostor) -> None:
    impostor.auth = [Reply(503, b"", "text/html"), Reply(body=envelope("auth", f"OK: {SESSION}"))]
    run = cli("auth")
    assert run.exit_code == 0, run.stderr
    assert impostor.seen == ["auth", "auth"]


def test_questions_give_up_after_the_retries(cli, impostor) -> None:
    impostor.replies = [Reply(503, b"busy", "text/html")] * 3
    run = cli("--retries", "2", "balance")
    assert run.exit_code == 5
    assert one_line(run.stderr) == (
        f"Error: {host()} answered HTTP 503 instead of a SOAP response (after 3 attempts)"
    )
    assert impostor.seen == ["auth"] + ["getbalance"] * 3
    assert run.stdout == ""


def test_a_slow_drip_is_retried_and_each_try_ends_at_the_deadline(cli, impostor) -> None:
    impostor.replies = [Reply(drip=0.05), Reply(drip=0.05)]
    run = cli("--timeout", "0.5", "--retries", "1", "balance")
    assert run.exit_code == 5
    assert one_line(run.stderr) == (
        f"Error: no answer from {host()} within 0.5s (timeout) (after 2 attempts)"
    )
    assert impostor.seen == ["auth", "getbalance", "getbalance"]


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_retries_0_asks_once(cli, impostor, monkeypatch, how) -> None:
    impostor.replies = [Reply(503, b"busy", "text/html")]
    if how == "flag":
        run = cli("--retries", "0", "balance")
    else:
        monkeypatch.setenv("CLICKSMS_RETRIES", "0")
        run = cli("balance")
    assert run.exit_code == 5
    assert one_line(run.stderr) == f"Error: {host()} answered HTTP 503 instead of a SOAP response"
    assert impostor.seen == ["auth", "getbalance"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413])
def test_an_http_4xx_page_is_permanent_and_asked_once(cli, impostor, status) -> None:
    """A wrong URL or a refused client gets the same answer again: no retry, no pause."""
    impostor.replies = [Reply(status, b"<html>no</html>", "text/html")]
    run = cli("balance")
    assert run.exit_code == 5
    assert one_line(run.stderr) == (
        f"Error: {host()} answered HTTP {status} instead of a SOAP response"
    )
    assert impostor.seen == ["auth", "getbalance"]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_http_5xx_and_the_temporary_4xx_are_asked_again(cli, impostor, status) -> None:
    impostor.replies = [
        Reply(status, b"<html>later</html>", "text/html"),
        Reply(body=envelope("getbalance", "Credit: 2")),
    ]
    run = cli("balance", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert impostor.seen == ["auth", "getbalance", "getbalance"]


def pauses_after(impostor, first: Reply, base_delay: float = 0.5) -> list[float]:
    """The pause taken after ``first`` (then a good answer), by a real client and retry loop."""
    impostor.replies = [first, Reply(body=envelope("getbalance", "Credit: 2"))]
    client = SoapClient(os.environ["CLICKSMS_ENDPOINT"], 5.0)
    pauses: list[float] = []
    try:
        replies = call_with_retries(
            "getbalance",
            lambda: client.call("getbalance", session_id=SESSION),
            RetryPolicy(retries=3, base_delay=base_delay),
            sleep=pauses.append,
        )
    finally:
        client.close()
    assert replies == ["Credit: 2"]
    return pauses


@pytest.mark.parametrize(
    ("status", "retry_after", "base_delay", "expected"),
    [
        (503, "3", 0.5, 3.0),  # longer than any first jittered pause (≤ 0.5): waited
        (503, " 5 ", 0.5, 5.0),
        (429, "2", 0.5, 2.0),
        (503, "120", 0.5, 8.0),  # capped like every pause
        (503, "3", 0, 0.0),  # CLICKSMS_RETRY_DELAY=0: no pauses at all
    ],
)
def test_retry_after_is_waited_up_to_the_cap(
    impostor, status, retry_after, base_delay, expected
) -> None:
    busy = Reply(status, b"busy", "text/html", headers={"Retry-After": retry_after})
    assert pauses_after(impostor, busy, base_delay) == [expected]


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(503, "Wed, 21 Oct 2015 07:28:00 GMT"), (503, "-1"), (503, "soon"), (500, "7")],
    ids=["http-date", "negative", "words", "not-503"],
)
def test_other_retry_afters_leave_the_jittered_pause(impostor, status, retry_after) -> None:
    busy = Reply(status, b"busy", "text/html", headers={"Retry-After": retry_after})
    (pause,) = pauses_after(impostor, busy)
    assert 0 <= pause <= 0.5


def test_err_901_to_the_end_is_reported_as_the_gateway_said(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("querymsg", ERR_901))] * 2
    run = cli("--retries", "1", "status", MSG_ID, "-o", "json")
    assert run.exit_code == 4
    (row,) = json.loads(run.stdout)
    assert (row["error_code"], row["error"]) == ("901", "internal gateway error: retry later")
    assert impostor.seen == ["auth", "querymsg", "querymsg"]


def test_refusals_are_answers_and_never_retried(cli, impostor) -> None:
    impostor.auth = Reply(body=envelope("auth", "ERR: 001, Authentication failed"))
    run = cli("balance")
    assert run.exit_code == 3
    assert impostor.seen == ["auth"]

    impostor.auth = Reply(body=envelope("auth", f"OK: {SESSION}"))
    impostor.seen.clear()
    impostor.replies = [Reply(body=envelope("querymsg", "ERR: 103, Invalid message ID"))]
    run = cli("status", MSG_ID)
    assert run.exit_code == 4
    assert impostor.seen == ["auth", "querymsg"]


def test_session_expiry_keeps_its_one_reauth(cli, impostor) -> None:
    impostor.replies = [
        Reply(body=envelope("getbalance", "ERR: 003, Session ID expired")),
        Reply(body=envelope("getbalance", "Credit: 3")),
    ]
    run = cli("balance", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert impostor.seen == ["auth", "getbalance", "auth", "getbalance"]


# --------------------------------------------------------------- sends are not repeated

SOAP_FAULT = Reply(
    500,
    b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
    b"<faultstring>busy</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
)


@pytest.mark.parametrize(
    ("reply", "options"),
    [
        (Reply(body=envelope("sendmsg", f"ID: {'b' * 32}"), delay=1.5), ["--timeout", "0.5"]),
        (Reply(drip=0.05), ["--timeout", "0.5"]),
        (Reply(hang_up=True), []),
        (Reply(500, b"<html><body>Internal error</body></html>", "text/html"), []),
        (Reply(503, b"busy", "text/html"), []),
        (Reply(body=b"<not-xml"), []),
        (SOAP_FAULT, []),
    ],
    ids=["read-timeout", "slow-drip", "dropped", "http-500", "http-503", "bad-xml", "fault"],
)
def test_a_send_that_may_have_arrived_is_never_repeated(cli, impostor, reply, options) -> None:
    impostor.replies = [reply]
    run = cli(*options, "send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    assert impostor.seen == ["auth", "sendmsg"], "sent exactly once"
    (row,) = json.loads(run.stdout)
    assert (row["to"], row["status"], row["ok"]) == (NUMBER, "unknown", False)
    (client_id,) = client_ids(impostor)
    assert re.fullmatch(r"cs[0-9a-f]{24}", client_id)
    assert row["error"].startswith("outcome unknown, may have been sent (check before resending)")
    assert row["error"].endswith(f"; check with `clicksms status --client-id {client_id}`")
    assert one_line(run.stderr).startswith("Error: ")
    assert "attempts" not in run.stderr


def test_the_hint_shows_in_the_table_too(cli, impostor) -> None:
    impostor.replies = [Reply(hang_up=True)]
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    (client_id,) = client_ids(impostor)
    flat = " ".join(run.stdout.replace("│", " ").split())
    assert f"clicksms status --client-id {client_id}" in flat


def test_the_hint_is_a_question_status_can_answer(cli, impostor) -> None:
    """The ID in the hint is the one that went out: ``status --client-id`` asks about it."""
    impostor.replies = [Reply(hang_up=True)]
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    hint = re.search(r"`clicksms (status --client-id \w+)`", json.loads(run.stdout)[0]["error"])
    assert hint is not None
    impostor.replies = [Reply(body=envelope("querymsg", f"ID: {'a' * 32} Status: 003"))]
    status = cli(*hint.group(1).split(), "-o", "json")
    assert status.exit_code == 0, status.stderr
    asked = impostor.bodies[impostor.seen.index("querymsg")]
    assert f"<climsgid>{client_ids(impostor)[0]}</climsgid>".encode() in asked


def test_the_users_client_id_is_checked_first_and_named_in_the_hint(cli, impostor) -> None:
    impostor.replies = [
        Reply(body=envelope("querymsg", "ERR: 104, Unknown client message ID")),
        Reply(hang_up=True),
    ]
    run = cli("send", NUMBER, "-t", "x", "--client-id", "order42", "-o", "json")
    assert run.exit_code == 5
    assert impostor.seen == ["auth", "querymsg", "sendmsg"]
    assert client_ids(impostor) == ["order42"]
    assert json.loads(run.stdout)[0]["error"].endswith(
        "; check with `clicksms status --client-id order42`"
    )


def test_several_recipients_get_a_hint_that_promises_no_client_id(cli, impostor) -> None:
    impostor.replies = [Reply(hang_up=True)]
    run = cli("send", NUMBER, OTHER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    assert impostor.seen == ["auth", "sendmsg"]
    assert client_ids(impostor) == [None], "one client ID cannot name two messages"
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["unknown", "unknown"]
    for row in rows:
        assert "--client-id" not in row["error"]
        assert row["error"].endswith(
            "; look for it in your Clickatell account's message log (a request to several "
            "numbers has no client ID to ask `clicksms status` about)"
        )


def test_an_unknown_row_means_exit_5_even_when_a_login_fails_later(cli, impostor) -> None:
    """A garbled answer in the first request, then an auth refusal: still exit 5, both named."""
    targets = [f"2782{n:07d}" for n in range(1000000, 1000301)]
    first = [f"ID: {n:032x} To: {number}" for n, number in enumerate(targets[:299])] + ["??"]
    impostor.replies = [
        Reply(body=envelope("sendmsg", *first)),
        Reply(body=envelope("sendmsg", "ERR: 003, Session ID expired")),
    ]
    impostor.auth = [
        Reply(body=envelope("auth", f"OK: {SESSION}")),
        Reply(body=envelope("auth", "ERR: 001, Authentication failed")),
    ]
    run = cli("send", *targets, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["accepted"] * 299 + ["unknown", "not_sent"]
    assert one_line(run.stderr) == (
        "Error: authentication failed: check api_id, user and password (ERR 001); and the "
        "gateway's answer for 1 recipient(s) was not understood; those messages may have been sent"
    )


def test_an_accepted_send_carries_its_own_client_id(cli, impostor) -> None:
    impostor.replies = [ACCEPTED, ACCEPTED]
    assert cli("send", NUMBER, "-t", "x").exit_code == 0
    assert cli("send", NUMBER, "-t", "x").exit_code == 0
    first, second = client_ids(impostor)
    assert first != second
    assert "querymsg" not in impostor.seen, "a random ID needs no check"


# ------------------------------------------------------- sends that provably never left


def refuse_connection(how: str, lookups: list[object]) -> Callable[..., list]:
    """socket.getaddrinfo that fails the 2nd connection as ``how`` says, for real.

    Every connection starts with a lookup, which ``lookups`` records.
    """
    real = socket.getaddrinfo

    def lookup(host, port, *args, **kwargs):
        lookups.append(host)
        if len(lookups) == 2:
            if how == "refused":  # the kernel's own refusal, from a port nobody listens on
                return real("127.0.0.1", closed_port(), *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    return lookup


@pytest.mark.parametrize("how", ["refused", "dns"])
def test_a_send_that_never_left_is_sent_again(cli, impostor, monkeypatch, how) -> None:
    """The login's connection closes; the send's first connection fails; the retry succeeds."""
    impostor.auth = Reply(body=envelope("auth", f"OK: {SESSION}"), headers={"Connection": "close"})
    impostor.replies = [ACCEPTED]
    lookups: list[object] = []
    monkeypatch.setattr(socket, "getaddrinfo", refuse_connection(how, lookups))
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["status"] == "accepted"
    assert impostor.seen == ["auth", "sendmsg"]
    assert len(lookups) == 3, "the login's connection, the send's failed one, its retry"


def test_a_send_refused_every_time_is_not_sent(cli, impostor, monkeypatch) -> None:
    impostor.auth = Reply(body=envelope("auth", f"OK: {SESSION}"), headers={"Connection": "close"})
    real = socket.getaddrinfo
    calls: list[object] = []

    def only_the_login(host, port, *args, **kwargs):
        calls.append(host)
        return real(host, port if len(calls) == 1 else closed_port(), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", only_the_login)
    run = cli("--retries", "2", "send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 5
    assert run.stdout == "", "nothing can have been sent: no rows, only the error"
    assert one_line(run.stderr) == (
        f"Error: cannot connect to {host()}: connection refused (after 3 attempts)"
    )
    assert len(calls) == 4 and impostor.seen == ["auth"]


def test_err_901_for_the_whole_send_is_sent_again_with_the_same_client_id(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("sendmsg", ERR_901)), ACCEPTED]
    run = cli("send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["status"] == "accepted"
    assert impostor.seen == ["auth", "sendmsg", "sendmsg"]
    first, again = client_ids(impostor)
    assert first == again


def test_err_901_for_one_of_several_numbers_is_not_retried(cli, impostor) -> None:
    impostor.replies = [
        Reply(body=envelope("sendmsg", f"ID: {'c' * 32} To: {NUMBER}", f"{ERR_901} To: {OTHER}"))
    ]
    run = cli("send", NUMBER, OTHER, "-t", "x", "-o", "json")
    assert run.exit_code == 6
    assert impostor.seen == ["auth", "sendmsg"]
    assert [r["status"] for r in json.loads(run.stdout)] == ["accepted", "rejected"]


def test_err_901_until_the_retries_run_out_is_a_rejected_row(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("sendmsg", ERR_901))] * 2
    run = cli("--retries", "1", "send", NUMBER, "-t", "x", "-o", "json")
    assert run.exit_code == 4
    (row,) = json.loads(run.stdout)
    assert (row["status"], row["error_code"]) == ("rejected", "901")
    assert impostor.seen == ["auth", "sendmsg", "sendmsg"]


def test_retries_0_sends_err_901_once(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("sendmsg", ERR_901))]
    run = cli("--retries", "0", "send", NUMBER, "-t", "x")
    assert run.exit_code == 4
    assert impostor.seen == ["auth", "sendmsg"]


@pytest.mark.parametrize(
    ("reply", "seen", "code"),
    [
        (Reply(hang_up=True), 1, 5),
        (Reply(body=envelope("delmsg", ERR_901)), 2, 0),
    ],
    ids=["dropped: once", "err-901: again"],
)
def test_cancel_follows_the_send_rules(cli, impostor, reply, seen, code) -> None:
    impostor.replies = [reply, Reply(body=envelope("delmsg", f"ID: {MSG_ID} Status: 006"))]
    run = cli("cancel", MSG_ID)
    assert run.exit_code == code, run.stderr
    assert impostor.seen == ["auth"] + ["delmsg"] * seen


# ------------------------------------------------------------------------ connecting


def test_connect_timeout_ends_a_handshake_that_never_completes(cli, monkeypatch) -> None:
    with silent_port() as port:
        monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{port}/soap")
        monkeypatch.setenv("CLICKSMS_API_ID", "1")
        monkeypatch.setenv("CLICKSMS_USER", "u")
        monkeypatch.setenv("CLICKSMS_PASSWORD", "p")
        monkeypatch.setenv("CLICKSMS_CONNECT_TIMEOUT", "0.3")
        run = cli("--retries", "1", "balance")
    assert run.exit_code == 5
    assert one_line(run.stderr) == (
        f"Error: could not connect to 127.0.0.1:{port} within 0.3s (timeout) (after 2 attempts)"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--connect-timeout", "0"],
            {},
            "connect timeout must be more than 0 and at most 3600 seconds, got '0' "
            "(--connect-timeout or CLICKSMS_CONNECT_TIMEOUT)",
        ),
        (
            [],
            {"CLICKSMS_CONNECT_TIMEOUT": "soon"},
            "connect timeout must be more than 0 and at most 3600 seconds, got 'soon' "
            "(--connect-timeout or CLICKSMS_CONNECT_TIMEOUT)",
        ),
        (
            ["--connect-timeout", "inf"],
            {},
            "connect timeout must be more than 0 and at most 3600 seconds, got 'inf' "
            "(--connect-timeout or CLICKSMS_CONNECT_TIMEOUT)",
        ),
        (
            ["--retries=-1"],
            {},
            "retries must be a whole number from 0 to 10, got '-1' (--retries or CLICKSMS_RETRIES)",
        ),
        (
            [],
            {"CLICKSMS_RETRIES": "lots"},
            "retries must be a whole number from 0 to 10, got 'lots' "
            "(--retries or CLICKSMS_RETRIES)",
        ),
        (
            ["--retries", "11"],
            {},
            "retries must be a whole number from 0 to 10, got '11' (--retries or CLICKSMS_RETRIES)",
        ),
        (
            [],
            {"CLICKSMS_RETRY_DELAY": "-1"},
            "retry delay must be from 0 to 8 seconds, got '-1' (CLICKSMS_RETRY_DELAY)",
        ),
        (
            [],
            {"CLICKSMS_RETRY_DELAY": "nan"},
            "retry delay must be from 0 to 8 seconds, got 'nan' (CLICKSMS_RETRY_DELAY)",
        ),
        (  # every pause is capped at 8 s, so a longer first one would silently mean 8
            [],
            {"CLICKSMS_RETRY_DELAY": "8.5"},
            "retry delay must be from 0 to 8 seconds, got '8.5' (CLICKSMS_RETRY_DELAY)",
        ),
    ],
)
def test_bad_client_settings_are_one_line_usage_errors(
    cli, impostor, monkeypatch, args, env, message
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = cli(*args, "balance")
    assert run.exit_code == 2
    assert one_line(run.stderr) == f"Error: {message}"
    assert impostor.seen == [], "nothing is sent with a bad setting"


def test_retries_must_be_a_whole_number(cli, impostor) -> None:
    run = cli("--retries", "two", "balance")
    assert run.exit_code == 2
    assert one_line(run.stderr).startswith("Error: --retries two: use a whole number ")
    assert impostor.seen == []


def test_client_settings_from_dotenv(cli, impostor, monkeypatch) -> None:
    Path(".env").write_text("CLICKSMS_RETRIES=0\nCLICKSMS_CONNECT_TIMEOUT=x\n")
    run = cli("balance")
    assert run.exit_code == 2
    assert "got 'x' (--connect-timeout or CLICKSMS_CONNECT_TIMEOUT)" in run.stderr
    monkeypatch.setenv("CLICKSMS_CONNECT_TIMEOUT", "5")  # the environment wins over .env
    impostor.replies = [Reply(503, b"busy", "text/html")]
    run = cli("balance")
    assert run.exit_code == 5
    assert impostor.seen == ["auth", "getbalance"], "CLICKSMS_RETRIES=0 came from .env"


# ------------------------------------------------------------------------------ pauses


def test_pauses_are_full_jitter_doubling_to_a_cap() -> None:
    policy = RetryPolicy(retries=10, base_delay=0.5)
    for retry, ceiling in enumerate([0.5, 1, 2, 4, 8, 8, 8]):
        pauses = [policy.pause(retry) for _ in range(200)]
        assert all(0 <= p <= ceiling for p in pauses)
        assert max(pauses) > ceiling / 2, "spread over the whole range, not fixed"
    assert RetryPolicy(retries=3, base_delay=0).pause(5) == 0


def test_a_longer_retry_after_replaces_the_jittered_pause() -> None:
    policy = RetryPolicy(retries=3, base_delay=0.5)
    assert policy.pause(0, asked=3) == 3
    assert policy.pause(0, asked=100) == 8
    assert all(3 <= policy.pause(4, asked=3) <= 8 for _ in range(50))
    assert 0 <= policy.pause(0, asked=0) <= 0.5
    assert RetryPolicy(retries=3, base_delay=0).pause(0, asked=3) == 0


# ------------------------------------------------------------------------------ Ctrl-C


def sleeping(pid: int, limit: float = 30.0) -> bool:
    """Whether ``pid`` reached a sleep syscall (the backoff) within ``limit`` seconds.

    The pause is a timed wait on an event (bulk's workers must be able to cut it short), so
    a futex wait counts as well as a plain sleep; a one-thread send waits on nothing else.
    """
    sleeps = {"230", "35", "115", "101"}  # clock_nanosleep/nanosleep, x86_64 and aarch64
    sleeps |= {"202", "98"}  # futex, x86_64 and aarch64
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            return False
        if fields and fields[0] in sleeps:
            return True
        time.sleep(0.01)
    return False


def interrupt_in_a_pause(*args: str, **env: str) -> tuple[int, str, str]:
    """Run clicksms with long retry pauses, Ctrl-C it in one: (exit code, stdout, stderr)."""
    if not Path("/proc/self/syscall").exists():
        pytest.skip("needs /proc/PID/syscall")
    settings = {
        "CLICKSMS_RETRY_DELAY": "8",  # every pause up to 8 s: ten of them would take long
        "CLICKSMS_RETRIES": "10",
    }
    proc = helpers.Popen(
        [sys.executable, "-m", "clicksms", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **settings, **env},
    )
    try:
        assert sleeping(proc.pid), "the command never paused between attempts"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "Error: interrupted"
    return proc.returncode, out, err


def test_ctrl_c_during_the_backoff_stops_at_once() -> None:
    code, _, _ = interrupt_in_a_pause(
        "balance",
        CLICKSMS_ENDPOINT=f"http://127.0.0.1:{closed_port()}/soap",
        CLICKSMS_API_ID="1",
        CLICKSMS_USER="u",
        CLICKSMS_PASSWORD="p",
    )
    assert code == 130


def test_ctrl_c_in_the_pause_after_err_901_leaves_the_send_not_sent(impostor) -> None:
    """The gateway did nothing with a whole-request ERR 901: the row is not in doubt."""
    impostor.replies = [Reply(body=envelope("sendmsg", ERR_901))] * 11
    code, out, _ = interrupt_in_a_pause("send", NUMBER, "-t", "x", "-o", "json")
    assert code == 130
    (row,) = json.loads(out)
    assert (row["to"], row["status"], row["ok"]) == (NUMBER, "not_sent", False)
    assert row["error"] == "not sent: interrupted"
    assert set(impostor.seen[1:]) == {"sendmsg"}


def test_ctrl_c_in_the_pause_after_a_refused_send_leaves_it_not_sent(cli, monkeypatch) -> None:
    """A stored session, then the gateway's port refuses: the send never left."""
    with serve_impostor(monkeypatch):
        assert cli("auth").exit_code == 0  # the send will need no login
    code, out, _ = interrupt_in_a_pause("send", NUMBER, "-t", "x", "-o", "json")
    assert code == 130
    (row,) = json.loads(out)
    assert (row["status"], row["error"]) == ("not_sent", "not sent: interrupted")
