"""A sandbox started again on its ledger knows what it had accepted, as the real gateway would:
messages by API and client message ID, their status, charge and recipient, and the credits
they cost. A ledger line cut short by a kill does not stop it from starting.

The oracle for "knows the same" is the first sandbox's gateway itself: once stopped it serves
nothing, but it still answers in memory, so the restarted one must agree with it at every
instant the clock is moved to."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helpers
import pytest
from conftest import PASSWORD

from clicksms.bulk.journal import Journal, default_journal_path
from clicksms.sandbox import LedgerError, ManualClock, Sandbox, SandboxConfig

CREDS: dict[str, Any] = {"api_id": 3512345, "user": "sandbox", "password": "sandbox-secret"}
GOOD = "27821234567"
GOOD2 = "27831234567"
UK = "447700900123"  # routed at 2.5 credits a part below
QUEUED = "27820000002"  # stays 002, expires to 010 and is refunded
FAILING = "27820000007"  # 003, then 007


def send(svc: Any, to: list[str], text: str = "hi", **options: Any) -> list[str]:
    """Send; return the apimsgids (every recipient must be accepted)."""
    answers = svc.sendmsg(**CREDS, to=to, text=text, **options)
    ids = [re.fullmatch(r"ID: ([0-9a-f]{32})( To: \d+)?", a) for a in answers]
    assert all(ids), answers
    return [m.group(1) for m in ids if m]


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    return tmp_path / "sent.jsonl"


@pytest.fixture
def start(make_sandbox: Callable[..., Sandbox], ledger_file: Path) -> Callable[..., Sandbox]:
    """Start a sandbox on ``ledger_file`` (each call a new one, as after a restart)."""

    def started(**overrides: Any) -> Sandbox:
        config = {"ledger_path": ledger_file, "coverage": {UK[:4]: 2.5}, **overrides}
        return make_sandbox(**config)

    return started


def assert_same_account(restarted: Sandbox, first: Sandbox) -> None:
    assert restarted.messages == first.messages
    assert restarted.balance() == first.balance()


# -------------------------------------------------------------------- what comes back
def test_a_restarted_sandbox_knows_every_message_of_its_ledger(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], clock: ManualClock
) -> None:
    first = start()
    svc = connect(first)
    sid = svc.auth(**CREDS)[4:]
    (plain,) = send(svc, [GOOD], climsgid="Ref1")
    pair = send(svc, [GOOD, GOOD2], climsgid="Pair")
    (held,) = send(svc, [QUEUED], validity=30)
    (later,) = send(svc, [GOOD], deliv_time=60, climsgid="Later")
    (capped,) = send(svc, [UK], max_credits=2)  # below the price of a part: 009
    (failing,) = send(svc, [FAILING])
    (dear,) = send(svc, [UK], text="x" * 200, concat=2)  # 2 parts at 2.5
    clock.advance(10)
    (again,) = send(svc, [GOOD2], climsgid="Ref1")  # a reused client ID names the latest
    first.stop()

    second = start()
    assert second.ledger == first.ledger
    assert_same_account(second, first)
    assert second.balance() == 1000 - 7 * 1.0 - 5.0  # 009 is not charged
    svc = connect(second)
    assert svc.querymsg(**CREDS, climsgid="Ref1") == f"ID: {again} Status: 003"
    assert svc.querymsg(**CREDS, apimsgid=plain) == f"ID: {plain} Status: 004"
    assert svc.querymsg(**CREDS, climsgid="Pair") == f"ID: {pair[1]} Status: 004"
    assert svc.querymsg(**CREDS, climsgid="Later") == f"ID: {later} Status: 011"
    assert svc.querymsg(**CREDS, apimsgid=held) == f"ID: {held} Status: 002"
    assert svc.querymsg(**CREDS, apimsgid=capped) == f"ID: {capped} Status: 009"
    assert svc.getmsgcharge(**CREDS, apimsgid=dear) == f"apiMsgId: {dear} charge: 5.0 status: 004"
    assert svc.getmsgcharge(**CREDS, apimsgid=capped).endswith(" charge: 0.0 status: 009")
    assert svc.querymsg(**CREDS, apimsgid=failing) == f"ID: {failing} Status: 007"
    # Sessions are not kept (they never touch the disk): the client signs in again.
    assert svc.getbalance(session_id=sid) == "ERR: 003, Session ID expired"

    clock.advance(30 * 60)  # held's validity has run out: 010, refunded
    assert_same_account(second, first)
    assert second.status(held) == "010" and second.balance() == 989.0
    clock.advance(40 * 60)  # later was due, and was sent
    assert_same_account(second, first)
    assert second.status(later) == "004"
    clock.advance(7 * 86400)  # too old to ask about, as for the first one
    assert_same_account(second, first)
    assert second.status(later) == "001"


def test_what_a_restarted_sandbox_accepts_the_next_one_knows_too(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    first = start()
    (one,) = send(connect(first), [GOOD], climsgid="One")
    first.stop()
    second = start()
    (two,) = send(connect(second), [GOOD2], climsgid="Two")
    second.stop()
    third = start()
    svc = connect(third)
    assert svc.querymsg(**CREDS, climsgid="One") == f"ID: {one} Status: 003"
    assert svc.querymsg(**CREDS, climsgid="Two") == f"ID: {two} Status: 003"
    assert [r["apimsgid"] for r in third.ledger] == [one, two]
    assert third.balance() == 998.0


def test_credits_is_the_balance_before_the_ledger_messages(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any]
) -> None:
    first = start(credits=10)
    send(connect(first), [GOOD, GOOD2, UK])
    first.stop()
    assert start(credits=10).balance() == 10 - 2 - 2.5
    assert start(credits=100).balance() == 100 - 2 - 2.5
    assert start(credits=3).balance() == 0.0  # never below zero


def test_a_new_ledger_starts_empty(start: Callable[..., Sandbox], ledger_file: Path) -> None:
    sb = start()
    assert sb.ledger == [] and sb.balance() == 1000.0
    assert not ledger_file.exists()  # nothing written until a message is accepted


def test_a_ledger_the_sandbox_creates_is_private_one_it_finds_keeps_its_mode(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], ledger_file: Path
) -> None:
    send(connect(start()), [GOOD])
    assert stat.S_IMODE(ledger_file.stat().st_mode) == 0o600  # numbers and texts
    ledger_file.chmod(0o640)  # its owner's choice, not the sandbox's to undo
    send(connect(start()), [GOOD2])
    assert stat.S_IMODE(ledger_file.stat().st_mode) == 0o640


# ----------------------------------------------------------------- torn and bad lines
def test_a_last_line_cut_short_by_a_kill_is_dropped(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], ledger_file: Path
) -> None:
    first = start()
    svc = connect(first)
    send(svc, [GOOD], climsgid="Kept")
    send(svc, [GOOD2], text="ça coûte €5", climsgid="Cut")
    first.stop()
    data = ledger_file.read_bytes()
    whole = data.index(b"\n") + 1
    cut = data.index("coûte".encode()) + 2  # inside the two bytes of "û", as a kill may leave
    ledger_file.write_bytes(data[:cut])  # the second request's write was cut short

    second = start()
    assert second.gateway.restored.dropped == cut - whole
    assert [r["climsgid"] for r in second.ledger] == ["Kept"]
    assert ledger_file.read_bytes() == data[:whole]  # cut off, or the next record joins it
    svc = connect(second)
    assert svc.querymsg(**CREDS, climsgid="Cut") == "ERR: 104, Unknown client message ID"
    send(svc, [GOOD2], climsgid="After")
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["climsgid"] for line in lines] == ["Kept", "After"]
    assert [json.loads(line) for line in lines] == second.ledger


def test_a_whole_last_record_without_its_newline_is_kept(
    start: Callable[..., Sandbox], connect: Callable[[Sandbox], Any], ledger_file: Path
) -> None:
    first = start()
    send(connect(first), [GOOD], climsgid="Whole")
    first.stop()
    ledger_file.write_bytes(ledger_file.read_bytes().rstrip(b"\n"))
    second = start()
    assert second.gateway.restored.dropped == 0
    send(connect(second), [GOOD2], climsgid="Next")
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["climsgid"] for line in lines] == ["Whole", "Next"]


@pytest.mark.parametrize(
    "bad",
    [
        "not json at all",
        '{"to": "27821234567"}',  # no apimsgid, time, charge, parts or fields
        '["a", "list"]',
        '{"to": "27821234567", "apimsgid": "a1", "climsgid": null, "time": 1, "charge": 1,'
        ' "parts": 1, "fields": {"validity": "99999"}}',  # options the sandbox never accepted
    ],
)
def test_a_bad_line_before_the_last_stops_the_start(
    start: Callable[..., Sandbox],
    connect: Callable[[Sandbox], Any],
    ledger_file: Path,
    cli: Any,
    bad: str,
) -> None:
    first = start()
    send(connect(first), [GOOD])
    send(connect(first), [GOOD2])
    first.stop()
    lines = ledger_file.read_text(encoding="utf-8").splitlines()
    ledger_file.write_text(f"{lines[0]}\n{bad}\n{lines[1]}\n", encoding="utf-8")
    before = ledger_file.read_bytes()
    with pytest.raises(LedgerError, match=r"^line 2: "):
        Sandbox(SandboxConfig(ledger_path=ledger_file))
    run = cli("sandbox", "--port", "0", "--ledger", str(ledger_file))
    assert run.exit_code == 2
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: cannot read the ledger {ledger_file}: line 2: ")
    )
    assert "Traceback" not in run.stderr
    assert ledger_file.read_bytes() == before  # left for the user to mend


# ------------------------------------------------------------------ through the client
def test_bulk_resume_after_a_sandbox_restart_sends_nothing_twice(
    cli: Any, creds: Sandbox, tmp_path: Path, config_dir: Path, clock: ManualClock
) -> None:
    """A bulk run dies with two requests processed but unanswered; the sandbox restarts on its
    ledger; the resume finds both by client message ID instead of sending them again."""
    numbers = [f"2782{n:07d}" for n in range(3000000, 3000006)]
    source = tmp_path / "people.csv"
    source.write_text("phone,name\n" + "".join(f"{n},p{i}\n" for i, n in enumerate(numbers)))
    creds.faults.add("latency", ops={"sendmsg"}, seconds=600)  # processed, never answered
    args = [sys.executable, "-m", "clicksms", "bulk", str(source), "-t", "Hi {name}"]
    proc = helpers.Popen(
        [*args, "--rate", "0", "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(creds.ledger) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the bulk run sent nothing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    accepted = {r["to"]: r["apimsgid"] for r in creds.ledger}
    same = dataclasses.replace(creds.config, port=creds.port)  # same ledger, password, port
    endpoint = creds.endpoint
    creds.stop()

    with Sandbox(same, clock=clock) as again:
        assert again.endpoint == endpoint  # the job may only resume where it began
        with Journal(default_journal_path(config_dir)) as journal:
            (job,) = journal.jobs()
        run = cli("bulk", "--resume", job.id, "-o", "json")
        assert run.exit_code == 0, run.stderr
        assert "Checked 2 row(s) left in flight: 2 had reached the gateway, 0 had not" in run.stderr
        assert Counter(r["to"] for r in again.ledger) == Counter(numbers)  # each exactly once
        rows = {r["to"]: r["message_id"] for r in json.loads(run.stdout)}
        assert {n: rows[n] for n in accepted} == accepted


def test_the_sandbox_command_remembers_across_a_kill(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "sent.jsonl"
    monkeypatch.setenv("CLICKSMS_SANDBOX_PASSWORD", PASSWORD)
    first, banner = serve(ledger, monkeypatch)
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600  # created at start, private
    endpoint = os.environ["CLICKSMS_ENDPOINT"]
    rpc = endpoint.replace("/document_literal/webservice", "/webservice_vs.php")
    assert f"RPC/Encoded server (same account, arrays inline): {rpc}" in banner
    try:
        sent = cli("send", GOOD, "-t", "before the crash", "--client-id", "Crash1", "-o", "json")
        assert sent.exit_code == 0, sent.stderr
        (row,) = json.loads(sent.stdout)
    finally:
        first.kill()  # SIGKILL: no goodbye, no flush
        first.wait(timeout=30)
    with ledger.open("ab") as fh:
        fh.write(b'{"to": "2783123')  # as if the kill had landed in the middle of a write

    second, banner = serve(ledger, monkeypatch)
    try:
        assert f"Dropped the incomplete last line of {ledger} (15 bytes)" in banner
        assert f"Restored 1 message(s) from {ledger}; balance 999.0 credits" in banner
        for query in (["--client-id", "Crash1"], [row["message_id"]]):
            status = cli("status", *query, "-o", "json")
            assert status.exit_code == 0, status.stderr
            (found,) = json.loads(status.stdout)
            assert found["ok"] and found["status"] in ("003", "004"), found
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
        second.kill()


def serve(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[subprocess.Popen[str], str]:
    """`clicksms sandbox --ledger` in a child process; the CLI's environment points at it.

    Not recorded for the secrets audit: the sandbox prints its own password by design."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "clicksms", "sandbox", "--port", "0", "--ledger", str(ledger)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    banner = []
    deadline = time.monotonic() + 60
    while not banner or banner[-1] != "Press Ctrl-C to stop.":
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, (banner, proc.poll())
        banner.append(line.strip())
    for line in banner:
        if line.startswith("export "):
            name, value = line[len("export ") :].split("=", 1)
            (value,) = shlex.split(value)
            monkeypatch.setenv(name, value)
    return proc, "\n".join(banner)
