"""The bulk journal: real SQLite files, real processes, real kill -9.

What must hold: a row is never lost and never sent twice. So every state change is atomic,
a row goes in flight only from pending, a job is run by one process at a time, and a journal
killed at any instant reopens intact with every row pending, in flight or settled.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
import typer
from typer.testing import CliRunner

from clicksms.bulk.journal import (
    JOB_DONE,
    JOB_INTERRUPTED,
    JOB_RUNNING,
    JOB_STOPPED,
    ROW_DONE,
    ROW_FAILED,
    ROW_IN_FLIGHT,
    ROW_PENDING,
    ROW_SKIPPED,
    SCHEMA_VERSION,
    JobRow,
    Journal,
    JournalError,
    client_message_id,
    default_journal_path,
)
from clicksms.errors import ConfigError, UsageError


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    with Journal(path) as opened:
        yield opened


def pending(rows: range, text: str = "hello {}") -> Iterator[JobRow]:
    for n in rows:
        yield JobRow(n, f"2782{n:07d}", text.format(n), ROW_PENDING, input=f"082{n:07d}")


def states(journal: Journal, job_id: str) -> dict[int, str]:
    return {r.row: r.state for r in journal.rows(job_id)}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return helpers.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
    )


# -- the file ---------------------------------------------------------------------------------


def test_creates_a_private_directory_and_file(path: Path) -> None:
    with Journal(path) as journal:
        job = journal.create_job("in.csv", {})
        journal.add_rows(job.id, pending(range(1, 11)))
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        for sidecar in ("-wal", "-shm"):  # SQLite gives them the journal's mode
            assert mode(Path(f"{path}{sidecar}")) == 0o600
    with Journal(path) as again:
        assert again.summary(job.id).total == 10
        assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert again._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_default_path_is_in_the_config_dir(config_dir: Path) -> None:
    assert default_journal_path(config_dir) == config_dir / "journal.sqlite3"


def test_file_is_private_even_under_a_loose_umask(path: Path) -> None:
    old = os.umask(0)
    try:
        Journal(path).close()
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_refuses_a_journal_others_can_read(path: Path) -> None:
    Journal(path).close()
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"open to other users \(mode 644\); run `chmod 600"):
        Journal(path)


def test_refuses_a_directory_others_can_write(path: Path) -> None:
    path.parent.mkdir(mode=0o700)
    path.parent.chmod(0o777)
    with pytest.raises(ConfigError, match=r"writable by other users \(mode 777\)"):
        Journal(path)
    assert not path.exists()


def test_accepts_a_directory_others_can_only_read(path: Path) -> None:
    path.parent.mkdir()
    path.parent.chmod(0o755)
    Journal(path).close()
    assert mode(path) == 0o600


def test_refuses_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    garbage.chmod(0o600)
    with pytest.raises(JournalError, match=r"garbage\.sqlite3"):
        Journal(garbage)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    other.chmod(0o600)
    with pytest.raises(JournalError, match="not a clicksms journal"):
        Journal(other)


def test_refuses_a_journal_from_a_newer_clicksms(path: Path) -> None:
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(JournalError, match="newer clicksms"):
        Journal(path)


def test_never_stores_a_password_or_session(journal: Journal, path: Path) -> None:
    for options in ({"password": "x"}, {"send": {"session_id": "abc"}}, {"a": [{"Password": 1}]}):
        with pytest.raises(ValueError, match="must not contain"):
            journal.create_job("in.csv", options)
    job = journal.create_job("in.csv", {"sender": "Acme", "flash": True, "template": "Hi {name}"})
    assert journal.get_job(job.id).options == {
        "sender": "Acme",
        "flash": True,
        "template": "Hi {name}",
    }
    columns = {
        row[1]
        for table in ("jobs", "job_rows")
        for row in journal._db.execute(f"PRAGMA table_info({table})")
    }
    assert not {c for c in columns if "pass" in c or "session" in c}


# -- jobs ---------------------------------------------------------------------------------------


def test_create_and_get(journal: Journal) -> None:
    before = time.time()
    job = journal.create_job("/data/in.csv", {"rate": 100})
    assert re.fullmatch(r"[a-z0-9]{8}", job.id)
    assert job.state == JOB_RUNNING
    assert job.pid == os.getpid()
    assert before <= job.created_at == job.updated_at <= time.time()
    assert journal.get_job(job.id) == job
    assert len({journal.create_job("-", {}).id for _ in range(50)}) == 50


def test_unknown_job_is_a_usage_error(journal: Journal, path: Path) -> None:
    message = f"no job 'nope' in {path}: see `clicksms jobs`"
    for call in (
        lambda: journal.get_job("nope"),
        lambda: journal.claim("nope"),
        lambda: journal.summary("nope"),
        lambda: journal.forget("nope"),
        lambda: journal.rows("nope"),
    ):
        with pytest.raises(UsageError) as caught:
            call()
        assert str(caught.value) == message


def test_a_job_left_running_by_a_dead_process_is_interrupted_and_claimable(path: Path) -> None:
    child = run_python(
        """
        import sys
        from pathlib import Path
        from clicksms.bulk.journal import Journal, JobRow
        with Journal(Path(sys.argv[1])) as journal:
            job = journal.create_job("in.csv", {})
            journal.add_rows(job.id, [JobRow(1, "27820000001", "hi", "pending")])
            print(job.id)
        """,
        str(path),
    )
    job_id = child.communicate(timeout=60)[0].strip()
    assert child.returncode == 0
    with Journal(path) as journal:
        assert journal.get_job(job_id).state == JOB_RUNNING  # as the crash left it
        assert journal.get_job(job_id).pid == child.pid
        assert journal.summary(job_id).state == JOB_INTERRUPTED
        claimed = journal.claim(job_id)
        assert (claimed.state, claimed.pid) == (JOB_RUNNING, os.getpid())
        assert journal.get_job(job_id) == claimed
        assert journal.summary(job_id).state == JOB_RUNNING  # ours now


def test_a_job_run_by_a_live_process_cannot_be_claimed(path: Path) -> None:
    child = run_python(
        """
        import sys, time
        from pathlib import Path
        from clicksms.bulk.journal import Journal
        journal = Journal(Path(sys.argv[1]))
        print(journal.create_job("in.csv", {}).id, flush=True)
        time.sleep(60)
        """,
        str(path),
    )
    try:
        assert child.stdout is not None
        job_id = child.stdout.readline().strip()
        with Journal(path) as journal:
            with pytest.raises(UsageError, match=rf"another clicksms \(pid {child.pid}\)"):
                journal.claim(job_id)
            with pytest.raises(UsageError, match="stop it before forgetting it"):
                journal.forget(job_id)
            with pytest.raises(UsageError, match="stop it first"):
                journal.set_state(job_id, JOB_STOPPED)
            assert journal.summary(job_id).state == JOB_RUNNING
            child.kill()
            child.wait(timeout=10)
            assert journal.summary(job_id).state == JOB_INTERRUPTED
            assert journal.claim(job_id).pid == os.getpid()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)


_CRASHING_OWNER = """
import sys, time
from pathlib import Path
from clicksms.bulk.journal import Journal, JobRow
journal = Journal(Path(sys.argv[1]))
job = journal.create_job("in.csv", {})
journal.add_rows(job.id, [JobRow(1, "27820000001", "hi", "pending")])
print(job.id, flush=True)
time.sleep(60)
"""


def crashed_job(path: Path) -> str:
    """A job whose process was killed with -9 while it ran it, as a crash leaves it."""
    owner = run_python(_CRASHING_OWNER, str(path))
    try:
        assert owner.stdout is not None
        job_id = owner.stdout.readline().strip()
    finally:
        owner.kill()
        owner.wait(timeout=30)
    assert job_id
    return job_id


def unrelated_process() -> subprocess.Popen[str]:
    """A live process that is not clicksms: what a crashed owner's pid often becomes."""
    return helpers.Popen([sys.executable, "-c", "import time; time.sleep(120)"], text=True)


def record_owner(path: Path, job_id: str, pid: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))


def test_a_reused_pid_does_not_block_a_crashed_job(path: Path) -> None:
    """After a crash or a reboot, the pid recorded for a job often belongs to another process by
    the time anyone resumes: the job must not look alive for that."""
    job_id = crashed_job(path)
    stranger = unrelated_process()
    try:
        record_owner(path, job_id, stranger.pid)
        with Journal(path) as journal:
            assert journal.summary(job_id).state == JOB_INTERRUPTED
            assert journal.claim(job_id).pid == os.getpid()
        job_id = crashed_job(path)
        record_owner(path, job_id, stranger.pid)
        with Journal(path) as journal:
            journal.forget(job_id)
            assert [j.id for j in journal.jobs()] != [job_id]
    finally:
        stranger.kill()
        stranger.wait(timeout=30)


def test_the_refusal_names_the_owner_and_the_way_out(path: Path) -> None:
    owner = run_python(_CRASHING_OWNER, str(path))
    try:
        assert owner.stdout is not None
        job_id = owner.stdout.readline().strip()
        with Journal(path) as journal, pytest.raises(UsageError) as refused:
            journal.claim(job_id)
        assert str(refused.value) == (
            f"job {job_id} is being run by another clicksms (pid {owner.pid}); wait for it to "
            f"finish or stop it first (`kill {owner.pid}` stops it as Ctrl-C would)"
        )
    finally:
        owner.kill()
        owner.wait(timeout=30)
    with Journal(path) as journal:
        journal.claim(job_id)  # the kernel dropped its lock with the process


def test_the_lock_file_is_private_and_goes_when_the_job_stops(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    (lock,) = journal.path.parent.glob("*.lock")
    assert lock.name == f"{journal.path.name}-{job.id}.lock"
    assert mode(lock) == 0o600
    journal.set_state(job.id, JOB_STOPPED)
    assert list(journal.path.parent.glob("*.lock")) == []
    journal.claim(job.id)
    assert [p.name for p in journal.path.parent.glob("*.lock")] == [lock.name]
    journal.forget(job.id)
    assert list(journal.path.parent.glob("*.lock")) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_job_without_a_lock_file_is_judged_by_its_pid_and_start_time(path: Path) -> None:
    """A job recorded by a clicksms from before job locks has no lock file: its pid counts only
    if that process started before the job was claimed, as its real owner did."""
    earlier = unrelated_process()
    try:
        job_id = crashed_job(path)
        for lock in path.parent.glob("*.lock"):
            lock.unlink()
        record_owner(path, job_id, earlier.pid)
        with Journal(path) as journal:
            assert journal.summary(job_id).state == JOB_RUNNING
            with pytest.raises(UsageError, match=rf"another clicksms \(pid {earlier.pid}\)"):
                journal.claim(job_id)
        later = unrelated_process()
        try:
            record_owner(path, job_id, later.pid)
            with Journal(path) as journal:
                with sqlite3.connect(path) as db:  # well before `later` started: start times
                    db.execute(  # are known to a second or so
                        "UPDATE jobs SET updated_at = updated_at - 60 WHERE id = ?", (job_id,)
                    )
                assert journal.summary(job_id).state == JOB_INTERRUPTED
                assert journal.claim(job_id).pid == os.getpid()
        finally:
            later.kill()
            later.wait(timeout=30)
    finally:
        earlier.kill()
        earlier.wait(timeout=30)


def test_a_dead_pid_allows_a_claim(journal: Journal) -> None:
    dead = helpers.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    job = journal.create_job("in.csv", {})
    journal._db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (dead.pid, job.id))
    with Journal(journal.path) as other:
        assert other.summary(job.id).state == JOB_INTERRUPTED
        assert other.claim(job.id).pid == os.getpid()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_zombie_counts_as_dead(journal: Journal) -> None:
    zombie = helpers.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        job = journal.create_job("in.csv", {})
        journal._db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (zombie.pid, job.id))
        with Journal(journal.path) as other:
            other.claim(job.id)
    finally:
        zombie.wait(timeout=10)


def test_our_own_pid_from_an_earlier_process_is_claimable(journal: Journal) -> None:
    """In a container clicksms is often pid 1 every time: a job recorded with our pid that this
    journal did not create or claim belongs to an earlier process."""
    with Journal(journal.path) as earlier:
        job = earlier.create_job("in.csv", {})
    assert journal.summary(job.id).state == JOB_INTERRUPTED
    assert journal.claim(job.id).pid == os.getpid()


def test_a_done_job_cannot_be_resumed(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.set_state(job.id, JOB_DONE)
    with pytest.raises(UsageError, match=f"job {job.id} is done: nothing left to send"):
        journal.claim(job.id)


def test_state_transitions(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 4)))
    with pytest.raises(ValueError, match="unknown job state"):
        journal.set_state(job.id, "paused")
    with pytest.raises(ValueError, match="still has 3 row"):
        journal.set_state(job.id, JOB_DONE)

    journal.set_state(job.id, JOB_STOPPED)  # ERR 301: resumable
    stopped = journal.get_job(job.id)
    assert (stopped.state, stopped.pid) == (JOB_STOPPED, None)
    assert stopped.updated_at >= job.updated_at
    with pytest.raises(ValueError, match="not run by this process"):
        journal.mark_in_flight(job.id, [1], "x")  # rows change only under a holder
    with pytest.raises(ValueError, match="claim it"):
        journal.set_state(job.id, JOB_RUNNING)

    journal.claim(job.id)
    journal.set_state(job.id, JOB_RUNNING)  # harmless for the holder
    journal.mark_in_flight(job.id, [1, 2, 3], client_message_id(job.id, 1))
    journal.set_state(job.id, JOB_INTERRUPTED)  # Ctrl-C with requests in flight
    assert journal.summary(job.id).pending == 3
    journal.claim(job.id)
    journal.record_results(job.id, [JobRow(n, None, None, ROW_DONE) for n in (1, 2, 3)])
    journal.set_state(job.id, JOB_DONE)
    done = journal.get_job(job.id)
    assert (done.state, done.pid) == (JOB_DONE, None)


# -- rows ---------------------------------------------------------------------------------------


def test_add_rows_streams_100k_rows_in_committed_batches(journal: Journal, path: Path) -> None:
    job = journal.create_job("big.csv", {})
    seen_committed: list[int] = []

    def rows() -> Iterator[JobRow]:
        for row in pending(range(1, 100_001), "Hello {}, your order has shipped."):
            if row.row == 5001:  # the first batch is committed before the second is read
                with sqlite3.connect(path) as peek:
                    seen_committed.append(
                        peek.execute("SELECT COUNT(*) FROM job_rows").fetchone()[0]
                    )
            yield row

    assert journal.add_rows(job.id, rows()) == 100_000
    assert seen_committed == [5000]
    assert journal.summary(job.id).total == 100_000
    assert journal.last_row(job.id) == 100_000


def test_a_repeated_text_is_stored_once(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    texts = {n: "same text for everyone" if n % 3 else f"personal {n}" for n in range(1, 3001)}
    journal.add_rows(job.id, (JobRow(n, "1", t, ROW_PENDING) for n, t in texts.items()))
    journal.add_rows(job.id, [JobRow(3001, "1", "same text for everyone", ROW_PENDING)])
    journal.add_rows(job.id, [JobRow(3002, None, None, ROW_SKIPPED, input="junk")])
    stored = journal._db.execute("SELECT COUNT(*) FROM job_rows WHERE text IS NOT NULL").fetchone()
    assert stored[0] < 1200  # 1000 personal texts, the common one a few times at most
    got = {r.row: r.text for r in journal.rows(job.id)}
    assert got == {**texts, 3001: "same text for everyone", 3002: None}


def test_add_rows_rejects_a_duplicate_row_and_keeps_nothing_of_that_batch(
    journal: Journal,
) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 11)))
    with pytest.raises(ValueError, match="already recorded"):
        journal.add_rows(job.id, [*pending(range(11, 21), "x {}"), *pending(range(5, 6))])
    assert journal.summary(job.id).total == 10
    with pytest.raises(ValueError, match="row state"):
        journal.add_rows(job.id, [JobRow(30, "1", "t", "sent")])
    for bad in (0, -1, 2**32):
        with pytest.raises(ValueError, match="row number"):
            journal.add_rows(job.id, [JobRow(bad, "1", "t", ROW_PENDING)])
    journal.add_rows(job.id, pending(range(11, 21), "x {}"))  # the text cache was not fooled
    assert [r.text for r in journal.rows(job.id)][10:12] == ["x 11", "x 12"]


def test_rows_are_in_order_and_filtered_by_state(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, reversed(list(pending(range(1, 2501)))))
    journal.add_rows(job.id, [JobRow(2501, None, None, ROW_SKIPPED, error="invalid", input="x")])
    journal.mark_in_flight(job.id, [10, 1500], "c1")
    journal.record_results(job.id, [JobRow(10, None, None, ROW_DONE, message_id="m10")])
    assert [r.row for r in journal.rows(job.id)] == list(range(1, 2502))
    assert [r.row for r in journal.rows(job.id, [ROW_IN_FLIGHT])] == [1500]
    assert [r.row for r in journal.rows(job.id, [ROW_DONE, ROW_SKIPPED])] == [10, 2501]
    assert len(list(journal.rows(job.id, [ROW_PENDING]))) == 2498
    assert list(journal.rows(job.id, [])) == []
    done = next(journal.rows(job.id, [ROW_DONE]))
    assert done == JobRow(
        10, "27820000010", "hello 10", ROW_DONE, "c1", "m10", None, None, "0820000010"
    )
    with pytest.raises(ValueError, match="unknown row state"):
        journal.rows(job.id, ["sent"])


def test_rows_can_be_written_while_they_are_read(journal: Journal) -> None:
    """The send loop reads pending rows and marks them as it goes: every row exactly once."""
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 3501)))
    seen = []
    for row in journal.rows(job.id, [ROW_PENDING]):
        journal.mark_in_flight(job.id, [row.row], client_message_id(job.id, row.row))
        seen.append(row.row)
    assert seen == list(range(1, 3501))
    assert set(states(journal, job.id).values()) == {ROW_IN_FLIGHT}


def test_mark_in_flight_is_all_or_nothing(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 6)))
    journal.mark_in_flight(job.id, [1, 2, 3], "req1")
    with pytest.raises(ValueError, match="not pending; refusing to send"):
        journal.mark_in_flight(job.id, [4, 3], "req2")  # 3 is already in flight
    with pytest.raises(ValueError, match="not pending"):
        journal.mark_in_flight(job.id, [5, 99], "req2")  # 99 does not exist
    assert states(journal, job.id) == {
        1: ROW_IN_FLIGHT,
        2: ROW_IN_FLIGHT,
        3: ROW_IN_FLIGHT,
        4: ROW_PENDING,
        5: ROW_PENDING,
    }
    assert {r.row: r.client_id for r in journal.rows(job.id)} == {
        1: "req1",
        2: "req1",
        3: "req1",
        4: None,
        5: None,
    }
    journal.record_results(job.id, [JobRow(1, None, None, ROW_DONE)])
    with pytest.raises(ValueError, match="not pending"):
        journal.mark_in_flight(job.id, [1], "again")  # never send a done row twice


@pytest.mark.parametrize("rows", [[1, 4, 3], [1, 2, 4], [3, 2, 1], [2, 2, 3]])
def test_only_the_rows_of_a_request_go_in_flight(journal: Journal, rows: list[int]) -> None:
    """Out of order, with a gap, or repeated: never a row between them that is not its own."""
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 6)))
    if len(set(rows)) < len(rows):
        with pytest.raises(ValueError, match="not pending"):
            journal.mark_in_flight(job.id, rows, "req")
        assert set(states(journal, job.id).values()) == {ROW_PENDING}
        return
    journal.mark_in_flight(job.id, rows, "req")
    flying = {row for row, state in states(journal, job.id).items() if state == ROW_IN_FLIGHT}
    assert flying == set(rows)


def test_record_results_is_all_or_nothing(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 5)))
    journal.mark_in_flight(job.id, [1, 2, 3], "req1")
    journal.record_results(
        job.id,
        [
            JobRow(1, None, None, ROW_DONE, message_id="a" * 32),
            JobRow(2, None, None, ROW_FAILED, error_code="105", error="invalid destination"),
        ],
    )
    with pytest.raises(ValueError, match="not pending or in flight"):
        journal.record_results(
            job.id,
            [JobRow(3, None, None, ROW_DONE, message_id="b"), JobRow(1, None, None, ROW_FAILED)],
        )
    with pytest.raises(ValueError, match="not pending or in flight"):  # the error in the other
        journal.record_results(  # statement: the plain settle of row 3 is rolled back too
            job.id,
            [
                JobRow(3, None, None, ROW_DONE, message_id="b"),
                JobRow(1, None, None, ROW_FAILED, error_code="105", error="gone"),
            ],
        )
    with pytest.raises(ValueError, match="unknown row state"):
        journal.record_results(job.id, [JobRow(3, None, None, "sent")])
    rows = {r.row: r for r in journal.rows(job.id)}
    assert (rows[1].state, rows[1].message_id, rows[1].client_id) == (ROW_DONE, "a" * 32, "req1")
    assert (rows[2].state, rows[2].error_code, rows[2].error) == (
        ROW_FAILED,
        "105",
        "invalid destination",
    )
    assert (rows[3].state, rows[3].message_id) == (ROW_IN_FLIGHT, None)  # untouched
    assert rows[1].number == "27820000001" and rows[1].text == "hello 1"  # never changed
    journal.record_results(job.id, [JobRow(3, None, None, ROW_DONE, client_id="other")])
    assert next(journal.rows(job.id, [ROW_DONE])).client_id == "req1"
    assert [r.client_id for r in journal.rows(job.id, [ROW_DONE])] == ["req1", "other"]


def test_rows_read_back_as_recorded_whatever_a_batch_mixes(journal: Journal) -> None:
    """Batches of rows with nothing but a state, and batches that also carry client IDs,
    message IDs or errors, are recorded alike, repeated texts included."""
    job = journal.create_job("in.csv", {})
    plain = [JobRow(n, f"2782000000{n}", "same", ROW_PENDING, input=f"0{n}") for n in (1, 2, 3)]
    mixed = [
        JobRow(4, "27820000004", "same", ROW_PENDING, input="04"),
        JobRow(5, None, None, ROW_SKIPPED, error_code="invalid", error="too short", input="5"),
        JobRow(6, "27820000006", "same", ROW_SKIPPED, error_code="duplicate", error="row 4"),
        JobRow(7, "27820000007", "other", ROW_DONE, client_id="c7", message_id="m7"),
        JobRow(8, "27820000008", "same", ROW_PENDING),
    ]
    journal.add_rows(job.id, plain)
    journal.add_rows(job.id, mixed)
    assert list(journal.rows(job.id)) == plain + mixed


def test_settle_with_the_next_mark_is_one_transaction(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 4)))
    journal.mark_in_flight(job.id, [1], "r1")
    journal.mark_in_flight(job.id, [2], "r2", settle=[JobRow(1, None, None, ROW_DONE)])
    assert states(journal, job.id) == {1: ROW_DONE, 2: ROW_IN_FLIGHT, 3: ROW_PENDING}
    with pytest.raises(ValueError, match="not pending"):
        journal.mark_in_flight(job.id, [2], "r3", settle=[JobRow(2, None, None, ROW_DONE)])
    assert states(journal, job.id) == {1: ROW_DONE, 2: ROW_IN_FLIGHT, 3: ROW_PENDING}


def test_several_requests_are_marked_in_one_transaction(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 6)))
    journal.mark_in_flight(job.id, [1], "r1")
    settle = [JobRow(1, None, None, ROW_DONE, message_id="m1")]
    journal.mark_requests_in_flight(job.id, [([2, 3], "r2"), ([4], "r4")], settle=settle)
    assert states(journal, job.id) == {
        1: ROW_DONE,
        2: ROW_IN_FLIGHT,
        3: ROW_IN_FLIGHT,
        4: ROW_IN_FLIGHT,
        5: ROW_PENDING,
    }
    assert [r.client_id for r in journal.rows(job.id)] == ["r1", "r2", "r2", "r4", None]
    with pytest.raises(ValueError, match="not pending; refusing to send"):
        journal.mark_requests_in_flight(job.id, [([5], "r5"), ([4], "again")])  # all or none
    assert states(journal, job.id)[5] == ROW_PENDING


def test_a_request_keeps_its_size_while_its_rows_settle(journal: Journal) -> None:
    """Resume decides by what a request was: a lone row left in flight of three is not alone."""
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 6)))
    journal.mark_requests_in_flight(job.id, [([1, 2, 3], "r1"), ([4], "r4")])
    settled = [JobRow(n, None, None, ROW_DONE, message_id=f"m{n}") for n in (1, 3)]
    journal.record_results(job.id, settled)
    assert journal.request_sizes(job.id) == {"r1": 3, "r4": 1}
    journal.record_results(job.id, [JobRow(4, None, None, ROW_DONE, message_id="m4")])
    assert journal.request_sizes(job.id) == {"r1": 3}  # requests with rows in flight only


def test_release_puts_in_flight_rows_back(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 4)))
    journal.mark_in_flight(job.id, [1, 2, 3], "req1")
    journal.record_results(job.id, [JobRow(1, None, None, ROW_DONE, message_id="m1")])
    journal.release(job.id, [1, 2, 3])
    journal.release(job.id, [2])  # twice is harmless
    rows = {r.row: r for r in journal.rows(job.id)}
    assert [rows[n].state for n in (1, 2, 3)] == [ROW_DONE, ROW_PENDING, ROW_PENDING]
    # The ID they went out under stays recorded, so a re-send can choose a different one.
    assert (rows[1].client_id, rows[2].client_id) == ("req1", "req1")
    journal.mark_in_flight(job.id, [2, 3], "req2")  # and they can go out again


def test_empty_requests_change_nothing(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 3)))
    assert journal.add_rows(job.id, []) == 0
    journal.mark_in_flight(job.id, [], "x")
    journal.record_results(job.id, [])
    journal.release(job.id, [])
    assert states(journal, job.id) == {1: ROW_PENDING, 2: ROW_PENDING}


_LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_another_process_writing_is_waited_for(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 3)))
    holder = run_python(_LOCK_HOLDER, str(journal.path), "0.5")
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    started = time.monotonic()
    journal.mark_in_flight(job.id, [1], "r1")
    assert time.monotonic() - started >= 0.3
    holder.wait(timeout=30)
    assert states(journal, job.id)[1] == ROW_IN_FLIGHT


def test_a_lock_held_too_long_is_a_clear_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clicksms.bulk.journal.BUSY_TIMEOUT", 0.2)
    with Journal(path) as journal:
        job = journal.create_job("in.csv", {})
        journal.add_rows(job.id, pending(range(1, 3)))
        holder = run_python(_LOCK_HOLDER, str(path), "5")
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
            with pytest.raises(
                JournalError,
                match=rf"^journal {path} stayed locked by another program for over 0\.2s, so "
                rf"the run stopped; .* Resume with: clicksms bulk --resume {job.id}$",
            ):
                journal.mark_in_flight(job.id, [1], "r1")
        finally:
            holder.kill()
            holder.wait(timeout=30)
        journal.mark_in_flight(job.id, [1], "r1")  # the failed attempt left no transaction open
        assert states(journal, job.id) == {1: ROW_IN_FLIGHT, 2: ROW_PENDING}


def test_summary_counts(journal: Journal) -> None:
    job = journal.create_job("in.csv", {})
    journal.add_rows(job.id, pending(range(1, 8)))
    journal.add_rows(job.id, [JobRow(8, None, None, ROW_SKIPPED, error="invalid", input="abc")])
    journal.add_rows(job.id, [JobRow(9, "27820000001", "hi", ROW_SKIPPED, error="duplicate")])
    journal.mark_in_flight(job.id, [1, 2, 3, 4], "r")
    journal.record_results(
        job.id,
        [JobRow(n, None, None, ROW_DONE if n < 3 else ROW_FAILED) for n in (1, 2, 3)],
    )  # row 3 failed without a gateway code: its outcome is unknown
    expected = dict(
        total=9, sent=2, failed=0, unknown=1, pending=4, skipped=2
    )  # pending: 4 in flight + 3
    summary = journal.summary(job.id)
    assert {k: getattr(summary, k) for k in expected} == expected
    journal.set_state(job.id, JOB_STOPPED)  # counts are stored on the way out...
    stored = json.loads(
        journal._db.execute("SELECT counts FROM jobs WHERE id = ?", (job.id,)).fetchone()[0]
    )
    assert stored == {"pending": 3, "in_flight": 1, "done": 2, "failed": 1, "skipped": 2}
    summary = journal.summary(job.id)
    assert {k: getattr(summary, k) for k in expected} == expected
    assert summary.state == JOB_STOPPED
    journal.claim(job.id)  # ...and dropped when it runs again
    journal.record_results(job.id, [JobRow(4, None, None, ROW_DONE)])
    assert journal.summary(job.id).sent == 3


def test_jobs_are_listed_newest_first(journal: Journal) -> None:
    first = journal.create_job("a.csv", {})
    second = journal.create_job("b.csv", {})
    journal._db.execute("UPDATE jobs SET created_at = created_at - 60 WHERE id = ?", (first.id,))
    journal.add_rows(second.id, pending(range(1, 3)))
    listed = journal.jobs()
    assert [(j.id, j.file, j.total) for j in listed] == [
        (second.id, "b.csv", 2),
        (first.id, "a.csv", 0),
    ]


def test_forget_deletes_one_job(journal: Journal) -> None:
    keep = journal.create_job("keep.csv", {})
    drop = journal.create_job("drop.csv", {})
    journal.add_rows(keep.id, pending(range(1, 4)))
    journal.add_rows(drop.id, pending(range(1, 6)))
    journal.forget(drop.id)
    assert [j.id for j in journal.jobs()] == [keep.id]
    assert journal._db.execute("SELECT COUNT(*) FROM job_rows").fetchone()[0] == 3
    with pytest.raises(UsageError, match="no job"):
        journal.get_job(drop.id)


# -- client message IDs -----------------------------------------------------------------------


def test_client_message_id_is_deterministic_unique_and_fits_climsgid() -> None:
    assert client_message_id("k3f9a2c1", 1) == "k3f9a2c1r1"
    assert client_message_id("k3f9a2c1", 255) == "k3f9a2c1rff"
    rows = [*range(1, 5000), 10**6, 10**9 - 1, 10**9, 2**32 - 1]
    jobs = ["k3f9a2c1", "k3f9a2cr", "00000000", "zzzzzzzz", "rrrrrrrr"]
    ids = {(job, row): client_message_id(job, row) for job in jobs for row in rows}
    assert len(set(ids.values())) == len(ids)
    for (job, row), value in ids.items():
        assert re.fullmatch(r"[a-z0-9]{1,32}", value)
        assert value == client_message_id(job, row)
        head, _, tail = value.rpartition("r")  # the scheme can be read back
        assert (head, int(tail, 16)) == (job, row)
    assert len(client_message_id("zzzzzzzz", 10**9)) == 17
    for job, row in (("k3f9a2c1", 0), ("k3f9a2c1", 2**32), ("K3F9", 1), ("a-b", 1), ("", 1)):
        with pytest.raises(ValueError):
            client_message_id(job, row)


# -- crashes ------------------------------------------------------------------------------------

_SENDER = """
import sys
import time
from pathlib import Path
from clicksms.bulk.journal import Journal, JobRow, client_message_id
journal = Journal(Path(sys.argv[1]))
job = journal.create_job("in.csv", {})
size = int(sys.argv[2])
rows = (JobRow(n, "2782%07d" % n, "hi %d" % n, "pending") for n in range(1, size + 1))
journal.add_rows(job.id, rows)
print(job.id, flush=True)
n, step = 1, 1
while n <= size:
    batch = list(range(n, min(n + step, size + 1)))
    journal.mark_in_flight(job.id, batch, client_message_id(job.id, n))
    results = [JobRow(r, None, None, "done", message_id="m%d" % r) for r in batch]
    journal.record_results(job.id, results)
    n += len(batch)
    step = (step + 6) % 300 + 1  # 1..300: a request carries at most 300 recipients
    print(n - 1, flush=True)  # rows settled so far
time.sleep(60)  # the kill may come after the last row: wait for it, never exit on our own
"""


@pytest.mark.parametrize("settled", [0, 1, 5_000, 40_000])
def test_kill_9_while_sending_leaves_a_consistent_journal(path: Path, settled: int) -> None:
    """Killed once ``settled`` rows are done, while later requests are being marked and
    settled (their progress lines are not read: nothing waits for the parent)."""
    size = 100_000
    child = run_python(_SENDER, str(path), str(size))
    assert child.stdout is not None
    job_id = child.stdout.readline().strip()
    while settled and int(child.stdout.readline()) < settled:
        pass
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Journal(path) as journal:
        rows = list(journal.rows(job_id))
        assert [r.row for r in rows] == list(range(1, size + 1))
        by_state: dict[str, list[JobRow]] = {}
        for r in rows:
            by_state.setdefault(r.state, []).append(r)
        assert set(by_state) <= {ROW_PENDING, ROW_IN_FLIGHT, ROW_DONE}
        assert len(by_state.get(ROW_IN_FLIGHT, [])) <= 300  # one request at most
        assert all(r.message_id == f"m{r.row}" for r in by_state.get(ROW_DONE, []))
        assert all(r.client_id for r in by_state.get(ROW_IN_FLIGHT, []))
        order = [r.state for r in rows]  # settled, then at most one request, then pending
        assert order == sorted(order, key=[ROW_DONE, ROW_IN_FLIGHT, ROW_PENDING].index)
        summary = journal.summary(job_id)
        assert summary.state == JOB_INTERRUPTED
        assert summary.total == size
        assert summary.sent == len(by_state.get(ROW_DONE, []))
        journal.claim(job_id)  # and it can be resumed


def test_kill_9_while_adding_rows_keeps_whole_batches(path: Path) -> None:
    child = run_python(
        """
        import sys
        from pathlib import Path
        from clicksms.bulk.journal import Journal, JobRow
        journal = Journal(Path(sys.argv[1]))
        job = journal.create_job("in.csv", {})
        print(job.id, flush=True)
        def rows():
            for n in range(1, 10**7):
                if n == 5001:  # the first batch of 5000 is committed: the parent may kill now
                    print("committed", flush=True)
                yield JobRow(n, "1", "t%d" % n, "pending")
        journal.add_rows(job.id, rows())
        """,
        str(path),
    )
    assert child.stdout is not None
    job_id = child.stdout.readline().strip()
    assert child.stdout.readline().strip() == "committed"
    child.send_signal(signal.SIGKILL)  # while the second batch (or a later one) is written
    child.wait(timeout=30)
    with Journal(path) as journal:
        assert journal._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        total = journal.summary(job_id).total
        assert total >= 5000 and total % 5000 == 0
        assert journal.last_row(job_id) == total  # resume adds rows from total + 1


# -- clicksms jobs ------------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    """The real clicksms app, as the console script runs it."""
    from clicksms.cli.app import app

    return app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["jobs", *args], catch_exceptions=False)
    helpers.AUDIT.record("clicksms jobs output", result.stdout, result.stderr)
    return result.exit_code, result.stdout, result.stderr


def test_jobs_without_a_journal(app: typer.Typer, config_dir: Path) -> None:
    path = config_dir / "journal.sqlite3"
    assert invoke(app) == (0, "", f"No bulk jobs yet (journal: {path})\n")
    assert invoke(app, "-o", "json") == (0, "[]\n", "")
    code, out, _ = invoke(app, "-o", "csv")
    assert (code, out) == (
        0,
        "id,file,state,sent,failed,unknown,pending,skipped,total,created_at\n",
    )
    assert not path.exists() and not config_dir.exists()  # listing creates nothing
    code, _, err = invoke(app, "--forget", "k3f9a2c1")
    assert code == 2 and "no job 'k3f9a2c1'" in err


def _fill(path: Path) -> tuple[str, str]:
    """A finished job and one whose process died mid-send."""
    with Journal(path) as journal:
        done = journal.create_job("/data/a.csv", {})
        journal.add_rows(done.id, pending(range(1, 4)))
        journal.add_rows(done.id, [JobRow(4, None, None, ROW_SKIPPED, input="x")])
        journal.mark_in_flight(done.id, [1, 2, 3], "r")
        journal.record_results(
            done.id,
            [
                JobRow(n, None, None, ROW_DONE)
                if n < 3
                else JobRow(n, None, None, ROW_FAILED, error_code="105")
                for n in (1, 2, 3)
            ],
        )
        journal.set_state(done.id, JOB_DONE)
        journal._db.execute("UPDATE jobs SET created_at = 1700000000 WHERE id = ?", (done.id,))
    with Journal(path) as crashed:  # a different "process": the job is not held here
        broken = crashed.create_job("-", {})
        crashed.add_rows(broken.id, pending(range(1, 6)))
        crashed.mark_in_flight(broken.id, [1], "r")
    return done.id, broken.id


def test_jobs_lists_json_table_and_csv(app: typer.Typer, config_dir: Path) -> None:
    done, broken = _fill(config_dir / "journal.sqlite3")
    code, out, err = invoke(app, "-o", "json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [j["id"] for j in listed] == [broken, done]
    assert listed[1] == {
        "id": done,
        "file": "/data/a.csv",
        "state": "done",
        "sent": 2,
        "failed": 1,
        "unknown": 0,
        "pending": 0,
        "skipped": 1,
        "total": 4,
        "created_at": "2023-11-14T22:13:20Z",
    }
    assert listed[0]["state"] == "interrupted"  # running, but nobody runs it
    assert (listed[0]["pending"], listed[0]["total"], listed[0]["file"]) == (5, 5, "-")

    code, out, err = invoke(app)
    assert code == 0
    head, _rule, *rows = out.splitlines()
    assert [c.strip() for c in head.split("┃")] == [  # no job has an unknown row
        "Job", "State", "Sent", "Failed", "Pending", "Skipped", "Rows", "Created (UTC)", "File",
    ]  # fmt: skip
    cells = [[c.strip() for c in row.split("│")] for row in rows]
    assert cells[1] == [
        done,
        "done",
        "2",
        "1",
        "0",
        "1",
        "4",
        "2023-11-14 22:13",
        "/data/a.csv",
    ]
    assert cells[0][:2] == [broken, "interrupted"]
    assert err == "Resume a job with: clicksms bulk --resume ID\n"

    code, out, _ = invoke(app, "-o", "csv")
    assert out.splitlines()[2] == f"{done},/data/a.csv,done,2,1,0,0,1,4,2023-11-14T22:13:20Z"
    assert out.splitlines()[1].startswith(f"{broken},'-,interrupted,")  # '-' is neutralised


def test_jobs_forget_and_journal_option(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "j.sqlite3"
    done, broken = _fill(path)
    code, out, _ = invoke(app, "--journal", str(path), "--forget", broken, "-o", "json")
    assert code == 0
    assert json.loads(out) == {"forgotten": broken, "journal": str(path)}
    code, out, _ = invoke(app, "--journal", str(path), "--forget", done)
    assert (code, out) == (0, f"Forgot job {done} ({path}).\n")
    assert invoke(app, "--journal", str(path), "-o", "json")[:2] == (0, "[]\n")
    code, _, err = invoke(app, "--journal", str(path), "--forget", done)
    assert code == 2 and f"no job '{done}' in {path}" in err


def test_jobs_refuses_a_journal_others_can_read(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).close()
    path.chmod(0o640)
    code, out, err = invoke(app, "--journal", str(path))
    assert (code, out) == (2, "")
    assert (
        err == f"Error: journal {path} is open to other users (mode 640); run `chmod 600 {path}`\n"
    )


def test_jobs_help_has_examples(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["jobs", "--help"])
    assert result.exit_code == 0
    assert "clicksms jobs --forget k3f9a2c1" in result.stdout
