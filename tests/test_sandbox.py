"""Tests for clicksms.sandbox: real sockets on 127.0.0.1, zeep for well-formed calls,
raw http.client for everything zeep would refuse to send."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import zeep

from clicksms.sandbox import (
    MAGIC_NUMBERS,
    MAGIC_STATUSES,
    ManualClock,
    Sandbox,
    SandboxConfig,
    gsm,
    spec,
)
from clicksms.sandbox.gateway import COMMANDS
from clicksms.sandbox.server import load_wsdl

NS = "http://api.clickatell.com/soap/document_literal/webservice"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
API_ID, USER, PASSWORD = 3512345, "sandbox", "sandbox-secret"
CREDS: dict[str, Any] = {"api_id": API_ID, "user": USER, "password": PASSWORD}
GOOD = "27821234567"
GOOD2 = "27831234567"
ID_RE = re.compile(r"ID: [0-9a-f]{32}")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def sid(svc: Any) -> str:
    answer = svc.auth(**CREDS)
    assert answer.startswith("OK: ")
    return answer[4:]


# ---------------------------------------------------------------------------- helpers
def envelope(op: str, inner: str, wrapper_ns: str = NS) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{wrapper_ns}">'
        f"<SOAP-ENV:Body><ns1:{op}>{inner}</ns1:{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def fields_xml(**fields: Any) -> str:
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"<{name}>{item}</{name}>")
    return "".join(parts)


def post(
    sb: Sandbox,
    body: str | bytes,
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> tuple[int, http.client.HTTPResponse, bytes]:
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        data = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": "text/xml; charset=utf-8"}
        hdrs.update(headers or {})
        conn.request("POST", path or url.path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def get(sb: Sandbox, path: str) -> tuple[int, http.client.HTTPResponse, bytes]:
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def returns(body: bytes, op: str) -> list[str]:
    root = ET.fromstring(body)
    wrapper = root.find(f"{{{SOAP_ENV}}}Body/{{{NS}}}{op}Response")
    assert wrapper is not None, body
    assert all(child.tag == "return" for child in wrapper), "return must be unqualified"
    return [child.text or "" for child in wrapper]


def call(sb: Sandbox, op: str, **fields: Any) -> list[str]:
    status, _, body = post(sb, envelope(op, fields_xml(**fields)))
    assert status == 200, body
    return returns(body, op)


def fault(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    node = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert node is not None, body
    return node.findtext("faultcode") or "", node.findtext("faultstring") or ""


def ucs2_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


# ------------------------------------------------------------------------------ WSDL
@pytest.mark.parametrize("query", ["wsdl", "WSDL"])
def test_wsdl_address_rewritten(sb: Sandbox, query: str) -> None:
    status, resp, body = get(sb, urlsplit(sb.endpoint).path + "?" + query)
    assert status == 200
    assert resp.getheader("Content-Type") == "text/xml; charset=utf-8"
    assert int(resp.getheader("Content-Length")) == len(body)
    text = body.decode()
    assert f'<soap:address location="{sb.endpoint}" />' in text
    assert re.findall(r'location="([^"]*)"', text) == [sb.endpoint]
    assert sb.wsdl_url == sb.endpoint + "?wsdl"


def test_zeep_uses_rewritten_wsdl_address(sb: Sandbox) -> None:
    client = zeep.Client(sb.wsdl_url)
    assert re.fullmatch(r"OK: [0-9a-f]{32}", client.service.auth(**CREDS))


def test_endpoint_shape(sb: Sandbox) -> None:
    assert sb.endpoint == f"http://127.0.0.1:{sb.port}/soap/document_literal/webservice"
    assert sb.port > 0


# ------------------------------------------------------------------------------ auth
def test_auth_ok_returns_32_hex_session(svc: Any) -> None:
    assert re.fullmatch(r"OK: [0-9a-f]{32}", svc.auth(**CREDS))


@pytest.mark.parametrize(
    ("api_id", "user", "password", "expected"),
    [
        (API_ID, USER, "wrong", "ERR: 001, Authentication failed"),
        (API_ID, "nobody", PASSWORD, "ERR: 001, Authentication failed"),
        (999, USER, PASSWORD, "ERR: 108, Invalid or missing API ID"),
        (API_ID, "frozen", PASSWORD, "ERR: 004, Account frozen"),
        (API_ID, "frozen", "wrong", "ERR: 001, Authentication failed"),
    ],
)
def test_auth_errors(svc: Any, api_id: int, user: str, password: str, expected: str) -> None:
    assert svc.auth(api_id=api_id, user=user, password=password) == expected


@pytest.mark.parametrize("api_id", ["abc", "12.5", ""])
def test_auth_non_integer_api_id_is_108(sb: Sandbox, api_id: str) -> None:
    assert call(sb, "auth", api_id=api_id, user=USER, password=PASSWORD) == [
        "ERR: 108, Invalid or missing API ID"
    ]


def test_auth_missing_api_id_is_108(sb: Sandbox) -> None:
    assert call(sb, "auth", user=USER, password=PASSWORD) == ["ERR: 108, Invalid or missing API ID"]


def test_credentials_instead_of_session(svc: Any) -> None:
    assert svc.getbalance(**CREDS) == "Credit: 1000.0"
    assert (
        svc.getbalance(api_id=API_ID, user=USER, password="x") == "ERR: 001, Authentication failed"
    )
    assert svc.getbalance(api_id=API_ID, user="frozen", password=PASSWORD) == (
        "ERR: 004, Account frozen"
    )


# -------------------------------------------------------------------------- sessions
def test_session_expires_after_idle_timeout(svc: Any, sid: str, clock: ManualClock) -> None:
    clock.advance(900)
    assert svc.ping(session_id=sid) == "OK: "
    clock.advance(901)
    assert svc.ping(session_id=sid) == "ERR: 003, Session ID expired"
    assert svc.getbalance(session_id=sid) == "ERR: 003, Session ID expired"


def test_session_timeout_slides_with_every_command(svc: Any, sid: str, clock: ManualClock) -> None:
    for _ in range(3):
        clock.advance(800)
        assert svc.ping(session_id=sid) == "OK: "
    clock.advance(800)
    assert svc.getbalance(session_id=sid) == "Credit: 1000.0"  # any command refreshes
    clock.advance(800)
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="hi")[0].startswith("ID: ")
    clock.advance(899)
    assert svc.ping(session_id=sid) == "OK: "


def test_session_timeout_is_configurable(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], clock: ManualClock
) -> None:
    svc = connect(make_sandbox(session_timeout=10))
    sid = svc.auth(**CREDS)[4:]
    clock.advance(11)
    assert svc.ping(session_id=sid) == "ERR: 003, Session ID expired"


def test_unknown_session_is_003(svc: Any) -> None:
    assert svc.ping(session_id="0" * 32) == "ERR: 003, Session ID expired"


def test_missing_session_is_005(sb: Sandbox, svc: Any) -> None:
    assert call(sb, "ping") == ["ERR: 005, Missing session ID"]
    assert call(sb, "ping", session_id="") == ["ERR: 005, Missing session ID"]
    assert svc.getbalance() == "ERR: 005, Missing session ID"
    assert svc.querymsg(apimsgid="x") == "ERR: 005, Missing session ID"
    assert svc.sendmsg(to=[GOOD], text="hi") == ["ERR: 005, Missing session ID"]


def test_ping_ignores_credentials(sb: Sandbox) -> None:
    assert call(sb, "ping", **CREDS) == ["ERR: 005, Missing session ID"]


# --------------------------------------------------------------------------- sendmsg
def test_sendmsg_single_recipient_has_no_to_suffix(svc: Any, sid: str) -> None:
    answer = svc.sendmsg(session_id=sid, to=[GOOD], text="hello")
    assert len(answer) == 1 and ID_RE.fullmatch(answer[0])


def test_sendmsg_multi_recipient_form_in_request_order(svc: Any, sid: str) -> None:
    answer = svc.sendmsg(session_id=sid, to=[GOOD, "12", GOOD2], text="hello")
    assert len(answer) == 3
    assert re.fullmatch(rf"ID: [0-9a-f]{{32}} To: {GOOD}", answer[0])
    assert answer[1] == "ERR: 105, Invalid Destination Address To: 12"
    assert re.fullmatch(rf"ID: [0-9a-f]{{32}} To: {GOOD2}", answer[2])
    assert answer[0] != answer[2]


def test_sendmsg_single_recipient_error_has_no_to_suffix(svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=["12"], text="x") == [
        "ERR: 105, Invalid Destination Address"
    ]


def test_sendmsg_300_recipients_ok_301_is_101(svc: Any, sid: str, sb: Sandbox) -> None:
    numbers = [f"2783{i:07d}" for i in range(1, 302)]  # clear of magic numbers
    answer = svc.sendmsg(session_id=sid, to=numbers[:300], text="bulk")
    assert len(answer) == 300 and all(a.startswith("ID: ") for a in answer)
    assert svc.sendmsg(session_id=sid, to=numbers, text="bulk") == [
        "ERR: 101, Invalid or missing parameters"
    ]
    assert len(sb.ledger) == 300


def test_sendmsg_without_recipients_is_101(sb: Sandbox) -> None:
    assert call(sb, "sendmsg", text="hi", **CREDS) == ["ERR: 101, Invalid or missing parameters"]


@pytest.mark.parametrize(
    "number",
    [
        "+27821234567",
        "0821234567",
        "00278212345",
        "278212",  # 6 digits: shorter than any E.164 number
        "2782123456789012",  # 16 digits
        "2782123456a",
        " 27821234567",
        "27 821234567",
        "",
    ],
)
def test_bad_numbers_are_105(svc: Any, sid: str, number: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[number], text="x") == [
        "ERR: 105, Invalid Destination Address"
    ]


@pytest.mark.parametrize("number", ["2782123456", "278212345678901"])  # 10 and 15 digits
def test_number_length_bounds_accepted(svc: Any, sid: str, number: str) -> None:
    assert ID_RE.fullmatch(svc.sendmsg(session_id=sid, to=[number], text="x")[0])


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("27820000105", "ERR: 105, Invalid Destination Address"),
        ("27820000114", "ERR: 114, Cannot route message"),
        ("27820000121", "ERR: 121, Destination mobile number blocked"),
        ("27820000122", "ERR: 122, Destination mobile opted out"),
        ("27820000128", "ERR: 128, Number delisted"),
        ("27820000301", "ERR: 301, No credit left"),
    ],
)
def test_magic_numbers(svc: Any, sid: str, sb: Sandbox, number: str, expected: str) -> None:
    assert MAGIC_NUMBERS[number] == int(expected[5:8])
    assert svc.sendmsg(session_id=sid, to=[number], text="x") == [expected]
    multi = svc.sendmsg(session_id=sid, to=[GOOD, number], text="x")
    assert multi[1] == f"{expected} To: {number}"
    assert len(sb.ledger) == 1
    assert sb.balance() == 999.0


def test_magic_numbers_table_is_complete() -> None:
    assert MAGIC_NUMBERS == {
        "27820000105": 105,
        "27820000114": 114,
        "27820000121": 121,
        "27820000122": 122,
        "27820000128": 128,
        "27820000301": 301,
    }
    assert MAGIC_STATUSES == {"27820000002": "002", "27820000007": "007"}


def test_empty_message_is_107(sb: Sandbox, svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD]) == ["ERR: 107, Empty message"]
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="") == ["ERR: 107, Empty message"]
    assert svc.sendmsg(session_id=sid, to=[GOOD, GOOD2], text="") == ["ERR: 107, Empty message"]
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="", unicode=1) == ["ERR: 107, Empty message"]
    assert sb.ledger == []


def test_recipient_errors_precede_content_errors(svc: Any, sid: str) -> None:
    # every recipient failed: their errors are the answer
    assert svc.sendmsg(session_id=sid, to=["12"], text="") == [
        "ERR: 105, Invalid Destination Address"
    ]
    # someone survived the recipient stage: the content error answers the whole request
    assert svc.sendmsg(session_id=sid, to=["12", GOOD], text="") == ["ERR: 107, Empty message"]


@pytest.mark.parametrize(
    "text", ["03A903A", "ZZZZ", "03A9 03A8", "0x03A9", "FEFF03A9x", "FEFF0048", "fffe4800"]
)
def test_bad_unicode_hex_is_116(svc: Any, sid: str, text: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD], text=text, unicode=1) == [
        "ERR: 116, Invalid Unicode data"
    ]


def test_unknown_msg_type_is_112(svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", msg_type="sms_text") == [
        "ERR: 112, Invalid message type"
    ]
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", msg_type="SMS_FLASH")[0].startswith(
        "ID: "
    )


def test_bad_sender_is_106(svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", **{"from": "+27821234567"}) == [
        "ERR: 106, Invalid source address"
    ]
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", **{"from": "TwelveChars1"}) == [
        "ERR: 106, Invalid source address"
    ]
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", **{"from": "Shop"})[0].startswith("ID")


def test_non_integer_option_is_101(sb: Sandbox) -> None:
    assert call(sb, "sendmsg", to=GOOD, text="x", concat="two", **CREDS) == [
        "ERR: 101, Invalid or missing parameters"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("queue", 4),
        ("queue", -1),
        ("msg_callback", 8),
        ("msg_callback", -1),
        ("deliv_ack", 2),
        ("escalate", 2),
        ("mo", 2),
        ("mo", -1),
    ],
)
def test_out_of_range_option_is_101(svc: Any, sb: Sandbox, name: str, value: int) -> None:
    assert svc.sendmsg(**CREDS, to=[GOOD], text="x", **{name: value}) == [
        "ERR: 101, Invalid or missing parameters"
    ]
    assert sb.ledger == [] and sb.balance() == 1000.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("queue", 0),  # 0 = the default (3), as RPC clients send unused parts
        ("queue", 1),
        ("queue", 3),
        ("msg_callback", 0),
        ("msg_callback", 7),
        ("deliv_ack", 1),
        ("escalate", 0),
        ("escalate", 1),
        ("mo", 1),
    ],
)
def test_in_range_option_is_accepted(svc: Any, name: str, value: int) -> None:
    (answer,) = svc.sendmsg(**CREDS, to=[GOOD], text="x", **{name: value})
    assert ID_RE.fullmatch(answer)


def test_empty_options_mean_the_defaults(sb: Sandbox) -> None:
    empty = dict.fromkeys(("queue", "msg_callback", "deliv_ack", "escalate", "mo"), "")
    (answer,) = call(sb, "sendmsg", to=GOOD, text="x", **empty, **CREDS)
    assert ID_RE.fullmatch(answer)


def test_climsgid_with_space_is_101(svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", climsgid="a b") == [
        "ERR: 101, Invalid or missing parameters"
    ]


# ---------------------------------------------------------------------- parts / 113
MAX_PARTS_ERR = "ERR: 113, Maximum message parts exceeded"


@pytest.mark.parametrize(
    ("text", "concat", "parts"),
    [
        ("a" * 160, None, 1),
        ("a" * 161, None, None),
        ("a" * 161, 0, None),  # 0 means "default" (1)
        ("a" * 161, 2, 2),
        ("a" * 306, 2, 2),
        ("a" * 307, 2, None),
        ("a" * 307, 3, 3),
        ("€" * 80, None, 1),  # 160 septets
        ("€" * 81, None, None),  # 162 septets
        ("€" * 81, 2, 2),
        ("{}" * 40, None, 1),
        ("a" * 159 + "^", None, None),
        ("é" * 160, None, 1),  # basic-table accent: one septet
        ("ï" * 160, None, 1),  # non-GSM in plain text: one septet ('?')
        ("a" * (153 * 35), 35, 35),
        ("a" * (153 * 35 + 1), 36, None),  # over the 35-part ceiling whatever concat says
    ],
)
def test_gsm_part_limits(
    svc: Any, sid: str, sb: Sandbox, text: str, concat: int | None, parts: int | None
) -> None:
    kwargs = {} if concat is None else {"concat": concat}
    answer = svc.sendmsg(session_id=sid, to=[GOOD], text=text, **kwargs)
    if parts is None:
        assert answer == [MAX_PARTS_ERR]
        assert sb.ledger == []
    else:
        assert ID_RE.fullmatch(answer[0])
        assert sb.ledger[-1]["parts"] == parts


@pytest.mark.parametrize(
    ("chars", "concat", "parts"),
    [(70, None, 1), (71, None, None), (71, 2, 2), (134, 2, 2), (135, 2, None), (135, 3, 3)],
)
def test_ucs2_part_limits(
    svc: Any, sid: str, sb: Sandbox, chars: int, concat: int | None, parts: int | None
) -> None:
    kwargs = {} if concat is None else {"concat": concat}
    answer = svc.sendmsg(session_id=sid, to=[GOOD], text=ucs2_hex("Ж" * chars), unicode=1, **kwargs)
    if parts is None:
        assert answer == [MAX_PARTS_ERR]
    else:
        assert ID_RE.fullmatch(answer[0])
        assert sb.ledger[-1]["parts"] == parts


def test_default_concat_is_configurable(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    svc = connect(make_sandbox(default_concat=3))
    assert svc.sendmsg(**CREDS, to=[GOOD], text="a" * 459)[0].startswith("ID: ")
    assert svc.sendmsg(**CREDS, to=[GOOD], text="a" * 460) == [MAX_PARTS_ERR]


# ------------------------------------------------------------------------------ ledger
def test_ledger_records_and_file(
    make_sandbox: Callable[..., Sandbox],
    connect: Callable[[Sandbox], Any],
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    ledger_file = tmp_path / "ledger.jsonl"
    sb = make_sandbox(ledger_path=ledger_file)
    svc = connect(sb)
    a1 = svc.sendmsg(**CREDS, to=[GOOD], text="03A903A80398", unicode=1, climsgid="abc123")
    a2 = svc.sendmsg(
        **CREDS, to=[GOOD, GOOD2], text="naïve ☃ `x` €{ok}", concat=2, **{"from": "Shop"}
    )
    assert sb.ledger == [
        {
            "op": "sendmsg",
            "to": GOOD,
            "text": "ΩΨΘ",
            "unicode": 1,
            "parts": 1,
            "concat": 1,
            "from": None,
            "apimsgid": a1[0][4:],
            "climsgid": "abc123",
            "time": clock(),
            "charge": 1.0,
            "fields": {"text": "03A903A80398", "unicode": "1", "climsgid": "abc123"},
        },
        *(
            {
                "op": "sendmsg",
                "to": to,
                "text": "na?ve ? ?x? €{ok}",
                "unicode": 0,
                "parts": 1,
                "concat": 2,
                "from": "Shop",
                "apimsgid": answer[4:36],
                "climsgid": None,
                "time": clock(),
                "charge": 1.0,
                "fields": {"text": "naïve ☃ `x` €{ok}", "from": "Shop", "concat": "2"},
            }
            for to, answer in zip([GOOD, GOOD2], a2, strict=True)
        ),
    ]
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == sb.ledger


def test_ledger_decodes_non_bmp_unicode(svc: Any, sid: str, sb: Sandbox) -> None:
    answer = svc.sendmsg(session_id=sid, to=[GOOD], text=ucs2_hex("hi 😀"), unicode=1)
    assert answer[0].startswith("ID: ")
    assert sb.ledger[0]["text"] == "hi 😀"
    assert sb.ledger[0]["parts"] == 1


# ------------------------------------------------------------------------------ credit
def test_credit_charged_per_part_and_301_when_exhausted(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(credits=5.0, route_price=1.5)
    svc = connect(sb)
    two_parts = "a" * 200
    answer = svc.sendmsg(**CREDS, to=[GOOD, GOOD2], text=two_parts, concat=2)
    assert answer[0].startswith("ID: ")
    assert answer[1] == f"ERR: 301, No credit left To: {GOOD2}"
    assert sb.balance() == 2.0
    assert svc.getbalance(**CREDS) == "Credit: 2.0"
    assert svc.sendmsg(**CREDS, to=[GOOD], text="short")[0].startswith("ID: ")
    assert sb.balance() == 0.5
    assert svc.sendmsg(**CREDS, to=[GOOD], text="short") == ["ERR: 301, No credit left"]
    assert sb.balance() == 0.5
    assert len(sb.ledger) == 2


def test_errors_are_not_charged(svc: Any, sid: str, sb: Sandbox) -> None:
    svc.sendmsg(session_id=sid, to=[GOOD], text="a" * 161)
    svc.sendmsg(session_id=sid, to=["27820000114"], text="x")
    assert sb.balance() == 1000.0


@pytest.mark.parametrize(("credits", "expected"), [(1000.0, "1000.0"), (12.5, "12.5"), (0, "0.0")])
def test_getbalance_format(
    make_sandbox: Callable[..., Sandbox],
    connect: Callable[[Sandbox], Any],
    credits: float,
    expected: str,
) -> None:
    svc = connect(make_sandbox(credits=credits))
    assert svc.getbalance(**CREDS) == f"Credit: {expected}"


def test_fractional_prices_do_not_drift(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(credits=1.0, route_price=0.1)
    svc = connect(sb)
    answer = svc.sendmsg(**CREDS, to=[f"2783{i:07d}" for i in range(11)], text="x")
    assert [a.startswith("ID: ") for a in answer] == [True] * 10 + [False]
    assert svc.getbalance(**CREDS) == "Credit: 0.0"


# ---------------------------------------------------------------------------- querymsg
def test_querymsg_status_progression(svc: Any, sid: str, clock: ManualClock) -> None:
    apimsgid = svc.sendmsg(session_id=sid, to=[GOOD], text="hi", climsgid="track1")[0][4:]
    assert svc.querymsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 003"
    assert svc.querymsg(session_id=sid, climsgid="track1") == f"ID: {apimsgid} Status: 003"
    clock.advance(4.9)
    assert svc.querymsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 003"
    clock.advance(0.1)
    assert svc.querymsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 004"
    assert svc.querymsg(session_id=sid, climsgid="track1") == f"ID: {apimsgid} Status: 004"


def test_querymsg_deferred_delivery_is_011(svc: Any, sid: str, clock: ManualClock) -> None:
    apimsgid = svc.sendmsg(session_id=sid, to=[GOOD], text="later", deliv_time=15)[0][4:]
    assert svc.querymsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 011"
    clock.advance(15 * 60)
    assert svc.querymsg(session_id=sid, apimsgid=apimsgid) == f"ID: {apimsgid} Status: 003"


def test_bad_delivery_time_is_120(svc: Any, sid: str) -> None:
    assert svc.sendmsg(session_id=sid, to=[GOOD], text="x", deliv_time=10081) == [
        "ERR: 120, Invalid delivery time"
    ]


def test_querymsg_errors(svc: Any, sid: str) -> None:
    assert svc.querymsg(session_id=sid, apimsgid="deadbeef") == "ID: deadbeef Status: 001"
    assert svc.querymsg(session_id=sid, climsgid="nope") == "ERR: 104, Unknown client message ID"
    assert svc.querymsg(session_id=sid) == "ERR: 109, Missing message ID"


def test_querymsg_accepts_cli_msg_id_alias(sb: Sandbox, svc: Any, sid: str) -> None:
    ok = call(sb, "sendmsg", session_id=sid, to=GOOD, text="x", cliMsgId="Ref42")
    apimsgid = ok[0][4:]
    assert call(sb, "querymsg", session_id=sid, cliMsgId="Ref42") == [f"ID: {apimsgid} Status: 003"]
    assert sb.ledger[0]["climsgid"] == "Ref42"


# --------------------------------------------------------------------- wire tolerance
def test_children_in_any_order_and_qualified(sb: Sandbox) -> None:
    inner = (
        f"<ns1:to>{GOOD}</ns1:to><text>hi</text><password>{PASSWORD}</password>"
        f"<to>{GOOD2}</to><ns1:user>{USER}</ns1:user><api_id> {API_ID} </api_id>"
    )
    status, _, body = post(sb, envelope("sendmsg", inner))
    assert status == 200
    answer = returns(body, "sendmsg")
    assert [a.split(" To: ")[1] for a in answer] == [GOOD, GOOD2]
    assert all(a.startswith("ID: ") for a in answer)


def test_soapaction_is_ignored(sb: Sandbox) -> None:
    status, _, body = post(
        sb, envelope("getbalance", fields_xml(**CREDS)), {"SOAPAction": '"urn:whatever/auth"'}
    )
    assert status == 200
    assert returns(body, "getbalance") == ["Credit: 1000.0"]


def test_exact_response_envelope(sb: Sandbox) -> None:
    status, resp, body = post(sb, envelope("ping", "<session_id>nope</session_id>"))
    assert status == 200
    assert resp.getheader("Content-Type") == "text/xml; charset=utf-8"
    assert int(resp.getheader("Content-Length")) == len(body)
    assert (
        body.decode()
        .strip()
        .endswith(
            f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
            "<ns1:pingResponse><return>ERR: 003, Session ID expired</return></ns1:pingResponse>"
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
    )


def test_gzip_request_body(sb: Sandbox) -> None:
    raw = envelope("getbalance", fields_xml(**CREDS)).encode()
    status, _, body = post(sb, gzip.compress(raw), {"Content-Encoding": "gzip"})
    assert status == 200
    assert returns(body, "getbalance") == ["Credit: 1000.0"]


def test_requests_log_has_exact_fields(svc: Any, sid: str, sb: Sandbox) -> None:
    svc.sendmsg(session_id=sid, to=[GOOD], text="hi", concat=2, climsgid="c1")
    assert sb.requests[-1] == {
        "op": "sendmsg",
        "fields": {
            "session_id": sid,
            "text": "hi",
            "to": [GOOD],
            "concat": "2",
            "climsgid": "c1",
        },
    }
    assert sb.requests[0] == {"op": "auth", "fields": {k: str(v) for k, v in CREDS.items()}}


def test_keep_alive_two_requests_one_connection(sb: Sandbox) -> None:
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        socks = []
        for _ in range(2):
            conn.request(
                "POST",
                url.path,
                body=envelope("getbalance", fields_xml(**CREDS)).encode(),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Connection") != "close"
            assert returns(resp.read(), "getbalance") == ["Credit: 1000.0"]
            socks.append(conn.sock)
        assert socks[0] is socks[1] and socks[0] is not None
    finally:
        conn.close()


def test_expect_100_continue_is_answered_before_the_body(sb: Sandbox) -> None:
    body = envelope("getbalance", fields_xml(**CREDS)).encode()
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as conn:
        conn.sendall(
            (
                f"POST {urlsplit(sb.endpoint).path} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n"
                "Expect: 100-continue\r\n\r\n"
            ).encode()
        )
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n")
        conn.sendall(body)
        data = b""
        while b"</SOAP-ENV:Envelope>" not in data:
            chunk = conn.recv(65536)
            assert chunk
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert returns(payload, "getbalance") == ["Credit: 1000.0"]


def test_concurrent_clients_share_state_consistently(
    make_sandbox: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    sb = make_sandbox(credits=50.0)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            svc = connect(sb)
            for _ in range(10):
                svc.sendmsg(**CREDS, to=[GOOD], text="x")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(sb.ledger) == 50
    assert sb.balance() == 0.0
    assert len({r["apimsgid"] for r in sb.ledger}) == 50


def test_latency_is_applied(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(latency=0.2)
    started = time.monotonic()
    assert call(sb, "getbalance", **CREDS) == ["Credit: 1000.0"]
    assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------------------- faults
def test_malformed_xml_is_client_fault(sb: Sandbox) -> None:
    status, resp, body = post(sb, "<SOAP-ENV:Envelope><oops>")
    assert status == 500
    assert resp.getheader("Content-Type") == "text/xml; charset=utf-8"
    assert fault(body)[0] == "SOAP-ENV:Client"


def test_doctype_is_refused_without_expansion(sb: Sandbox) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        + envelope("auth", "<api_id>&lol2;</api_id>").split("?>", 1)[1]
    )
    status, _, body = post(sb, bomb)
    assert status == 500
    code, message = fault(body)
    assert code == "SOAP-ENV:Client"
    assert "DOCTYPE" in message
    assert sb.requests == []


def test_no_body_is_client_fault(sb: Sandbox) -> None:
    status, _, body = post(sb, f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Header/></e:Envelope>')
    assert status == 500
    assert fault(body)[0] == "SOAP-ENV:Client"


def test_not_an_envelope_is_client_fault(sb: Sandbox) -> None:
    status, _, body = post(sb, "<auth><api_id>1</api_id></auth>")
    assert status == 500
    assert fault(body)[0] == "SOAP-ENV:Client"


def test_unknown_operation_is_client_fault(sb: Sandbox) -> None:
    status, _, body = post(sb, envelope("routeCoverage", "<msisdn>27</msisdn>"))
    assert status == 500
    assert fault(body)[0] == "SOAP-ENV:Client"


def test_operation_tables_are_the_wsdls_and_the_command_tables() -> None:
    """Every operation the WSDL declares is in spec's table; those answered have a command."""
    wsdl = ET.fromstring(load_wsdl("document_literal.wsdl"))
    declared = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert declared == spec.OPERATIONS
    assert set(COMMANDS) == spec.OPERATIONS


# ------------------------------------------------------------------------------ HTTP
def test_404_for_other_paths(sb: Sandbox) -> None:
    assert get(sb, "/")[0] == 404
    assert get(sb, "/soap/webservice.php?wsdl")[0] == 404
    assert post(sb, envelope("ping", ""), path="/soap/webservice.php")[0] == 404


def test_get_endpoint_without_wsdl_is_405(sb: Sandbox) -> None:
    status, resp, _ = get(sb, urlsplit(sb.endpoint).path)
    assert status == 405
    assert resp.getheader("Allow") == "POST"


def test_post_to_wsdl_url_is_fault(sb: Sandbox) -> None:
    status, _, body = post(
        sb,
        envelope("getbalance", fields_xml(**CREDS)),
        path="/soap/document_literal/webservice?wsdl",
    )
    assert status == 500
    assert fault(body)[0] == "SOAP-ENV:Client"


# ------------------------------------------------------------------------- lifecycle
def test_stop_is_idempotent_and_closes_port(clock: ManualClock) -> None:
    sb = Sandbox(SandboxConfig(), clock=clock).start()
    port = sb.port
    sb.stop()
    sb.stop()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    with pytest.raises(OSError):
        conn.request("GET", "/")
        conn.getresponse()
    conn.close()


def test_context_manager_and_serve_forever(clock: ManualClock) -> None:
    with Sandbox(SandboxConfig(), clock=clock) as sb:
        assert call(sb, "getbalance", **CREDS) == ["Credit: 1000.0"]
    fg = Sandbox(SandboxConfig(), clock=clock)
    thread = threading.Thread(target=fg.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while fg._httpd is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert call(fg, "getbalance", **CREDS) == ["Credit: 1000.0"]
    finally:
        fg.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_manual_clock() -> None:
    clock = ManualClock(100.0)
    assert clock() == 100.0
    assert clock.advance(901) == 1001.0
    assert clock() == 1001.0
    with pytest.raises(ValueError):
        clock.advance(-1)


# ---------------------------------------------------------------------------- counting
@pytest.mark.parametrize(
    ("text", "septets"),
    [("hello", 5), ("€", 2), ("^{}\\[~]|€\f", 20), ("ΩΔ@£", 4), ("☃", 1), ("", 0)],
)
def test_septet_count(text: str, septets: int) -> None:
    assert gsm.septet_count(text) == septets


def test_handset_text_mangles_non_gsm() -> None:
    assert gsm.handset_text("Ça coûte 5€ `ok` ÿ") == "Ça co?te 5€ ?ok? ?"


@pytest.mark.parametrize(
    ("text", "concat", "answer_starts"),
    [
        # 306 septets: plain division says 2 parts, but the euro's escape pair cannot straddle
        # the 153-septet boundary, so it needs 3.
        ("a" * 152 + "€" + "a" * 152, 2, "ERR: 113"),
        ("a" * 152 + "€" + "a" * 152, 3, "ID: "),
        ("€" * 153, 2, "ERR: 113"),
        ("€" * 153, 3, "ID: "),
    ],
)
def test_escape_pairs_are_never_split(svc: Any, sid: str, text, concat, answer_starts) -> None:
    (answer,) = svc.sendmsg(session_id=sid, to=["27821234567"], text=text, concat=concat)
    assert answer.startswith(answer_starts)


@pytest.mark.parametrize(("concat", "answer_starts"), [(2, "ERR: 113"), (3, "ID: ")])
def test_surrogate_pairs_are_never_split(svc: Any, sid: str, concat, answer_starts) -> None:
    # 66 + 2 + 66 = 134 UTF-16 units = 2 × 67, but the emoji straddles the first boundary.
    text = ("0436" * 66) + "D83DDE00" + ("0436" * 66)
    (answer,) = svc.sendmsg(session_id=sid, to=["27821234567"], text=text, unicode=1, concat=concat)
    assert answer.startswith(answer_starts)


def test_short_international_numbers_are_routable(svc: Any, sid: str) -> None:
    (answer,) = svc.sendmsg(session_id=sid, to=["6907123"], text="x")  # Tokelau: 7 digits
    assert answer.startswith("ID: ")


def test_a_long_running_sandbox_keeps_only_the_latest_requests(
    make_sandbox, connect, monkeypatch
) -> None:
    from clicksms.sandbox import gateway

    monkeypatch.setattr(gateway, "REQUESTS_KEPT", 3)
    sandbox = make_sandbox()
    service = connect(sandbox)
    for _ in range(5):
        service.ping(session_id="nope")
    assert [r["op"] for r in sandbox.requests] == ["ping"] * 3
