"""Every `send` option against the sandbox: the exact sendmsg fields, and bad values refused
before any network call."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from conftest import sent_ops

NUMBER = "27821234567"
OTHER = "27831234567"
LONG_GSM = "x" * 200  # two GSM parts


def sent_fields(cli, sandbox, *args: str) -> dict:
    run = cli("send", NUMBER, *args)
    assert run.exit_code == 0, run.stderr
    (fields,) = sent_ops(sandbox, "sendmsg")
    del fields["session_id"]
    return fields


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # plain single-part text: no options, no req_feat (nothing beyond FEAT_TEXT)
        (["-t", "hi"], {"text": "hi", "concat": "1"}),
        (["-t", "hi", "--flash"], {"msg_type": "SMS_FLASH", "req_feat": str(1 | 512)}),
        (["-t", "hi", "--msg-type", "sms_flash"], {"msg_type": "SMS_FLASH", "req_feat": "513"}),
        (["-t", "hi", "--msg-type", "SMS_TEXT"], {"msg_type": "SMS_TEXT"}),
        (["-t", "hi", "-f", "ACME"], {"from": "ACME", "req_feat": str(1 | 16)}),
        (["-t", "hi", "-f", "+27820001111"], {"from": "27820001111", "req_feat": str(1 | 32)}),
        (["-t", "hi", "--delivery-ack"], {"deliv_ack": "1", "req_feat": str(1 | 8192)}),
        (["-t", LONG_GSM], {"concat": "2", "req_feat": str(1 | 16384)}),
        (["-t", "Ωmega ł"], {"unicode": "1", "req_feat": str(1 | 8)}),
        (
            ["-t", "hi", "--unicode", "always"],
            {"text": "00680069", "unicode": "1", "req_feat": "9"},
        ),
        (["-t", LONG_GSM, "--max-parts", "3"], {"concat": "3", "req_feat": "16385"}),
        (["-t", "hi", "--deliver-in", "2h"], {"deliv_time": "120"}),
        (["-t", "hi", "--deliver-in", "1d"], {"deliv_time": "1440"}),
        (["-t", "hi", "--deliver-in", "90"], {"deliv_time": "90"}),
        (["-t", "hi", "--deliver-in", "1h30m"], {"deliv_time": "90"}),
        (["-t", "hi", "--validity", "3h"], {"validity": "180"}),
        (
            ["-t", "hi", "--deliver-in", "1h", "--validity", "2h"],
            {"deliv_time": "60", "validity": "120"},
        ),
        (["-t", "hi", "--client-id", "Order42"], {"climsgid": "Order42"}),
        (["-t", "hi", "--callback", "none"], {"msg_callback": "0"}),
        (["-t", "hi", "--callback", "intermediate"], {"msg_callback": "1"}),
        (["-t", "hi", "--callback", "final"], {"msg_callback": "2"}),
        (["-t", "hi", "--callback", "error"], {"msg_callback": "4"}),
        (["-t", "hi", "--callback", "all"], {"msg_callback": "7"}),
        (["-t", "hi", "--callback", "intermediate,error"], {"msg_callback": "5"}),
        (["-t", "hi", "--max-credits", "2"], {"max_credits": "2"}),
        (["-t", "hi", "--queue", "1"], {"queue": "1"}),
        (["-t", "hi", "--escalate"], {"escalate": "1"}),
        (["-t", "hi", "--mo"], {"mo": "1"}),
        (
            ["--udh", "05 00 03 cc 02 01", "--data", "48656c6c6f"],
            {"udh": "050003CC0201", "data": "48656C6C6F", "concat": "1", "req_feat": str(2 | 4)},
        ),
        (["--data", "0x48656C6C6F"], {"data": "48656C6C6F", "concat": "1", "req_feat": "2"}),
        (
            ["--data", "024A3A", "--msg-type", "SMS_NOKIA_RINGTONE"],
            {"data": "024A3A", "msg_type": "SMS_NOKIA_RINGTONE", "req_feat": "2"},
        ),
    ],
)
def test_option_reaches_the_wire(cli, creds, args: list[str], expected: dict) -> None:
    fields = sent_fields(cli, creds, *args)
    assert fields["to"] == [NUMBER]
    for name, value in expected.items():
        assert fields[name] == value, name
    for name in {"req_feat", "msg_type", "deliv_time", "validity"} - set(expected):
        assert name not in fields, name
    if "climsgid" not in expected:  # one recipient always has a client ID: a random one
        assert re.fullmatch(r"cs[0-9a-f]{24}", fields["climsgid"]), fields["climsgid"]
    if "data" in expected:
        assert "text" not in fields and "unicode" not in fields
    else:
        assert "data" not in fields and "udh" not in fields


def test_every_option_at_once(cli, creds) -> None:
    fields = sent_fields(
        cli,
        creds,
        *("-t", "hello", "--flash", "-f", "ACME", "--deliver-in", "2h", "--validity", "3h"),
        *("--client-id", "abc123", "--callback", "final,error", "--delivery-ack"),
        *("--max-credits", "3", "--queue", "2", "--escalate", "--mo"),
    )
    assert fields == {
        "to": [NUMBER],
        "text": "hello",
        "concat": "1",
        "from": "ACME",
        "req_feat": str(1 | 16 | 512 | 8192),
        "msg_type": "SMS_FLASH",
        "deliv_time": "120",
        "validity": "180",
        "climsgid": "abc123",
        "msg_callback": "6",
        "max_credits": "3",
        "queue": "2",
        "deliv_ack": "1",
        "escalate": "1",
        "mo": "1",
    }


def test_deliver_at_becomes_minutes_from_now(cli, creds) -> None:
    at = datetime.now(timezone.utc) + timedelta(hours=2, seconds=20)
    fields = sent_fields(cli, creds, "-t", "hi", "--deliver-at", at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert fields["deliv_time"] in ("120", "121")


def test_deliver_at_local_time_with_offset(cli, creds) -> None:
    at = (datetime.now().astimezone() + timedelta(days=2)).replace(microsecond=0)
    fields = sent_fields(cli, creds, "-t", "hi", "--deliver-at", at.isoformat())
    assert int(fields["deliv_time"]) in (2879, 2880)


def test_deliver_at_clock_time_is_the_next_one(cli, creds) -> None:
    soon = datetime.now().astimezone() + timedelta(minutes=30)
    fields = sent_fields(cli, creds, "-t", "hi", "--deliver-at", soon.strftime("%H:%M"))
    assert 28 <= int(fields["deliv_time"]) <= 31
    creds.gateway._requests.clear()
    earlier = datetime.now().astimezone() - timedelta(minutes=30)
    fields = sent_fields(cli, creds, "-t", "hi", "--deliver-at", earlier.strftime("%H:%M"))
    assert 23 * 60 + 28 <= int(fields["deliv_time"]) <= 23 * 60 + 31


def test_json_rows_for_an_optioned_send(cli, creds) -> None:
    run = cli("send", NUMBER, "-t", "hi", "--client-id", "X1", "--flash", "-o", "json")
    assert run.exit_code == 0, run.stderr
    (row,) = json.loads(run.stdout)
    (record,) = creds.ledger
    assert row["message_id"] == record["apimsgid"]
    assert record["climsgid"] == "X1"


def future(days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


PAST = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "hi", "--msg-type", "SMS_BOGUS"], "--msg-type 'SMS_BOGUS' is not one of: SMS_TEXT"),
        (
            ["-t", "hi", "--flash", "--msg-type", "SMS_NOKIA_VCARD"],
            "--flash sends SMS_FLASH; it cannot be combined with SMS_NOKIA_VCARD",
        ),
        (["-t", "hi", "--data", "4142"], "--data sends 8-bit content; it cannot be combined"),
        (["--udh", "050003CC0201"], "--udh needs --data"),
        (["--data", "zz"], "--data is not hex: 'z' is not one of 0-9 and A-F"),
        (["--data", "ABC"], "--data has 3 hex digits; octets need an even number of them"),
        (["--data", ""], "--data is empty"),
        (["--udh", "0600", "--data", "41"], "--udh length byte says 6 octets follow but 1 do"),
        (["--data", "41" * 141], "binary message is 141 octets (UDH 0 + data 141)"),
        (
            ["--udh", "050003CC0201", "--data", "41" * 135],
            "binary message is 141 octets (UDH 6 + data 135); one SMS carries at most 140",
        ),
        (
            ["--udh", "050003CC0201", "--data", "41", "--flash"],
            "--msg-type SMS_FLASH cannot be combined with --udh",
        ),
        (["--data", "41", "--unicode", "never"], "--unicode applies to text"),
        (["-t", "hi", "--deliver-in", "soon"], "--deliver-in 'soon' is not a duration"),
        (["-t", "hi", "--deliver-in", "0"], "--deliver-in must be at least one minute"),
        (["-t", "hi", "--deliver-in", "30s"], "--deliver-in '30s' is not a duration"),
        (["-t", "hi", "--deliver-in", "8d"], "--deliver-in 8d is more than 7 days ahead"),
        (["-t", "hi", "--deliver-at", PAST], f"--deliver-at {PAST} is in the past"),
        (["-t", "hi", "--deliver-at", future(7.1)], "is more than 7 days ahead"),
        (["-t", "hi", "--deliver-at", "tomorrow"], "--deliver-at 'tomorrow' is not a time"),
        (["-t", "hi", "--deliver-at", "2026-13-01T09:00"], "does not exist: month must be in"),
        (["-t", "hi", "--deliver-at", "2099-01-01"], "has no time of day"),
        (["-t", "hi", "--deliver-at", "25:00"], "--deliver-at '25:00' is not a time of day"),
        (
            ["-t", "hi", "--deliver-in", "1h", "--deliver-at", "09:00"],
            "use either --deliver-in or --deliver-at, not both",
        ),
        (["-t", "hi", "--validity", "25h"], "--validity 25h is longer than Clickatell's 24 hours"),
        (["-t", "hi", "--client-id", "has space"], "may contain only letters A-Z, a-z and digits"),
        (["-t", "hi", "--client-id", "é1"], "may contain only letters"),
        (["-t", "hi", "--client-id", "a" * 33], "is 33 characters; Clickatell allows at most 32"),
        (["-t", "hi", "--client-id", ""], "--client-id is empty"),
        (["-t", "hi", "--callback", "sometimes"], "--callback 'sometimes': use none, inter"),
        (["-t", "hi", "--callback", "none,final"], "'none' cannot be combined"),
        (["-t", "hi", "--max-credits", "2147483648"], "must be a whole number of credits"),
        (["-t", "hi", "--max-credits", "２"], "must be a whole number of credits"),
        (
            ["--udh", "050003CC0201", "--data", "41", "--msg-type", "SMS_TEXT"],
            "--msg-type SMS_TEXT cannot be combined with --udh",
        ),
        (
            ["-t", "hello", "--msg-type", "SMS_NOKIA_VCARD"],
            "--msg-type SMS_NOKIA_VCARD carries a binary payload: send it with "
            "`clicksms send --data HEX`",
        ),
        (
            ["-t", "hi", "--max-credits", "1.5"],
            "takes whole credits only (its max_credits is an integer); use --soap-style rpc",
        ),
        (["-t", "hi", "--max-credits", "0"], "must be a whole number of credits"),
        (
            ["-t", "hi", "--queue", "4"],
            "--queue 4: use a whole number from 1 to 3",
        ),
        (
            ["-t", "hi", "--max-parts", "36"],
            "--max-parts 36: use a whole number from 1 to 35",
        ),
        (
            ["-t", LONG_GSM, "--max-parts", "1"],
            "message needs 2 SMS parts (200 septets, GSM-7) but --max-parts is 1",
        ),
        (
            ["-t", "Zażółć", "--unicode", "never"],
            "--unicode never, but the text has characters that are not in the GSM alphabet: "
            "'ż' at position 3, 'ó' at position 4, 'ł' at position 5, 'ć' at position 6; "
            "replace them",
        ),
        (["-t", "hi", "--unicode", "sometimes"], "--unicode sometimes: use auto, always or never"),
    ],
)
def test_bad_option_is_refused_before_any_call(cli, creds, args: list[str], message: str) -> None:
    run = cli("send", NUMBER, *args)
    assert run.exit_code == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 or "Usage:" in run.stderr, run.stderr
    assert message in run.stderr
    assert creds.requests == []


def test_client_id_is_for_one_recipient(cli, creds) -> None:
    run = cli("send", NUMBER, OTHER, "-t", "hi", "--client-id", "abc")
    assert run.exit_code == 2
    assert "--client-id names one message, but there are 2 recipients" in run.stderr
    assert creds.requests == []


def test_deferred_message_is_queued_for_later(cli, creds, clock) -> None:
    run = cli("send", NUMBER, "-t", "hi", "--deliver-in", "10m", "-o", "json")
    assert run.exit_code == 0, run.stderr
    (row,) = json.loads(run.stdout)
    assert creds.gateway._messages[row["message_id"]].due_at == clock() + 600


@pytest.mark.parametrize(
    "options",
    [
        ("--deliver-in", "2d"),  # longer than the 1440-minute default validity
        ("--deliver-in", "7d"),  # the documented maximum
        ("--deliver-in", "2h", "--validity", "1h"),  # validity shorter than the delay
    ],
)
def test_scheduled_message_is_delivered_after_its_delay(cli, creds, clock, options) -> None:
    run = cli("send", NUMBER, "-t", "hi", *options, "-o", "json")
    assert run.exit_code == 0, run.stderr
    (row,) = json.loads(run.stdout)
    delay = creds.gateway._messages[row["message_id"]].due_at - clock()
    clock.advance(delay - 1)
    assert json.loads(cli("status", row["message_id"], "-o", "json").stdout)[0]["status"] == "011"
    clock.advance(1 + 5)  # due, then the sandbox's delivery_seconds
    status = cli("status", row["message_id"], "-o", "json")
    assert json.loads(status.stdout)[0]["status"] == "004", status.stdout


def test_a_client_id_in_use_is_refused(cli, creds) -> None:
    first = cli("send", NUMBER, "-t", "one", "--client-id", "dup1", "--deliver-in", "30")
    assert first.exit_code == 0, first.stderr
    again = cli("send", OTHER, "-t", "two", "--client-id", "dup1")
    assert again.exit_code == 2
    assert "--client-id dup1 is already used by message" in again.stderr
    assert "(status 011): choose a new one" in again.stderr
    assert len(creds.ledger) == 1
    queries = sent_ops(creds, "querymsg")
    assert [q["climsgid"] for q in queries] == ["dup1", "dup1"]  # asked before each send


def test_sandbox_inside_sandbox_is_refused(cli) -> None:
    run = cli("--sandbox", "sandbox", "--port", "0")
    assert run.exit_code == 2
    assert "`clicksms sandbox` is a sandbox already: drop --sandbox" in run.stderr
