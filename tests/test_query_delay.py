"""Rows left in flight are asked about only once the gateway has had time to know their IDs.

Resume relies on one reading: ERR 104 for a client message ID means the gateway never took the
message. Clickatell does not say how soon a client message ID can be found after the message
was accepted (API.md), so clicksms asks no sooner than CLICKSMS_QUERY_DELAY seconds (10 by
default; the suite sets 0) after the request may have left: after a crash, counting from the
resume; after an unreadable answer, from the end of the run; after a clean stop, from the stop.
"""

from __future__ import annotations

import time
from pathlib import Path

import helpers
import pytest

from clicksms.bulk.journal import JobRow, Journal, client_message_id, default_journal_path
from clicksms.sandbox import Gateway, Sandbox

TARGETS = ["27821000001", "27821000002", "27821000003"]


@pytest.fixture
def arrivals(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """When each request reached the sandbox (monotonic clock of this process)."""
    seen: list[tuple[str, float]] = []
    dispatch = Gateway.dispatch

    def timed(self: Gateway, op: str, pairs: list[tuple[str, str | None]], *args, **kw):
        seen.append((op, time.monotonic()))
        return dispatch(self, op, pairs, *args, **kw)

    monkeypatch.setattr(Gateway, "dispatch", timed)
    return seen


def left_in_flight(config_dir: Path, *, crashed: bool) -> str:
    """A job with two requests in flight: its process crashed, or it stopped cleanly."""
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job("made-up.csv", helpers.job_options())
        journal.add_rows(job.id, [JobRow(i + 1, n, "x", "pending") for i, n in enumerate(TARGETS)])
        journal.mark_in_flight(job.id, [1], client_message_id(job.id, 1))
        journal.mark_in_flight(job.id, [2], client_message_id(job.id, 2))
        if not crashed:
            journal.set_state(job.id, "interrupted")
    return job.id


def first(arrivals: list[tuple[str, float]], op: str) -> float:
    return next(at for name, at in arrivals if name == op)


def test_a_resume_after_a_crash_waits_before_asking(
    cli, creds: Sandbox, config_dir: Path, monkeypatch, arrivals
) -> None:
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", "2")
    job = left_in_flight(config_dir, crashed=True)
    started = time.monotonic()
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert (
        "Waiting 2 s before asking the gateway about 2 request(s) left in flight: it may not "
        "know their client message IDs yet (CLICKSMS_QUERY_DELAY)." in run.stderr
    )
    assert first(arrivals, "querymsg") - started >= 1.9  # asked only after the wait
    assert sorted(r["to"] for r in creds.ledger) == TARGETS  # ERR 104 after the wait: sent


def test_a_clean_stop_long_ago_is_asked_about_at_once(
    cli, creds: Sandbox, config_dir: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", "30")
    job = left_in_flight(config_dir, crashed=False)
    with Journal(default_journal_path(config_dir)) as journal:  # it stopped a minute ago
        journal._db.execute("UPDATE jobs SET updated_at = updated_at - 60 WHERE id = ?", (job,))
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert "Waiting" not in run.stderr


def test_a_clean_stop_just_now_waits_out_the_rest(
    cli, creds: Sandbox, config_dir: Path, monkeypatch, arrivals
) -> None:
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", "2")
    job = left_in_flight(config_dir, crashed=False)
    with Journal(default_journal_path(config_dir)) as journal:
        stopped = journal.get_job(job).updated_at
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert "before asking the gateway about 2 request(s) left in flight" in run.stderr
    asked = time.time() - (time.monotonic() - first(arrivals, "querymsg"))
    assert asked >= stopped + 1.9  # (the margin: two clocks compared)


def test_a_resume_right_after_an_unreadable_answer_waits(
    cli, creds: Sandbox, tmp_path: Path, config_dir: Path, monkeypatch, arrivals
) -> None:
    """A script that resumes at once after exit 5 must not ask before the gateway knows."""
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", "2")
    source = tmp_path / "numbers.csv"
    source.write_text("phone,name\n" + "".join(f"{n},p{n}\n" for n in TARGETS))
    creds.faults.add("malformed-xml", ops={"sendmsg"}, times=1)  # processed, answer cut in half
    run = cli("bulk", str(source), "-t", "Hi {name}", "--concurrency", "1")
    assert run.exit_code == 5, run.stderr
    with Journal(default_journal_path(config_dir)) as journal:
        (job,) = journal.jobs()
    resumed = cli("bulk", "--resume", job.id)
    assert resumed.exit_code == 0, resumed.stderr
    assert "before asking the gateway about 1 request(s) left in flight" in resumed.stderr
    cut_short = first(arrivals, "sendmsg")
    assert first(arrivals, "querymsg") - cut_short >= 1.9
    assert sorted(r["to"] for r in creds.ledger) == TARGETS  # found by its ID, never resent


@pytest.mark.parametrize("value", ["-1", "nan", "301", "soon"])
def test_a_bad_query_delay_is_a_usage_error(cli, creds: Sandbox, monkeypatch, value: str) -> None:
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", value)
    run = cli("balance")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        f"Error: query delay must be from 0 to 300 seconds, got {value!r} (CLICKSMS_QUERY_DELAY)"
    )
