"""Batch messaging in the sandbox (API.md §9), over both SOAP styles: startbatch keeps a
template for 24 hours, senditem fills it, quicksend sends it as it is, endbatch closes it;
items are real messages (charged, queryable, in the ledger, back after a restart)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sandbox_wire import CREDS, STYLES, caller, fault_of, rpc_post, rpc_request

from clicksms.sandbox import ManualClock, Sandbox, spec

GOOD, GOOD2 = "27821234567", "27831234567"
ID = re.compile(r"ID: ([0-9a-f]{32})")
TEMPLATE = "Hi #field1#, your code is #field2#."
#: The client message ID's part, as each WSDL spells it in the send operations.
CLIMSGID = {"document": "climsgid", "rpc": "cliMsgId"}


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def call(sb: Sandbox, style: str) -> Callable[..., list[str]]:
    return caller(sb, style)


def start(call: Callable[..., list[str]], template: str = TEMPLATE, **options: Any) -> str:
    (answer,) = call("startbatch", **CREDS, template=template, **options)
    found = ID.fullmatch(answer)
    assert found, answer
    return found.group(1)


def ids(answers: list[str]) -> list[str]:
    found = [re.fullmatch(r"ID: ([0-9a-f]{32})(?: To: \d+)?", a) for a in answers]
    assert all(found), answers
    return [m.group(1) for m in found if m]


# --------------------------------------------------------------------------- the flow
def test_a_batch_from_start_to_end(sb: Sandbox, call: Callable[..., list[str]], style: str) -> None:
    batch_id = start(call, **{CLIMSGID[style]: "Batch1", "from": "Shop"})
    (item,) = ids(
        call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="Ann", field2="42")
    )
    both = ids(call("quicksend", **CREDS, batch_id=batch_id, to=[GOOD, GOOD2]))
    assert call("endbatch", **CREDS, batch_id=batch_id) == ["OK"]
    assert call("senditem", **CREDS, batch_id=batch_id, to=[GOOD]) == ["ERR: 201, Invalid batch ID"]

    texts = [(r["op"], r["to"], r["text"], r["from"], r["climsgid"]) for r in sb.ledger]
    assert texts == [
        ("senditem", GOOD, "Hi Ann, your code is 42.", "Shop", "Batch1"),
        ("quicksend", GOOD, TEMPLATE, "Shop", "Batch1"),  # as it is (API.md §9)
        ("quicksend", GOOD2, TEMPLATE, "Shop", "Batch1"),
    ]
    fields = sb.ledger[0]["fields"]
    assert fields["template"] == TEMPLATE and fields["batch_id"] == batch_id
    assert (fields["field1"], fields["field2"], fields["text"]) == ("Ann", "42", texts[0][2])
    assert not {"api_id", "user", "password", "session_id", "to"} & set(fields)
    # Real messages: charged, and queryable by either ID.
    assert sb.balance() == 997.0
    assert [sb.status(m) for m in (item, *both)] == ["003"] * 3
    assert call("querymsg", **CREDS, climsgid="Batch1") == [f"ID: {both[1]} Status: 003"]


def test_senditem_fills_placeholders_and_leaves_unknown_ones(
    sb: Sandbox, call: Callable[..., list[str]]
) -> None:
    batch_id = start(call, template="#field1#|#field2#|#field3#|#Field1#|#field0#|#field11#")
    call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="a", field2="")
    assert sb.ledger[0]["text"] == "a|||#Field1#|#field0#|#field11#"


def test_document_literal_fills_ten_fields_rpc_four(sb: Sandbox, style: str) -> None:
    call = caller(sb, style)
    batch_id = start(call, template="#field4#-#field10#")
    fields = {f"field{n}": str(n) for n in (4, 10)}
    if style == "document":
        call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], **fields)
        assert sb.ledger[0]["text"] == "4-10"
        return
    status, body = rpc_post(
        sb, "senditem", rpc_request("senditem", **CREDS, batch_id=batch_id, to=[GOOD], **fields)
    )
    assert status == 500
    assert fault_of(body)[1].startswith("Operation 'senditem' has no part 'field10' (its parts:")
    call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field4="4")
    assert sb.ledger[0]["text"] == "4-"


def test_items_take_the_batch_options(
    sb: Sandbox, call: Callable[..., list[str]], clock: ManualClock
) -> None:
    batch_id = start(call, template="#field1#", deliv_time=60, validity=30, concat=2)
    (late,) = ids(call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="x" * 200))
    assert sb.messages[late]["parts"] == 2 and sb.status(late) == "011"
    assert call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="x" * 400) == [
        "ERR: 113, Maximum message parts exceeded"
    ]
    assert call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="") == [
        "ERR: 107, Empty message"
    ]
    clock.advance(3600)
    assert sb.status(late) == "003"


def test_a_unicode_template_is_sent_as_it_is(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    batch_id = start(call, template="03A903A8", unicode=1)
    call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="ignored")
    assert (sb.ledger[0]["text"], sb.ledger[0]["unicode"]) == ("ΩΨ", 1)
    # Placeholders are not hex: a unicode template cannot have fields (API.md §9).
    (answer,) = call("startbatch", **CREDS, template="03A9#field1#", unicode=1)
    assert answer == "ERR: 116, Invalid Unicode data"


def test_quicksend_takes_up_to_300_numbers_each_checked(
    sb: Sandbox, call: Callable[..., list[str]]
) -> None:
    batch_id = start(call, template="Sale today")
    many = [f"2783{n:07d}" for n in range(300)]
    assert len(ids(call("quicksend", **CREDS, batch_id=batch_id, to=many))) == 300
    too_many = [*many, GOOD]
    assert call("quicksend", **CREDS, batch_id=batch_id, to=too_many) == [
        "ERR: 101, Invalid or missing parameters"
    ]
    answers = call("quicksend", **CREDS, batch_id=batch_id, to=[GOOD, "27820000122", "12"])
    assert answers[1:] == [
        "ERR: 122, Destination mobile opted out To: 27820000122",
        "ERR: 105, Invalid Destination Address To: 12",
    ]
    assert answers[0].startswith("ID: ") and answers[0].endswith(f" To: {GOOD}")


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("fields", "answer"),
    [
        ({}, "ERR: 202, No batch template"),
        ({"template": ""}, "ERR: 202, No batch template"),
        ({"template": "x", "queue": 9}, "ERR: 101, Invalid or missing parameters"),
        ({"template": "x", "msg_type": "SMS_LOUD"}, "ERR: 112, Invalid message type"),
        ({"template": "x", "deliv_time": 10081}, "ERR: 120, Invalid delivery time"),
        ({"template": "x", "from": "Too long a name"}, "ERR: 106, Invalid source address"),
        ({"template": "y" * 161 + "#field1#"}, "ERR: 113, Maximum message parts exceeded"),
    ],
)
def test_startbatch_checks_what_no_field_can_change(
    sb: Sandbox, call: Callable[..., list[str]], fields: dict[str, Any], answer: str
) -> None:
    assert call("startbatch", **CREDS, **fields) == [answer]


def test_a_template_of_placeholders_alone_is_fine(
    sb: Sandbox, call: Callable[..., list[str]]
) -> None:
    batch_id = start(call, template="#field1##field2#")
    ids(call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field2="only"))
    assert sb.ledger[0]["text"] == "only"


def test_batches_answer_201_when_unknown_and_after_24_hours(
    sb: Sandbox, call: Callable[..., list[str]], clock: ManualClock
) -> None:
    batch_id = start(call)
    clock.advance(spec.DAY - 1)
    ids(call("quicksend", **CREDS, batch_id=batch_id, to=[GOOD]))
    clock.advance(1)
    gone = ["ERR: 201, Invalid batch ID"]
    for op in ("senditem", "quicksend"):
        assert call(op, **CREDS, batch_id=batch_id, to=[GOOD]) == gone
    assert call("endbatch", **CREDS, batch_id=batch_id) == gone
    assert call("endbatch", **CREDS, batch_id="0" * 32) == gone
    assert call("senditem", **CREDS, to=[GOOD]) == gone  # no batch_id at all
    assert call("quicksend", **CREDS, batch_id=start(call), to=[]) == [
        "ERR: 101, Invalid or missing parameters"
    ]


def test_batch_operations_authenticate_first(
    sb: Sandbox, call: Callable[..., list[str]], clock: ManualClock
) -> None:
    batch_id = start(call)
    (ok,) = call("auth", **CREDS)
    sid = ok[4:]
    clock.advance(sb.config.session_timeout + 1)
    for op, fields in [
        ("startbatch", {"template": "x"}),
        ("senditem", {"batch_id": batch_id, "to": [GOOD]}),
        ("quicksend", {"batch_id": batch_id, "to": [GOOD]}),
        ("endbatch", {"batch_id": batch_id}),
    ]:
        assert call(op, session_id=sid, **fields) == ["ERR: 003, Session ID expired"]
        assert call(op, **fields) == ["ERR: 005, Missing session ID"]
    assert sb.ledger == []


# ------------------------------------------------------------------- faults, restarts
def test_credit_faults_act_on_batch_items(sb: Sandbox, call: Callable[..., list[str]]) -> None:
    batch_id = start(call)
    sb.faults.add("err-130", ops={"senditem"}, times=1)
    (limited,) = call("senditem", **CREDS, batch_id=batch_id, to=[GOOD])
    assert limited.startswith("ERR: 130, Maximum MT limit exceeded until ")
    sb.faults.add("no-credit", ops={"quicksend"}, times=1)
    assert call("quicksend", **CREDS, batch_id=batch_id, to=[GOOD, GOOD2]) == [
        f"ERR: 301, No credit left To: {GOOD}",
        f"ERR: 301, No credit left To: {GOOD2}",
    ]
    assert [f["op"] for f in sb.faults.fired] == ["senditem", "quicksend"]


def test_arrival_faults_act_on_batch_operations(
    sb: Sandbox, call: Callable[..., list[str]]
) -> None:
    sb.faults.add("err-901", ops={"startbatch", "endbatch"})
    assert call("startbatch", **CREDS, template="x") == ["ERR: 901, Internal error"]
    assert call("endbatch", **CREDS, batch_id="0" * 32) == ["ERR: 901, Internal error"]


def test_a_restart_keeps_batch_messages_and_forgets_batches(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, style: str
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    first = make_sandbox(ledger_path=ledger)
    call = caller(first, style)
    batch_id = start(call, deliv_time=60, **{CLIMSGID[style]: "Kept"})
    call("senditem", **CREDS, batch_id=batch_id, to=[GOOD], field1="Ann")
    call("quicksend", **CREDS, batch_id=batch_id, to=[GOOD, GOOD2])
    first.stop()
    second = make_sandbox(ledger_path=ledger)
    assert second.messages == first.messages and second.balance() == 997.0
    assert all(m["status"] == "011" for m in second.messages.values())
    call = caller(second, style)
    assert call("senditem", **CREDS, batch_id=batch_id, to=[GOOD]) == ["ERR: 201, Invalid batch ID"]
