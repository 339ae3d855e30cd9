"""`clicksms status`, `cancel` and `charge` end to end against the sandbox."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, sent_ops
from helpers import (
    REFUSED_4_TIMES,
    point_at,
    point_at_closed_port,
    table_lines,
    without_session,
)
from impostor import SESSION, Reply, envelope

from clicksms.sandbox import ManualClock, Sandbox, SandboxConfig

NUMBER = "27821234567"
OTHER = "27831234567"
QUEUED = "27820000002"  # sandbox: stays 002 until cancelled or expired
FAILING = "27820000007"  # sandbox: ends 007 instead of 004
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"
STATUS_KEYS = ["id", "ok", "status", "meaning", "final", "delivered", "error_code", "error"]


def send(cli, *numbers: str, options: tuple[str, ...] = ()) -> list[str]:
    """Send through the real CLI; the message IDs in recipient order."""
    run = cli("send", *numbers, "-t", "hello", *options, "-o", "json")
    assert run.exit_code == 0, run.stderr
    return [row["message_id"] for row in json.loads(run.stdout)]


# ------------------------------------------------------------------------------ status


def test_status_table_follows_the_lifecycle(cli, creds, clock) -> None:
    (msg_id,) = send(cli, NUMBER)
    run = cli("status", msg_id)
    assert run.exit_code == 0, run.stderr
    assert table_lines(run.stdout) == [[msg_id, "003", "Delivered to gateway", "no"]]
    assert run.stderr == "0 delivered, 1 not final yet.\n"
    clock.advance(5)
    run = cli("status", msg_id)
    assert run.exit_code == 0
    assert table_lines(run.stdout) == [[msg_id, "004", "Received by recipient", "yes"]]
    assert run.stderr == "1 delivered.\n"
    queries = [without_session(f) for f in sent_ops(creds, "querymsg")]
    assert queries == [{"apimsgid": msg_id}, {"apimsgid": msg_id}]


def test_status_json_keys_and_values(cli, creds, clock) -> None:
    ids = send(cli, NUMBER, FAILING)
    clock.advance(5)
    run = cli("status", *ids, "-o", "json")
    assert run.exit_code == 6  # 007 is an error status: one of two failed
    rows = json.loads(run.stdout)
    assert [list(r) for r in rows] == [STATUS_KEYS, STATUS_KEYS]
    assert rows == [
        {
            "id": ids[0],
            "ok": True,
            "status": "004",
            "meaning": "Received by recipient",
            "final": True,
            "delivered": True,
            "error_code": None,
            "error": None,
        },
        {
            "id": ids[1],
            "ok": False,
            "status": "007",
            "meaning": "Error delivering message",
            "final": True,
            "delivered": False,
            "error_code": None,
            "error": None,
        },
    ]


def test_status_csv(cli, creds) -> None:
    (msg_id,) = send(cli, NUMBER)
    run = cli("status", msg_id, "-o", "csv")
    assert run.exit_code == 0
    (row,) = csv.DictReader(io.StringIO(run.stdout))
    assert list(row) == STATUS_KEYS
    assert row == {
        **dict.fromkeys(STATUS_KEYS, ""),
        "id": msg_id,
        "ok": "true",
        "status": "003",
        "meaning": "Delivered to gateway",
        "final": "false",
        "delivered": "false",
    }


def test_unknown_id_is_a_failed_row_not_a_crash(cli, creds) -> None:
    (msg_id,) = send(cli, NUMBER)
    run = cli("status", UNKNOWN_ID, msg_id, "-o", "json")
    assert run.exit_code == 6
    unknown, known = json.loads(run.stdout)
    assert (unknown["id"], unknown["ok"], unknown["status"], unknown["meaning"]) == (
        UNKNOWN_ID,
        False,
        "001",
        "Message unknown",
    )
    assert known["ok"] is True
    only_unknown = cli("status", UNKNOWN_ID)
    assert only_unknown.exit_code == 4
    # 001 is settled (--wait stops asking), so it is shown as final too
    assert unknown["final"] is True
    assert table_lines(only_unknown.stdout) == [[UNKNOWN_ID, "001", "Message unknown", "yes"]]
    assert only_unknown.stderr == "0 delivered, 1 failed.\n"


def test_status_by_client_id(cli, creds) -> None:
    (msg_id,) = send(cli, NUMBER, options=("--client-id", "deploy42"))
    asked_by_send = len(sent_ops(creds, "querymsg"))  # send checks the client ID is unused
    run = cli("status", "--client-id", "deploy42", "nosuchid", "-o", "json")
    assert run.exit_code == 6
    found, missing = json.loads(run.stdout)
    assert list(found) == ["id", "client_id", *STATUS_KEYS[1:]]
    assert (found["id"], found["client_id"], found["status"]) == (msg_id, "deploy42", "003")
    assert missing == {
        "id": None,
        "client_id": "nosuchid",
        "ok": False,
        "status": None,
        "meaning": None,
        "final": None,
        "delivered": False,
        "error_code": "104",
        "error": "unknown client message ID",
    }
    queries = [without_session(f) for f in sent_ops(creds, "querymsg")[asked_by_send:]]
    assert queries == [{"climsgid": "deploy42"}, {"climsgid": "nosuchid"}]
    table = cli("status", "--client-id", "deploy42", "nosuchid")
    assert table_lines(table.stdout) == [
        [msg_id, "deploy42", "003", "Delivered to gateway", "no"],
        ["", "nosuchid", "", "unknown client message ID", ""],
    ]


ONLY_ALNUM = "may contain only letters A-Z, a-z and digits 0-9"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("deploy 42", f"client message ID 'deploy 42' {ONLY_ALNUM}"),
        ("déploy", f"client message ID 'déploy' {ONLY_ALNUM}"),
        (
            "x" * 33,
            f"client message ID '{'x' * 33}' is 33 characters; Clickatell allows at most 32",
        ),
        ("", "client message ID is empty: give 1 to 32 letters and digits"),
    ],
)
def test_bad_client_id_is_refused_before_any_call(cli, creds, bad: str, message: str) -> None:
    run = cli("status", "--client-id", "good1", bad)
    assert run.exit_code == 2
    assert run.stderr == f"Error: {message}\n"
    assert run.stdout == ""
    assert creds.requests == []


def test_bad_message_id_is_refused_before_any_call(cli, creds) -> None:
    run = cli("cancel", "ID: 123")
    assert run.exit_code == 2
    assert run.stderr == (
        "Error: invalid message ID 'ID: 123': use the ID that send printed "
        "(letters and digits; --client-id for your own client message IDs)\n"
    )
    assert creds.requests == []


def test_no_ids_is_a_usage_error(cli, creds) -> None:
    for command in ("status", "cancel", "charge"):
        run = cli(command)
        assert run.exit_code == 2
        assert run.stderr == "Error: no message IDs on stdin\n"
    run = cli("status", "--client-id", input="\n  \n")
    assert (run.exit_code, run.stderr) == (2, "Error: no client message IDs on stdin\n")
    assert creds.requests == []


def test_ids_from_stdin_and_repeats_skipped(cli, creds) -> None:
    ids = send(cli, NUMBER, OTHER)
    run = cli("status", "-o", "json", input=f"{ids[0]}\n\n {ids[1]} \n{ids[0]}\n")
    assert run.exit_code == 0, run.stderr
    assert [r["id"] for r in json.loads(run.stdout)] == ids
    assert run.stderr == f"Skipping {ids[0]}: given more than once.\n"
    assert [f["apimsgid"] for f in sent_ops(creds, "querymsg")] == ids


def test_interval_without_wait_is_a_usage_error(cli, creds) -> None:
    run = cli("status", UNKNOWN_ID, "--timeout", "5")
    assert run.exit_code == 2
    assert run.stderr == "Error: --interval and --timeout only apply with --wait\n"
    for bad in ("0", "nan", "61"):
        run = cli("status", UNKNOWN_ID, "--wait", "--interval", bad)
        assert run.exit_code == 2
        assert run.stderr == "Error: --interval must be more than 0 and at most 60 seconds\n"
    run = cli("status", UNKNOWN_ID, "--wait", "--timeout", "inf")
    assert run.stderr == "Error: --timeout must be between 0 and 86400 seconds\n"
    assert creds.requests == []


def test_network_failure_ends_the_command(cli, monkeypatch) -> None:
    port = point_at_closed_port(monkeypatch)
    for args in (["status", UNKNOWN_ID], ["cancel", UNKNOWN_ID], ["charge", UNKNOWN_ID]):
        run = cli(*args, "-o", "json")
        assert run.exit_code == 5
        assert run.stderr == f"Error: cannot connect to 127.0.0.1:{port}: {REFUSED_4_TIMES}\n"
        assert run.stdout == ""


def test_auth_failure_ends_the_command(cli, creds, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_PASSWORD", "wrong")
    run = cli("status", UNKNOWN_ID, "--wait")
    assert run.exit_code == 3
    assert run.stderr == "Error: authentication failed: check api_id, user and password (ERR 001)\n"
    assert run.stdout == ""
    assert [r["op"] for r in creds.requests] == ["auth"]


def test_frozen_account(cli, creds) -> None:
    run = cli("--user", "frozen", "charge", UNKNOWN_ID)
    assert run.exit_code == 3
    assert run.stderr == (
        "Error: the Clickatell account is frozen: contact Clickatell support (ERR 004)\n"
    )


def test_expired_session_is_renewed_once(cli, creds, clock) -> None:
    (msg_id,) = send(cli, NUMBER)
    clock.advance(901)  # the sandbox forgets the session; our local clock does not know
    run = cli("status", msg_id, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["status"] == "004"
    assert [r["op"] for r in creds.requests] == ["auth", "sendmsg", "querymsg", "auth", "querymsg"]


def answers(op: str, *returns: str) -> list[Reply]:
    """The impostor's replies to ``op`` requests, one ``<return>`` each."""
    return [Reply(body=envelope(op, r)) for r in returns]


def test_unreadable_answer_ends_the_run_after_the_rows_so_far(cli, impostor) -> None:
    impostor.replies += answers("querymsg", "ID: aaa Status: 004", "Status: maybe")
    run = cli("status", "aaa", "bbb", "ccc", "-o", "json")
    assert run.exit_code == 5
    problem = "unexpected answer to querymsg: 'Status: maybe'"
    assert run.stderr == f"Error: {problem}\n"
    rows = json.loads(run.stdout)
    assert [(r["id"], r["status"], r["ok"], r["error"]) for r in rows] == [
        ("aaa", "004", True, None),
        ("bbb", None, False, problem),
        ("ccc", None, False, f"not asked: {problem}"),
    ]


def test_first_answer_unreadable_is_just_the_error_line(cli, impostor) -> None:
    impostor.replies += answers("getbalance", f"Credit: 5 session_id={SESSION}")
    run = cli("balance")
    assert (run.exit_code, run.stdout) == (5, "")
    expected = "Error: unexpected answer to getbalance: 'Credit: 5 session_id=<session id hidden>'"
    assert run.stderr == expected + "\n"


def test_failure_during_wait_shows_the_last_known_statuses(cli, impostor) -> None:
    impostor.replies += answers(
        "querymsg",
        "ID: aaa Status: 003",
        "ID: bbb Status: 004",
        "ERR: 003, Session ID expired",
        "ERR: 003, Session ID expired",  # again right after a new login: give up
    )
    run = cli("status", "aaa", "bbb", "--wait", "--interval", "0.01", "-o", "json")
    assert run.exit_code == 3
    assert run.stderr.splitlines()[-1] == (
        "Error: the gateway expired the session again right after a fresh login: "
        "retry later (ERR 003)"
    )
    rows = json.loads(run.stdout)
    assert [(r["id"], r["status"], r["ok"]) for r in rows] == [
        ("aaa", "003", False),
        ("bbb", "004", True),
    ]


def test_wait_does_not_count_008_as_delivered(cli, impostor) -> None:
    impostor.replies += answers("querymsg", "ID: aaa Status: 008")
    run = cli("status", "aaa", "--wait", "--interval", "0.01", "-o", "json")
    assert run.exit_code == 4, run.stderr  # 008: received by the gateway, not the handset
    (row,) = json.loads(run.stdout)
    assert (row["status"], row["meaning"], row["final"]) == ("008", "OK", True)
    assert (row["ok"], row["delivered"]) == (False, False)
    assert impostor.seen == ["auth", "querymsg"]  # final: asked once


def test_charge_answered_for_another_message_is_not_credited_to_it(cli, impostor) -> None:
    impostor.replies += answers(
        "getmsgcharge",
        "apiMsgId: aaa charge: 1.0 status: 004",
        "apiMsgId: ccc charge: 9 status: 004",
    )
    run = cli("charge", "aaa", "bbb", "ddd", "-o", "json")
    assert run.exit_code == 5
    problem = "unexpected answer to getmsgcharge: it is about message 'ccc', not bbb"
    assert run.stderr == f"Error: {problem}\n"
    rows = json.loads(run.stdout)
    assert [(r["id"], r["ok"], r["charge"], r["error"]) for r in rows] == [
        ("aaa", True, 1.0, None),
        ("bbb", False, None, problem),
        ("ddd", False, None, f"not asked: {problem}"),
    ]


def test_status_answered_for_another_message_is_refused(cli, impostor) -> None:
    other = "c" * 32  # shaped like a session ID, so it is never quoted
    impostor.replies += answers("querymsg", "ID: AAA Status: 004", f"ID: {other} Status: 004")
    run = cli("status", "aaa", "bbb", "-o", "json")
    assert run.exit_code == 5
    problem = "unexpected answer to querymsg: it is about message '<hex>', not bbb"
    assert run.stderr == f"Error: {problem}\n"  # never quotes a session-like ID
    rows = json.loads(run.stdout)
    assert [(r["id"], r["status"], r["error"]) for r in rows] == [
        ("AAA", "004", None),  # the same ID in other case is the same message
        ("bbb", None, problem),
    ]


# ------------------------------------------------------------------------------ --wait


class TickingClock(ManualClock):
    """Sandbox time that moves 0.05 s whenever the sandbox reads it, i.e. only on requests.

    Delivery then depends on how many requests were made, never on how fast this machine
    is: the first polls always see 003, and a few rounds later 004.
    """

    def __call__(self) -> float:
        return self.advance(0.05)


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox whose messages are delivered after 1 s of request-driven time."""
    config = SandboxConfig(
        password=PASSWORD, delivery_seconds=1.0, ledger_path=tmp_path / "live.jsonl"
    )
    with Sandbox(config, clock=TickingClock()) as server:
        point_at(monkeypatch, server)
        yield server


def test_wait_until_delivered(cli, live) -> None:
    ids = send(cli, NUMBER, OTHER)
    run = cli("status", *ids, "--wait", "--interval", "0.05", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["id"], r["status"], r["ok"], r["delivered"]) for r in rows] == [
        (ids[0], "004", True, True),
        (ids[1], "004", True, True),
    ]
    progress = run.stderr.splitlines()
    assert progress, "the wait should have reported progress"
    assert all(line.startswith("Waiting: 2 of 2 message(s) not final yet;") for line in progress)
    polls = [f["apimsgid"] for f in sent_ops(live, "querymsg")]
    assert len(polls) >= 4 and len(polls) % 2 == 0


def test_wait_counts_failures_and_stops_asking_about_settled_ones(cli, live) -> None:
    ids = send(cli, NUMBER, FAILING)
    run = cli("status", UNKNOWN_ID, *ids, "--wait", "--interval", "0.05")
    assert run.exit_code == 6, run.stderr
    assert table_lines(run.stdout) == [
        [UNKNOWN_ID, "001", "Message unknown", "yes"],
        [ids[0], "004", "Received by recipient", "yes"],
        [ids[1], "007", "Error delivering message", "yes"],
    ]
    assert run.stderr.splitlines()[-1] == "1 delivered, 2 failed."
    polls = [f["apimsgid"] for f in sent_ops(live, "querymsg")]
    assert polls.count(UNKNOWN_ID) == 1  # 001 settles at once
    assert polls.count(ids[0]) > 1 and polls.count(ids[1]) > 1


def test_wait_none_delivered_exits_4(cli, live) -> None:
    (failing,) = send(cli, FAILING)
    run = cli("status", failing, "--wait", "--interval", "0.05", "-o", "json")
    assert run.exit_code == 4
    assert json.loads(run.stdout)[0]["status"] == "007"


def test_wait_times_out(cli, creds, clock) -> None:
    """The sandbox's manual clock never moves here, so the messages never become final."""
    ids = send(cli, NUMBER, QUEUED)
    run = cli("status", *ids, "--wait", "--interval", "0.05", "--timeout", "0.3", "-o", "json")
    assert run.exit_code == 4
    rows = json.loads(run.stdout)
    assert [(r["status"], r["ok"]) for r in rows] == [("003", False), ("002", False)]
    lines = run.stderr.splitlines()
    assert lines[-1] == (
        "2 message(s) still not final when the --timeout of 0.3s ran out; counted as not delivered."
    )
    assert all(line.startswith("Waiting: 2 of 2") for line in lines[:-1])
    rounds = len(sent_ops(creds, "querymsg")) // 2
    assert 1 <= rounds <= 6  # pauses of 0.05, 0.075, 0.1125, … fit at most 5 times in 0.3 s


def test_wait_with_zero_timeout_asks_once(cli, creds, clock) -> None:
    (msg_id,) = send(cli, NUMBER)
    clock.advance(5)
    run = cli("status", msg_id, "--wait", "--timeout", "0")
    assert run.exit_code == 0
    assert table_lines(run.stdout) == [[msg_id, "004", "Received by recipient", "yes"]]
    assert len(sent_ops(creds, "querymsg")) == 1


def test_wait_partial_when_timeout_leaves_some_pending(cli, creds, clock) -> None:
    delivered, _ = ids = send(cli, NUMBER, QUEUED)
    clock.advance(5)
    run = cli("status", *ids, "--wait", "--interval", "0.05", "--timeout", "1", "-o", "csv")
    assert run.exit_code == 6
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [(r["id"], r["status"], r["ok"]) for r in rows] == [
        (delivered, "004", "true"),
        (ids[1], "002", "false"),
    ]
    assert "1 message(s) still not final when the --timeout of 1s ran out" in run.stderr
    polls = [f["apimsgid"] for f in sent_ops(creds, "querymsg")]
    assert polls.count(delivered) == 1 and polls.count(ids[1]) >= 2


class Timeline:
    """Local time for the wait loop that also moves the sandbox's clock: no real sleeping."""

    def __init__(self, sandbox_clock) -> None:
        self.now = 0.0
        self.pauses: list[float] = []
        self.notes: list[str] = []
        self._sandbox_clock = sandbox_clock

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        self._sandbox_clock.advance(seconds)


def wait_directly(ids: list[str], timeline: Timeline, **limits: float):
    """The core wait loop with a real GatewayClient against the sandbox, on the timeline's clock."""
    from clicksms.config import load_settings
    from clicksms.gateway.client import GatewayClient
    from clicksms.tracking import wait_for_final

    account = GatewayClient(load_settings(), lambda: PASSWORD)
    try:
        return wait_for_final(
            account,
            ids,
            False,
            progress=timeline.notes.append,
            clock=lambda: timeline.now,
            sleep=timeline.sleep,
            **limits,
        )
    finally:
        account.close()


def test_backoff_grows_to_a_minute_and_ends_at_the_timeout(cli, creds, clock) -> None:
    (queued,) = send(cli, QUEUED)
    timeline = Timeline(clock)
    report = wait_directly([queued], timeline, interval=2, timeout=600)
    assert report.not_final == 1 and report.failure is None
    assert report.results[0].status.code == "002"
    growing = [2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 34.171875, 51.2578125]
    assert timeline.pauses[:9] == pytest.approx(growing)
    capped = timeline.pauses[9:-1]
    assert capped and all(p == 60 for p in capped)
    assert 0 < timeline.pauses[-1] <= 60
    assert sum(timeline.pauses) == pytest.approx(600)
    assert len(sent_ops(creds, "querymsg")) == len(timeline.pauses) + 1
    assert timeline.notes[0] == (
        "Waiting: 1 of 1 message(s) not final yet; checking again in 2s (600s left)."
    )


def test_wait_ends_as_soon_as_everything_is_final(cli, creds, clock) -> None:
    ids = send(cli, NUMBER, OTHER)
    timeline = Timeline(clock)
    report = wait_directly(ids, timeline, interval=2, timeout=600)
    assert timeline.pauses == [2, 3]  # delivered 5 s after acceptance
    assert report.not_final == 0
    assert [r.status.code for r in report.results] == ["004", "004"]


# ------------------------------------------------------------------------------ cancel


def test_cancel_a_queued_message(cli, creds) -> None:
    (msg_id,) = send(cli, QUEUED)
    run = cli("cancel", msg_id)
    assert run.exit_code == 0, run.stderr
    assert table_lines(run.stdout) == [[msg_id, "yes", "006", "User cancelled message delivery"]]
    assert run.stderr == "1 of 1 cancelled.\n"
    assert [without_session(f) for f in sent_ops(creds, "delmsg")] == [{"apimsgid": msg_id}]
    assert creds.messages[msg_id]["status"] == "006"


def test_cancel_too_late_shows_the_status(cli, creds, clock) -> None:
    queued, delivered = send(cli, QUEUED, NUMBER)
    clock.advance(5)
    run = cli("cancel", queued, delivered, UNKNOWN_ID, "-o", "json")
    assert run.exit_code == 6
    keys = ["id", "ok", "status", "meaning", "error_code", "error"]
    rows = json.loads(run.stdout)
    assert [list(r) for r in rows] == [keys] * 3
    assert rows == [
        {
            "id": queued,
            "ok": True,
            "status": "006",
            "meaning": "User cancelled message delivery",
            "error_code": None,
            "error": None,
        },
        {
            "id": delivered,
            "ok": False,
            "status": "004",
            "meaning": "Received by recipient",
            "error_code": None,
            "error": "already 004 Received by recipient: too late to cancel",
        },
        {
            "id": UNKNOWN_ID,
            "ok": False,
            "status": None,
            "meaning": None,
            "error_code": "103",
            "error": "unknown API message ID",
        },
    ]
    table = cli("cancel", delivered)
    assert table.exit_code == 4
    assert table_lines(table.stdout) == [
        [delivered, "no", "004", "already 004 Received by recipient: too late to cancel"]
    ]
    assert table.stderr == "0 of 1 cancelled.\n"


def test_cancel_by_client_id(cli, creds) -> None:
    (msg_id,) = send(cli, QUEUED, options=("--client-id", "nightly7"))
    run = cli("cancel", "--client-id", "nightly7", "-o", "csv")
    assert run.exit_code == 0, run.stderr
    (row,) = csv.DictReader(io.StringIO(run.stdout))
    assert row == {
        "id": msg_id,
        "client_id": "nightly7",
        "ok": "true",
        "status": "006",
        "meaning": "User cancelled message delivery",
        "error_code": "",
        "error": "",
    }
    assert [without_session(f) for f in sent_ops(creds, "delmsg")] == [{"climsgid": "nightly7"}]
    again = cli("status", "--client-id", "nightly7", "-o", "json")
    assert again.exit_code == 0  # cancelled is final, and not an error
    assert json.loads(again.stdout)[0]["status"] == "006"


# ------------------------------------------------------------------------------ charge


def test_charge_rows_and_total(cli, creds, clock) -> None:
    one = send(cli, NUMBER)[0]
    two = send(cli, OTHER)[0]
    run = cli("charge", one, UNKNOWN_ID)
    assert run.exit_code == 6
    assert table_lines(run.stdout) == [
        [one, "1", "003", "Delivered to gateway"],
        [UNKNOWN_ID, "", "", "unknown API message ID"],
        ["Total", "1", "", ""],
    ]
    assert [without_session(f) for f in sent_ops(creds, "getmsgcharge")] == [
        {"apimsgid": one},
        {"apimsgid": UNKNOWN_ID},
    ]
    long_text = cli("send", OTHER, "-t", "x" * 200, "-o", "json")
    assert long_text.exit_code == 0, long_text.stderr
    three = json.loads(long_text.stdout)[0]["message_id"]
    clock.advance(5)
    run = cli("charge", one, two, three, "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [list(r) for r in rows] == [
        ["id", "ok", "charge", "status", "meaning", "error_code", "error"]
    ] * 3
    assert [(r["id"], r["charge"], r["status"]) for r in rows] == [
        (one, 1.0, "004"),
        (two, 1.0, "004"),
        (three, 2.0, "004"),
    ]
    table = cli("charge", one, two, three)
    assert table_lines(table.stdout)[-1] == ["Total", "4", "", ""]


def test_charge_help_says_no_client_ids(cli) -> None:
    run = cli("charge", "--help")
    assert run.exit_code == 0
    assert "no client message ID field" in " ".join(run.stdout.split())
    assert "--client-id" not in run.stdout
    assert cli("charge", "--client-id", "x").exit_code == 2
