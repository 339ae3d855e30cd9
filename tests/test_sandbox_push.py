"""Voucher top-up (token_pay), WAP push (si_push) and MMS notification (ind_push) in the
sandbox, over both SOAP styles (API.md §4, §5.3): their answers, their checks, and pushes
as real messages (charged, queryable, in the ledger, back after a restart)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sandbox_wire import CREDS, STYLES, caller, fault_of, rpc_post, rpc_request

from clicksms.sandbox import ManualClock, Sandbox

GOOD, GOOD2 = "27821234567", "27831234567"
SI: dict[str, Any] = {
    "si_id": "update-7",
    "si_url": "https://example.com/app/update",
    "si_text": "Update ready",
}
MMS: dict[str, Any] = {
    "mms_subject": "Your photo",
    "mms_class": "80",
    "mms_expire": "86400",
    "mms_from": "Shop",
    "mms_url": "http://mms.example.com/m/42",
}
ONE_ID = re.compile(r"ID: [0-9a-f]{32}")
MANY_ID = re.compile(r"ID: [0-9a-f]{32} To: \d+")
BAD = "ERR: 101, Invalid or missing parameters"


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def call(sb: Sandbox, style: str) -> Callable[..., list[str]]:
    return caller(sb, style)


# ------------------------------------------------------------------------ token_pay
def test_a_sandbox_voucher_adds_its_credits_once(
    sb: Sandbox, call: Callable[..., list[str]]
) -> None:
    assert call("token_pay", **CREDS, token="4242000000000100") == ["OK: 605"]
    assert sb.balance() == 1100.0
    assert call("token_pay", **CREDS, token="4242999999002500") == ["OK: 605"]
    assert call("getbalance", **CREDS) == ["Credit: 3600.0"]
    assert call("token_pay", **CREDS, token="4242000000000100") == [BAD]  # used already
    assert sb.balance() == 3600.0


@pytest.mark.parametrize(
    "token", ["", "1234567890123456", "4242000000000000", "424200000000100", "4242 0000 0000 0100"]
)
def test_anything_else_is_not_a_voucher(
    sb: Sandbox, call: Callable[..., list[str]], token: str
) -> None:
    assert call("token_pay", **CREDS, token=token) == [BAD]
    assert sb.balance() == 1000.0


def test_token_pay_authenticates_first(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    voucher = "4242000000000100"
    assert call("token_pay", token=voucher) == ["ERR: 005, Missing session ID"]
    assert call("token_pay", session_id="0" * 32, token=voucher) == ["ERR: 003, Session ID expired"]
    assert call("token_pay", **{**CREDS, "user": "frozen"}, token=voucher) == [
        "ERR: 004, Account frozen"
    ]
    assert sb.balance() == 1000.0


def test_the_top_up_resumes_an_empty_account(
    make_sandbox: Callable[..., Sandbox], style: str
) -> None:
    sb = make_sandbox(credits=0)
    call = caller(sb, style)
    assert call("sendmsg", **CREDS, to=[GOOD], text="hi") == ["ERR: 301, No credit left"]
    assert call("token_pay", **CREDS, token="4242000000000001") == ["OK: 605"]
    (sent,) = call("sendmsg", **CREDS, to=[GOOD], text="hi")
    assert ONE_ID.fullmatch(sent) and sb.balance() == 0.0


# -------------------------------------------------------------------------- si_push
def test_a_wap_push_is_a_message(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    dates = {"si_created": "2026-01-01T10:00:00Z", "si_expires": "2026-01-08T10:00:00Z"}
    answers = call("si_push", **CREDS, to=[GOOD, GOOD2], **SI, **dates, si_action="signal-high")
    assert all(MANY_ID.fullmatch(a) for a in answers) and len(answers) == 2
    (one,) = call("si_push", **CREDS, to=[GOOD], **SI)
    assert ONE_ID.fullmatch(one)
    first = sb.ledger[0]
    assert (first["op"], first["to"], first["text"], first["parts"]) == (
        "si_push",
        GOOD,
        "Update ready",
        1,
    )
    assert {k: first["fields"][k] for k in ("si_id", "si_url", "si_action")} == {
        "si_id": "update-7",
        "si_url": "https://example.com/app/update",
        "si_action": "signal-high",
    }
    assert sb.balance() == 997.0
    apimsgid = one[4:]
    assert call("querymsg", **CREDS, apimsgid=apimsgid) == [f"ID: {apimsgid} Status: 003"]


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"si_id": ""}, BAD),
        ({"si_url": "ftp://example.com/x"}, BAD),
        ({"si_url": "example.com/update"}, BAD),
        ({"si_url": "https://"}, BAD),
        ({"si_url": "https://exa mple.com/"}, BAD),
        ({"si_created": "2026-01-01 10:00:00"}, BAD),
        ({"si_expires": "2026-02-30T10:00:00Z"}, BAD),
        ({"si_created": "2026-01-02T00:00:00Z", "si_expires": "2026-01-01T00:00:00Z"}, BAD),
        ({"si_action": "signal-loud"}, BAD),
        ({"si_action": "delete"}, "ok"),
        ({"si_expires": "2026-01-01T00:00:00Z"}, "ok"),
        ({"si_text": ""}, "ERR: 107, Empty message"),
        ({"deliv_time": 10081}, "ERR: 120, Invalid delivery time"),
        ({"from": "Too long a name"}, "ERR: 106, Invalid source address"),
        ({"queue": 5}, BAD),
    ],
)
def test_si_push_checks(
    sb: Sandbox, call: Callable[..., list[str]], change: dict[str, Any], answer: str
) -> None:
    (got,) = call("si_push", **CREDS, to=[GOOD], **{**SI, **change})
    if answer == "ok":
        assert ONE_ID.fullmatch(got)
    else:
        assert got == answer
        assert sb.ledger == []


def test_si_push_unicode_text_over_document_literal(sb: Sandbox) -> None:
    call = caller(sb, "document")
    call("si_push", **CREDS, to=[GOOD], **{**SI, "si_text": "03A903A8"}, unicode=1)
    assert sb.ledger[0]["text"] == "ΩΨ" and sb.ledger[0]["unicode"] == 1
    bad = call("si_push", **CREDS, to=[GOOD], **{**SI, "si_text": "03A9F"}, unicode=1)
    assert bad == ["ERR: 116, Invalid Unicode data"]
    # The RPC WSDL's si_push has no unicode part at all.
    status, body = rpc_post(
        sb, "si_push", rpc_request("si_push", **CREDS, to=[GOOD], **SI, unicode=1)
    )
    assert status == 500
    assert fault_of(body)[1].startswith("Operation 'si_push' has no part 'unicode'")


# ------------------------------------------------------------------------- ind_push
def test_an_mms_notification_is_a_message(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    answers = call("ind_push", **CREDS, to=[GOOD, "27820000121", GOOD2], **MMS)
    assert MANY_ID.fullmatch(answers[0]) and MANY_ID.fullmatch(answers[2])
    assert answers[1] == "ERR: 121, Destination mobile number blocked To: 27820000121"
    record = sb.ledger[0]
    assert (record["op"], record["text"], record["fields"]["mms_url"]) == (
        "ind_push",
        "Your photo",
        "http://mms.example.com/m/42",
    )
    assert sb.balance() == 998.0


@pytest.mark.parametrize(
    "change",
    [
        {"mms_subject": ""},
        {"mms_from": ""},
        {"mms_url": "mms.example.com/m/42"},
        {"mms_class": "84"},
        {"mms_class": "personal"},
        {"mms_expire": "0"},
        {"mms_expire": "-60"},
        {"mms_expire": "1.5"},
        {"mms_expire": ""},
    ],
)
def test_ind_push_wants_every_mms_part(
    sb: Sandbox, call: Callable[..., list[str]], change: dict[str, Any]
) -> None:
    assert call("ind_push", **CREDS, to=[GOOD], **{**MMS, **change}) == [BAD]
    assert sb.ledger == []


@pytest.mark.parametrize("mms_class", ["80", "81", "82", "83"])
def test_every_mms_class(sb: Sandbox, call: Callable[..., list[str]], mms_class: str) -> None:
    (got,) = call("ind_push", **CREDS, to=[GOOD], **{**MMS, "mms_class": mms_class})
    assert ONE_ID.fullmatch(got)


# ------------------------------------------------------------------- faults, restarts
def test_faults_act_on_pushes(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    sb.faults.add("err-130", ops={"ind_push"}, times=1, seconds=30)
    assert call("ind_push", **CREDS, to=[GOOD], **MMS) == [
        "ERR: 130, Maximum MT limit exceeded until 1700000030"
    ]
    sb.faults.add("err-901", ops={"si_push", "token_pay"})
    assert call("si_push", **CREDS, to=[GOOD], **SI) == ["ERR: 901, Internal error"]
    assert call("token_pay", **CREDS, token="4242000000000100") == ["ERR: 901, Internal error"]
    assert sb.ledger == [] and sb.balance() == 1000.0


def test_pushes_come_back_after_a_restart(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, style: str, clock: ManualClock
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    first = make_sandbox(ledger_path=ledger)
    call = caller(first, style)
    call("si_push", **CREDS, to=[GOOD], **SI, deliv_time=30)
    call("ind_push", **CREDS, to=[GOOD2], **MMS)
    first.stop()
    second = make_sandbox(ledger_path=ledger)
    assert second.messages == first.messages and second.balance() == 998.0
    clock.advance(3600)
    assert second.messages == first.messages
