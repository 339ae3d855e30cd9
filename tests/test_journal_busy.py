"""A bulk run whose journal another program keeps locked: wait a while, then stop resumably.

Another program (the sqlite3 shell, a backup, a `jobs --forget` of a huge job) may hold the
journal's write lock for seconds. The run waits for it, up to a bound; if the journal stays
locked it stops safely, says how to resume, and the resume sends every row exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import helpers
import pytest

from clicksms.bulk.journal import Journal, default_journal_path
from clicksms.sandbox import Sandbox

ROWS = [f"2782{n:07d}" for n in range(3_000_000, 3_000_060)]  # >= 6 s at --rate 10

_HOLDER = """
import sqlite3, sys, time
journal, ledger, after, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + 60
while True:  # until the run has sent `after` messages
    try:
        with open(ledger) as fh:
            if sum(1 for _ in fh) >= after:
                break
    except FileNotFoundError:
        pass
    assert time.monotonic() < deadline, "the bulk run sent nothing"
    time.sleep(0.01)
db = sqlite3.connect(journal, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(seconds)
db.execute("COMMIT")
print("released", flush=True)
"""


@contextmanager
def locking(journal: Path, ledger: Path, after: int, seconds: float) -> Iterator[subprocess.Popen]:
    """Another program: takes the journal's write lock once ``after`` messages went out."""
    holder = helpers.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLDER), str(journal), str(ledger), str(after),
         str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return numbers_csv(tmp_path, ROWS)


def numbers_csv(tmp_path: Path, numbers: list[str]) -> Path:
    path = tmp_path / "numbers.csv"
    path.write_text("phone,name\n" + "".join(f"{n},p{i}\n" for i, n in enumerate(numbers)))
    return path


def each_row_sent_once(sandbox: Sandbox, numbers: list[str] = ROWS) -> None:
    counts = Counter(record["to"] for record in sandbox.ledger)
    assert sorted(counts) == numbers
    assert set(counts.values()) == {1}


def test_a_journal_locked_for_seconds_is_waited_for(
    cli, creds: Sandbox, csv_file: Path, config_dir: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    journal = default_journal_path(config_dir)
    with locking(journal, ledger, after=3, seconds=7) as holder:  # longer than the old 5 s
        run = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "10")  # >= 6 s of sending
        assert holder.stdout is not None
        assert holder.stdout.read() == "locked\nreleased\n"  # it did hold the lock mid-run
    assert run.exit_code == 0, run.stderr
    each_row_sent_once(creds)


def test_a_journal_that_stays_locked_stops_the_run_resumably(
    cli, creds: Sandbox, config_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("clicksms.bulk.journal.BUSY_TIMEOUT", 0.5)  # not 30 s, in a test
    many = [f"2782{n:07d}" for n in range(3_000_000, 3_000_300)]  # >= 30 s at --rate 10
    csv_file = numbers_csv(tmp_path, many)
    ledger = tmp_path / "ledger.jsonl"
    journal = default_journal_path(config_dir)
    with locking(journal, ledger, after=3, seconds=600) as holder:
        run = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "10")
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    with Journal(journal) as opened:
        (job,) = opened.jobs()
    assert run.exit_code == 5, run.stderr
    assert run.stderr.splitlines()[-1] == (
        f"Error: journal {journal} stayed locked by another program for over 0.5s, so the run "
        f"stopped; every message sent is recorded or checked on resume. Resume with: "
        f"clicksms bulk --resume {job.id}"
    )
    assert 3 <= len(creds.ledger) < len(many)
    resumed = cli("bulk", "--resume", job.id, "--rate", "0")
    assert resumed.exit_code == 0, resumed.stderr
    each_row_sent_once(creds, many)
