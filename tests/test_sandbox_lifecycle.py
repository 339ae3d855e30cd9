"""Sandbox message lifecycle over real SOAP (zeep on 127.0.0.1): statuses on a ManualClock,
delmsg, validity expiry and refunds, getmsgcharge, routecoverage and the coverage table,
and what the ledger records. Time only moves through ``clock.advance``: nothing sleeps."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import zeep

from clicksms.sandbox import (
    DEFAULT_COVERAGE,
    MAGIC_STATUSES,
    ManualClock,
    Sandbox,
    SandboxConfig,
    parse_coverage,
)
from clicksms.sandbox import foreground as foreground_mod

NS = "http://api.clickatell.com/soap/document_literal/webservice"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CREDS: dict[str, Any] = {"api_id": 3512345, "user": "sandbox", "password": "sandbox-secret"}
GOOD = "27821234567"
GOOD2 = "27831234567"
QUEUED = "27820000002"  # stays 002 at Clickatell
FAILING = "27820000007"  # 003, then 007
NO_ROUTE = "27820000114"
DELIVERY = 5.0  # SandboxConfig.delivery_seconds default
DAY = 1440 * 60
COVERED = (
    "OK: This prefix is currently supported. Messages sent to this prefix will be routed. Charge: "
)
NOT_COVERED = (
    "ERR: This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)


# ---------------------------------------------------------------------------- helpers
def send(svc: Any, to: str = GOOD, text: str = "hi", **options: Any) -> str:
    """Send to one recipient; return the apimsgid."""
    (answer,) = svc.sendmsg(**CREDS, to=[to], text=text, **options)
    match = re.fullmatch(r"ID: ([0-9a-f]{32})", answer)
    assert match, answer
    return match.group(1)


def query(svc: Any, apimsgid: str) -> str:
    answer = svc.querymsg(**CREDS, apimsgid=apimsgid)
    match = re.fullmatch(rf"ID: {apimsgid} Status: (\d{{3}})", answer)
    assert match, answer
    return match.group(1)


def charge(svc: Any, apimsgid: str) -> str:
    return svc.getmsgcharge(**CREDS, apimsgid=apimsgid)


# -------------------------------------------------------------------- status lifecycle
def test_accepted_003_then_004_after_delivery_seconds(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc)
    assert query(svc, apimsgid) == "003"
    assert sb.status(apimsgid) == "003"
    clock.advance(DELIVERY - 0.1)
    assert query(svc, apimsgid) == "003"
    clock.advance(0.1)
    assert query(svc, apimsgid) == "004"
    assert sb.status(apimsgid) == "004"


def test_delivery_seconds_is_configurable(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], clock: ManualClock
) -> None:
    sb = make_sandbox(delivery_seconds=60)
    apimsgid = send(connect(sb))
    clock.advance(59)
    assert sb.status(apimsgid) == "003"
    clock.advance(1)
    assert sb.status(apimsgid) == "004"


@pytest.mark.parametrize(("to", "final"), [(GOOD, "004"), (FAILING, "007")])
def test_deferred_011_then_003_then_final(
    svc: Any, clock: ManualClock, to: str, final: str
) -> None:
    apimsgid = send(svc, to=to, deliv_time=30)
    assert query(svc, apimsgid) == "011"
    clock.advance(30 * 60 - 1)
    assert query(svc, apimsgid) == "011"
    clock.advance(1)
    assert query(svc, apimsgid) == "003"
    clock.advance(DELIVERY)
    assert query(svc, apimsgid) == final


def test_failing_number_ends_007_and_stays_charged(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    assert MAGIC_STATUSES[FAILING] == "007"
    apimsgid = send(svc, to=FAILING)
    assert query(svc, apimsgid) == "003"
    clock.advance(DELIVERY)
    assert query(svc, apimsgid) == "007"
    clock.advance(DAY * 2)
    assert query(svc, apimsgid) == "007"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 1.0 status: 007"
    assert sb.balance() == 999.0


def test_queued_number_stays_002_until_validity_then_010_refunded(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    assert MAGIC_STATUSES[QUEUED] == "002"
    apimsgid = send(svc, to=QUEUED)
    assert query(svc, apimsgid) == "002"
    assert svc.getbalance(**CREDS) == "Credit: 999.0"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 1.0 status: 002"
    clock.advance(DAY - 1)  # default validity: 1440 minutes
    assert query(svc, apimsgid) == "002"
    clock.advance(1)
    assert query(svc, apimsgid) == "010"
    assert svc.getbalance(**CREDS) == "Credit: 1000.0"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 0.0 status: 010"


def test_queued_number_deferred_is_011_then_002(svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc, to=QUEUED, deliv_time=20)
    assert query(svc, apimsgid) == "011"
    clock.advance(20 * 60)
    assert query(svc, apimsgid) == "002"


# --------------------------------------------------------------------------- validity
def test_validity_counts_from_the_scheduled_time(sb: Sandbox, svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc, text="a" * 200, concat=2, deliv_time=30, validity=10)
    assert sb.balance() == 998.0
    clock.advance(30 * 60 - 1)  # far past the validity counted from acceptance
    assert query(svc, apimsgid) == "011"
    clock.advance(1)
    assert query(svc, apimsgid) == "003"
    clock.advance(DELIVERY)
    assert query(svc, apimsgid) == "004"
    assert sb.balance() == 998.0


def test_the_seven_day_schedule_works_with_the_default_validity(
    svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc, deliv_time=10080)  # API.md §5.1: deliv_time max 10080 (7 days)
    clock.advance(10080 * 60 - 1)
    assert query(svc, apimsgid) == "011"
    clock.advance(1)
    assert query(svc, apimsgid) == "003"
    clock.advance(DELIVERY)
    assert query(svc, apimsgid) == "004"


def test_scheduled_message_still_waiting_expires_validity_after_it_was_due(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc, to=QUEUED, text="a" * 200, concat=2, deliv_time=2880, validity=10)
    assert sb.balance() == 998.0
    clock.advance(2880 * 60)
    assert query(svc, apimsgid) == "002"
    clock.advance(10 * 60 - 1)
    assert query(svc, apimsgid) == "002"
    clock.advance(1)
    assert query(svc, apimsgid) == "010"
    assert sb.balance() == 1000.0  # expiry is not charged: both parts refunded
    clock.advance(DAY)
    assert query(svc, apimsgid) == "010"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 0.0 status: 010"
    assert sb.balance() == 1000.0  # refunded once only


def test_refund_visible_without_a_soap_call(sb: Sandbox, svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc, to=QUEUED, validity=1)
    assert sb.balance() == 999.0
    clock.advance(60)
    assert sb.balance() == 1000.0
    assert sb.messages[apimsgid] == {
        "to": QUEUED,
        "climsgid": None,
        "parts": 1,
        "charge": 0.0,
        "status": "010",
    }


def test_sent_message_never_expires(svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc, validity=1)
    clock.advance(DAY * 3)
    assert query(svc, apimsgid) == "004"


@pytest.mark.parametrize(("validity", "expires_after"), [(0, DAY), (1, 60), (1440, DAY)])
def test_validity_bounds_and_zero_default(
    sb: Sandbox, svc: Any, clock: ManualClock, validity: int, expires_after: int
) -> None:
    apimsgid = send(svc, to=QUEUED, validity=validity)
    clock.advance(expires_after - 1)
    assert sb.status(apimsgid) == "002"
    clock.advance(1)
    assert sb.status(apimsgid) == "010"


@pytest.mark.parametrize("validity", [1441, -1, 10080])
def test_validity_out_of_range_is_101(sb: Sandbox, svc: Any, validity: int) -> None:
    assert svc.sendmsg(**CREDS, to=[GOOD], text="x", validity=validity) == [
        "ERR: 101, Invalid or missing parameters"
    ]
    assert sb.ledger == [] and sb.balance() == 1000.0


# ----------------------------------------------------------------------------- delmsg
def test_delmsg_cancels_deferred_message_and_keeps_charge(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc, deliv_time=60)
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 006"
    assert query(svc, apimsgid) == "006"
    clock.advance(61 * 60)  # due time passes: a cancelled message is not sent
    assert query(svc, apimsgid) == "006"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 1.0 status: 006"
    assert sb.balance() == 999.0


def test_delmsg_cancels_queued_message_and_it_no_longer_expires(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc, to=QUEUED, validity=5)
    clock.advance(60)
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 006"
    clock.advance(DAY)
    assert query(svc, apimsgid) == "006"
    assert sb.balance() == 999.0  # no expiry refund for a cancelled message


def test_delmsg_twice_answers_006_again(svc: Any) -> None:
    apimsgid = send(svc, deliv_time=60)
    svc.delmsg(**CREDS, apimsgid=apimsgid)
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 006"


@pytest.mark.parametrize(
    ("to", "advance", "status", "later"),
    [
        (GOOD, 0, "003", "004"),  # already handed to the upstream gateway
        (GOOD, DELIVERY, "004", "004"),
        (FAILING, DELIVERY, "007", "007"),
    ],
)
def test_delmsg_after_message_left_reports_status_unchanged(
    svc: Any, clock: ManualClock, to: str, advance: float, status: str, later: str
) -> None:
    apimsgid = send(svc, to=to)
    clock.advance(advance)
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == f"ID: {apimsgid} Status: {status}"
    clock.advance(DELIVERY)
    assert query(svc, apimsgid) == later


def test_delmsg_on_expired_and_routing_error_is_unchanged(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], clock: ManualClock
) -> None:
    svc = connect(make_sandbox(route_price=2.0))
    expired = send(svc, to=QUEUED, validity=1)
    unroutable = send(svc, max_credits=1)
    clock.advance(60)
    assert svc.delmsg(**CREDS, apimsgid=expired) == f"ID: {expired} Status: 010"
    assert svc.delmsg(**CREDS, apimsgid=unroutable) == f"ID: {unroutable} Status: 009"


def test_delmsg_by_climsgid_targets_the_latest_message(svc: Any) -> None:
    first = send(svc, deliv_time=60, climsgid="Order7")
    second = send(svc, deliv_time=60, climsgid="Order7")
    assert svc.querymsg(**CREDS, climsgid="Order7") == f"ID: {second} Status: 011"
    assert svc.delmsg(**CREDS, climsgid="Order7") == f"ID: {second} Status: 006"
    assert query(svc, first) == "011"
    assert query(svc, second) == "006"


def test_delmsg_apimsgid_wins_over_climsgid(svc: Any) -> None:
    first = send(svc, deliv_time=60, climsgid="A1")
    second = send(svc, deliv_time=60, climsgid="B2")
    assert svc.delmsg(**CREDS, apimsgid=first, climsgid="B2") == f"ID: {first} Status: 006"
    assert query(svc, second) == "011"


def test_delmsg_errors(svc: Any) -> None:
    assert svc.delmsg(**CREDS, apimsgid="0" * 32) == "ERR: 103, Unknown API message ID"
    assert svc.delmsg(**CREDS, climsgid="nobody") == "ERR: 104, Unknown client message ID"
    assert svc.delmsg(**CREDS) == "ERR: 109, Missing message ID"
    assert svc.delmsg(**CREDS, apimsgid="", climsgid="") == "ERR: 109, Missing message ID"
    assert svc.delmsg(apimsgid="x") == "ERR: 005, Missing session ID"
    assert svc.delmsg(api_id=3512345, user="sandbox", password="no", apimsgid="x") == (
        "ERR: 001, Authentication failed"
    )


def test_delmsg_with_session(svc: Any) -> None:
    sid = svc.auth(**CREDS)[4:]
    apimsgid = send(svc, deliv_time=60)
    assert svc.delmsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 006"


# ----------------------------------------------------------------- max_credits / 009
def test_max_credits_below_price_is_009_uncharged(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(route_price=1.5)
    svc = connect(sb)
    apimsgid = send(svc, max_credits=1)
    assert query(svc, apimsgid) == "009"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 0.0 status: 009"
    assert sb.balance() == 1000.0
    assert sb.ledger[0]["charge"] == 0.0


def test_max_credits_is_per_part_and_uses_the_route_price(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(coverage={"44": 2.0})
    svc = connect(sb)
    uk = send(svc, to="447700900123", max_credits=1)
    za = send(svc, to=GOOD, text="a" * 200, concat=2, max_credits=1)
    exact = send(svc, to="447700900123", max_credits=2)
    assert [sb.status(m) for m in (uk, za, exact)] == ["009", "003", "003"]
    assert sb.balance() == 1000.0 - 2.0 - 2.0


@pytest.mark.parametrize("max_credits", ["1.5", "0.8", "2.0", "1e0", "x", "-1"])
def test_max_credits_over_document_literal_is_a_whole_number(svc: Any, max_credits: str) -> None:
    """The doc/literal WSDL types max_credits xsd:int (API.md §2.3), so a fraction is an
    invalid parameter there, as for any other integer option; RPC's xsd:float takes 1.5."""
    (answer,) = svc.sendmsg(**CREDS, to=[GOOD], text="hi", max_credits=max_credits)
    assert answer == "ERR: 101, Invalid or missing parameters"


# ------------------------------------------------------------------------ getmsgcharge
def test_getmsgcharge_parts_times_route_price(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], clock: ManualClock
) -> None:
    sb = make_sandbox(route_price=1.5, coverage={"44": 0.8, "447": 1.2})
    svc = connect(sb)
    three_parts = send(svc, text="a" * 400, concat=3)
    uk_landline = send(svc, to="441632960000")
    uk_mobile = send(svc, to="447700900123", text="a" * 200, concat=2)
    unicode_two = send(svc, text="0416" * 71, unicode=1, concat=2)
    assert charge(svc, three_parts) == f"apiMsgId: {three_parts} charge: 4.5 status: 003"
    assert charge(svc, uk_landline) == f"apiMsgId: {uk_landline} charge: 0.8 status: 003"
    assert charge(svc, uk_mobile) == f"apiMsgId: {uk_mobile} charge: 2.4 status: 003"
    assert charge(svc, unicode_two) == f"apiMsgId: {unicode_two} charge: 3.0 status: 003"
    clock.advance(DELIVERY)
    assert charge(svc, three_parts) == f"apiMsgId: {three_parts} charge: 4.5 status: 004"
    assert sb.balance() == pytest.approx(1000 - 4.5 - 0.8 - 2.4 - 3.0)
    answer = charge(svc, uk_mobile)
    assert re.fullmatch(r"apiMsgId: (\w+) charge: ([\d.]+) status: (\d{3})", answer)


def test_getmsgcharge_errors(svc: Any) -> None:
    apimsgid = send(svc, climsgid="Ref1")
    assert svc.getmsgcharge(**CREDS, apimsgid="0" * 32) == "ERR: 103, Unknown API message ID"
    assert svc.getmsgcharge(**CREDS) == "ERR: 109, Missing message ID"
    assert svc.getmsgcharge(**CREDS, apimsgid="") == "ERR: 109, Missing message ID"
    assert svc.getmsgcharge(apimsgid=apimsgid) == "ERR: 005, Missing session ID"


# ------------------------------------------------------------------- messages age out
def test_querymsg_and_delmsg_forget_a_message_after_6_days(
    sb: Sandbox, svc: Any, clock: ManualClock
) -> None:
    apimsgid = send(svc, climsgid="Old1")
    clock.advance(6 * DAY - 1)
    assert query(svc, apimsgid) == "004"
    assert svc.querymsg(**CREDS, climsgid="Old1") == f"ID: {apimsgid} Status: 004"
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 004"
    clock.advance(1)  # API.md §4: queryable ≈6 days after submission
    assert query(svc, apimsgid) == "001"
    assert sb.status(apimsgid) == "001"
    assert svc.querymsg(**CREDS, climsgid="Old1") == "ERR: 104, Unknown client message ID"
    assert svc.delmsg(**CREDS, apimsgid=apimsgid) == "ERR: 103, Unknown API message ID"
    assert svc.delmsg(**CREDS, climsgid="Old1") == "ERR: 104, Unknown client message ID"
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 1.0 status: 004"


def test_getmsgcharge_forgets_a_message_after_15_days(svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc)
    clock.advance(15 * DAY - 1)
    assert charge(svc, apimsgid) == f"apiMsgId: {apimsgid} charge: 1.0 status: 004"
    clock.advance(1)  # API.md §4: "only messages < 15 days old"
    assert charge(svc, apimsgid) == "ERR: 103, Unknown API message ID"


def test_a_scheduled_message_ages_from_when_it_is_due(svc: Any, clock: ManualClock) -> None:
    apimsgid = send(svc, deliv_time=10080)
    clock.advance(10080 * 60 + 6 * DAY - 1)
    assert query(svc, apimsgid) == "004"
    clock.advance(1)
    assert query(svc, apimsgid) == "001"


def test_a_reused_climsgid_finds_the_latest_message_while_it_is_young(
    svc: Any, clock: ManualClock
) -> None:
    send(svc, climsgid="Again")
    clock.advance(5 * DAY)
    latest = send(svc, climsgid="Again")
    clock.advance(DAY)  # the first is now too old, the latest is not
    assert svc.querymsg(**CREDS, climsgid="Again") == f"ID: {latest} Status: 004"


# ---------------------------------------------------------------------- routecoverage
def test_routecoverage_literal_answers(svc: Any) -> None:
    assert svc.routecoverage(**CREDS, msisdn=GOOD) == COVERED + "1.0"
    assert svc.routecoverage(**CREDS, msisdn=NO_ROUTE) == NOT_COVERED


def test_routecoverage_longest_prefix_wins(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(route_price=0.9, coverage={"44": 1.5, "4477": None, "44770": 2.25, "1": None})
    svc = connect(sb)
    assert svc.routecoverage(**CREDS, msisdn="441632960000") == COVERED + "1.5"
    assert svc.routecoverage(**CREDS, msisdn="447712345678") == NOT_COVERED
    assert svc.routecoverage(**CREDS, msisdn="447700900123") == COVERED + "2.25"
    assert svc.routecoverage(**CREDS, msisdn="12025550123") == NOT_COVERED
    assert svc.routecoverage(**CREDS, msisdn=GOOD) == COVERED + "0.9"
    # a custom table replaces the default one, magic number included
    assert svc.routecoverage(**CREDS, msisdn=NO_ROUTE) == COVERED + "0.9"


def test_routecoverage_errors(svc: Any) -> None:
    assert svc.routecoverage(**CREDS, msisdn="") == "ERR: 101, Invalid or missing parameters"
    for bad in ["123456", "1234567890123456", "+27821234567", "2782123456a", "0821234567"]:
        assert svc.routecoverage(**CREDS, msisdn=bad) == "ERR: 105, Invalid Destination Address"
    assert svc.routecoverage(**CREDS, msisdn="1234567") == COVERED + "1.0"  # 7 digits
    assert svc.routecoverage(msisdn=GOOD) == "ERR: 005, Missing session ID"
    sid = svc.auth(**CREDS)[4:]
    assert svc.routecoverage(session_id=sid, msisdn=GOOD) == COVERED + "1.0"


def test_routecoverage_missing_msisdn_is_101(svc: Any) -> None:
    answer = svc.routecoverage(**CREDS, msisdn=zeep.xsd.SkipValue)  # element left out
    assert answer == "ERR: 101, Invalid or missing parameters"


def test_sendmsg_uses_coverage_per_recipient(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(coverage={"1": None, "44": 1.5})
    svc = connect(sb)
    answer = svc.sendmsg(
        **CREDS, to=["12025550123", "447700900123", GOOD], text="a" * 200, concat=2
    )
    assert answer[0] == "ERR: 114, Cannot route message To: 12025550123"
    assert answer[1].startswith("ID: ") and answer[2].startswith("ID: ")
    assert [r["charge"] for r in sb.ledger] == [3.0, 2.0]
    assert sb.balance() == 995.0
    assert svc.sendmsg(**CREDS, to=["12025550123"], text="x") == ["ERR: 114, Cannot route message"]


def test_default_coverage_keeps_magic_114(svc: Any, sb: Sandbox) -> None:
    assert DEFAULT_COVERAGE == {NO_ROUTE: None}
    assert svc.sendmsg(**CREDS, to=[NO_ROUTE], text="x") == ["ERR: 114, Cannot route message"]
    assert sb.balance() == 1000.0


# ------------------------------------------------------------------------------ ledger
def test_ledger_records_every_option_and_the_charge(
    make_sandbox: Callable[..., Sandbox],
    connect: Callable[[Sandbox], Any],
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    ledger_file = tmp_path / "ledger.jsonl"
    sb = make_sandbox(ledger_path=ledger_file, route_price=1.25)
    svc = connect(sb)
    sid = svc.auth(**CREDS)[4:]
    options = {
        "from": "Shop",
        "concat": 3,
        "msg_callback": 3,
        "deliv_ack": 1,
        "deliv_time": 60,
        "max_credits": 2,
        "req_feat": 16385,
        "queue": 1,
        "escalate": 1,
        "mo": 0,
        "climsgid": "Batch9",
        "unicode": 0,
        "msg_type": "SMS_FLASH",
        "validity": 90,
    }
    answer = svc.sendmsg(session_id=sid, to=[GOOD, GOOD2], text="a" * 200, **options)
    ids = [a[4:36] for a in answer]
    expected_fields = {"text": "a" * 200, **{k: str(v) for k, v in options.items()}}
    assert sb.ledger == [
        {
            "op": "sendmsg",
            "to": to,
            "text": "a" * 200,
            "unicode": 0,
            "parts": 2,
            "concat": 3,
            "from": "Shop",
            "apimsgid": apimsgid,
            "climsgid": "Batch9",
            "time": clock(),
            "charge": 2.5,
            "fields": expected_fields,
        }
        for to, apimsgid in zip([GOOD, GOOD2], ids, strict=True)
    ]
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == sb.ledger


def test_ledger_fields_are_raw_and_exclude_credentials(sb: Sandbox) -> None:
    # Raw XML: zeep would neither send the RPC spelling cliMsgId nor empty elements.
    inner = "".join(
        f"<{name}>{value}</{name}>"
        for name, value in [
            *CREDS.items(),
            ("to", GOOD),
            ("text", "hi"),
            ("cliMsgId", "Raw1"),  # RPC spelling, kept as sent
            ("max_credits", "2"),
            ("udh", ""),
            ("concat", ""),
        ]
    )
    envelope = (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:sendmsg>{inner}</ns1:sendmsg></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("POST", url.path, envelope.encode(), {"Content-Type": "text/xml"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert re.search(rb"<return>ID: [0-9a-f]{32}</return>", body), body
    (record,) = sb.ledger
    assert record["fields"] == {
        "text": "hi",
        "cliMsgId": "Raw1",
        "max_credits": "2",
        "udh": "",
        "concat": "",
    }
    assert record["climsgid"] == "Raw1"
    sb.ledger[0]["fields"]["text"] = "changed"  # a copy: the sandbox's record is untouched
    assert sb.ledger[0]["fields"]["text"] == "hi"


# -------------------------------------------------------------------- parse_coverage
def test_parse_coverage() -> None:
    assert parse_coverage([]) == {}
    assert parse_coverage(["44=1.5", "1=none", "27 = 0", "33=NONE", "49=2"]) == {
        "44": 1.5,
        "1": None,
        "27": 0.0,
        "33": None,
        "49": 2.0,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("44", "expected PREFIX=CHARGE or PREFIX=none"),
        ("=1.5", "expected PREFIX=CHARGE or PREFIX=none"),
        ("44=", "expected PREFIX=CHARGE or PREFIX=none"),
        ("44=cheap", "is neither a number nor 'none'"),
        ("44=-1", "must be a finite number >= 0"),
        ("44=nan", "must be a finite number >= 0"),
        ("44=inf", "must be a finite number >= 0"),
        ("+44=1", "must be 1-15 digits"),
        ("0044=1", "no leading 0"),
        ("4a=1", "must be 1-15 digits"),
        ("1234567890123456=1", "must be 1-15 digits"),
    ],
)
def test_parse_coverage_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_coverage([spec])
    assert repr(spec) in str(info.value)


def test_parse_coverage_rejects_a_repeated_prefix() -> None:
    with pytest.raises(ValueError, match="prefix 44 is given more than once"):
        parse_coverage(["44=1", "44=none"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"coverage": {"+44": 1.0}},
        {"coverage": {"44": -0.5}},
        {"coverage": {"44": float("nan")}},
        {"coverage": {"44": "1.5"}},
        {"delivery_seconds": -1},
    ],
)
def test_config_rejects_bad_routes(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SandboxConfig(**overrides)


def test_config_copies_the_coverage_table() -> None:
    table: dict[str, float | None] = {"44": 1}
    config = SandboxConfig(coverage=table)
    table["44"] = None
    assert config.coverage == {"44": 1.0}
    assert config.price_for("447700900123") == 1.0
    assert SandboxConfig().coverage is not SandboxConfig().coverage


def test_the_longest_matching_prefix_prices_a_number() -> None:
    table = {"27": 2.0, "2782": 1.5, "278200001": None, "44": 1.0}
    config = SandboxConfig(coverage=table, route_price=0.5)
    assert config.price_for("27821234567") == 1.5
    assert config.price_for("27831234567") == 2.0
    assert config.price_for("27820000123") is None  # no route, longest wins over 2782
    assert config.price_for("33612345678") == 0.5  # no prefix: route_price
    assert config.price_for("278") == 2.0  # shorter than some prefixes
    config.coverage = {"33": 0.25}  # a table replaced later is read afresh
    assert config.price_for("33612345678") == 0.25
    assert config.price_for("27821234567") == 0.5


# ------------------------------------------------------------------------ foreground
def test_run_foreground_layers_coverage_over_the_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Sandbox] = []

    class Recording(Sandbox):
        def start(self) -> Sandbox:
            seen.append(self)
            return super().start()

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(foreground_mod, "Sandbox", Recording)
    monkeypatch.setattr(foreground_mod, "time", SimpleNamespace(sleep=interrupt))
    foreground_mod.run_foreground(
        host="127.0.0.1",
        port=0,
        ledger=None,
        credits=10.0,
        session_timeout=900.0,
        latency=0.0,
        coverage=parse_coverage(["44=1.5"]),
        delivery_seconds=42.0,
    )
    (started,) = seen
    with pytest.raises(RuntimeError, match="not bound"):  # stopped on Ctrl-C
        _ = started.port
    assert started.config.coverage == {NO_ROUTE: None, "44": 1.5}
    assert started.config.delivery_seconds == 42.0
    assert "listening on http://127.0.0.1:" in capsys.readouterr().out


def test_run_foreground_bad_coverage_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from clicksms.errors import UsageError

    with pytest.raises(UsageError, match="coverage prefix"):
        foreground_mod.run_foreground(
            host="127.0.0.1",
            port=0,
            ledger=None,
            credits=10.0,
            session_timeout=900.0,
            latency=0.0,
            coverage={"+44": 1.0},
        )
