"""Sandbox fault injection: every kind as it shows on the wire (raw http.client, and zeep
where the exception a client gets matters), what reached the gateway (ledger, credits,
requests), the after/times/ops matching, the control endpoint and ``clicksms sandbox --fault``.
Waits are bounded loops or joins with a timeout; no assertion is on elapsed time."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import zeep
from test_sandbox import envelope, fault, fields_xml, returns
from zeep.exceptions import Fault as ZeepFault
from zeep.exceptions import TransportError

from clicksms.sandbox import CONTROL_PATH, FAULT_KINDS, Faults, ManualClock, Sandbox, parse_spec
from clicksms.sandbox.faults import Fault

CREDS: dict[str, Any] = {"api_id": 3512345, "user": "sandbox", "password": "sandbox-secret"}
GOOD, GOOD2 = "27821234567", "27831234567"
START = 1_700_000_000  # the ManualClock fixture's time
ID_RE = re.compile(r"ID: ([0-9a-f]{32})")


# ---------------------------------------------------------------------------- helpers
def connection(sb: Sandbox, timeout: float = 10) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", sb.port, timeout=timeout)


def soap(op: str, **fields: Any) -> bytes:
    return envelope(op, fields_xml(**fields)).encode()


def post(sb: Sandbox, body: bytes) -> tuple[int, http.client.HTTPResponse, bytes]:
    """One SOAP POST on a fresh connection; http.client errors propagate."""
    conn = connection(sb)
    try:
        conn.request("POST", urlsplit(sb.endpoint).path, body=body)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def call(sb: Sandbox, op: str, **fields: Any) -> list[str]:
    status, _, body = post(sb, soap(op, **fields))
    assert status == 200, body
    return returns(body, op)


def send(sb: Sandbox, *to: str) -> bytes:
    return soap("sendmsg", **CREDS, to=list(to or [GOOD]), text="hi")


def control(
    sb: Sandbox, method: str, body: bytes | None = None
) -> tuple[int, http.client.HTTPResponse, Any]:
    conn = connection(sb)
    try:
        conn.request(method, CONTROL_PATH, body=body)
        resp = conn.getresponse()
        raw = resp.read()
        is_json = resp.getheader("Content-Type") == "application/json"
        return resp.status, resp, json.loads(raw) if is_json else raw.decode()
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Bounded wait for a server-side effect (a handler thread may still be running)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def untouched(sb: Sandbox) -> None:
    """Nothing reached the gateway: no request logged, no message, no charge."""
    assert sb.requests == []
    assert sb.ledger == []
    assert sb.gateway.balance() == 1000.0


@pytest.fixture
def zsvc(sb: Sandbox, connect: Callable[[Sandbox], Any]) -> Any:
    return connect(sb)


# --------------------------------------------------------------------- kinds on the wire
def test_latency_answers_late_after_processing(sb: Sandbox) -> None:
    sb.faults.add("latency", seconds=60)
    conn = connection(sb, timeout=0.2)
    try:
        conn.request("POST", urlsplit(sb.endpoint).path, body=send(sb))
        with pytest.raises(TimeoutError):
            conn.getresponse()
    finally:
        conn.close()
    wait_for(lambda: len(sb.ledger) == 1, "the message to be accepted")  # processed first
    assert sb.faults.fired == [{"kind": "latency", "op": "sendmsg"}]


def test_short_latency_gives_the_normal_answer(sb: Sandbox) -> None:
    sb.faults.add("latency", seconds=0.01)
    (answer,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
    assert answer == f"ID: {sb.ledger[0]['apimsgid']}"


def test_drop_before_closes_without_processing(sb: Sandbox) -> None:
    sb.faults.add("drop-before")
    with pytest.raises(http.client.RemoteDisconnected):
        post(sb, send(sb))
    untouched(sb)


def test_drop_after_processes_then_closes(sb: Sandbox) -> None:
    sb.faults.add("drop-after")
    with pytest.raises(http.client.RemoteDisconnected):
        post(sb, send(sb, GOOD, GOOD2))
    assert [record["to"] for record in sb.ledger] == [GOOD, GOOD2]
    assert sb.gateway.balance() == 998.0
    assert [r["op"] for r in sb.requests] == ["sendmsg"]


def test_drops_look_alike_to_zeep(sb: Sandbox, zsvc: Any) -> None:
    """A client cannot tell drop-before from drop-after: both are a closed connection."""
    sb.faults.add("drop-before", times=1)
    sb.faults.add("drop-after", times=1)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError, match="without response"):
            zsvc.sendmsg(**CREDS, to=[GOOD], text="hi")
    assert len(sb.ledger) == 1


def test_http_500_is_an_html_page_not_processed(sb: Sandbox, zsvc: Any) -> None:
    sb.faults.add("http-500", times=2)
    status, resp, body = post(sb, send(sb))
    assert status == 500
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert body.startswith(b"<!DOCTYPE html>") and b"Internal Server Error" in body
    with pytest.raises(TransportError) as caught:
        zsvc.sendmsg(**CREDS, to=[GOOD], text="hi")
    assert caught.value.status_code == 500
    untouched(sb)


@pytest.mark.parametrize(("seconds", "retry_after"), [(None, "1"), (7, "7"), (2.5, "3"), (0, "0")])
def test_http_503_has_retry_after_not_processed(
    sb: Sandbox, seconds: float | None, retry_after: str
) -> None:
    sb.faults.add("http-503", seconds=seconds)
    status, resp, body = post(sb, send(sb))
    assert status == 503
    assert resp.getheader("Retry-After") == retry_after
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert b"Service Unavailable" in body
    untouched(sb)


def test_malformed_xml_is_processed_and_cut_short(sb: Sandbox, zsvc: Any) -> None:
    sb.faults.add("malformed-xml")
    status, resp, body = post(sb, send(sb))
    assert status == 200
    assert resp.getheader("Content-Type") == "text/xml; charset=utf-8"
    assert body.startswith(b"<?xml")
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)
    with pytest.raises(TransportError, match=r"\(200\) with invalid XML"):
        zsvc.sendmsg(**CREDS, to=[GOOD], text="hi")
    assert len(sb.ledger) == 2  # both were really accepted and charged
    assert sb.gateway.balance() == 998.0


def test_soap_fault_is_a_server_fault_not_processed(sb: Sandbox, zsvc: Any) -> None:
    sb.faults.add("soap-fault")
    status, resp, body = post(sb, send(sb))
    assert status == 500
    assert resp.getheader("Content-Type") == "text/xml; charset=utf-8"
    code, text = fault(body)
    assert code == "SOAP-ENV:Server"
    assert text == "Internal server error (injected by the sandbox)"
    with pytest.raises(ZeepFault) as caught:
        zsvc.getbalance(**CREDS)
    assert caught.value.code == "SOAP-ENV:Server"
    untouched(sb)


def test_slow_drip_never_ends_until_cleared(sb: Sandbox) -> None:
    sb.faults.add("slow-drip", seconds=0.001)
    conn = connection(sb)
    try:
        conn.request("POST", urlsplit(sb.endpoint).path, body=send(sb))
        resp = conn.getresponse()  # the status line and headers come at once
        assert resp.status == 200
        assert resp.getheader("Transfer-Encoding") == "chunked"
        wait_for(lambda: len(sb.ledger) == 1, "the message to be accepted")
        got = b""
        while not got.endswith(b"</SOAP-ENV:Envelope>\n"):
            got += resp.read(1)
        assert resp.read(3) == b"   "  # the answer is complete, yet the body goes on
        sb.faults.clear()
        rest = resp.read()  # clearing ends the drip with a proper last chunk
        assert rest.strip() == b""
        (answer,) = returns(got + rest, "sendmsg")
        assert answer == f"ID: {sb.ledger[0]['apimsgid']}"
        conn.request("POST", urlsplit(sb.endpoint).path, body=soap("getbalance", **CREDS))
        assert returns(conn.getresponse().read(), "getbalance") == ["Credit: 999.0"]
    finally:
        conn.close()


def test_slow_drip_ends_when_the_client_hangs_up(sb: Sandbox) -> None:
    sb.faults.add("slow-drip", seconds=0.01)
    conn = connection(sb)
    conn.request("POST", urlsplit(sb.endpoint).path, body=soap("getbalance", **CREDS))
    resp = conn.getresponse()
    assert resp.read(1) == b"<"
    conn.close()
    resp.close()
    httpd = sb._httpd
    assert httpd is not None
    wait_for(lambda: not httpd._open, "the dripping connection to be closed")


def test_stop_returns_while_a_slow_drip_is_in_progress(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox()
    sb.faults.add("slow-drip", seconds=30)
    conn = connection(sb)
    try:
        conn.request("POST", urlsplit(sb.endpoint).path, body=soap("getbalance", **CREDS))
        resp = conn.getresponse()
        assert resp.read(1) == b"<"
        stopper = threading.Thread(target=sb.stop)
        stopper.start()
        stopper.join(timeout=10)
        assert not stopper.is_alive()
        with pytest.raises(http.client.IncompleteRead):
            resp.read()
    finally:
        conn.close()


def test_stop_returns_during_a_latency_pause(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    sb.faults.add("latency", seconds=60)
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            post(sb, soap("getbalance", **CREDS))
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    caller = threading.Thread(target=client)
    caller.start()
    wait_for(lambda: sb.faults.fired != [], "the request to arrive")
    stopper = threading.Thread(target=sb.stop)
    stopper.start()
    stopper.join(timeout=10)
    caller.join(timeout=10)
    assert not stopper.is_alive() and not caller.is_alive()
    assert len(outcome) == 1  # no answer: the connection went down with the sandbox


def test_expire_session_answers_003_and_the_session_is_gone(sb: Sandbox) -> None:
    sb.faults.add("expire-session", times=1)
    (ok,) = call(sb, "auth", **CREDS)  # auth carries no session: not counted
    sid = ok.removeprefix("OK: ")
    assert call(sb, "getbalance", **CREDS) == ["Credit: 1000.0"]  # nor does the triple
    assert sb.faults.active()[0]["seen"] == 0
    assert call(sb, "sendmsg", session_id=sid, to=[GOOD], text="hi") == [
        "ERR: 003, Session ID expired"
    ]
    assert call(sb, "ping", session_id=sid) == ["ERR: 003, Session ID expired"]  # re-auth
    (ok,) = call(sb, "auth", **CREDS)
    assert call(sb, "getbalance", session_id=ok[4:]) == ["Credit: 1000.0"]
    assert sb.ledger == []


@pytest.mark.parametrize(
    ("seconds", "until"), [(None, START + 60), (5, START + 5), (0.5, START + 1)]
)
def test_err_130_not_processed(sb: Sandbox, seconds: float | None, until: int) -> None:
    sb.faults.add("err-130", ops={"sendmsg"}, seconds=seconds)
    limit = f"ERR: 130, Maximum MT limit exceeded until {until}"
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == [limit]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD, GOOD2], text="hi") == [  # per recipient
        f"{limit} To: {GOOD}",
        f"{limit} To: {GOOD2}",
    ]
    assert sb.ledger == [] and sb.gateway.balance() == 1000.0


def test_err_130_keeps_earlier_recipient_errors(sb: Sandbox) -> None:
    """The MT limit is checked at the credit stage, after the per-recipient checks."""
    sb.faults.add("err-130")
    assert call(sb, "sendmsg", **CREDS, to=["27820000105", GOOD], text="hi") == [
        "ERR: 105, Invalid Destination Address To: 27820000105",
        f"ERR: 130, Maximum MT limit exceeded until {START + 60} To: {GOOD}",
    ]


def test_err_130_follows_the_sandbox_clock(sb: Sandbox, clock: ManualClock) -> None:
    sb.faults.add("err-130")
    clock.advance(100)
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == [
        f"ERR: 130, Maximum MT limit exceeded until {START + 160}"
    ]


def test_err_901_whole_request_not_processed(sb: Sandbox) -> None:
    sb.faults.add("err-901")
    assert call(sb, "sendmsg", **CREDS, to=[GOOD, GOOD2], text="hi") == ["ERR: 901, Internal error"]
    assert call(sb, "auth", **CREDS) == ["ERR: 901, Internal error"]
    untouched(sb)


def test_no_credit_part_way_through(sb: Sandbox) -> None:
    """Credit runs out at the second sendmsg and stays out: the gateway's own ERR 301."""
    sb.faults.add("no-credit", ops={"sendmsg"}, after=1, times=1)
    (first,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
    assert ID_RE.fullmatch(first)
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == ["ERR: 301, No credit left"]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD, GOOD2], text="hi") == [  # per recipient
        f"ERR: 301, No credit left To: {GOOD}",
        f"ERR: 301, No credit left To: {GOOD2}",
    ]
    assert call(sb, "getbalance", **CREDS) == ["Credit: 0.0"]
    assert len(sb.ledger) == 1
    sb.gateway.add_credits(5)  # topping up works again
    (again,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
    assert ID_RE.fullmatch(again)


def test_no_credit_keeps_earlier_recipient_errors(sb: Sandbox) -> None:
    sb.faults.add("no-credit")
    assert call(sb, "sendmsg", **CREDS, to=["27820000105", GOOD], text="hi") == [
        "ERR: 105, Invalid Destination Address To: 27820000105",
        f"ERR: 301, No credit left To: {GOOD}",
    ]


@pytest.mark.parametrize("kind", ["err-130", "no-credit"])
def test_credit_faults_default_to_the_sending_ops_and_leave_others_alone(
    sb: Sandbox, kind: str
) -> None:
    added = sb.faults.add(kind)
    assert added.ops == frozenset({"sendmsg", "senditem", "quicksend", "si_push", "ind_push"})
    assert added.spec.startswith(f"{kind},ops=ind_push+quicksend+senditem+sendmsg+si_push")
    (ok,) = call(sb, "auth", **CREDS)
    sid = ok.removeprefix("OK: ")
    assert call(sb, "ping", session_id=sid) == ["OK: "]
    assert call(sb, "getbalance", session_id=sid) == ["Credit: 1000.0"]
    assert call(sb, "querymsg", session_id=sid, apimsgid="0" * 32) == [
        f"ID: {'0' * 32} Status: 001"
    ]
    assert call(sb, "routecoverage", **CREDS, msisdn=GOOD)[0].startswith("OK:")
    assert sb.faults.active()[0]["seen"] == 0 and sb.faults.fired == []


def refused_before_credit(sb: Sandbox, clock: ManualClock) -> None:
    """sendmsg requests the gateway turns away before its credit stage, each with its own
    answer: expired, unknown or missing session, bad password, frozen account, bad
    parameters, every recipient refused, bad content."""
    (ok,) = call(sb, "auth", **CREDS)
    clock.advance(sb.config.session_timeout + 1)
    expired = ok.removeprefix("OK: ")
    text = {"to": [GOOD], "text": "hi"}
    assert call(sb, "sendmsg", session_id=expired, **text) == ["ERR: 003, Session ID expired"]
    assert call(sb, "sendmsg", session_id="0" * 32, **text) == ["ERR: 003, Session ID expired"]
    assert call(sb, "sendmsg", **text) == ["ERR: 005, Missing session ID"]
    assert call(sb, "sendmsg", **{**CREDS, "password": "wrong"}, **text) == [
        "ERR: 001, Authentication failed"
    ]
    assert call(sb, "sendmsg", **{**CREDS, "user": "frozen"}, **text) == [
        "ERR: 004, Account frozen"
    ]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi", queue=9) == [
        "ERR: 101, Invalid or missing parameters"
    ]
    assert call(sb, "sendmsg", **CREDS, to=["27820000105"], text="hi") == [
        "ERR: 105, Invalid Destination Address"
    ]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="") == ["ERR: 107, Empty message"]


def test_err_130_comes_after_authentication_and_every_check(
    sb: Sandbox, clock: ManualClock
) -> None:
    """API.md §11.5: auth, parameters, recipients, content, then credit (301/130). The
    requests refused earlier get their own answer and use up none of after=/times=."""
    sb.faults.add("err-130", after=1, times=1)
    refused_before_credit(sb, clock)
    assert sb.faults.active()[0]["seen"] == 0 and sb.faults.fired == []
    (first,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")  # after=1: let through
    assert ID_RE.fullmatch(first)
    refused_before_credit(sb, clock)
    limit = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
    assert limit == [f"ERR: 130, Maximum MT limit exceeded until {int(clock()) + 60}"]
    (state,) = sb.faults.active()
    assert (state["seen"], state["hits"], state["spent"]) == (2, 1, True)
    assert sb.faults.fired == [{"kind": "err-130", "op": "sendmsg"}]
    assert len(sb.ledger) == 1


def test_no_credit_leaves_the_balance_alone_until_a_send_reaches_the_credit_stage(
    sb: Sandbox, clock: ManualClock
) -> None:
    sb.faults.add("no-credit", times=1)
    refused_before_credit(sb, clock)
    assert call(sb, "getbalance", **CREDS) == ["Credit: 1000.0"]
    assert sb.faults.active()[0]["hits"] == 0
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == ["ERR: 301, No credit left"]
    assert call(sb, "getbalance", **CREDS) == ["Credit: 0.0"]
    assert sb.ledger == []


def test_expire_session_answers_before_a_credit_fault(sb: Sandbox) -> None:
    sb.faults.add("no-credit")
    sb.faults.add("expire-session", times=1)
    (ok,) = call(sb, "auth", **CREDS)
    sid = ok.removeprefix("OK: ")
    assert call(sb, "sendmsg", session_id=sid, to=[GOOD], text="hi") == [
        "ERR: 003, Session ID expired"
    ]
    assert sb.gateway.balance() == 1000.0
    assert [(f["kind"], f["seen"]) for f in sb.faults.active()] == [
        ("no-credit", 0),
        ("expire-session", 1),
    ]


def test_a_credit_fault_acts_alongside_an_arrival_fault(sb: Sandbox) -> None:
    """Arrival and credit stages each let at most one fault act on a request."""
    sb.faults.add("err-130", times=1)
    sb.faults.add("no-credit", times=1)  # due too, but err-130 was added first
    sb.faults.add("latency", seconds=0.01, times=1)
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == [
        f"ERR: 130, Maximum MT limit exceeded until {START + 60}"
    ]
    assert sb.faults.fired == [
        {"kind": "latency", "op": "sendmsg"},
        {"kind": "err-130", "op": "sendmsg"},
    ]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == ["ERR: 301, No credit left"]


def test_a_request_dropped_on_arrival_never_reaches_a_credit_fault(sb: Sandbox) -> None:
    sb.faults.add("no-credit")
    sb.faults.add("drop-before", times=1)
    with pytest.raises(http.client.RemoteDisconnected):
        post(sb, send(sb))
    assert sb.gateway.balance() == 1000.0
    assert sb.faults.active()[0]["seen"] == 0


def test_every_kind_is_tested_here() -> None:
    tested = {
        "latency", "drop-before", "drop-after", "http-500", "http-503", "malformed-xml",
        "soap-fault", "slow-drip", "expire-session", "err-130", "no-credit", "err-901",
    }  # fmt: skip
    assert set(FAULT_KINDS) == tested


# ---------------------------------------------------------------------------- matching
def hits(faults: Faults, ops: list[str]) -> list[str | None]:
    return [(f.kind if (f := faults.take(op)) else None) for op in ops]


def test_after_and_times() -> None:
    faults = Faults()
    faults.add("err-901", after=2, times=2)
    assert hits(faults, ["sendmsg"] * 6) == [None, None, "err-901", "err-901", None, None]
    (state,) = faults.active()
    assert (state["seen"], state["hits"], state["spent"]) == (6, 2, True)


def test_ops_filter_counts_only_matching_requests() -> None:
    faults = Faults()
    faults.add("drop-after", ops={"sendmsg"}, after=1)
    ops = ["auth", "sendmsg", "getbalance", "sendmsg", "querymsg", "sendmsg"]
    assert hits(faults, ops) == [None, None, None, "drop-after", None, "drop-after"]
    assert faults.active()[0]["seen"] == 3


def test_first_added_wins_and_each_fault_counts_independently() -> None:
    faults = Faults()
    faults.add("err-901", times=1)
    faults.add("drop-before", after=1, times=1)
    faults.add("soap-fault")
    assert hits(faults, ["ping"] * 4) == ["err-901", "drop-before", "soap-fault", "soap-fault"]
    assert [f["seen"] for f in faults.active()] == [4, 4, 4]
    assert faults.fired == [
        {"kind": "err-901", "op": "ping"},
        {"kind": "drop-before", "op": "ping"},
        {"kind": "soap-fault", "op": "ping"},
        {"kind": "soap-fault", "op": "ping"},
    ]


def test_credit_kinds_are_taken_at_the_credit_stage_only() -> None:
    faults = Faults()
    faults.add("err-130")
    faults.add("err-901")
    fired = faults.take("sendmsg")
    assert fired is not None and fired.kind == "err-901"
    fired = faults.take_at_credit("sendmsg")
    assert fired is not None and fired.kind == "err-130"
    assert [f["seen"] for f in faults.active()] == [1, 1]


def test_expire_session_skips_requests_without_a_session() -> None:
    faults = Faults()
    faults.add("expire-session")
    assert faults.take("auth", has_session=False) is None
    assert faults.active()[0]["seen"] == 0
    fired = faults.take("sendmsg", has_session=True)
    assert fired is not None and fired.kind == "expire-session"


def test_clear_ends_every_fault() -> None:
    faults = Faults()
    first = faults.add("err-901")
    faults.add("latency", seconds=1)
    assert len(faults) == 2 and first.active
    assert faults.clear() == 2
    assert not first.active
    assert faults.active() == [] and faults.take("sendmsg") is None
    assert faults.clear() == 0


def test_active_describes_each_fault() -> None:
    faults = Faults()
    faults.add("slow-drip", ops=["sendmsg", "querymsg"], after=3, times=2)
    assert faults.active() == [
        {
            "spec": "slow-drip,ops=querymsg+sendmsg,after=3,times=2,seconds=1",
            "kind": "slow-drip",
            "ops": ["querymsg", "sendmsg"],
            "after": 3,
            "times": 2,
            "seconds": 1.0,
            "seen": 0,
            "hits": 0,
            "spent": False,
        }
    ]


def test_take_is_thread_safe() -> None:
    faults = Faults()
    faults.add("err-901", after=10, times=100)
    counts: list[int] = []

    def worker() -> None:
        counts.append(sum(faults.take("sendmsg") is not None for _ in range(50)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(counts) == 100
    assert faults.active()[0]["seen"] == 400


def test_matching_over_the_wire(sb: Sandbox) -> None:
    sb.faults.add("drop-after", ops={"sendmsg"}, after=2, times=1)
    for _ in range(2):
        (answer,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
        assert ID_RE.fullmatch(answer)
    assert call(sb, "getbalance", **CREDS) == ["Credit: 998.0"]  # other ops pass untouched
    with pytest.raises(http.client.RemoteDisconnected):
        post(sb, send(sb))
    (answer,) = call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi")
    assert ID_RE.fullmatch(answer)
    assert len(sb.ledger) == 4  # the dropped one was sent too


def test_faults_survive_stop_and_start(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    sb.faults.add("err-901")
    sb.stop()
    sb.start()
    assert call(sb, "getbalance", **CREDS) == ["ERR: 901, Internal error"]


def test_malformed_requests_are_not_counted(sb: Sandbox) -> None:
    sb.faults.add("drop-before")
    status, _, body = post(sb, b"<not-xml")
    assert status == 500 and fault(body)[0] == "SOAP-ENV:Client"
    assert sb.faults.active()[0]["seen"] == 0


# -------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("boom", {}, "unknown fault kind 'boom': use one of latency, drop-before"),
        ("drop-after", {"after": -1}, "after must be a whole number >= 0, not -1"),
        ("drop-after", {"times": -2}, "times must be a whole number >= 1, not -2"),
        ("drop-after", {"times": 0}, "times must be a whole number >= 1, not 0"),
        ("drop-after", {"after": 1.5}, "after must be a whole number >= 0, not 1.5"),
        ("latency", {}, "latency needs seconds=, e.g. latency,seconds=2"),
        ("latency", {"seconds": 0}, "latency needs seconds > 0"),
        ("slow-drip", {"seconds": 0}, "slow-drip needs seconds > 0"),
        ("err-130", {"seconds": -1}, "seconds must be a finite number >= 0, not -1"),
        ("latency", {"seconds": float("inf")}, "seconds must be a finite number >= 0"),
        ("drop-before", {"seconds": 1}, "drop-before takes no seconds= (only latency, slow-drip"),
        ("err-901", {"ops": ["send"]}, "unknown operation 'send': use SOAP names"),
        ("err-901", {"ops": []}, "ops must name at least one operation"),
        ("expire-session", {"ops": ["auth"]}, "expire-session never matches auth"),
        (
            "err-130",
            {"ops": ["getbalance"]},
            "err-130 acts at the credit stage of the operations that send: "
            "ops= can only name ind_push, quicksend, senditem, sendmsg, si_push",
        ),
        (
            "no-credit",
            {"ops": ["sendmsg", "auth"]},
            "no-credit acts at the credit stage of the operations that send: "
            "ops= can only name ind_push, quicksend, senditem, sendmsg, si_push",
        ),
    ],
)
def test_add_rejects_bad_arguments(kind: str, options: dict[str, Any], message: str) -> None:
    faults = Faults()
    with pytest.raises(ValueError, match=re.escape(message)):
        faults.add(kind, **options)
    assert len(faults) == 0


def test_a_single_op_name_is_not_split_into_letters() -> None:
    fault_ = Faults().add("err-901", ops="sendmsg")
    assert fault_.ops == frozenset({"sendmsg"})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("drop-after", "drop-after"),
        (" drop-after , ops = sendmsg+querymsg , after=2 , times=1 ", None),
        ("latency,seconds=1.5", "latency,seconds=1.5"),
        ("slow-drip", "slow-drip,seconds=1"),
        ("err-130,ops=sendmsg,seconds=30", "err-130,ops=sendmsg,seconds=30"),
    ],
)
def test_parse_spec(spec: str, expected: str | None) -> None:
    parsed = parse_spec(spec)
    if expected is None:
        assert (parsed.kind, parsed.ops, parsed.after, parsed.times) == (
            "drop-after",
            frozenset({"sendmsg", "querymsg"}),
            2,
            1,
        )
    else:
        assert parsed.spec == expected
        assert parse_spec(parsed.spec).spec == expected  # round trip


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no fault kind given"),
        (",times=1", "no fault kind given"),
        ("drop-after,times", "'times' is not NAME=VALUE"),
        ("drop-after,times=", "'times=' is not NAME=VALUE"),
        ("drop-after,times=x", "times='x' is not a whole number"),
        ("drop-after,times=1,times=2", "times= is given more than once"),
        ("drop-after,colour=red", "unknown option 'colour': use ops=, after=, times= or seconds="),
        ("latency,seconds=soon", "seconds='soon' is not a number"),
        ("drop-after,ops=sendmsg+", "unknown operation ''"),
    ],
)
def test_parse_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_spec(spec)


# --------------------------------------------------------------------- control endpoint
def test_control_endpoint_lists_adds_and_clears(sb: Sandbox) -> None:
    status, resp, listed = control(sb, "GET")
    assert (status, listed) == (200, [])
    assert resp.getheader("Content-Type") == "application/json"
    status, _, added = control(sb, "POST", b'{"kind": "err-901", "ops": ["sendmsg"], "times": 1}')
    assert status == 201
    assert [f["spec"] for f in added] == ["err-901,ops=sendmsg,times=1"]
    body = json.dumps([{"kind": "latency", "seconds": 0.01, "ops": "getbalance+ping"}])
    status, _, added = control(sb, "POST", body.encode())
    assert status == 201 and added[0]["ops"] == ["getbalance", "ping"]
    status, _, added = control(sb, "POST", b"drop-before,ops=querymsg\nsoap-fault,after=5\n")
    assert status == 201 and [f["kind"] for f in added] == ["drop-before", "soap-fault"]
    assert call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi") == ["ERR: 901, Internal error"]
    _, _, listed = control(sb, "GET")
    assert [(f["kind"], f["hits"]) for f in listed] == [
        ("err-901", 1),
        ("latency", 0),
        ("drop-before", 0),
        ("soap-fault", 0),
    ]
    assert control(sb, "DELETE")[2] == {"cleared": 4}
    assert control(sb, "GET")[2] == []
    assert sb.faults.active() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "bad fault: no fault given: send JSON or a spec"),
        (b"{not json", "bad fault: bad JSON: Expecting property name"),
        (b'{"kind": "boom"}', "bad fault: unknown fault kind 'boom'"),
        (b'{"kind": "err-901", "color": 1}', "bad fault: unknown field(s): color"),
        (b'{"kind": "err-901", "ops": 5}', "bad fault: ops must be a list of operation names"),
        (b'{"kind": "latency", "seconds": "5"}', "bad fault: seconds must be a number"),
        (b'{"kind": "err-901", "times": 0}', "bad fault: times must be a whole number >= 1"),
        (b"[1]", "bad fault: each fault must be a JSON object"),
        (b"err-901\nbogus", "bad fault: unknown fault kind 'bogus'"),
        (b"\xff\xfe", "bad fault: 'utf-8' codec can't decode"),
    ],
)
def test_control_endpoint_rejects_bad_faults(sb: Sandbox, body: bytes, message: str) -> None:
    status, resp, text = control(sb, "POST", body)
    assert status == 400
    assert resp.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert text.startswith(message) and text.count("\n") == 1
    assert sb.faults.active() == []  # all or nothing


def test_control_requests_are_never_faulted(sb: Sandbox) -> None:
    sb.faults.add("drop-before")
    assert control(sb, "GET")[0] == 200
    assert control(sb, "DELETE")[2] == {"cleared": 1}


def test_delete_elsewhere_is_refused(sb: Sandbox) -> None:
    conn = connection(sb)
    try:
        conn.request("DELETE", urlsplit(sb.endpoint).path)
        assert conn.getresponse().status == 405
    finally:
        conn.close()


# -------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus", "Error: --fault 'bogus': unknown fault kind 'bogus': use one of latency,"),
        ("latency", "Error: --fault 'latency': latency needs seconds=, e.g. latency,seconds=2"),
        ("drop-after,after=-1", "Error: --fault 'drop-after,after=-1': after must be a whole"),
        ("drop-after,when=2", "Error: --fault 'drop-after,when=2': unknown option 'when'"),
        (
            "no-credit,ops=ping",
            "Error: --fault 'no-credit,ops=ping': no-credit acts at the credit stage of the",
        ),
    ],
)
def test_cli_bad_fault_is_a_usage_error(cli: Any, spec: str, message: str) -> None:
    run = cli("sandbox", "--port", "0", "--fault", "err-901", "--fault", spec)
    assert run.exit_code == 2
    assert run.stderr.startswith(message)
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.fixture
def sandbox_process() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`clicksms sandbox --fault ...` in its own process; yields it and its banner lines."""
    env = {**os.environ, "CLICKSMS_SANDBOX_PASSWORD": "pw-for-the-fault-tests"}
    # Not recorded for the secrets audit: the sandbox prints its own password by design.
    command = [
        sys.executable, "-m", "clicksms", "sandbox", "--port", "0",
        "--fault", "err-901,ops=getbalance,times=1",
        "--fault", "drop-after,ops=sendmsg,after=1,times=1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:  # the banner ends with this line; EOF if it died
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        assert lines and lines[-1].startswith("Press Ctrl-C"), (lines, proc.poll())
        yield proc, lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_cli_faults_and_run_time_switching_in_another_process(
    sandbox_process: tuple[subprocess.Popen[str], list[str]],
    zeep_client: zeep.Client,
) -> None:
    _, lines = sandbox_process
    endpoint = next(line for line in lines if "listening on" in line).split()[-1]
    assert "Fault injected: err-901,ops=getbalance,times=1" in lines
    assert "Fault injected: drop-after,ops=sendmsg,after=1,times=1" in lines
    url = urlsplit(endpoint)
    assert f"Faults: GET, POST or DELETE http://{url.netloc}{CONTROL_PATH}" in lines
    creds = {**CREDS, "password": "pw-for-the-fault-tests"}
    svc = zeep_client.create_service(
        "{http://api.clickatell.com/soap/document_literal/webservice}Sms", endpoint
    )
    assert svc.getbalance(**creds) == "ERR: 901, Internal error"
    assert svc.getbalance(**creds) == "Credit: 1000.0"
    assert ID_RE.fullmatch(svc.sendmsg(**creds, to=[GOOD], text="hi")[0])
    with pytest.raises(requests.ConnectionError):
        svc.sendmsg(**creds, to=[GOOD], text="hi")
    assert svc.getbalance(**creds) == "Credit: 998.0"  # the dropped one was charged

    faults_url = f"http://{url.netloc}{CONTROL_PATH}"
    listed = requests.get(faults_url, timeout=10).json()
    assert [(f["kind"], f["hits"], f["spent"]) for f in listed] == [
        ("err-901", 1, True),
        ("drop-after", 1, True),
    ]
    added = requests.post(faults_url, data="soap-fault,ops=getbalance", timeout=10)
    assert added.status_code == 201
    with pytest.raises(ZeepFault):
        svc.getbalance(**creds)
    assert requests.delete(faults_url, timeout=10).json() == {"cleared": 3}
    assert svc.getbalance(**creds) == "Credit: 998.0"


def test_faults_are_built_with_create_or_parse_spec() -> None:
    assert Fault.create("err-901", ops=["ping"]).spec == parse_spec("err-901,ops=ping").spec


def test_add_takes_the_keywords_of_create() -> None:
    """Faults.add hands its keywords to Fault.create, which alone lists them."""
    added = Faults().add("slow-drip", ops={"sendmsg"}, after=1, times=2, seconds=0.5)
    assert added.spec == "slow-drip,ops=sendmsg,after=1,times=2,seconds=0.5"
    with pytest.raises(TypeError, match="colour"):
        Faults().add("drop-after", colour="red")
