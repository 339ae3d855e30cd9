"""How many requests bulk keeps in flight, against a sandbox that takes its time to answer.

What is checked is what the controller did (it grew, it backed off, it was pinned), from the
summary line and the job's events; never how long anything took. Backing off when latency
climbs is judged from measured latencies, which a busy machine distorts: that rule is tested
on a simulated clock (``test_concurrency.py``), not here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PASSWORD
from helpers import point_at

from clicksms.bulk.concurrency import MAX_CONCURRENCY, START
from clicksms.bulk.events import BulkEvent, ConcurrencyChanged
from clicksms.bulk.job import NewJob, RunOptions, start_job
from clicksms.bulk.journal import Journal
from clicksms.bulk.outcome import BulkOutcome
from clicksms.bulk.template import load_template
from clicksms.cli import bulk as cli_bulk
from clicksms.config import load_settings
from clicksms.gateway.client import GatewayClient
from clicksms.gateway.transport import POOL_SIZE
from clicksms.message.options import SendOptions
from clicksms.sandbox import Sandbox

LATENCY = 0.2  # seconds the sandbox takes per request: Little's law asks 20 in flight at 100/s
IN_FLIGHT = re.compile(r"with up to (\d+) request\(s\) in flight at once")


@pytest.fixture
def slow(make_sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """A sandbox that takes LATENCY to answer, with the CLI's credentials pointing at it."""
    sandbox = make_sandbox(
        password=PASSWORD, latency=LATENCY, credits=10_000.0, ledger_path=tmp_path / "l.jsonl"
    )
    return point_at(monkeypatch, sandbox)


def personalised(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "people.csv"
    lines = [f"2782{1_000_000 + n:07d},person{n}" for n in range(rows)]
    path.write_text("phone,name\n" + "\n".join(lines) + "\n")
    return path


def most_in_flight(stderr: str) -> int:
    found = IN_FLIGHT.search(stderr)
    assert found, stderr
    return int(found[1])


class MarkCounting(Journal):
    """The real journal, noting how many requests and rows each mark-ahead transaction holds."""

    marks: list[tuple[int, int]]

    def mark_requests_in_flight(self, job_id, requests, **kwargs):  # type: ignore[no-untyped-def]
        self.marks.append((len(requests), sum(len(rows) for rows, _ in requests)))
        return super().mark_requests_in_flight(job_id, requests, **kwargs)


def run_job(
    csv: Path,
    config_dir: Path,
    template: str = "Hi {name}",
    journal_class: type[Journal] = Journal,
    **run: object,
) -> tuple[BulkOutcome, list[BulkEvent]]:
    """A job run through the core (start_job) to see its events: the CLI does not show them."""
    events: list[BulkEvent] = []
    new = NewJob(file=str(csv), template=load_template(template, None), options=SendOptions())
    account = GatewayClient(load_settings(), lambda: PASSWORD)
    try:
        with journal_class(config_dir / "journal.sqlite3") as journal:
            outcome = start_job(
                new,
                client=lambda: account,
                journal=lambda: journal,
                run=RunOptions(**run),  # type: ignore[arg-type]
                on_event=events.append,
            )
    finally:
        account.close()
    assert outcome.stop is None and outcome.summary.sent == outcome.summary.total
    return outcome, events


def limits(events: list[BulkEvent]) -> list[tuple[int, str]]:
    return [(e.limit, e.reason) for e in events if isinstance(e, ConcurrencyChanged)]


def test_grows_when_latency_is_high_and_the_rate_is_not_met(cli, slow, tmp_path) -> None:
    """At 8 requests in flight and 200 ms a request, 40 messages a second go out: far from the
    100 allowed, so it takes more at once."""
    run = cli("bulk", str(personalised(tmp_path, 150)), "-t", "Hi {name}", "--rate", "100")
    assert run.exit_code == 0, run.stderr
    assert len(slow.ledger) == 150
    assert most_in_flight(run.stderr) > START


def test_concurrency_pins_it(cli, slow, tmp_path) -> None:
    csv = personalised(tmp_path, 30)
    run = cli("bulk", str(csv), "-t", "Hi {name}", "--rate", "100", "--concurrency", "3")
    assert run.exit_code == 0, run.stderr
    assert len(slow.ledger) == 30
    assert most_in_flight(run.stderr) == 3


def test_never_grows_when_the_rate_needs_no_more(
    make_sandbox, monkeypatch, tmp_path, config_dir
) -> None:
    """Five recipients a request at 100 a second: 20 requests a second, so at 50 ms one in
    flight is enough (three if the machine is slow); eight never need company."""
    sandbox = make_sandbox(password=PASSWORD, latency=0.05, ledger_path=tmp_path / "l.jsonl")
    point_at(monkeypatch, sandbox)
    csv = tmp_path / "same.csv"
    csv.write_text("phone\n" + "\n".join(f"2782{2_000_000 + n:07d}" for n in range(200)) + "\n")
    outcome, events = run_job(csv, config_dir, template="Same", rate=100.0)
    assert [why for _, why in limits(events) if why == "growing"] == []
    assert outcome.concurrency <= START
    assert len(sandbox.ledger) == 200


def test_backs_off_when_the_gateway_pushes_back(slow, tmp_path, config_dir) -> None:
    """ERR 901 on two requests far apart (each retried, then accepted): a cut to 70% at once.

    Two, because an answer to a request sent before a cut (one for latency, on a busy machine)
    belongs to the episode that cut already answered, and makes no second cut.
    """
    slow.faults.add("err-901", ops={"sendmsg"}, after=50, times=1)
    slow.faults.add("err-901", ops={"sendmsg"}, after=110, times=1)
    _, events = run_job(personalised(tmp_path, 150), config_dir, rate=100.0)
    changes = limits(events)
    cuts = [i for i, (_, why) in enumerate(changes) if why == "push-back"]
    assert cuts, changes
    before = changes[cuts[0] - 1][0] if cuts[0] else START
    assert changes[cuts[0]][0] == int(before * 0.7)
    assert len(slow.ledger) == 150


def test_a_pinned_run_never_changes_its_limit(slow, tmp_path, config_dir) -> None:
    slow.faults.add("err-901", ops={"sendmsg"}, after=5, times=1)
    outcome, events = run_job(personalised(tmp_path, 20), config_dir, rate=100.0, concurrency=2)
    assert limits(events) == []
    assert outcome.concurrency == 2


def test_full_requests_are_marked_in_flight_one_at_a_time(
    make_sandbox, monkeypatch, tmp_path, config_dir
) -> None:
    """One text to 1 200 numbers, four slots: each transaction marks one request of 300, so
    the first leaves before the others are marked; one-recipient requests share one."""
    sandbox = make_sandbox(password=PASSWORD, credits=10_000.0, ledger_path=tmp_path / "l.jsonl")
    point_at(monkeypatch, sandbox)
    MarkCounting.marks = []
    same = tmp_path / "same.csv"
    same.write_text("phone\n" + "\n".join(f"2782{3_000_000 + n:07d}" for n in range(1200)) + "\n")
    run_job(same, config_dir, "Same", MarkCounting, rate=0.0, concurrency=4)
    assert MarkCounting.marks[:4] == [(1, 300)] * 4, MarkCounting.marks
    MarkCounting.marks = []
    run_job(
        personalised(tmp_path, 40), config_dir, "Hi {name}", MarkCounting, rate=0.0, concurrency=4
    )
    assert MarkCounting.marks[0] == (4, 4), MarkCounting.marks
    assert len(sandbox.ledger) == 1240


def test_the_flag_allows_what_the_controller_may_reach() -> None:
    assert cli_bulk.MAX_CONCURRENCY == MAX_CONCURRENCY


def test_every_request_in_flight_can_keep_its_connection() -> None:
    """The HTTP pool keeps as many connections as bulk may have requests in flight: beyond,
    each request would open a connection (TCP and TLS) only to throw it away."""
    assert POOL_SIZE >= MAX_CONCURRENCY
