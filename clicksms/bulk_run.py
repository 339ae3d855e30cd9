"""One ``clicksms bulk`` invocation: check everything, plan the job, send it, report.

The order matters for "never lose, never duplicate": every flag, the template and the CSV
header are checked before a job exists; every row is in the journal before the first request;
and a resumed job settles the rows left in flight before it sends anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clicksms.errors import ExitCode, Interrupted, UsageError, outcome_exit_code
from clicksms.render import OutputFormat, note

if TYPE_CHECKING:
    from collections.abc import Callable

    from clicksms.bulk_plan import MessageCache, PlannedRow
    from clicksms.bulk_send import RunResult, SendPlan
    from clicksms.journal import Job, JobRow, Journal
    from clicksms.options import SendOptions
    from clicksms.runtime import Runtime

CLIENT_PREFIX_MAX = 15  # 32 minus the 17 characters a job ID and row number can take
RESULT_KEYS = ("row", "to", "ok", "status", "message_id", "error_code", "error")
TABLE_ROWS_WHEN_ALL_OK = 20  # more accepted rows than this: the table shows failures only


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


def run_bulk(rt: Runtime, request: BulkRequest) -> int:
    """Run the job the flags describe; returns the exit code (rows are printed first)."""
    if request.resume is not None:
        return _resume(rt, request)
    return _start(rt, request)


# ------------------------------------------------------------------------------- new jobs
def _start(rt: Runtime, request: BulkRequest) -> int:
    from clicksms.bulk_plan import MessageCache, Planner
    from clicksms.csvsource import CsvSource
    from clicksms.template import load_template

    template = load_template(request.text, request.template_file)
    options = _send_options(request)
    if options.deliv_time:
        from clicksms.schedule import describe_delay

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
        rt.settings()  # a bad setting stops us before a job exists
        journal = _open_journal(rt, request.journal)
        stored = {
            "template": template.text,
            "sender": sender,
            "unicode": request.unicode,
            "send_options": asdict(options),
            "client_id_prefix": prefix,
            "country": country,
        }
        job = journal.create_job(_file_label(request.file or "-"), stored)
        note(f"Job {job.id} (journal {journal.path}).")
        try:
            added = journal.add_rows(job.id, (_job_row(p) for p in planner.rows()))
        except BaseException:
            journal.forget(job.id)  # nothing was sent: a half-read file is not a job
            raise
    if added == 0:
        journal.forget(job.id)
        raise UsageError(f"{source.name} has no data rows")
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
    """How a planned row is recorded; a duplicate keeps its number but no text."""
    from clicksms.bulk_plan import DUPLICATE, SEND
    from clicksms.journal import ROW_PENDING, ROW_SKIPPED, JobRow

    if planned.status == SEND:
        return JobRow(planned.row, planned.number, planned.text, ROW_PENDING, input=planned.input)
    text = None if planned.status == DUPLICATE else planned.text
    return JobRow(
        planned.row, planned.number, text, ROW_SKIPPED, error=planned.error, input=planned.input
    )


def _file_label(file: str) -> str:
    return file if file == "-" else str(Path(file).resolve())


# ---------------------------------------------------------------------------- resumed jobs
def _resume(rt: Runtime, request: BulkRequest) -> int:
    from clicksms.bulk_plan import MessageCache
    from clicksms.bulk_send import reconcile
    from clicksms.options import SendOptions

    journal = _open_journal(rt, request.journal)
    job = journal.claim(request.resume or "")
    stored = job.options
    options = SendOptions(**stored["send_options"])
    messages = MessageCache(stored["unicode"], options)
    account = rt.account()
    found, released = reconcile(journal, job, account)
    if found or released:
        note(
            f"Checked {found + released} row(s) left in flight: {found} had reached the gateway, "
            f"{released} had not and will be sent now."
        )
    return _send_and_report(rt, journal, job, _plan(stored, messages, options), request)


# ------------------------------------------------------------------------------- sending
def _plan(stored: dict[str, Any], messages: MessageCache, options: SendOptions) -> SendPlan:
    from clicksms.bulk_send import SendPlan

    return SendPlan(
        sender=stored["sender"],
        options=options,
        messages=messages,
        client_id_prefix=stored["client_id_prefix"] or "",
    )


def _send_and_report(
    rt: Runtime, journal: Journal, job: Job, plan: SendPlan, request: BulkRequest
) -> int:
    from clicksms.bulk_send import STOP_AUTH, STOP_INTERRUPTED, STOP_NETWORK, BulkSender, reconcile
    from clicksms.journal import JOB_DONE, JOB_INTERRUPTED, JOB_STOPPED
    from clicksms.ratelimit import RateLimiter

    account = rt.account()
    try:
        account.session()  # log in first: a failure here has sent nothing
    except BaseException:
        journal.set_state(job.id, JOB_STOPPED)
        _resume_hint(job)
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
        reconcile(journal, job, account)  # answers we could not read, asked about by ID
    summary = journal.summary(job.id)
    if summary.pending == 0:
        journal.set_state(job.id, JOB_DONE)
    else:
        interrupted = outcome.stop == STOP_INTERRUPTED
        journal.set_state(job.id, JOB_INTERRUPTED if interrupted else JOB_STOPPED)
    _report(journal, job, request, outcome)
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
        TextColumn("{task.fields[failed]} failed · {task.speed:>5.0f} msg/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Sending", total=total, failed=0)

        def update(sent: int, failed: int) -> None:
            bar.update(task, completed=sent + failed, failed=failed)

        yield update


# ------------------------------------------------------------------------------- results
def _result_rows(journal: Journal, job: Job, failures_first: bool = False) -> Iterator[dict]:
    from clicksms.journal import ROW_DONE

    if not failures_first:
        yield from (_result(r) for r in journal.rows(job.id))
        return
    yield from (_result(r) for r in journal.rows(job.id) if r.state != ROW_DONE)
    yield from (_result(r) for r in journal.rows(job.id, [ROW_DONE]))


def _result(row: JobRow) -> dict[str, Any]:
    """A journal row in ``send``'s result shape, plus its CSV row number."""
    from clicksms.journal import ROW_DONE, ROW_FAILED, ROW_IN_FLIGHT, ROW_PENDING

    if row.state == ROW_DONE:
        status = "accepted"
    elif row.state == ROW_FAILED:
        status = "rejected"
    elif row.state == ROW_PENDING:
        status = "not_sent"
    elif row.state == ROW_IN_FLIGHT:
        status = "unknown"
    elif row.number is not None and row.text is None:
        status = "duplicate"
    else:
        status = "invalid"
    return {
        "row": row.row,
        "to": row.number or row.input,
        "ok": row.state == ROW_DONE,
        "status": status,
        "message_id": row.message_id,
        "error_code": row.error_code,
        "error": row.error,
    }


def _report(journal: Journal, job: Job, request: BulkRequest, outcome: RunResult) -> None:
    from clicksms.commands.send import SEND_TABLE
    from clicksms.render import Column, emit, write_csv, write_json_rows

    if request.results is not None:
        _write_results(journal, job, request.results)
    if request.output is OutputFormat.json:
        write_json_rows(_result_rows(journal, job), RESULT_KEYS, sys.stdout)
    elif request.output is OutputFormat.csv:
        write_csv(_result_rows(journal, job), RESULT_KEYS, sys.stdout)
    else:
        summary = journal.summary(job.id)
        show_all = summary.sent <= TABLE_ROWS_WHEN_ALL_OK
        rows = [
            r for r in _result_rows(journal, job, failures_first=True) if show_all or not r["ok"]
        ]
        if rows:
            emit(rows, [Column("row", "Row"), *SEND_TABLE], OutputFormat.table)
    _summary_line(journal, job, outcome)


def _write_results(journal: Journal, job: Job, path: Path) -> None:
    from clicksms.render import write_csv, write_json_rows

    try:
        with path.open("w", encoding="utf-8", newline="") as stream:
            if path.suffix.lower() == ".json":
                write_json_rows(_result_rows(journal, job), RESULT_KEYS, stream)
            else:
                write_csv(_result_rows(journal, job), RESULT_KEYS, stream)
    except OSError as exc:
        raise UsageError(f"cannot write --results {path}: {exc.strerror}") from None
    note(f"Results written to {path}.")


def _summary_line(journal: Journal, job: Job, outcome: RunResult) -> None:
    s = journal.summary(job.id)
    parts = f"; {outcome.parts} part(s) sent in this run" if outcome.parts else ""
    note(
        f"Job {job.id}: {s.sent} sent, {s.failed} failed, {s.skipped} skipped "
        f"(invalid or duplicate), {s.pending} not sent yet{parts}."
    )
    if s.pending:
        if outcome.reason:
            note(f"Stopped: {outcome.reason}.")
        _resume_hint(job)


def _resume_hint(job: Job) -> None:
    note(f"Resume with: clicksms bulk --resume {job.id}")


def _exit_code(journal: Journal, job: Job, outcome: RunResult) -> int:
    from clicksms.bulk_send import STOP_AUTH, STOP_INTERRUPTED, STOP_NETWORK

    if outcome.stop == STOP_INTERRUPTED:
        return Interrupted.exit_code
    if outcome.stop == STOP_NETWORK:
        return ExitCode.NETWORK
    if outcome.stop == STOP_AUTH:
        return ExitCode.AUTH
    s = journal.summary(job.id)
    oks = [True] * s.sent + [False] * (s.failed + s.skipped + s.pending)
    return outcome_exit_code(oks)


# -------------------------------------------------------------------------------- helpers
def _send_options(request: BulkRequest) -> SendOptions:
    from clicksms.options import SendOptions, check_msg_type, parse_callback, parse_max_credits
    from clicksms.schedule import delivery_delay, validity_minutes

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
    from clicksms.options import check_client_id

    if prefix is None:
        return None
    check_client_id(prefix, "--client-id")
    if len(prefix) > CLIENT_PREFIX_MAX:
        raise UsageError(
            f"--client-id {prefix!r} is {len(prefix)} characters; in bulk it is a prefix of "
            f"at most {CLIENT_PREFIX_MAX}, as clicksms adds the job and row to it"
        )
    return prefix


def _open_journal(rt: Runtime, path: Path | None) -> Journal:
    from clicksms.config import resolve_config_dir
    from clicksms.journal import Journal, default_journal_path

    if path is None:
        config_dir = rt.settings().config_dir if rt.use_sandbox else resolve_config_dir()
        path = default_journal_path(Path(config_dir))
    return Journal(path)


def _dry_run(rt: Runtime, planner: Any, output: OutputFormat) -> int:
    from clicksms.bulk_dry_run import dry_run

    return dry_run(rt, planner, output)
