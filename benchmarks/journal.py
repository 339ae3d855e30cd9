"""CPU the bulk journal and the template spend per row, against plain SQLite in the same run.

These were once assertions in the tests; a timed assertion fails on a busy machine, so the
figures live here as ratios to a baseline measured in the same process:

- add_rows: journalling 100 000 pending rows, against one executemany of the same tuples into a
  table of the same shape (the floor: SQLite's own cost);
- a request cycle (mark in flight, record the result) for 1-row and 300-row requests, per row;
- Template.render_row, per row, against str.format of the same text.

    python benchmarks/journal.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from clicksms.bulk.journal import ROW_DONE, ROW_PENDING, JobRow, Journal, client_message_id
from clicksms.bulk.template import Template

TEXT = "Hello {}, your order has shipped."

# Goals: the journal stays a small multiple of SQLite's own cost, and far below a request's.
GOALS = {"add_rows": 3.0, "cycle_1": 3.0, "cycle_300": 4.0, "render_row": 3.0}


def pending(rows: range) -> Iterator[JobRow]:
    for n in rows:
        yield JobRow(n, f"2782{n:07d}", TEXT.format(n), ROW_PENDING, input=f"082{n:07d}")


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def connect(path: Path) -> sqlite3.Connection:
    """SQLite as the journal opens it: write-ahead log, commits synced at checkpoints."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def raw_sqlite_insert(path: Path, count: int) -> float:
    """The floor: the same rows inserted with one executemany, no journal logic."""
    db = connect(path)
    db.execute(
        "CREATE TABLE rows (job TEXT, row INTEGER, number TEXT, text TEXT, state TEXT, "
        "input TEXT, PRIMARY KEY (job, row))"
    )
    rows = (
        (("j", n, f"2782{n:07d}", TEXT.format(n), ROW_PENDING, f"082{n:07d}"))
        for n in range(1, count + 1)
    )

    def insert() -> None:
        with db:
            db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)", rows)

    spent = cpu(insert)
    db.close()
    return spent / count


def raw_sqlite_update(path: Path, requests: int, size: int) -> float:
    """The floor for a request cycle: two UPDATEs of the same rows, each in its own commit."""
    db = connect(path)

    def cycle() -> None:
        for k in range(requests):
            rows = [(n,) for n in range(1 + k * size, 1 + (k + 1) * size)]
            with db:
                db.executemany(
                    "UPDATE rows SET state = 'in_flight' WHERE job = 'j' AND row = ?", rows
                )
            with db:
                db.executemany("UPDATE rows SET state = 'done' WHERE job = 'j' AND row = ?", rows)

    spent = cpu(cycle)
    db.close()
    return spent / (requests * size)


def journal_cycle(journal: Journal, job_id: str, first: int, requests: int, size: int) -> float:
    def cycle() -> None:
        for k in range(requests):
            rows = list(range(first + k * size, first + (k + 1) * size))
            journal.mark_in_flight(job_id, rows, client_message_id(job_id, rows[0]))
            journal.record_results(
                job_id, [JobRow(r, None, None, ROW_DONE, message_id=f"{r:032x}") for r in rows]
            )

    return cpu(cycle) / (requests * size)


def render_costs(count: int) -> tuple[float, float]:
    template = Template("Dear {name}, your code is {code}. Reply STOP to {name}.")
    template.check(("phone", "name", "code"))
    row = ("27821234567", "Bob", "1234")
    plain = "Dear {0}, your code is {1}. Reply STOP to {0}."

    def ours() -> None:
        for _ in range(count):
            template.render_row(row)

    def baseline() -> None:
        for _ in range(count):
            plain.format(row[1], row[2])

    return cpu(ours) / count, cpu(baseline) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    count = parser.parse_args().rows

    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor_insert = raw_sqlite_insert(folder / "raw.sqlite", count)
        floor_1 = raw_sqlite_update(folder / "raw.sqlite", 1000, 1)
        floor_300 = raw_sqlite_update(folder / "raw.sqlite", 60, 300)
        with Journal(folder / "journal.sqlite") as journal:
            job = journal.create_job("in.csv", {})
            added = cpu(lambda: journal.add_rows(job.id, pending(range(1, count + 1)))) / count
            results["add_rows"] = (added, floor_insert)
            results["cycle_1"] = (journal_cycle(journal, job.id, 1, 1000, 1), floor_1)
            results["cycle_300"] = (journal_cycle(journal, job.id, 1001, 60, 300), floor_300)
    results["render_row"] = render_costs(count)

    print(f"{'measure':<12} {'ours µs/row':>12} {'baseline':>10} {'ratio':>7} {'goal':>6}")
    for name, (ours, floor) in results.items():
        ratio = ours / floor
        verdict = "PASS" if ratio <= GOALS[name] else "FAIL"
        print(
            f"{name:<12} {ours * 1e6:>12.2f} {floor * 1e6:>10.2f} {ratio:>6.1f}× "
            f"{GOALS[name]:>5.0f}× {verdict}"
        )


if __name__ == "__main__":
    main()
