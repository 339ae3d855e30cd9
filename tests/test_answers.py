"""Parsing the answers of querymsg, delmsg, getbalance, routecoverage, getmsgcharge and ping
(API.md §4.1), and the message status table (§8).

The commands are tested end to end against the sandbox; these cases pin the liberal forms
and the failures the sandbox never sends.
"""

from __future__ import annotations

import pytest

from clicksms.errors import AuthError, GatewayError, ProtocolError, SessionExpired
from clicksms.gateway.codes import MESSAGE_STATUSES, message_status
from clicksms.gateway.responses import (
    Coverage,
    MessageCharge,
    MessageState,
    parse_balance,
    parse_charge,
    parse_coverage,
    parse_message_status,
    parse_ping,
    single_reply,
)

HEX = "af25a6386301960c862278b980b02b29"
OK_SENTENCE = "This prefix is currently supported. Messages sent to this prefix will be routed."
NO_SENTENCE = (
    "This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)


# ----------------------------------------------------------------------- status table


def test_status_table_covers_section_8() -> None:
    assert sorted(MESSAGE_STATUSES) == [f"{n:03d}" for n in range(1, 15)]
    final = {c for c, s in MESSAGE_STATUSES.items() if s.final}
    error = {c for c, s in MESSAGE_STATUSES.items() if s.error}
    delivered = {c for c, s in MESSAGE_STATUSES.items() if s.delivered}
    # 001 is final for us: the gateway will never say more about an ID it does not know.
    assert final == {"001", "004", "005", "006", "007", "008", "009", "010", "012", "013", "014"}
    assert error == {"001", "005", "007", "009", "010", "012", "014"}
    # 008 "OK" only means the gateway received the message: final, not delivered.
    assert delivered == {"004"}
    assert message_status("004").meaning == "Received by recipient"
    assert message_status("006").meaning == "User cancelled message delivery"


def test_undocumented_status_is_neither_final_nor_good() -> None:
    status = message_status("042")
    assert (status.known, status.final, status.delivered) == (False, False, False)
    assert status.meaning == "undocumented status 042"


# -------------------------------------------------------------------- querymsg/delmsg


@pytest.mark.parametrize(
    "reply",
    [
        f"ID: {HEX} Status: 004",
        f"ID:{HEX}  Status:004",  # the spec's own examples drop and double spaces
        f"  ID: {HEX}\tStatus: 004 \n",
        f"id: {HEX} status: 004",
    ],
)
def test_message_status_forms(reply: str) -> None:
    assert parse_message_status(reply) == MessageState(HEX, "004")


def test_message_status_errors() -> None:
    with pytest.raises(GatewayError) as info:
        parse_message_status("ERR: 104, Unknown client message ID")
    assert (info.value.code, info.value.reason) == ("104", "unknown client message ID")
    with pytest.raises(SessionExpired):
        parse_message_status("ERR: 003, Session ID expired")
    with pytest.raises(AuthError, match=r"\(ERR 005\)$"):
        parse_message_status("ERR: 005, Missing session ID")


@pytest.mark.parametrize(
    "reply", ["", "ID: x", "Status: 004", "ID: x Status: 4", "ID: x Status: 0044", "OK"]
)
def test_message_status_garbage(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r"^unexpected answer to delmsg: "):
        parse_message_status(reply, "delmsg")


def test_session_like_text_is_never_quoted() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message_status(f"<echo session_id={HEX}> ID: 1")
    assert HEX not in str(info.value)
    assert str(info.value) == "unexpected answer to querymsg: '<echo session_id=<hex>> ID: 1'"


# ------------------------------------------------------------------------- getbalance


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("Credit: 12.5", 12.5),
        ("Credits: 123.00", 123.0),
        ("Credit:7", 7.0),
        ("credits:  .5 ", 0.5),
        ("Credit: -3.25", -3.25),  # post-paid accounts can run below zero
    ],
)
def test_balance_forms(reply: str, value: float) -> None:
    assert parse_balance(reply) == value


@pytest.mark.parametrize("reply", ["Credit:", "Credit: lots", "Balance: 3", "Credit: 1.2.3"])
def test_balance_garbage(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r"^unexpected answer to getbalance"):
        parse_balance(reply)


def test_balance_error() -> None:
    with pytest.raises(AuthError):
        parse_balance("ERR: 001, Authentication failed")


# ---------------------------------------------------------------------- routecoverage


def test_coverage_supported() -> None:
    assert parse_coverage(f"OK: {OK_SENTENCE} Charge: 1.5") == Coverage(True, 1.5, OK_SENTENCE)
    assert parse_coverage(f"OK:{OK_SENTENCE}  charge:2") == Coverage(True, 2.0, OK_SENTENCE)
    assert parse_coverage(f"OK: {OK_SENTENCE}") == Coverage(True, None, OK_SENTENCE)


def test_coverage_codeless_err_is_an_answer_not_an_error() -> None:
    assert parse_coverage(f"ERR: {NO_SENTENCE}") == Coverage(False, None, NO_SENTENCE)
    assert parse_coverage(f"ERR:{NO_SENTENCE}\n") == Coverage(False, None, NO_SENTENCE)


def test_coverage_coded_err_raises() -> None:
    with pytest.raises(GatewayError) as info:
        parse_coverage("ERR: 105, Invalid Destination Address")
    assert info.value.code == "105"
    with pytest.raises(SessionExpired):
        parse_coverage("ERR: 003, Session ID expired")


@pytest.mark.parametrize("reply", ["", "ERR:", "ERR: 114 no comma", "OKAY then", "Maybe"])
def test_coverage_garbage(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r"^unexpected answer to routecoverage"):
        parse_coverage(reply)


def test_coverage_is_frozen() -> None:
    answer = parse_coverage(f"OK: {OK_SENTENCE} Charge: 1")
    with pytest.raises(AttributeError):
        answer.supported = False  # type: ignore[misc]


# ----------------------------------------------------------------------- getmsgcharge


@pytest.mark.parametrize(
    "reply",
    [
        f"apiMsgId: {HEX} charge: 1.5 status: 004",
        f"apiMsgId:{HEX}  charge:1.5  status:004 ",
        f"APIMSGID: {HEX} Charge: 1.50 Status: 004",
    ],
)
def test_charge_forms(reply: str) -> None:
    assert parse_charge(reply) == MessageCharge(HEX, 1.5, "004")
    message_id, charge, status = parse_charge(reply)  # a plain tuple too
    assert (message_id, charge, status) == (HEX, 1.5, "004")


@pytest.mark.parametrize(
    "reply", ["apiMsgId: x charge: status: 004", "ID: x Status: 004", "apiMsgId: x charge: 1"]
)
def test_charge_garbage(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r"^unexpected answer to getmsgcharge"):
        parse_charge(reply)


def test_charge_error() -> None:
    with pytest.raises(GatewayError) as info:
        parse_charge("ERR: 103, Unknown API message ID")
    assert info.value.reason == "unknown API message ID"


# ------------------------------------------------------------------------------- ping


@pytest.mark.parametrize("reply", ["OK:", "OK: ", "OK", f"OK: {HEX}"])
def test_ping_ok_prefix(reply: str) -> None:
    parse_ping(reply)


def test_ping_failures_never_quote_the_answer() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_ping(f"PONG {HEX}")
    assert str(info.value) == "unexpected answer to ping (37 characters, not 'OK')"
    with pytest.raises(SessionExpired):
        parse_ping("ERR: 003, Session ID expired")


def test_single_reply() -> None:
    assert single_reply(["Credit: 1"], "getbalance") == "Credit: 1"
    with pytest.raises(ProtocolError, match=r"^expected one answer to querymsg, got 2$"):
        single_reply(["ID: a Status: 004", "ID: b Status: 004"], "querymsg")
