"""One ``clicksms bulk`` invocation: check everything, plan the job, send it, report.

The order matters for "never lose, never duplicate": every flag, the template and the CSV
header are checked before a job exists; every row is in the journal before the first request;
and a resumed job settles the rows left in flight before it sends anything else.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clicksms.cli.render import OutputFormat, note, warn
from clicksms.errors import ExitCode, Interrupted, UsageError, counts_exit_code

if TYPE_CHECKING:
    from collections.abc import Callable

    from clicksms.bulk.journal import Job, JobRow, Journal
    from clicksms.bulk.plan import MessageCache, PlannedRow
    from clicksms.bulk.sender import RunResult, SendPlan
    from clicksms.cli.context import Invocation
    from clicksms.message.options import SendOptions

CLIENT_PREFIX_MAX = 15  # 32 minus the 17 characters a job ID and row number can take
RESULT_KEYS = ("row", "to", "ok", "status", "message_id", "client_id", "error_code", "error")
TABLE_ROWS_WHEN_ALL_OK = 20  # more accepted rows than this: the table shows failures only
TABLE_ROWS_MAX = 100  # a terminal is not the place for a million rows: -o json / --results


@dataclass(frozen=True)
class BulkRequest:
    """Every flag of ``clicksms bulk``, as given."""

    file: str | None
    text: str | None
    template_file: str | None
    number_column: str | None
    encoding: str | None
    country: str | None
    allow_duplicates: bool
    sender: str | None
    unicode: str
    max_parts: int | None
    flash: bool
    msg_type: str | None
    deliver_in: str | None
    deliver_at: str | None
    validity: str | None
    client_id_prefix: str | None
    callback: str | None
    delivery_ack: bool
    max_credits: str | None
    queue: int | None
    escalate: bool
    mo: bool
    concurrency: int
    rate: float
    wait_on_limit: bool
    dry_run: bool
    resume: str | None
    journal: Path | None
    results: Path | None
    output: OutputFormat


def run_bulk(rt: Invocation, request: BulkRequest) -> int:
    """Run the job the flags describe; returns the exit code (rows are printed first)."""
    if request.resume is not None:
        return _resume(rt, request)
    return _start(rt, request)


# ------------------------------------------------------------------------------- new jobs
def _start(rt: Invocation, request: BulkRequest) -> int:
    from clicksms.bulk.plan import MessageCache, Planner
    from clicksms.bulk.source import CsvSource
    from clicksms.bulk.template import load_template

    template = load_template(request.text, request.template_file)
    options = _send_options(request)
    if options.deliv_time:
        from clicksms.message.schedule import describe_delay

        note(f"Scheduled: Clickatell delivers {describe_delay(options.deliv_time)}.")
    sender = _sender(request.sender)
    prefix = _client_prefix(request.client_id_prefix)
    country = rt.country(request.country)
    messages = MessageCache(request.unicode, options)
    if template.is_static:  # one text for every row: a bad one is a usage error, not N rows
        problem = messages.get(template.render({}))
        if isinstance(problem, str):
            raise UsageError(problem)
    with CsvSource(
        request.file or "-", encoding=request.encoding, number_column=request.number_column
    ) as source:
        if not source.columns:
            raise UsageError(f"{source.name} has no data rows")
        template.check(source.columns)
        _announce(source)
        planner = Planner(source, template, country, messages, request.allow_duplicates)
        if request.dry_run:
            return _dry_run(rt, planner, request.output)
        _check_results_path(request.results, request.file)
        rt.account().session()  # bad settings or credentials stop us before a job exists
        journal = _open_journal(rt, request.journal)
        stored = {
            "template": template.text,
            "sender": sender,
            "unicode": request.unicode,
            "send_options": asdict(options),
            "client_id_prefix": prefix,
            "country": country,
            "gateway": _gateway_identity(rt),
            "loaded": False,  # until every row is recorded: a partial job must not resume
        }
        job = journal.create_job(_file_label(request.file or "-"), stored)
        try:
            added = journal.add_rows(job.id, (_job_row(p) for p in planner.rows()))
        except BaseException:
            journal.forget(job.id)  # nothing was sent: a half-read file is not a job
            raise
        if added == 0:
            journal.forget(job.id)
            raise UsageError(f"{source.name} has no data rows")
        journal.update_options(job.id, {"loaded": True})
    note(f"Job {job.id}: {added} row(s) recorded (journal {journal.path}).")
    plan = _plan(stored, messages, options)
    return _send_and_report(rt, journal, job, plan, request)


def _announce(source: Any) -> None:
    names = {",": "comma", ";": "semicolon", "\t": "tab"}
    layout = "with a header row" if source.header is not None else "without a header row"
    how = "detected; choose with --number-column" if source.number_column_guessed else "chosen"
    note(
        f"Reading {source.name}: {names.get(source.delimiter, repr(source.delimiter))}-separated, "
        f"{layout}; numbers in column {source.number_column!r} ({how})."
    )


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


def _file_label(file: str) -> str:
    return file if file == "-" else str(Path(file).resolve())


# ---------------------------------------------------------------------------- resumed jobs
def _resume(rt: Invocation, request: BulkRequest) -> int:
    from clicksms.bulk.journal import JOB_STOPPED
    from clicksms.bulk.plan import MessageCache
    from clicksms.bulk.sender import reconcile
    from clicksms.message.options import SendOptions

    _check_results_path(request.results, None)
    journal = _open_journal(rt, request.journal)
    job = journal.claim(request.resume or "")
    stored = job.options
    problem = None
    if not stored.get("loaded", True):
        problem = (
            f"job {job.id} was stopped while its file was still being read, so nothing was "
            f"sent: `clicksms jobs --forget {job.id}` and start it again"
        )
    elif stored.get("gateway") not in (None, _gateway_identity(rt)):
        was = stored["gateway"]
        problem = (
            f"job {job.id} was started as {was['user']} (api_id {was['api_id']}) at "
            f"{was['endpoint']}: resume it with the same settings, or its rows could be sent twice"
        )
    if problem is not None:
        journal.set_state(job.id, JOB_STOPPED)
        raise UsageError(problem)
    options = SendOptions(**stored["send_options"])
    messages = MessageCache(stored["unicode"], options)
    account = rt.account()
    checked = reconcile(journal, job, account)
    _say_reconciled(checked)
    if checked.failure is not None:
        journal.set_state(job.id, JOB_STOPPED)
        _resume_hint(rt, job)
        raise checked.failure
    return _send_and_report(rt, journal, job, _plan(stored, messages, options), request)


def _say_reconciled(checked: Any) -> None:
    total = checked.found + checked.released + checked.unknown + checked.in_doubt
    if not total:
        return
    note(
        f"Checked {total} row(s) left in flight: {checked.found} had reached the gateway, "
        f"{checked.released} had not (it does not know their client message IDs) and will be "
        f"sent now, {checked.unknown} are unknown (their request arrived, its answer was lost), "
        f"{checked.in_doubt} are not known yet and stay for a later resume."
    )


def _gateway_identity(rt: Invocation) -> dict[str, str]:
    """Where and as whom a job sends: a resume elsewhere could not find its messages."""
    settings = rt.settings()
    return {
        "endpoint": settings.endpoint,
        "api_id": str(settings.api_id or ""),
        "user": str(settings.user or ""),
    }


def _check_results_path(path: Path | None, source: str | None) -> None:
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
def _plan(stored: dict[str, Any], messages: MessageCache, options: SendOptions) -> SendPlan:
    from clicksms.bulk.sender import SendPlan

    return SendPlan(
        sender=stored["sender"],
        options=options,
        messages=messages,
        client_id_prefix=stored["client_id_prefix"] or "",
    )


def _send_and_report(
    rt: Invocation, journal: Journal, job: Job, plan: SendPlan, request: BulkRequest
) -> int:
    from clicksms.bulk.journal import JOB_DONE, JOB_INTERRUPTED, JOB_STOPPED
    from clicksms.bulk.ratelimit import RateLimiter
    from clicksms.bulk.sender import (
        STOP_AUTH,
        STOP_INTERRUPTED,
        STOP_NETWORK,
        BulkSender,
        reconcile,
    )

    account = rt.account()
    try:
        account.session()  # log in first: a failure here has sent nothing
    except BaseException:
        journal.set_state(job.id, JOB_STOPPED)
        _resume_hint(rt, job)
        raise
    todo = journal.summary(job.id).pending
    limiter = RateLimiter(request.rate) if request.rate > 0 else None
    with _progress(todo) as progress:
        sender = BulkSender(
            journal,
            job,
            account,
            plan,
            concurrency=request.concurrency,
            limiter=limiter,
            wait_on_limit=request.wait_on_limit,
            on_progress=progress,
        )
        outcome = sender.run()
    if outcome.stop not in (STOP_NETWORK, STOP_AUTH, STOP_INTERRUPTED):
        checked = reconcile(journal, job, account)  # answers we could not read, by client ID
        if checked.failure is not None:
            outcome.stop, outcome.reason = STOP_NETWORK, str(checked.failure)
    summary = journal.summary(job.id)
    if summary.pending == 0:
        journal.set_state(job.id, JOB_DONE)
    else:
        interrupted = outcome.stop == STOP_INTERRUPTED
        journal.set_state(job.id, JOB_INTERRUPTED if interrupted else JOB_STOPPED)
    _report(rt, journal, job, request, outcome)
    return _exit_code(journal, job, outcome)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int, int], None]]:
    """A live bar on stderr when it is a terminal; nothing at all in cron or a pipe."""
    if not sys.stderr.isatty():
        yield lambda sent, failed: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed · {task.fields[rate]} msg/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Sending", total=total, failed=0, rate="-")
        started = time.monotonic()

        def update(sent: int, failed: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = f"{(sent + failed) / elapsed:.0f}"
            bar.update(task, completed=sent + failed, failed=failed, rate=rate)

        yield update


# ------------------------------------------------------------------------------- results
def _result_rows(
    journal: Journal, job: Job, failures_first: bool = False, with_sent: bool = True
) -> Iterator[dict]:
    """Result rows in row order, or the rows not sent first; ``with_sent=False`` leaves out
    the sent ones, which SQLite then skips without handing them to Python."""
    from clicksms.bulk.journal import ROW_DONE, ROW_STATES

    if not failures_first and with_sent:
        yield from (_result(r) for r in journal.rows(job.id))
        return
    not_sent = [state for state in ROW_STATES if state != ROW_DONE]
    yield from (_result(r) for r in journal.rows(job.id, not_sent))
    if with_sent:
        yield from (_result(r) for r in journal.rows(job.id, [ROW_DONE]))


def _result(row: JobRow) -> dict[str, Any]:
    """A journal row in ``send``'s result shape, plus its CSV row number."""
    from clicksms.bulk.journal import ROW_DONE, ROW_FAILED, ROW_IN_FLIGHT, ROW_PENDING
    from clicksms.bulk.plan import DUPLICATE
    from clicksms.send import ACCEPTED, INVALID, NOT_SENT, REJECTED, UNKNOWN

    code, error = row.error_code, row.error
    if row.state == ROW_DONE:
        status = ACCEPTED
    elif row.state == ROW_FAILED:
        status = REJECTED if code else UNKNOWN  # no gateway code: reconciled, outcome unknown
    elif row.state == ROW_PENDING:
        status, error = NOT_SENT, error or "not sent yet: resume the job to send it"
    elif row.state == ROW_IN_FLIGHT:
        status = UNKNOWN
        error = "in flight when the run stopped: resuming checks it with the gateway first"
    else:  # skipped: error_code says why (see _job_row)
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


def _report(
    rt: Invocation, journal: Journal, job: Job, request: BulkRequest, outcome: RunResult
) -> None:
    from itertools import islice

    from clicksms.cli.render import (
        Column,
        emit,
        stdout_reader_may_leave,
        write_csv,
        write_json_rows,
    )
    from clicksms.cli.send import SEND_TABLE

    if request.results is not None:
        _write_results(journal, job, request.results)
    if request.output is not OutputFormat.table:
        write = write_json_rows if request.output is OutputFormat.json else write_csv
        with stdout_reader_may_leave():
            write(_result_rows(journal, job), RESULT_KEYS, sys.stdout)
            sys.stdout.flush()
    else:
        summary = journal.summary(job.id)
        show_all = summary.sent <= TABLE_ROWS_WHEN_ALL_OK
        wanted = _result_rows(journal, job, failures_first=True, with_sent=show_all)
        rows = list(islice(wanted, TABLE_ROWS_MAX + 1))
        if rows:
            emit(rows[:TABLE_ROWS_MAX], [Column("row", "Row"), *SEND_TABLE], OutputFormat.table)
        if len(rows) > TABLE_ROWS_MAX:
            note(f"Only the first {TABLE_ROWS_MAX} rows are shown: see -o json or --results.")
    _summary_line(rt, journal, job, outcome)


def _write_results(journal: Journal, job: Job, path: Path) -> None:
    from clicksms.cli.render import write_csv, write_json_rows
    from clicksms.private_files import open_private

    try:
        with open_private(path, "w") as stream:
            if path.suffix.lower() == ".json":
                write_json_rows(_result_rows(journal, job), RESULT_KEYS, stream)
            else:
                write_csv(_result_rows(journal, job), RESULT_KEYS, stream)
    except OSError as exc:  # checked before sending; the send's own exit code still stands
        warn(f"could not write --results {path}: {exc.strerror}")
        return
    note(f"Results written to {path}.")


def _summary_line(rt: Invocation, journal: Journal, job: Job, outcome: RunResult) -> None:
    s = journal.summary(job.id)
    parts = f"; {outcome.parts} part(s) sent in this run" if outcome.parts else ""
    unknown = (
        f", {s.unknown} unknown (their request arrived but its answer was lost: they may have "
        "been sent, so check before resending)"
        if s.unknown
        else ""
    )
    note(
        f"Job {job.id}: {s.sent} sent, {s.failed} failed, {s.skipped} skipped "
        f"(invalid or duplicate), {s.pending} not sent yet{unknown}{parts}."
    )
    if s.pending:
        if outcome.reason:
            note(f"Stopped: {outcome.reason}.")
        _resume_hint(rt, job)


def _resume_hint(rt: Invocation, job: Job) -> None:
    if rt.use_sandbox:
        note("The --sandbox journal is thrown away on exit: this job cannot be resumed.")
    else:
        note(f"Resume with: clicksms bulk --resume {job.id}")


def _exit_code(journal: Journal, job: Job, outcome: RunResult) -> int:
    from clicksms.bulk.sender import STOP_AUTH, STOP_INTERRUPTED, STOP_NETWORK

    if outcome.stop == STOP_INTERRUPTED:
        return Interrupted.exit_code
    if outcome.stop == STOP_NETWORK:
        return ExitCode.NETWORK
    if outcome.stop == STOP_AUTH:
        return ExitCode.AUTH
    s = journal.summary(job.id)
    if s.unknown:  # as for send: rows that may have been sent are worth a look first
        return ExitCode.NETWORK
    return counts_exit_code(s.sent, s.failed + s.skipped + s.pending)


# -------------------------------------------------------------------------------- helpers
def _send_options(request: BulkRequest) -> SendOptions:
    from clicksms.message.options import (
        SendOptions,
        check_msg_type,
        parse_callback,
        parse_max_credits,
    )
    from clicksms.message.schedule import delivery_delay, validity_minutes

    return SendOptions(
        msg_type=check_msg_type(request.msg_type, request.flash),
        deliv_time=delivery_delay(request.deliver_in, request.deliver_at),
        validity=validity_minutes(request.validity),
        callback=parse_callback(request.callback),
        delivery_ack=request.delivery_ack,
        max_credits=parse_max_credits(request.max_credits),
        queue=request.queue,
        escalate=request.escalate,
        mo=request.mo,
        max_parts=request.max_parts,
    )


def _sender(sender: str | None) -> str | None:
    from clicksms.send import check_sender

    return check_sender(sender)


def _client_prefix(prefix: str | None) -> str | None:
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


def _open_journal(rt: Invocation, path: Path | None) -> Journal:
    from clicksms.bulk.journal import Journal, default_journal_path

    if path is None:
        path = default_journal_path(rt.config_dir())
    return Journal(path)


def _dry_run(rt: Invocation, planner: Any, output: OutputFormat) -> int:
    from clicksms.bulk.dry_run import dry_run

    return dry_run(rt, planner, output)
