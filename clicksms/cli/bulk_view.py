"""What ``clicksms bulk`` shows: its events as notes and a progress bar, then its outcome.

The job itself (:mod:`clicksms.bulk.job`) prints nothing; it hands events to
:class:`BulkView` while it runs and returns a :class:`~clicksms.bulk.outcome.BulkOutcome`,
which :func:`show_outcome` turns into the result table (or JSON/CSV rows), the ``--results``
file and the summary line. Notes and the bar go to stderr, rows to stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clicksms.bulk.events import (
    BulkEvent,
    InFlightChecked,
    JobRecorded,
    JobRunning,
    Progress,
    ReadingFile,
    Resumable,
    Resuming,
    SendingEnded,
    SendingStarted,
    StopRequested,
    StrangerAnswers,
    WaitingForGateway,
    WaitingForLimit,
)
from clicksms.bulk.outcome import RESULT_KEYS, StopReason
from clicksms.cli.render import (
    ROW_WRITERS,
    Column,
    OutputFormat,
    credits_value,
    emit,
    emit_object,
    is_quiet,
    note,
    stdout_reader_may_leave,
    warn,
)

if TYPE_CHECKING:
    from clicksms.bulk.dry_run import DryRun
    from clicksms.bulk.journal import JobSummary
    from clicksms.bulk.outcome import BulkOutcome, JobResults, Stop

TABLE_ROWS_WHEN_ALL_OK = 20  # more accepted rows than this: the table shows failures only
TABLE_ROWS_MAX = 100  # a terminal is not the place for a million rows: -o json / --results
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
PROBLEM_COLUMNS = [
    Column("row", "Row"),
    Column("input", "Number"),
    Column("status", "Skipped because", wrap=False),
    Column("error", "Error", wrap=True),
]


class BulkView:
    """The events of one run, drawn on stderr; a ``with`` block closes the bar whatever
    ends the run.

    It keeps the job's live rows (:class:`~clicksms.bulk.events.JobRunning`) and whether
    sending began, so that a run broken off by an exception (a second Ctrl-C) still shows
    the rows known so far, the summary and the resume line (:func:`show_broken_off`).
    """

    def __init__(self, use_sandbox: bool) -> None:
        self.use_sandbox = use_sandbox
        self.job_id: str | None = None  # once the job exists (recorded, or claimed to resume)
        self.results: JobResults | None = None
        self.sending = False  # rows began to go out: what is known is worth showing
        self.resume_hinted = False
        self._bar: _Bar | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            ReadingFile: self._reading,
            JobRecorded: self._recorded,
            Resuming: self._resuming,
            JobRunning: self._running,
            InFlightChecked: self._checked,
            SendingStarted: self._started,
            Progress: self._progress,
            SendingEnded: self._ended,
            StopRequested: self._stopping,
            WaitingForLimit: self._waiting,
            WaitingForGateway: self._letting_the_gateway_learn,
            StrangerAnswers: self._strangers,
            Resumable: self._resumable,
        }

    def __call__(self, event: BulkEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def __enter__(self) -> BulkView:
        return self

    def __exit__(self, *exc: object) -> None:
        self._ended(SendingEnded())

    def resume_hint(self, job_id: str) -> None:
        """How to finish the job: shown even with ``-q``, as what to do after a failure."""
        if self.resume_hinted:
            return
        self.resume_hinted = True
        if self.use_sandbox:
            note("The --sandbox journal is thrown away on exit: this job cannot be resumed.")
        else:
            sys.stderr.write(f"Resume with: clicksms bulk --resume {job_id}\n")

    def _reading(self, event: ReadingFile) -> None:
        layout = "with a header row" if event.has_header else "without a header row"
        how = "detected; choose with --number-column" if event.column_guessed else "chosen"
        separated = _DELIMITERS.get(event.delimiter, repr(event.delimiter))
        note(
            f"Reading {event.name}: {separated}-separated, {layout}; numbers in column "
            f"{event.number_column!r} ({how})."
        )

    def _recorded(self, event: JobRecorded) -> None:
        self.job_id = event.job_id
        note(f"Job {event.job_id}: {event.rows} row(s) recorded (journal {event.journal}).")

    def _resuming(self, event: Resuming) -> None:
        self.job_id = event.job_id
        pace = f"at most {event.rate:g} msg/s" if event.rate else "no rate limit"
        note(
            f"Resuming job {event.job_id} ({event.file}): {event.pending} of {event.total} "
            f"row(s) left to send, {event.sent} sent before; {pace}."
        )

    def _running(self, event: JobRunning) -> None:
        self.results = event.results

    def _checked(self, event: InFlightChecked) -> None:
        total = event.found + event.released + event.unknown + event.in_doubt
        if not event.at_resume or not total:  # at the end of a run the summary says it
            return
        note(
            f"Checked {total} row(s) left in flight: {event.found} had reached the gateway, "
            f"{event.released} had not (it does not know their client message IDs) and will "
            f"be sent now, {event.unknown} are unknown (see the summary), {event.in_doubt} are "
            "not known yet and stay for a later resume."
        )

    def _started(self, event: SendingStarted) -> None:
        self.sending = True
        if sys.stderr.isatty() and not is_quiet():  # nothing at all in cron or a pipe
            self._bar = _Bar(event.todo)

    def _progress(self, event: Progress) -> None:
        if self._bar is not None:
            self._bar.update(event.sent, event.failed)

    def _ended(self, event: SendingEnded) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    def _stopping(self, event: StopRequested) -> None:
        if not event.in_flight:
            note("Stopping: no request is in flight.")
            return
        note(
            f"Stopping: waiting for {event.in_flight} request(s) in flight to finish; press "
            "Ctrl-C again to stop waiting (--resume then asks the gateway about them)."
        )

    def _waiting(self, event: WaitingForLimit) -> None:
        note(f"The account's MT limit is reached (ERR 130): waiting until {_when(event.until)}.")

    def _letting_the_gateway_learn(self, event: WaitingForGateway) -> None:
        note(
            f"Waiting {event.seconds} s before asking the gateway about {event.requests} "
            "request(s) left in flight: it may not know their client message IDs yet "
            "(CLICKSMS_QUERY_DELAY)."
        )

    def _strangers(self, event: StrangerAnswers) -> None:
        from clicksms.send import strangers_line

        warn(strangers_line(event.numbers))

    def _resumable(self, event: Resumable) -> None:
        self.resume_hint(event.job_id)


class _Bar:
    """A live, transient progress bar on stderr: sent of total, failed, rate, time left."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress

        console = Console(stderr=True)
        columns = bar_columns(console.width)
        self._bar = RichProgress(*columns, console=console, transient=True)
        self._bar.start()
        self._task = self._bar.add_task("Sending", total=total, failed=0, rate="-")
        self._started = time.monotonic()

    def update(self, sent: int, failed: int) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = f"{(sent + failed) / elapsed:.0f}"
        self._bar.update(self._task, completed=sent + failed, failed=failed, rate=rate)

    def close(self) -> None:
        self._bar.stop()


def bar_columns(width: int) -> tuple[Any, ...]:
    """The progress bar's columns for a terminal ``width`` wide: on a narrow one the figures
    stay whole, and the bar itself, then the time left, make room for them."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    figures = (
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed · {task.fields[rate]} msg/s"),
    )
    if width >= 80:
        return (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            *figures,
            TimeRemainingColumn(),
        )
    if width >= 56:
        return (*figures, TimeRemainingColumn())
    return figures


# ------------------------------------------------------------------------------- outcome
def show_outcome(
    outcome: BulkOutcome, output: OutputFormat, results: Path | None, view: BulkView
) -> None:
    """The rows (a table of those not sent, or every row as JSON/CSV), then the summary."""
    with whole_output():
        _show_rows(outcome.rows, outcome.summary.sent, output, results)
        in_flight = outcome.rows.in_flight() if outcome.stop is not None else 0
        _summary_line(
            outcome.job_id, outcome.summary, outcome, outcome.stop, view, in_flight=in_flight
        )


def show_broken_off(
    view: BulkView, output: OutputFormat, results: Path | None, exc: BaseException
) -> None:
    """A run broken off by an exception (Ctrl-C where it cannot wait, a journal that failed):
    the rows as the journal has them, the summary and the resume line, before the error line.

    No rows when none went out yet: the error line says it all, and after Ctrl-C (say while
    a resume asks the gateway about rows left in flight) the resume line says what next.
    """
    if view.results is None or not view.sending:
        if view.job_id is not None and isinstance(exc, KeyboardInterrupt):
            view.resume_hint(view.job_id)
        return
    with whole_output():
        try:
            summary = view.results.summary()
            in_flight = view.results.in_flight()
        except Exception:  # the journal itself is what failed: the error line says why
            view.resume_hint(view.results.job_id)
            return
        _show_rows(view.results, summary.sent, output, results)
        _summary_line(view.results.job_id, summary, None, None, view, in_flight=in_flight)


@contextmanager
def whole_output() -> Iterator[None]:
    """Once the run is over, Ctrl-C (or SIGTERM) must not cut its output short: JSON stays
    valid, CSV complete, and the summary and resume line are printed. The signals are held
    off until the output is written; the run they would stop has ended already."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _show_rows(rows: JobResults, sent: int, output: OutputFormat, results: Path | None) -> None:
    if results is not None:
        _write_results(rows, results)
    if is_quiet():
        return
    if output is not OutputFormat.table:
        with stdout_reader_may_leave():
            ROW_WRITERS[output](rows.all(), RESULT_KEYS, sys.stdout)
            sys.stdout.flush()
        return
    # Rows no request carried yet are counted by the summary line, not listed one by one.
    wanted = rows.not_sent_first(with_sent=sent <= TABLE_ROWS_WHEN_ALL_OK, with_pending=False)
    shown = list(islice(wanted, TABLE_ROWS_MAX + 1))
    if shown:
        from clicksms.bulk.sender import UNKNOWN_OUTCOME
        from clicksms.cli.send import SEND_TABLE, said_once

        for row in shown:  # the summary line says once what "unknown" means
            row["error"] = said_once(row["error"], UNKNOWN_OUTCOME)
        emit(shown[:TABLE_ROWS_MAX], [Column("row", "Row"), *SEND_TABLE], OutputFormat.table)
    if len(shown) > TABLE_ROWS_MAX:
        note(f"Only the first {TABLE_ROWS_MAX} rows are shown: see -o json or --results.")


def _write_results(rows: JobResults, path: Path) -> None:
    from clicksms.private_files import open_private

    try:
        with open_private(path, "w") as stream:
            write = ROW_WRITERS[OutputFormat(path.suffix.lower().lstrip("."))]
            write(rows.all(), RESULT_KEYS, stream)
    except OSError as exc:  # checked before sending; the send's own exit code still stands
        warn(f"could not write --results {path}: {exc.strerror}")
        return
    note(f"Results written to {path}.")


def _summary_line(
    job_id: str,
    s: JobSummary,
    outcome: BulkOutcome | None,
    stop: Stop | None,
    view: BulkView,
    in_flight: int = 0,
) -> None:
    parts = ""
    if outcome and outcome.parts:
        parts = (
            f"; {outcome.parts} part(s) sent in this run, with up to {outcome.concurrency} "
            "request(s) in flight at once"
        )
    unknown = f", {s.unknown} unknown ({UNKNOWN_MEANING})" if s.unknown else ""
    strangers = (
        f", {outcome.strangers} answer(s) for numbers it was not sent to (see above)"
        if outcome and outcome.strangers
        else ""
    )
    flying = (
        f" ({in_flight} of them in flight: --resume asks the gateway about them first)"
        if in_flight
        else ""
    )
    short = bool(s.failed or s.skipped or s.pending or s.unknown or strangers)
    note(
        f"Job {job_id}: {s.sent} sent, {s.failed} failed, {s.skipped} skipped "
        f"(invalid or duplicate), {s.pending} not sent yet{flying}{unknown}{strangers}{parts}.",
        failure=short,
    )
    if s.pending:
        if stop is not None and stop.reason is not StopReason.INTERRUPTED:  # the error line says so
            note(f"Stopped: {stop_sentence(stop)}.", failure=True)
        view.resume_hint(job_id)


#: What an ``unknown`` row means, said once, in the summary line.
UNKNOWN_MEANING = (
    "their request arrived but its answer was lost: they may have been sent, so check before "
    "resending"
)


def stop_sentence(stop: Stop) -> str:
    """Why a run stopped, as the summary's "Stopped: …" line says it."""
    if stop.reason is StopReason.CREDIT:
        return "no credit left (ERR 301)"
    if stop.reason is StopReason.GATEWAY:
        return stop.detail or "the gateway answered ERR 901 (internal error): try later"
    if stop.reason is StopReason.LIMIT:
        until = _when(stop.until) if stop.until is not None else "later"
        return f"the account's MT limit is reached until {until} (ERR 130)"
    return stop.detail or stop.reason.value  # network, auth: the failure's own line


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))


# ------------------------------------------------------------------------------- dry run
SAMPLE_COLUMNS = [
    Column("row", "Row"),
    Column("to", "To"),
    Column("encoding", "Encoding"),
    Column("parts", "Parts"),
    Column("text", "Message", wrap=True),
]


def show_dry_run(report: DryRun, output: OutputFormat) -> None:
    """The first messages as they would go out, the first problems, the rows that need UCS-2,
    then counts, encodings, parts and the estimated charge."""
    from clicksms.cli.preview import offline_note

    if report.offline is not None:
        note(offline_note(report.offline))
    plan, charge = report.plan, report.charge
    problems = [
        {"row": p.row, "input": p.input, "status": p.status, "error": p.error}
        for p in plan.problems
    ]
    samples = [
        {
            "row": p.row,
            "to": p.number,
            "text": p.text,
            "encoding": p.message.encoding if p.message else None,
            "parts": p.message.parts if p.message else None,
        }
        for p in plan.samples
    ]
    ucs2 = [{"row": row, "characters": chars} for row, chars in plan.ucs2_rows]
    if output is OutputFormat.table:
        _dry_run_table(report, samples, problems)
        return
    facts: dict[str, Any] = {
        "rows": plan.rows,
        "messages": plan.messages,
        "parts": plan.parts,
        "invalid": plan.invalid,
        "duplicates": plan.duplicates,
        "encodings": dict(plan.encodings),
        "charge": credits_value(charge.total) if charge else None,
        "not_covered": charge.not_covered if charge else None,
        "unestimated": charge.unestimated if charge else None,
        "samples": samples,
        "ucs2_rows": ucs2,
        "problems": problems,
    }
    if output is OutputFormat.csv:
        emit_object(_flat(facts), "", OutputFormat.csv)
    else:
        emit_object(facts, "", output)


def _dry_run_table(
    report: DryRun, samples: list[dict[str, Any]], problems: list[dict[str, Any]]
) -> None:
    from clicksms.cli.preview import charge_clause

    plan, charge = report.plan, report.charge
    if samples:
        first = "The first message" if len(samples) == 1 else f"The first {len(samples)} messages"
        emit(samples, SAMPLE_COLUMNS, OutputFormat.table, title=f"{first}, as they would go out:")
    if problems:
        emit(problems, PROBLEM_COLUMNS, OutputFormat.table, title="Rows that would be skipped:")
        hidden = plan.invalid + plan.duplicates - len(problems)
        if hidden > 0:
            note(f"… and {hidden} more skipped row(s) not shown.")
    if plan.ucs2_rows:
        needing = plan.encodings.get("UCS-2", 0)
        listed = ", ".join(
            f"{row} ({chars})" if chars else str(row) for row, chars in plan.ucs2_rows
        )
        more = f", … {needing - len(plan.ucs2_rows)} more" if needing > len(plan.ucs2_rows) else ""
        note(f"UCS-2 for {needing} row(s), because of the characters shown: {listed}{more}.")
    encodings = ", ".join(f"{n} {name}" for name, n in plan.encodings.most_common())
    cost = f", {charge_clause(charge)}" if charge is not None else ""
    uncovered = f", {charge.not_covered} not covered" if charge and charge.not_covered else ""
    note(
        f"Dry run, nothing sent: {plan.rows} row(s): {plan.messages} message(s) "
        f"({encodings or 'none'}), {plan.parts} part(s){cost}; "
        f"{plan.invalid} invalid, {plan.duplicates} duplicate{uncovered}."
    )


def _flat(facts: Mapping[str, Any]) -> dict[str, Any]:
    """One CSV row: the encodings become columns of their own, the lists are left out."""
    lists = ("encodings", "problems", "samples", "ucs2_rows")
    flat = {k: v for k, v in facts.items() if k not in lists}
    encodings: Iterable[tuple[str, int]] = facts["encodings"].items()
    for name, count in encodings:
        flat[f"encoding_{name}"] = count
    return flat
