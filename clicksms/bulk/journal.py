"""The bulk journal: a SQLite file recording every row of every bulk job and what became of it.

A bulk send must survive Ctrl-C, a crash or ``kill -9`` without losing a message or sending one
twice. So each row is marked in flight, in a committed transaction, *before* its request
goes out, and done or failed after the answer. After any crash the only rows in doubt are the
in-flight ones, and resume settles those with ``querymsg`` by their client message ID.

Durability: WAL with ``synchronous=NORMAL``. Every commit survives the process dying at any
instant. A power cut or OS crash may lose the last commits (never the file), so a message sent
just before one could be sent again: the price of not calling fsync once per request. Each
state change is one short transaction, so two clicksms processes can share the file; the busy
timeout covers the moments one waits for the other. A job itself is run by one process at a
time, which holds its lock (:mod:`clicksms.bulk.ownership`).

Layout, chosen for speed: a row's key is ``(job seq << 32) | row number``, so the rows table
needs no second index and a job's rows are one key range. Rows change only while their job
runs, so its row counts are stored when it stops (and dropped when it is claimed again):
``clicksms jobs`` counts rows for running jobs only, and a request's transaction writes no
job record.

The file is 0600 in a directory nobody else can write to, and it never holds a password or a
session ID: only numbers, texts, options and outcomes.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, NoReturn

from clicksms.bulk import ownership
from clicksms.errors import ConfigError, ExitCode, UsageError
from clicksms.private_files import check_private_file, create_private, make_private_dir

ROW_PENDING, ROW_IN_FLIGHT, ROW_DONE, ROW_FAILED, ROW_SKIPPED = (
    "pending",
    "in_flight",
    "done",
    "failed",
    "skipped",
)
ROW_STATES = (ROW_PENDING, ROW_IN_FLIGHT, ROW_DONE, ROW_FAILED, ROW_SKIPPED)

#: done: nothing pending or in flight. stopped: ended early on purpose (ERR 301, ERR 130, the
#: user chose to stop) and resumable. interrupted: Ctrl-C, or found running with its process
#: gone, and resumable.
JOB_RUNNING, JOB_INTERRUPTED, JOB_DONE, JOB_STOPPED = "running", "interrupted", "done", "stopped"
JOB_STATES = (JOB_RUNNING, JOB_INTERRUPTED, JOB_DONE, JOB_STOPPED)

JOURNAL_FILE = "journal.sqlite3"
SCHEMA_VERSION = 2  # 2: job_rows.request_size (see _migrate)
#: Seconds another program (another clicksms, the sqlite3 shell, a backup) may hold the write
#: lock before a write gives up; a run then stops, resumable. Once one write has given up, the
#: few writes of the run stopping wait a second at most.
BUSY_TIMEOUT = 30.0
_BUSY_AGAIN = 1.0
ROW_MAX = 2**32 - 1  # row numbers fill the low 32 bits of a row's key

_JOB_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_JOB_ID_CHARS = frozenset(_JOB_ID_ALPHABET)
_JOB_ID_LENGTH = 8  # 36**8 ≈ 2.8e12: a clash is retried anyway
_CLIENT_ID_MAX = 32  # climsgid limit (API.md §5.1)
_INSERT_BATCH = 5000  # rows per add_rows transaction: cheap, and still a short transaction
_READ_CHUNK = 1000  # rows per rows() query: no read transaction stays open while the caller works
_TEXT_CACHE = 256  # recent distinct texts remembered per job, to store a repeated text once
_SECRET_KEYS = frozenset({"password", "session", "session_id", "sessionid"})
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH

_SCHEMA = (
    f"""
CREATE TABLE jobs (
    seq        INTEGER PRIMARY KEY,  -- the high bits of its rows' keys
    id         TEXT NOT NULL UNIQUE,
    file       TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN {JOB_STATES!r}),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    options    TEXT NOT NULL,        -- JSON
    pid        INTEGER,
    counts     TEXT                  -- JSON row state -> n, stored when it stops running
)
""",
    f"""
CREATE TABLE job_rows (
    key        INTEGER PRIMARY KEY,  -- (jobs.seq << 32) | row number
    number     TEXT,
    text       TEXT,                 -- NULL when text_ref names a row with the same text
    text_ref   INTEGER,
    state      TEXT NOT NULL CHECK (state IN {ROW_STATES!r}),
    client_id  TEXT,
    message_id TEXT,
    error_code TEXT,
    error      TEXT,
    input      TEXT,
    request_size INTEGER             -- recipients of the request it last went out in
)
""",
)
_JOB_COLUMNS = "seq, id, file, state, created_at, updated_at, options, pid, counts"
# Most rows are recorded with no client ID, message ID or error yet, and settled with only a
# state and a message ID. Statements that leave those NULL columns out cost less per row
# (10 000 rows: 36 -> 22 ms to insert, 36 -> 27 ms to settle).
_INSERT_PLAIN = (
    "INSERT INTO job_rows (key, number, text, text_ref, state, input) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_FULL = (
    "INSERT INTO job_rows (key, number, text, text_ref, state, input, client_id, message_id,"
    " error_code, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_NOTHING_YET = (None, None, None, None)  # client ID, message ID, error code, error
_SETTLEABLE = f"state IN ('{ROW_PENDING}', '{ROW_IN_FLIGHT}')"
_SETTLE_PLAIN = (
    "UPDATE job_rows SET state = ?, message_id = ?, error_code = NULL, error = NULL"
    f" WHERE key = ? AND {_SETTLEABLE}"
)
_SETTLE_FULL = (
    "UPDATE job_rows SET state = ?, client_id = COALESCE(?, client_id), message_id = ?,"
    f" error_code = ?, error = ? WHERE key = ? AND {_SETTLEABLE}"
)


# Slotted, not frozen, like the other records bulk builds for every row (PlannedRow, CsvRow,
# SendItem, NumberCheck): a frozen dataclass's __init__ sets each field through
# object.__setattr__, four times the cost, several times a row. Nothing assigns to their fields
# (rows change through dataclasses.replace or a new record), so worker threads may share them.
@dataclass(slots=True)
class JobRow:
    """One CSV row as recorded (number and text are None for invalid rows)."""

    row: int
    number: str | None
    text: str | None
    state: str
    client_id: str | None = None
    message_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    input: str | None = None


@dataclass(frozen=True)
class Job:
    """A bulk run: its file, what it was asked to do, and who is running it."""

    id: str
    file: str
    state: str
    created_at: float
    updated_at: float
    options: dict[str, Any]
    pid: int | None


@dataclass(frozen=True)
class JobSummary:
    """Row counts for ``clicksms jobs``; ``pending`` includes rows in flight."""

    id: str
    file: str
    state: str
    created_at: float
    total: int
    sent: int
    failed: int  # refused by the gateway, with its code
    unknown: int  # failed without a code: the request arrived, the answer was lost
    pending: int
    skipped: int


class JournalError(ConfigError):
    """The journal file cannot be used (locked too long, disk full, damaged)."""


class JournalBusy(JournalError):
    """Another program held the journal's write lock past the bound: try again later.

    Exit code 5, like a network failure: the run stopped part way, some messages may have
    gone out, and resuming the job finishes it (2 would say that nothing happened).
    """

    exit_code = ExitCode.NETWORK


def default_journal_path(config_dir: Path) -> Path:
    """Next to the session, so one CLICKSMS_CONFIG_DIR keeps all of a user's state."""
    return config_dir / JOURNAL_FILE


def client_message_id(job_id: str, row: int) -> str:
    """The climsgid for ``row`` of ``job_id``: the job ID, ``r``, the row number in hex.

    ``r`` is not a hex digit, so the last ``r`` splits any ID back into (job, row): IDs are
    unique across jobs and rows. An 8-character job ID gives at most 17 characters (rows up
    to 2**32), leaving 15 of Clickatell's 32 for a prefix.
    """
    if not 0 < row <= ROW_MAX:
        raise ValueError(f"row number must be between 1 and {ROW_MAX}, got {row}")
    if not job_id or not set(job_id) <= _JOB_ID_CHARS:
        raise ValueError(f"job ID must be lowercase letters and digits, got {job_id!r}")
    value = f"{job_id}r{row:x}"
    if len(value) > _CLIENT_ID_MAX:
        raise ValueError(f"client message ID {value!r} is longer than {_CLIENT_ID_MAX} characters")
    return value


class Journal:
    """The journal file at ``path``, opened (and created if missing) for one thread's use.

    A job's rows change only through the Journal that holds it: the one that created or
    claimed it, until it sets a state other than running. Misuse (marking a row that is not
    pending, writing to a job not held) is a ValueError and changes nothing. A lock makes a
    stray call from another thread wait rather than interleave transactions.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._bases: dict[str, int] = {}  # job ID → seq << 32
        self._texts: dict[str, dict[str, int]] = {}  # job ID → text → key of the row storing it
        self._held: set[str] = set()  # jobs this process runs: created or claimed, not ended
        # Per held job, the latest time a request of an earlier run can have left: when that
        # run stopped, or the claim itself after a crash (when it died is unknown).
        self._quiet_since: dict[str, float] = {}
        self._sent_here: set[str] = set()  # held jobs this Journal has marked requests for
        self._busy_timeout = BUSY_TIMEOUT
        self._gave_up = False  # a write timed out waiting for another program's lock
        _prepare_file(path)
        try:
            self._db = sqlite3.connect(
                str(path),
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {path}: {exc}") from None
        try:
            self._setup()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(
        self,
        file: str,
        options: dict[str, Any],
        *,
        unless: Callable[[list[tuple[JobSummary, dict[str, Any]]]], str | None] | None = None,
    ) -> Job:
        """A new job in state running, owned by this process (it holds the job's lock).

        ``unless`` is asked, in the same write transaction (so two processes cannot both
        pass it), about the jobs recorded for the same ``file`` (summary and options, newest
        first); a sentence from it refuses the job with UsageError, and nothing is recorded.
        """
        _refuse_secrets(options)
        encoded = json.dumps(options, sort_keys=True)
        now = time.time()
        while True:
            job = Job(_new_job_id(), file, JOB_RUNNING, now, now, options, os.getpid())
            lock = self._lock_path(job.id)
            try:
                if not self._take(lock, new=True):
                    continue
            except FileExistsError:
                continue  # a lock file left by a job with that ID: draw another
            try:
                with self._write() as db:
                    if unless is not None and (problem := unless(self._jobs_of(db, file))):
                        raise UsageError(problem)
                    seq = db.execute(
                        "INSERT INTO jobs (id, file, state, created_at, updated_at, options, pid)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (job.id, file, job.state, now, now, encoded, job.pid),
                    ).lastrowid
            except sqlite3.IntegrityError:
                ownership.release(lock)
                continue  # that ID is taken: draw another
            except BaseException:
                ownership.release(lock)
                raise
            assert seq is not None
            self._bases[job.id] = seq << 32
            self._held.add(job.id)
            return job

    def sent_at_latest(self, job_id: str) -> float:
        """The latest time a request of the job now in flight may have gone out.

        Now, if this process sent any; else when the run before stopped, or the claim if that
        run crashed, since when it died is unknown. Resume waits from there before asking the
        gateway about those requests (see :func:`clicksms.bulk.sender.reconcile`).
        """
        if job_id in self._sent_here:
            return time.time()
        return self._quiet_since.get(job_id, time.time())

    def update_options(self, job_id: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into a job's stored options (e.g. "every row is recorded")."""
        _refuse_secrets(changes)
        with self._write() as db:
            (encoded,) = db.execute("SELECT options FROM jobs WHERE id = ?", (job_id,)).fetchone()
            merged = {**json.loads(encoded), **changes}
            db.execute(
                "UPDATE jobs SET options = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), job_id),
            )

    def get_job(self, job_id: str) -> Job:
        """The job as stored (a crashed run still says running); UsageError if there is none."""
        with self._read() as db:
            return self._load(db, job_id)[0]

    def claim(self, job_id: str) -> Job:
        """Take a job over for ``--resume``: refused when it is done or another process runs it.

        The job's lock is taken first, so two processes claiming at once cannot both win.
        """
        what_to_do = "wait for it to finish or stop it first"
        with self._owning(job_id, what_to_do), self._write() as db:
            job, _ = self._load(db, job_id)
            if job.state == JOB_DONE:
                raise UsageError(f"job {job_id} is done: nothing left to send")
            now = time.time()
            stopped = job.state in (JOB_STOPPED, JOB_INTERRUPTED)
            self._quiet_since[job_id] = min(job.updated_at, now) if stopped else now
            db.execute(
                "UPDATE jobs SET state = ?, pid = ?, updated_at = ?, counts = NULL WHERE id = ?",
                (JOB_RUNNING, os.getpid(), now, job_id),
            )
        self._held.add(job_id)
        return Job(job.id, job.file, JOB_RUNNING, job.created_at, now, job.options, os.getpid())

    def set_state(self, job_id: str, state: str) -> None:
        """Record how the job ended (or, for a job this process runs, that it still runs).

        Leaving ``running`` counts the rows once and stores the counts, so ``clicksms jobs``
        need not; ``done`` is refused while rows are pending or in flight. Refused for a job
        another live process runs.
        """
        if state not in JOB_STATES:
            raise ValueError(f"unknown job state {state!r}")
        if state == JOB_RUNNING and job_id not in self._held:
            raise ValueError(f"job {job_id} is not run by this process: claim it to run it")
        with self._write(job_id if job_id in self._held else None) as db:
            job, _ = self._load(db, job_id)
            self._refuse_if_running_elsewhere(job, "stop it first")
            counts = None
            if state != JOB_RUNNING:
                counts = self._count(db, job_id, None)
                unsettled = counts[ROW_PENDING] + counts[ROW_IN_FLIGHT]
                if state == JOB_DONE and unsettled:
                    raise ValueError(f"job {job_id} still has {unsettled} row(s) to settle")
            db.execute(
                "UPDATE jobs SET state = ?, pid = ?, updated_at = ?, counts = ? WHERE id = ?",
                (
                    state,
                    os.getpid() if state == JOB_RUNNING else None,
                    time.time(),
                    None if counts is None else json.dumps(counts),
                    job_id,
                ),
            )
        if state != JOB_RUNNING:
            self._held.discard(job_id)
            ownership.release(self._lock_path(job_id))

    def forget(self, job_id: str) -> None:
        """Delete a job and all its rows in one transaction; refused while another process
        runs it (its lock is held meanwhile, so nobody claims it halfway)."""
        with self._owning(job_id, "stop it before forgetting it"), self._write() as db:
            self._load(db, job_id)
            base = self._bases.pop(job_id)
            db.execute("DELETE FROM job_rows WHERE key BETWEEN ? AND ?", (base, base | ROW_MAX))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        ownership.release(self._lock_path(job_id))
        self._texts.pop(job_id, None)
        self._held.discard(job_id)

    def summary(self, job_id: str) -> JobSummary:
        """Counts for one job; a ``running`` job whose process is gone shows as interrupted."""
        with self._read() as db:
            job, counts = self._load(db, job_id)
            return self._summary(job, self._count(db, job_id, counts), self._unknown(db, job_id))

    def jobs(self) -> list[JobSummary]:
        """Every job, newest first (see :meth:`summary` for the state shown)."""
        with self._read() as db:
            return [summary for summary, _ in self._jobs_of(db, None)]

    # -- rows ---------------------------------------------------------------------------------

    def add_rows(self, job_id: str, rows: Iterable[JobRow]) -> int:
        """Record rows from a stream, one transaction per 5000, so a million need no memory.

        A text equal to one of the job's recent texts is stored once and referenced, so the
        same message to 100 000 numbers is not stored 100 000 times. A row number already
        recorded for the job is a ValueError, and nothing of that batch of 5000 is kept.
        """
        base = self._held_base(job_id)
        texts = self._texts.setdefault(job_id, {})
        stream = iter(rows)
        total = 0
        while batch := list(islice(stream, _INSERT_BATCH)):
            try:
                statement, params = _insert_params(base, batch, texts)
                with self._write() as db:
                    db.executemany(statement, params)
            except sqlite3.IntegrityError as exc:
                texts.clear()  # it may name rows that were rolled back
                raise ValueError(f"job {job_id}: {_rows_conflict(exc)}") from None
            except BaseException:
                texts.clear()
                raise
            total += len(batch)
        return total

    def rows(self, job_id: str, states: Iterable[str] | None = None) -> Iterator[JobRow]:
        """The job's rows in row order, optionally only those in ``states``, streamed.

        Rows are read 1000 at a time with no transaction left open in between, so the caller
        may write (mark rows in flight, record results) while iterating, and the WAL can be
        checkpointed. Each row shows its state as of the moment its chunk was read, and a row
        already passed (say, released back to pending) is not seen again: ask again for that.
        """
        base = self._base(job_id)
        wanted = None if states is None else sorted(set(states))
        if wanted is not None and set(wanted) - set(ROW_STATES):
            raise ValueError(f"unknown row state(s): {sorted(set(wanted) - set(ROW_STATES))}")
        return self._iter_rows(base, wanted)

    def _iter_rows(self, base: int, wanted: list[str] | None) -> Iterator[JobRow]:
        where = "r.key > ? AND r.key <= ?"
        if wanted is not None:
            if not wanted:
                return
            where += f" AND r.state IN ({', '.join('?' * len(wanted))})"
        sql = (
            f"SELECT r.key & {ROW_MAX}, r.number, COALESCE(r.text, t.text), r.state, r.client_id,"
            " r.message_id, r.error_code, r.error, r.input, r.key"
            " FROM job_rows r LEFT JOIN job_rows t ON t.key = r.text_ref"
            f" WHERE {where} ORDER BY r.key LIMIT {_READ_CHUNK}"
        )
        after = base
        while True:
            with self._read() as db:
                chunk = db.execute(sql, (after, base | ROW_MAX, *(wanted or ()))).fetchall()
            for found in chunk:
                yield JobRow(*found[:9])
            if len(chunk) < _READ_CHUNK:
                return
            after = chunk[-1][9]

    def last_row(self, job_id: str) -> int:
        """The highest row number recorded for the job (0 if none): where adding rows stopped."""
        base = self._base(job_id)
        with self._read() as db:
            found = db.execute(
                "SELECT MAX(key) FROM job_rows WHERE key BETWEEN ? AND ?", (base, base | ROW_MAX)
            ).fetchone()[0]
        return 0 if found is None else found & ROW_MAX

    def mark_in_flight(
        self,
        job_id: str,
        rows: Sequence[int],
        client_id: str,
        *,
        settle: Sequence[JobRow] = (),
    ) -> None:
        """Before a request goes out: its rows, all pending, become in flight (all or none).

        A row that is not pending (sent, failed, or already in flight) is refused with
        ValueError and nothing changes: sending it could send a message twice.

        ``settle``: results of earlier requests to record in the same transaction, as
        :meth:`record_results` would. That halves the commits when requests carry one row,
        at the price of those results staying in flight on disk until this call.
        """
        self.mark_requests_in_flight(job_id, [(rows, client_id)], settle=settle)

    def mark_requests_in_flight(
        self,
        job_id: str,
        requests: Sequence[tuple[Sequence[int], str]],
        *,
        settle: Sequence[JobRow] = (),
    ) -> None:
        """:meth:`mark_in_flight` for several requests (rows, client ID) in one transaction.

        A commit costs far more than the row updates in it, so bulk marks the next few
        requests at once; all of them, or none, become in flight. Each row records how many
        recipients its request carries (:meth:`request_sizes`).
        """
        base = self._held_base(job_id)
        # A request of consecutive rows (the usual kind) is one range update, not one per row.
        runs, singles = [], []
        for rows, client_id in requests:
            keys = _keys(base, rows)
            if keys and keys == list(range(keys[0], keys[0] + len(keys))):  # ascending, no gap
                runs.append((client_id, len(keys), keys[0], keys[-1]))
            else:
                singles += [(client_id, len(keys), key) for key in keys]
        marking = sum(run[1] for run in runs) + len(singles)
        if not marking and not settle:
            return
        if marking:
            self._sent_here.add(job_id)
        set_in_flight = (
            f"UPDATE job_rows SET state = '{ROW_IN_FLIGHT}', client_id = ?, request_size = ?"
        )
        with self._write(job_id) as db:
            if settle:
                self._settle(db, job_id, base, settle)
            if not marking:
                return
            changed = 0
            if runs:
                changed += db.executemany(
                    f"{set_in_flight} WHERE key BETWEEN ? AND ? AND state = '{ROW_PENDING}'",
                    runs,
                ).rowcount
            if singles:
                changed += db.executemany(
                    f"{set_in_flight} WHERE key = ? AND state = '{ROW_PENDING}'", singles
                ).rowcount
            if changed != marking:
                rows = [row for request_rows, _ in requests for row in request_rows]
                raise ValueError(
                    f"job {job_id}: {marking - changed} of rows {_row_list(rows)} "
                    "are not pending; refusing to send them"
                )

    def request_sizes(self, job_id: str) -> dict[str, int | None]:
        """Client ID → recipients of that request, for every request with rows in flight.

        Resume settles rows left in flight by what their request was: a client ID names one
        message, so only a one-recipient request can be settled by asking about it, however
        few of its rows are still in flight. None: no size recorded.
        """
        base = self._base(job_id)
        with self._read() as db:
            found = db.execute(
                "SELECT client_id, MAX(request_size) FROM job_rows WHERE key BETWEEN ? AND ?"
                f" AND state = '{ROW_IN_FLIGHT}' GROUP BY client_id",
                (base, base | ROW_MAX),
            ).fetchall()
        return {client_id or "": size for client_id, size in found}

    def record_results(self, job_id: str, results: Sequence[JobRow]) -> None:
        """After the answer: each row's new state, message ID and error (all or none).

        Only rows still pending or in flight can be settled; any other is refused with
        ValueError and nothing changes. A result's ``client_id`` replaces the stored one
        when given; number, text and input are never changed.
        """
        base = self._held_base(job_id)
        with self._write(job_id) as db:
            self._settle(db, job_id, base, results)

    def release(self, job_id: str, rows: Sequence[int]) -> None:
        """In flight back to pending: the request provably never arrived, or querymsg says so.

        The client ID stays recorded, so a re-send can use a new one: a gateway that saw the
        old ID must never mistake the new request for the old. Rows not in flight are left
        as they are, so releasing twice is harmless.
        """
        base = self._held_base(job_id)
        with self._write(job_id) as db:
            db.executemany(
                f"UPDATE job_rows SET state = '{ROW_PENDING}'"
                f" WHERE key = ? AND state = '{ROW_IN_FLIGHT}'",
                [(key,) for key in _keys(base, rows)],
            )

    # -- plumbing -----------------------------------------------------------------------------

    def _settle(
        self, db: sqlite3.Connection, job_id: str, base: int, results: Sequence[JobRow]
    ) -> None:
        plain, full = [], []  # see _SETTLE_PLAIN
        for r in results:
            if r.state not in ROW_STATES:
                raise ValueError(f"unknown row state {r.state!r} for row {r.row}")
            if not 0 < r.row <= ROW_MAX:
                raise ValueError(f"row number must be between 1 and {ROW_MAX}, got {r.row}")
            key = base | r.row
            if (r.client_id, r.error_code, r.error) == (None, None, None):
                plain.append((r.state, r.message_id, key))
            else:
                full.append((r.state, r.client_id, r.message_id, r.error_code, r.error, key))
        if not plain and not full:
            return
        changed = db.executemany(_SETTLE_PLAIN, plain).rowcount
        changed += db.executemany(_SETTLE_FULL, full).rowcount
        if changed != len(plain) + len(full):
            raise ValueError(
                f"job {job_id}: {len(plain) + len(full) - changed} of rows "
                f"{_row_list([r.row for r in results])} are not pending or in flight"
            )

    def _held_base(self, job_id: str) -> int:
        """The key base of a job this process runs: rows change only under its holder, so
        two processes never write one job and its stored counts (dropped on claim, stored
        on leaving running) stay true."""
        if job_id not in self._held:
            raise ValueError(f"job {job_id} is not run by this process: create or claim it first")
        return self._base(job_id)

    def _count(
        self, db: sqlite3.Connection, job_id: str, stored: dict[str, int] | None
    ) -> dict[str, int]:
        """Rows per state: the counts stored when the job stopped, or counted now if it runs."""
        if stored is not None:
            return stored
        base = self._bases[job_id]
        counts = dict.fromkeys(ROW_STATES, 0)
        counts.update(
            db.execute(
                "SELECT state, COUNT(*) FROM job_rows WHERE key BETWEEN ? AND ? GROUP BY state",
                (base, base | ROW_MAX),
            )
        )
        return counts

    def _base(self, job_id: str) -> int:
        base = self._bases.get(job_id)
        if base is None:
            self.get_job(job_id)  # caches it, or raises UsageError
            base = self._bases[job_id]
        return base

    def _load(self, db: sqlite3.Connection, job_id: str) -> tuple[Job, dict[str, int] | None]:
        """The job and its stored counts (None when they must be counted); UsageError if none."""
        found = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if found is None:
            raise UsageError(f"no job {job_id!r} in {self.path}: see `clicksms jobs`")
        self._bases[job_id] = found[0] << 32
        return _job(found)

    def _jobs_of(
        self, db: sqlite3.Connection, file: str | None
    ) -> list[tuple[JobSummary, dict[str, Any]]]:
        """The jobs recorded for ``file`` (None: every job), newest first, with their options."""
        where, args = ("WHERE file = ?", (file,)) if file is not None else ("", ())
        found = db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, seq DESC", args
        ).fetchall()
        jobs = []
        for r in found:
            self._bases[r[1]] = r[0] << 32
            job, counts = _job(r)
            summary = self._summary(job, self._count(db, job.id, counts), self._unknown(db, job.id))
            jobs.append((summary, job.options))
        return jobs

    def jobs_of(self, file: str) -> list[tuple[JobSummary, dict[str, Any]]]:
        """The jobs recorded for ``file``, newest first, with their options."""
        with self._read() as db:
            return self._jobs_of(db, file)

    def check_not_running_elsewhere(self, job_id: str, what_to_do: str) -> None:
        """UsageError naming the process when another one runs the job right now."""
        self._refuse_if_running_elsewhere(self.get_job(job_id), what_to_do)

    def _unknown(self, db: sqlite3.Connection, job_id: str) -> int:
        """Failed rows without a gateway code: reconciled, but their outcome is unknown."""
        base = self._bases[job_id]
        (found,) = db.execute(
            f"SELECT COUNT(*) FROM job_rows WHERE key BETWEEN ? AND ?"
            f" AND state = '{ROW_FAILED}' AND error_code IS NULL",
            (base, base | ROW_MAX),
        ).fetchone()
        return int(found)

    def _summary(self, job: Job, counts: dict[str, int], unknown: int) -> JobSummary:
        state = job.state
        if state == JOB_RUNNING and not self._running_here_or_elsewhere(job):
            state = JOB_INTERRUPTED
        return JobSummary(
            id=job.id,
            file=job.file,
            state=state,
            created_at=job.created_at,
            total=sum(counts.values()),
            sent=counts[ROW_DONE],
            failed=counts[ROW_FAILED] - unknown,
            unknown=unknown,
            pending=counts[ROW_PENDING] + counts[ROW_IN_FLIGHT],
            skipped=counts[ROW_SKIPPED],
        )

    def _running_here_or_elsewhere(self, job: Job) -> bool:
        return job.id in self._held or self._runs_elsewhere(job)

    def _runs_elsewhere(self, job: Job) -> bool:
        return ownership.runs_elsewhere(self._lock_path(job.id), job.pid, job.updated_at)

    def _refuse_if_running_elsewhere(self, job: Job, what_to_do: str) -> None:
        if job.state == JOB_RUNNING and job.id not in self._held and self._runs_elsewhere(job):
            raise _running_elsewhere(job, what_to_do)

    @contextmanager
    def _owning(self, job_id: str, what_to_do: str) -> Iterator[None]:
        """Hold the job's lock for the block (UsageError if another process runs the job);
        a lock taken here is given back if the block fails."""
        job = self.get_job(job_id)
        lock = self._lock_path(job_id)
        if job_id in self._held or ownership.holds(lock):
            yield
            return
        self._refuse_if_running_elsewhere(job, what_to_do)  # a job recorded without a lock
        if not self._take(lock):
            raise _running_elsewhere(self.get_job(job_id), what_to_do)
        try:
            yield
        except BaseException:
            ownership.release(lock)
            raise

    def _lock_path(self, job_id: str) -> Path:
        return ownership.lock_path(self.path, job_id)

    def _take(self, lock: Path, new: bool = False) -> bool:
        try:
            return ownership.take(lock, new=new)
        except FileExistsError:
            raise
        except OSError as exc:
            raise JournalError(f"cannot use the job's lock file {lock}: {exc.strerror}") from None

    def _setup(self) -> None:
        """WAL + NORMAL, then the schema, created once under the write lock."""
        with self._read():
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise JournalError(f"cannot use journal {self.path}: WAL mode unavailable ({mode})")
            self._db.execute("PRAGMA synchronous = NORMAL")
            if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return  # another process created it while we waited for the lock
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {self.path} was written by a newer clicksms (schema {version}); "
                    "upgrade clicksms or choose another --journal"
                )
            if version in _MIGRATIONS:  # an older clicksms's journal: brought up to date
                for step in range(version, SCHEMA_VERSION):
                    _MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                return
            if version or db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                raise JournalError(
                    f"{self.path} is not a clicksms journal; choose another --journal path"
                )
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _write(self, job_id: str | None = None) -> _Transaction:
        """One short write transaction (see :class:`_Transaction`); ``job_id``: the running
        job it writes for, which a journal locked too long stops (and says how to resume)."""
        return _Transaction(self, job_id)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                self._raise(exc)

    def _raise(self, exc: sqlite3.Error, job_id: str | None = None) -> NoReturn:
        raise self._translate(exc, job_id) from None

    def _translate(self, exc: sqlite3.Error, job_id: str | None = None) -> Exception:
        """sqlite3 failures (locked too long, disk full, not a database) as one-line errors;
        an IntegrityError is ours to explain, so it goes on as it is."""
        if isinstance(exc, sqlite3.IntegrityError):
            return exc
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in text or "busy" in text:
                return self._busy(job_id)
            return JournalError(f"journal {self.path}: {text}")
        return JournalError(f"journal {self.path} is unusable: {text}")

    def _busy(self, job_id: str | None) -> JournalBusy:
        """The lock was held past the bound: the run stops, and its last writes wait briefly."""
        if not self._gave_up:
            self._gave_up = True
            wait = min(_BUSY_AGAIN, self._busy_timeout)
            self._db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        held = f"journal {self.path} stayed locked by another program for over "
        held += f"{self._busy_timeout:g}s"
        if job_id is None:
            return JournalBusy(f"{held}; try again when it is free")
        return JournalBusy(
            f"{held}, so the run stopped; every message sent is recorded or checked on resume. "
            f"Resume with: clicksms bulk --resume {job_id}"
        )


class _Transaction:
    """A write transaction: committed on success, rolled back on any exception.

    BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies and a reader
    never has to upgrade. Nested use joins the outer transaction. A class rather than a
    generator: it runs for nearly every request, and this way costs a third as much.
    """

    __slots__ = ("_job", "_journal", "_outer")

    def __init__(self, journal: Journal, job_id: str | None) -> None:
        self._journal = journal
        self._job = job_id
        self._outer = False

    def __enter__(self) -> sqlite3.Connection:
        journal = self._journal
        journal._lock.acquire()
        db = journal._db
        self._outer = db.in_transaction
        if not self._outer:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                journal._lock.release()
                journal._raise(exc, self._job)
        return db

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        journal = self._journal
        db = journal._db
        try:
            if self._outer:
                return
            try:
                if kind is None:
                    db.execute("COMMIT")
                    return
                if db.in_transaction:  # SQLite ends it by itself after some errors
                    db.execute("ROLLBACK")
            except sqlite3.Error as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                journal._raise(error, self._job)
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                journal._raise(exc, self._job)
        finally:
            journal._lock.release()


def _add_request_sizes(db: sqlite3.Connection) -> None:
    """Schema 1 → 2: rows in flight get the size of their request, as far as the rows tell.

    Schema 1 did not record it. A request's rows keep its client ID once settled, and a row
    sent back to pending keeps it until it goes out again, so the rows under an ID count its
    recipients; short only of rows the gateway refused one by one (ERR 301, 130, 901) that
    went out again since, which never became messages under that ID.
    """
    db.execute("ALTER TABLE job_rows ADD COLUMN request_size INTEGER")
    in_flight = db.execute(
        f"SELECT key, client_id FROM job_rows WHERE state = '{ROW_IN_FLIGHT}'"
        " AND client_id IS NOT NULL"
    ).fetchall()
    wanted = sorted({client_id for _, client_id in in_flight})
    sizes: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # SQLite's limit on ? parameters
        chunk = wanted[start : start + 500]
        sizes.update(
            db.execute(
                "SELECT client_id, COUNT(*) FROM job_rows"
                f" WHERE client_id IN ({', '.join('?' * len(chunk))}) GROUP BY client_id",
                chunk,
            )
        )
    db.executemany(
        "UPDATE job_rows SET request_size = ? WHERE key = ?",
        [(sizes[client_id], key) for key, client_id in in_flight],
    )


#: schema version → the step that brings a journal of that version to the next one.
_MIGRATIONS = {1: _add_request_sizes}


def _prepare_file(path: Path) -> None:
    """Make sure the journal is private: dir created 0700, file 0600; refuse looser ones."""
    folder = path.parent
    try:
        make_private_dir(folder)
        mode = folder.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot use journal directory {folder}: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise ConfigError(f"journal directory {folder} is not a directory")
    if mode & _OTHERS_WRITE:
        raise ConfigError(
            f"journal directory {folder} is writable by other users (mode "
            f"{stat.S_IMODE(mode):o}); run `chmod go-w {folder}` or choose another --journal"
        )
    try:
        fd = create_private(path, os.O_RDWR | os.O_EXCL)
    except FileExistsError:
        if path.is_symlink() and not path.exists():  # SQLite would create the link's target
            raise ConfigError(
                f"journal {path} is a symbolic link to a file that does not exist: clicksms "
                "does not create a file through a link; give the real path or create the file "
                "first"
            ) from None
    except OSError as exc:
        raise ConfigError(f"cannot create journal {path}: {exc.strerror}") from None
    else:
        try:
            os.fchmod(fd, 0o600)  # a strict umask (0277) must not leave it read-only
        finally:
            os.close(fd)
    # SQLite gives the -wal and -shm files the journal's mode; check them all the same.
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        check_private_file(file, "journal ")


def _insert_params(
    base: int, batch: list[JobRow], texts: dict[str, int]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT for ``batch`` and its parameters; a repeated text becomes a reference to the
    row that stores it. A batch with no client ID, message ID or error in it (the usual kind)
    goes through _INSERT_PLAIN; any other through _INSERT_FULL, whole, so rows go in in order."""
    rows, extras = [], []
    for r in batch:
        if not 0 < r.row <= ROW_MAX:
            raise ValueError(f"row number must be between 1 and {ROW_MAX}, got {r.row}")
        key = base | r.row
        text, ref = r.text, None
        if text is not None:
            ref = texts.get(text)
            if ref is None:
                if len(texts) >= _TEXT_CACHE:
                    texts.clear()
                texts[text] = key
            else:
                text = None
        rows.append((key, r.number, text, ref, r.state, r.input))
        extras.append((r.client_id, r.message_id, r.error_code, r.error))
    if all(extra == _NOTHING_YET for extra in extras):
        return _INSERT_PLAIN, rows
    return _INSERT_FULL, [row + extra for row, extra in zip(rows, extras, strict=True)]


def _keys(base: int, rows: Sequence[int]) -> list[int]:
    keys = [base | row for row in rows]
    if keys and (min(rows) < 1 or max(rows) > ROW_MAX):
        raise ValueError(f"row numbers must be between 1 and {ROW_MAX}")
    return keys


def _new_job_id() -> str:
    return "".join(secrets.choice(_JOB_ID_ALPHABET) for _ in range(_JOB_ID_LENGTH))


def _refuse_secrets(value: Any) -> None:
    """The journal must never hold a password or session ID: refuse keys that name one."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in _SECRET_KEYS:
                raise ValueError(f"job options must not contain {key!r}")
            _refuse_secrets(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_secrets(item)


def _running_elsewhere(job: Job, what_to_do: str) -> UsageError:
    """The refusal, with the way out: that process ends, and its lock with it."""
    way_out = f" (`kill {job.pid}` stops it as Ctrl-C would)" if job.pid else ""
    return UsageError(
        f"job {job.id} is being run by another clicksms (pid {job.pid or 'unknown'}); "
        f"{what_to_do}{way_out}"
    )


def _job(found: tuple[Any, ...]) -> tuple[Job, dict[str, int] | None]:
    _seq, job_id, file, state, created_at, updated_at, options, pid, counts = found
    job = Job(job_id, file, state, created_at, updated_at, json.loads(options), pid)
    return job, None if counts is None else json.loads(counts)


def _row_list(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (", ..." if len(rows) > 5 else "")


def _rows_conflict(exc: sqlite3.IntegrityError) -> str:
    text = str(exc)
    if "UNIQUE" in text:
        return "a row number is already recorded"
    if "CHECK" in text:
        return f"a row state is not one of {', '.join(ROW_STATES)}"
    return text
