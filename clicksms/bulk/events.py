"""What a bulk job tells its caller while it runs: small frozen events handed to a callback.

The core never prints. The CLI turns these events into notes, warnings and the progress bar;
another front end (JSON lines, a service) can show them its own way, or not at all. No event
changes the outcome: whatever a job has to report for good is in its
:class:`~clicksms.bulk.outcome.BulkOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clicksms.bulk.outcome import JobResults


@dataclass(frozen=True)
class ReadingFile:
    """The CSV file is open and its layout known, before any row is planned."""

    name: str
    delimiter: str
    has_header: bool
    number_column: str
    column_guessed: bool  # detected rather than given with --number-column


@dataclass(frozen=True)
class JobRecorded:
    """Every row of a new job is in the journal (skipped ones included)."""

    job_id: str
    rows: int
    journal: Path


@dataclass(frozen=True)
class Resuming:
    """A job was claimed for ``--resume``, before anything is asked or sent."""

    job_id: str
    file: str
    total: int
    sent: int
    pending: int  # rows still to send, those left in flight included
    rate: float  # messages per second at most (the job's own unless chosen anew); 0 = no limit


@dataclass(frozen=True)
class JobRunning:
    """The job is held by this run: created, or claimed to resume it.

    ``results`` reads the job's rows as they stand at any moment, so a caller can show what is
    known so far however the run ends, even by an exception.
    """

    job_id: str
    results: JobResults


@dataclass(frozen=True)
class InFlightChecked:
    """Rows left in flight were settled by asking the gateway (``querymsg``) about them."""

    found: int  # it has them: sent
    released: int  # it has never heard of them: pending again
    unknown: int  # their request arrived, the answer for these numbers was lost
    in_doubt: int  # not known yet, or not asked: still in flight
    at_resume: bool  # True: before a resumed job sends; False: at the end of a run


@dataclass(frozen=True)
class SendingStarted:
    """Rows are about to go out; ``todo`` of them are pending or in flight."""

    todo: int


@dataclass(frozen=True)
class Progress:
    """Rows settled in this run so far, after each answer."""

    sent: int
    failed: int


@dataclass(frozen=True)
class ConcurrencyChanged:
    """The number of requests allowed in flight at once changed (adaptive concurrency)."""

    limit: int
    reason: str  # "growing", "latency" (it climbed) or "push-back" (a retry or a failure)


@dataclass(frozen=True)
class SendingEnded:
    """No more rows go out in this run (sent, stopped, or broken off by an exception)."""


@dataclass(frozen=True)
class StopRequested:
    """The first Ctrl-C (or SIGTERM) was heard: the run waits for the requests in flight."""

    in_flight: int  # sent and not answered yet (those waiting for a rate slot never leave)


@dataclass(frozen=True)
class WaitingForLimit:
    """ERR 130 with ``--on-limit wait``: no request leaves before ``until`` (epoch seconds)."""

    until: float


@dataclass(frozen=True)
class WaitingForGateway:
    """Before asking about rows left in flight, a pause so the gateway knows their client
    message IDs (CLICKSMS_QUERY_DELAY): ``seconds`` for ``requests`` request(s)."""

    seconds: int
    requests: int


@dataclass(frozen=True)
class StrangerAnswers:
    """The gateway answered for numbers the request never carried (reported, never sent)."""

    numbers: tuple[str, ...]


@dataclass(frozen=True)
class Resumable:
    """The job stopped before sending through a failure that is about to be raised; it keeps
    its rows and can be resumed."""

    job_id: str


BulkEvent = (
    ReadingFile
    | JobRecorded
    | Resuming
    | JobRunning
    | InFlightChecked
    | SendingStarted
    | Progress
    | ConcurrencyChanged
    | SendingEnded
    | StopRequested
    | WaitingForLimit
    | WaitingForGateway
    | StrangerAnswers
    | Resumable
)
EventSink = Callable[[BulkEvent], None]


def ignore(event: BulkEvent) -> None:
    """The sink for callers that want the outcome only."""
