"""A bulk job, started or resumed: check everything, record every row, send, settle.

The order matters for "never lose, never duplicate": the template and the CSV header are
checked before a job exists; every row is in the journal before the first request; and a
resumed job settles the rows left in flight before it sends anything else.

What need not wait does not: a new job's rows are read, checked and recorded in a thread of
their own while this one logs in (a network round trip). This thread keeps what may ask the
user something (a password prompt) or be cut short by Ctrl-C. zeep and its WSDL, a good part of
a first run's start-up, are not built at all when every request's shape was learned by an
earlier run (:mod:`clicksms.gateway.learned`).

Nothing here prints. Progress and notices go to the caller's ``on_event`` callback
(:mod:`clicksms.bulk.events`) and the run ends in one :class:`~clicksms.bulk.outcome.BulkOutcome`.
The gateway client and the journal are handed in as factories, called when the job needs
them, so a bad file is reported before the settings are read or the journal is opened.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clicksms.bulk.events import (
    EventSink,
    InFlightChecked,
    JobRecorded,
    JobRunning,
    ReadingFile,
    Resumable,
    Resuming,
    SendingEnded,
    SendingStarted,
    ignore,
)
from clicksms.errors import UsageError

if TYPE_CHECKING:
    from clicksms.bulk.journal import Job, JobRow, JobSummary, Journal
    from clicksms.bulk.outcome import BulkOutcome
    from clicksms.bulk.plan import MessageCache, PlannedRow, Planner
    from clicksms.bulk.requests import Requests
    from clicksms.bulk.sender import Reconciled, SendPlan
    from clicksms.bulk.template import Template
    from clicksms.gateway.client import GatewayClient
    from clicksms.message.options import SendOptions

CLIENT_PREFIX_MAX = 15  # 32 minus the 17 characters a job ID and row number can take

ClientFactory = Callable[[], "GatewayClient"]
JournalFactory = Callable[[], "Journal"]


@dataclass(frozen=True)
class NewJob:
    """What a new job sends: the CSV file and how each row becomes a message.

    The values are checked already (``check_sender``, :func:`check_client_prefix`,
    ``load_template``, the ``SendOptions`` parsers), as ``send`` checks its own.
    """

    file: str  # a path, or "-" for stdin
    template: Template
    options: SendOptions
    sender: str | None = None
    client_id_prefix: str | None = None
    country: str | None = None  # the region of national numbers
    unicode: str = "auto"
    encoding: str | None = None
    number_column: str | None = None
    allow_duplicates: bool = False
    batch: bool = False  # send through Clickatell's batch messaging (clicksms.bulk.batch)
    soap_style: str = "document"  # the style it is sent over: how many fields a batch item has
    #: Start even when an unfinished job of the same file is in the journal (see
    #: :func:`refuse_rerun`).
    again: bool = False


#: The run options a job keeps, so that its resume goes on as it started unless told otherwise.
KEPT_RUN_OPTIONS = ("concurrency", "rate", "wait_on_limit")


@dataclass(frozen=True)
class RunOptions:
    """How a run sends; a resume may change these (its job's message options it may not)."""

    concurrency: int | None = None  # requests in flight at once; None = found as it sends
    rate: float = 100.0  # messages per second at most; 0 = no limit
    wait_on_limit: bool = False  # ERR 130: wait until the given time rather than stop
    results: Path | None = None  # where the caller writes the rows: checked before sending
    #: Of KEPT_RUN_OPTIONS, those the user chose for this run; a resume takes the others
    #: from the job (a job started at --rate 5 must not go on at the default 100).
    chosen: frozenset[str] = frozenset(KEPT_RUN_OPTIONS)

    def kept(self) -> dict[str, Any]:
        """What the job records of this run."""
        return {name: getattr(self, name) for name in KEPT_RUN_OPTIONS}

    def resumed(self, kept: dict[str, Any] | None) -> RunOptions:
        """This run's options for a job that kept ``kept``: its own where none was chosen."""
        if not kept:  # a job from before run options were kept
            return self
        own = {n: kept[n] for n in KEPT_RUN_OPTIONS if n in kept and n not in self.chosen}
        return replace(self, **own)


def start_job(
    new: NewJob,
    *,
    client: ClientFactory,
    journal: JournalFactory,
    run: RunOptions,
    on_event: EventSink = ignore,
) -> BulkOutcome:
    """Plan every row of ``new``, record them as a job, and send it."""
    with planned_rows(new, on_event) as planner:
        check_results_path(run.results, new.file)
        account = client()
        typed_in = new.file == "-" and sys.stdin is not None and sys.stdin.isatty()
        if typed_in:  # rows typed on the terminal and a password prompt would meet there
            account.ready()
        opened = journal()
        stored = {
            "run": run.kept(),
            "template": new.template.text,
            "sender": new.sender,
            "unicode": new.unicode,
            "send_options": asdict(new.options),
            "client_id_prefix": new.client_id_prefix,
            "country": new.country,
            "batch": new.batch,
            "gateway": _gateway_identity(account),
            "loaded": False,  # until every row is recorded: a partial job must not resume
        }
        label = file_label(new.file)
        refuse = None if new.again else (lambda jobs: unfinished_job(jobs, new.file))
        job = opened.create_job(label, stored, unless=refuse)
        recorder = _Recorder(opened, job, planner)
        try:
            account.ready()  # bad settings or credentials: the job is forgotten below
            added = recorder.result()
        except BaseException:
            recorder.cancel()
            opened.forget(job.id)  # nothing was sent: a half-read file is not a job
            raise
        if added == 0:
            opened.forget(job.id)
            raise UsageError(f"{planner.source.name} has no data rows")
        loaded = {"loaded": True, "most_parts": planner.most_parts}
        opened.update_options(job.id, loaded)
    on_event(JobRecorded(job.id, added, opened.path))
    plan = _send_plan(job, {**stored, **loaded}, planner.messages, new.options, account)
    return _send(opened, job, account, plan, run, on_event)


def resume_job(
    job_id: str,
    *,
    client: ClientFactory,
    journal: JournalFactory,
    run: RunOptions,
    on_event: EventSink = ignore,
) -> BulkOutcome:
    """Take over an unfinished job: settle its rows left in flight, then send the rest."""
    from clicksms.bulk.journal import JOB_STOPPED
    from clicksms.bulk.plan import MessageCache
    from clicksms.bulk.sender import reconcile
    from clicksms.message.options import SendOptions

    check_results_path(run.results, None)
    opened = journal()
    # What can refuse the resume is checked before the job is claimed: a refusal changes
    # nothing, not even the job's state.
    opened.check_not_running_elsewhere(job_id, "wait for it to finish or stop it first")
    stored = opened.get_job(job_id).options
    if not stored.get("loaded", True):
        raise UsageError(
            f"job {job_id} was stopped while its file was still being read, so nothing was "
            f"sent: `clicksms jobs --forget {job_id}` and start it again"
        )
    if (was := _recorded_identity(stored)) not in (None, _gateway_identity(client())):
        raise UsageError(
            f"job {job_id} was started as {was['user']} (api_id {was['api_id']}) at "
            f"{was['endpoint']} (--soap-style {was['soap_style']}): resume it with the same "
            "settings, or its rows could be sent twice"
        )
    job = opened.claim(job_id)
    counts = opened.summary(job.id)
    run = run.resumed(stored.get("run"))
    on_event(Resuming(job.id, job.file, counts.total, counts.sent, counts.pending, run.rate))
    options = SendOptions(**stored["send_options"])
    messages = MessageCache(stored["unicode"], options)
    account = client()
    checked = reconcile(opened, job, account, on_event)
    on_event(_checked(checked, at_resume=True))
    if checked.failure is not None:
        opened.set_state(job.id, JOB_STOPPED)
        on_event(Resumable(job.id))
        raise checked.failure
    plan = _send_plan(job, stored, messages, options, account)
    return _send(opened, job, account, plan, run, on_event)


def unfinished_job(jobs: list[tuple[JobSummary, dict[str, Any]]], file: str) -> str | None:
    """Why ``file`` may not go as a new job, given the jobs recorded for it (``jobs``, newest
    first, as :meth:`~clicksms.bulk.journal.Journal.create_job` hands them over); None: it may.

    A new job would send a second time what one of them sent or is sending: one running in
    another process right now (two cron runs overlapping, a command started twice), or one
    that stopped with rows not sent yet (a cron job or CI pipeline run again, a command
    repeated after Ctrl-C), whose resume sends only the rest. A job stopped while its file
    was still being read sent nothing, so it is no reason to refuse.
    """
    from clicksms.bulk.journal import JOB_DONE, JOB_RUNNING

    if file == "-":  # rows from stdin cannot be told apart from another run's
        return None
    running = [s for s, _ in jobs if s.state == JOB_RUNNING]
    if running:
        return (
            f"{file} is being sent right now by job {running[0].id}: let it finish, or pass "
            "--again to send the whole file once more"
        )
    stopped = [  # a job from before "loaded" was recorded was loaded whole
        s for s, kept in jobs if s.state != JOB_DONE and s.pending and kept.get("loaded", True)
    ]
    if not stopped:
        return None
    job = stopped[0]  # the newest
    more = f" (and {len(stopped) - 1} more, see `clicksms jobs`)" if len(stopped) > 1 else ""
    return (
        f"{file} has an unfinished job, {job.id}{more}, with {job.pending} of {job.total} "
        f"row(s) not sent yet: `clicksms bulk --resume {job.id}` sends just those, or pass "
        "--again to send the whole file once more"
    )


class _Recorder:
    """Plans a new job's rows and records them, in a thread of its own (see the module
    docstring). It stops between two rows when cancelled; its failure is raised by
    :meth:`result`, in the caller's thread."""

    def __init__(self, journal: Journal, job: Job, planner: Planner) -> None:
        self._added = 0
        self._failure: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(
            target=self._record, args=(journal, job, planner), name="bulk_recorder", daemon=True
        )
        self._thread.start()

    def result(self) -> int:
        """The rows recorded, once every one is."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._added

    def cancel(self) -> None:
        """Stop after the row in hand (the journal rolls back the unfinished batch)."""
        self._cancelled.set()
        self._thread.join()

    def _record(self, journal: Journal, job: Job, planner: Planner) -> None:
        try:
            self._added = journal.add_rows(job.id, self._rows(planner))
        except BaseException as exc:  # raised again in the caller's thread
            self._failure = exc

    def _rows(self, planner: Planner) -> Iterator[JobRow]:
        for planned in planner.rows():
            if self._cancelled.is_set():
                raise _Cancelled
            yield _job_row(planned)


class _Cancelled(Exception):
    """The recorder was told to stop."""


@contextmanager
def planned_rows(new: NewJob, on_event: EventSink = ignore) -> Iterator[Planner]:
    """The file opened and checked against the template, ready to plan row by row.

    Shared by a job and its dry run: a static text that cannot be sent, an empty file, or a
    template column the header lacks is a usage error before a single row is read.
    """
    from clicksms.bulk.plan import MessageCache, Planner
    from clicksms.bulk.source import CsvSource

    messages = MessageCache(new.unicode, new.options)
    static = None
    if new.template.is_static:  # one text for every row: a bad one is a usage error, not N rows
        static = messages.get(new.template.render({}))
        if isinstance(static, str):
            raise UsageError(static)
    if new.batch:  # what a batch cannot carry is refused before the file is read
        from clicksms.bulk.batch import batch_layout

        batch_layout(new.template, new.unicode, new.soap_style, static)
    with CsvSource(new.file, encoding=new.encoding, number_column=new.number_column) as source:
        if not source.columns:
            raise UsageError(f"{source.name} has no data rows")
        new.template.check(source.columns)
        on_event(
            ReadingFile(
                source.name,
                source.delimiter,
                source.header is not None,
                source.number_column,
                source.number_column_guessed,
            )
        )
        yield Planner(source, new.template, new.country, messages, new.allow_duplicates)


def check_client_prefix(prefix: str | None) -> str | None:
    """``--client-id`` in bulk: a prefix short enough to leave room for the job and row."""
    from clicksms.message.options import check_client_id

    if prefix is None:
        return None
    check_client_id(prefix, "--client-id")
    if len(prefix) > CLIENT_PREFIX_MAX:
        raise UsageError(
            f"--client-id {prefix!r} is {len(prefix)} characters; in bulk it is a prefix of "
            f"at most {CLIENT_PREFIX_MAX}, as clicksms adds the job and row to it"
        )
    return prefix


def check_results_path(path: Path | None, source: str | None) -> None:
    """--results must be writable, and not the input, before anything is sent."""
    if path is None:
        return
    if source not in (None, "-") and path.resolve() == Path(source).resolve():
        raise UsageError(f"--results {path} is the input file: choose another name")
    from clicksms.private_files import open_private

    try:
        with open_private(path, "a"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write --results {path}: {exc.strerror}") from None


# ------------------------------------------------------------------------------- sending
def _send(
    journal: Journal,
    job: Job,
    account: GatewayClient,
    plan: SendPlan,
    run: RunOptions,
    on_event: EventSink,
) -> BulkOutcome:
    """Send the job's pending rows, settle what is left in flight, and record how it ended."""
    from clicksms.bulk.concurrency import AdaptiveConcurrency, Concurrency, FixedConcurrency
    from clicksms.bulk.journal import JOB_DONE, JOB_INTERRUPTED, JOB_STOPPED
    from clicksms.bulk.outcome import BulkOutcome, JobResults, Stop, StopReason
    from clicksms.bulk.ratelimit import PACE, RateLimiter
    from clicksms.bulk.sender import BulkSender, reconcile

    results = JobResults(journal, job.id)
    on_event(JobRunning(job.id, results))
    try:
        account.ready()  # a failure here has sent nothing
        plan.requests.open(account)  # --batch: startbatch (nor has this sent a message)
    except BaseException:
        journal.set_state(job.id, JOB_STOPPED)
        on_event(Resumable(job.id))
        raise
    _keep(journal, job, plan)
    todo = journal.summary(job.id).pending
    # Only now, with everything a request needs built: the limiter's first slot is a request
    # that leaves at once, not one that waits for zeep while the slots after it are handed out.
    limiter = RateLimiter(run.rate) if run.rate > 0 else None
    if run.concurrency is None:  # aiming at what the limiter lets through, not above it
        concurrency: Concurrency = AdaptiveConcurrency(run.rate * PACE if run.rate else None)
    else:
        concurrency = FixedConcurrency(run.concurrency)
    on_event(SendingStarted(todo))
    try:
        sender = BulkSender(
            journal,
            job,
            account,
            plan,
            concurrency=concurrency,
            limiter=limiter,
            wait_on_limit=run.wait_on_limit,
            on_event=on_event,
        )
        ran = sender.run()
    finally:
        on_event(SendingEnded())
        _keep(journal, job, plan)  # a batch renewed while sending
    stop = ran.stop
    broken = (StopReason.NETWORK, StopReason.AUTH, StopReason.INTERRUPTED)
    if stop is None or stop.reason not in broken:
        # answers we could not read, by client ID
        checked = reconcile(journal, job, account, on_event)
        on_event(_checked(checked, at_resume=False))
        if checked.failure is not None:
            stop = Stop(StopReason.NETWORK, str(checked.failure))
    summary = journal.summary(job.id)
    if summary.pending == 0:
        plan.requests.close(account)  # --batch: endbatch, the job needs its batch no more
        _keep(journal, job, plan)
        state = JOB_DONE
    elif stop is not None and stop.reason is StopReason.INTERRUPTED:
        state = JOB_INTERRUPTED
    else:
        state = JOB_STOPPED
    journal.set_state(job.id, state)
    return BulkOutcome(
        job_id=job.id,
        summary=replace(summary, state=state),
        stop=stop,
        parts=ran.parts,
        strangers=ran.strangers,
        rows=results,
        concurrency=ran.peak_in_flight,
    )


def _send_plan(
    job: Job,
    stored: dict[str, Any],
    messages: MessageCache,
    options: SendOptions,
    account: GatewayClient,
) -> SendPlan:
    """How the job's requests go out: one sendmsg each, or (``--batch``) items of a batch."""
    from clicksms.bulk.requests import Sendmsg
    from clicksms.bulk.sender import SendPlan

    sender = stored["sender"]
    requests: Requests = Sendmsg(sender, options)
    if stored.get("batch"):
        requests = _batch_requests(job, stored, messages, options, account)
    return SendPlan(
        sender=sender,
        options=options,
        messages=messages,
        requests=requests,
        client_id_prefix=stored["client_id_prefix"] or "",
    )


def _batch_requests(
    job: Job,
    stored: dict[str, Any],
    messages: MessageCache,
    options: SendOptions,
    account: GatewayClient,
) -> Requests:
    from clicksms.bulk.batch import BatchRequests, batch_client_id, batch_layout
    from clicksms.bulk.template import Template

    template = Template(stored["template"])
    static = messages.get(template.render({})) if template.is_static else None
    if isinstance(static, str):  # checked when the job started; only a changed rule gets here
        raise UsageError(static)
    layout = batch_layout(template, stored["unicode"], account.settings.soap_style, static)
    return BatchRequests(
        layout,
        stored["sender"],
        options,
        messages,
        client_id=batch_client_id(job) or "",
        most_parts=stored.get("most_parts") or 1,
        kept=stored.get("open_batch"),
    )


def _keep(journal: Journal, job: Job, plan: SendPlan) -> None:
    """Record what the job's requests keep between runs (``--batch``: the open batch)."""
    kept = plan.requests.kept()
    if kept:
        journal.update_options(job.id, kept)


def _checked(checked: Reconciled, *, at_resume: bool) -> InFlightChecked:
    return InFlightChecked(
        checked.found, checked.released, checked.unknown, checked.in_doubt, at_resume
    )


# -------------------------------------------------------------------------------- helpers
def _job_row(planned: PlannedRow) -> JobRow:
    """How a planned row is recorded; a skipped row's ``error_code`` says why."""
    from clicksms.bulk.journal import ROW_PENDING, ROW_SKIPPED, JobRow
    from clicksms.bulk.plan import DUPLICATE, SEND

    if planned.status == SEND:
        return JobRow(planned.row, planned.number, planned.text, ROW_PENDING, input=planned.input)
    reason = DUPLICATE if planned.status == DUPLICATE else "invalid"  # why it was skipped
    return JobRow(
        planned.row,
        planned.number,
        planned.text,
        ROW_SKIPPED,
        error_code=reason,
        error=planned.error,
        input=planned.input,
    )


def file_label(file: str) -> str:
    """How a job records its file: the absolute path (``-`` for stdin)."""
    return file if file == "-" else str(Path(file).resolve())


def _recorded_identity(stored: dict[str, Any]) -> dict[str, str] | None:
    """The identity a job recorded; jobs from before RPC/Encoded all used Document/Literal."""
    recorded = stored.get("gateway")
    return None if recorded is None else {"soap_style": "document", **recorded}


def _gateway_identity(account: GatewayClient) -> dict[str, str]:
    """Where, how and as whom a job sends: a resume elsewhere could not find its messages.

    Session or per-request credentials may change between runs (the account does not).
    """
    settings = account.settings
    return {
        "endpoint": settings.endpoint,
        "soap_style": settings.soap_style,
        "api_id": str(settings.api_id or ""),
        "user": str(settings.user or ""),
    }
