"""How a bulk run ended, as data: counts, why it stopped, its exit code, and its rows.

Like ``send``'s :class:`~clicksms.send.SendReport`, the outcome decides nothing about how it is
shown. A partial success is an ordinary outcome (some rows sent, some not, the job resumable);
the exit code is derived from it in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from clicksms.bulk.journal import (
    ROW_DONE,
    ROW_FAILED,
    ROW_IN_FLIGHT,
    ROW_PENDING,
    ROW_STATES,
    JobRow,
    JobSummary,
)
from clicksms.bulk.plan import DUPLICATE
from clicksms.errors import ExitCode, Interrupted, counts_exit_code
from clicksms.send import ACCEPTED, INVALID, NOT_SENT, REJECTED, UNKNOWN

if TYPE_CHECKING:
    from clicksms.bulk.journal import Journal

#: What a row left in flight means; a table says it once, in its summary line.
IN_FLIGHT_MEANING = "in flight when the run stopped: resuming checks it with the gateway first"
#: The keys of a result row, in output order: ``send``'s keys plus the CSV row number.
RESULT_KEYS = ("row", "to", "ok", "status", "message_id", "client_id", "error_code", "error")


class StopReason(Enum):
    """Why a run ended before every row was settled; the job stays resumable."""

    CREDIT = "credit"  # ERR 301
    LIMIT = "limit"  # ERR 130, without --on-limit wait
    GATEWAY = "gateway"  # ERR 901 after the retries; a batch gone and not renewed (201)
    NETWORK = "network"  # the conversation broke, or asking about rows in flight did
    AUTH = "auth"  # the gateway refused who we are
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM


@dataclass(frozen=True)
class Stop:
    """A stop reason with what is known about it."""

    reason: StopReason
    detail: str | None = None  # NETWORK, AUTH, GATEWAY (201): the failure's one line
    until: float | None = None  # LIMIT: when the account may send again (epoch seconds)


@dataclass(frozen=True)
class BulkOutcome:
    """One run of a job, once it ended: ``stop`` is None when it went through every row.

    The counts, the stop and the figures are fixed as the run left them. ``rows`` alone is
    read on demand: a view of the job's rows in the journal (a million of them would not fit
    in memory), for the caller to read before it closes the journal.
    """

    job_id: str
    summary: JobSummary  # row counts as the run left them, with the job's new state
    stop: Stop | None
    parts: int  # SMS parts of the messages accepted in this run
    strangers: int  # answers for numbers no request carried
    rows: JobResults
    concurrency: int = 0  # the most requests in flight at once in this run

    @property
    def exit_code(self) -> ExitCode:
        """README's table: a broken run by its cause, else by the rows (unknown ones first)."""
        stopped = self.stop.reason if self.stop is not None else None
        if stopped is StopReason.INTERRUPTED:
            return Interrupted.exit_code
        if stopped is StopReason.NETWORK:
            return ExitCode.NETWORK
        if stopped is StopReason.AUTH:
            return ExitCode.AUTH
        s = self.summary
        if s.unknown or self.strangers:  # as for send: worth a look before anything else
            return ExitCode.NETWORK
        return counts_exit_code(s.sent, s.failed + s.skipped + s.pending)


class JobResults:
    """A job's rows in ``send``'s result shape, read from the journal each time they are asked
    for: a million rows never sit in memory, and they are as current as the journal."""

    def __init__(self, journal: Journal, job_id: str) -> None:
        self._journal = journal
        self.job_id = job_id

    def all(self) -> Iterator[dict[str, Any]]:
        """Every row, in row order."""
        return (result_row(r) for r in self._journal.rows(self.job_id))

    def not_sent_first(
        self, *, with_sent: bool = True, with_pending: bool = True
    ) -> Iterator[dict[str, Any]]:
        """The rows not sent, then (``with_sent``) the sent ones; leaving them out lets SQLite
        skip the sent rows without handing them to Python. ``with_pending=False`` leaves out
        the rows no request carried yet, which a summary line counts instead."""
        skip = {ROW_DONE} if with_pending else {ROW_DONE, ROW_PENDING}
        not_sent = [state for state in ROW_STATES if state not in skip]
        yield from (result_row(r) for r in self._journal.rows(self.job_id, not_sent))
        if with_sent:
            yield from (result_row(r) for r in self._journal.rows(self.job_id, [ROW_DONE]))

    def summary(self) -> JobSummary:
        """The job's row counts as they stand now (rows in flight count as pending)."""
        return self._journal.summary(self.job_id)

    def in_flight(self) -> int:
        """Rows whose request left and whose answer did not come (yet)."""
        return sum(1 for _ in self._journal.rows(self.job_id, [ROW_IN_FLIGHT]))


def result_row(row: JobRow) -> dict[str, Any]:
    """A journal row in ``send``'s result shape (keys :data:`RESULT_KEYS`)."""
    code, error = row.error_code, row.error
    if row.state == ROW_DONE:
        status = ACCEPTED
    elif row.state == ROW_FAILED:
        status = REJECTED if code else UNKNOWN  # no gateway code: reconciled, outcome unknown
    elif row.state == ROW_PENDING:
        status, error = NOT_SENT, error or "not sent yet: resume the job to send it"
    elif row.state == ROW_IN_FLIGHT:
        status, error = UNKNOWN, IN_FLIGHT_MEANING
    else:  # skipped: error_code says why (see clicksms.bulk.job)
        status, code = (DUPLICATE if code == DUPLICATE else INVALID), None
    return {
        "row": row.row,
        "to": row.number or row.input,
        "ok": row.state == ROW_DONE,
        "status": status,
        "message_id": row.message_id,
        "client_id": row.client_id,
        "error_code": code,
        "error": error,
    }
