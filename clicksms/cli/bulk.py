"""``clicksms bulk``: a CSV file of numbers, one message each, every row sent exactly once.

The flags become a :class:`~clicksms.bulk.job.NewJob` (or a job ID to resume) and
:class:`~clicksms.bulk.job.RunOptions`; the job runs in :mod:`clicksms.bulk.job`, and
:mod:`clicksms.cli.bulk_view` shows its events and its outcome.
"""

import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms.cli.completion import unfinished_jobs
from clicksms.cli.context import Invocation
from clicksms.cli.params import CountryOption, OutputOption, QuietOption
from clicksms.cli.render import OutputFormat, warn
from clicksms.cli.send import (
    BulkMsgTypeOption,
    CallbackOption,
    DeliverAtOption,
    DeliverInOption,
    DeliveryAckOption,
    EscalateOption,
    FlashOption,
    MaxCreditsOption,
    MaxPartsOption,
    MoOption,
    QueueOption,
    SenderOption,
    Unicode,
    UnicodeOption,
    ValidityOption,
    send_options,
)
from clicksms.errors import UsageError

if TYPE_CHECKING:
    from clicksms.bulk.job import NewJob
    from clicksms.bulk.journal import Journal


#: --results FILE: its format by its name.
RESULTS_SUFFIXES = (".csv", ".json", ".jsonl")


#: ``clicksms.bulk.concurrency.MAX_CONCURRENCY``, which a test checks it against: importing it
#: would load the bulk package whenever clicksms starts (completion, --help).
MAX_CONCURRENCY = 128


class OnLimit(str, Enum):
    stop = "stop"
    wait = "wait"


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
    batch: bool
    concurrency: int | None
    rate: float
    wait_on_limit: bool
    chosen: frozenset[str]  # of concurrency, rate and wait_on_limit: those given
    again: bool
    dry_run: bool
    resume: str | None
    journal: Path | None
    results: Path | None
    output: OutputFormat


def bulk(
    ctx: typer.Context,
    file: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Argument(
            metavar="FILE.csv", help="CSV file of numbers ('-' reads stdin).", show_default=False
        ),
    ] = None,
    text: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--text", "-t", help="Message template; {column} is filled from each row."),
    ] = None,
    template_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--template-file", help="Read the message template from this file."),
    ] = None,
    number_column: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--number-column",
            metavar="NAME|INDEX",
            help="Column with the numbers: header name or 1-based index.  [default: detected]",
        ),
    ] = None,
    encoding: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            metavar="ENCODING", help="File encoding when not UTF-8, e.g. cp1252, latin-1, utf-16."
        ),
    ] = None,
    country: CountryOption = None,
    allow_duplicates: Annotated[
        bool,
        typer.Option("--allow-duplicates", help="Send to a number again when it repeats."),
    ] = False,
    sender: SenderOption = None,
    unicode: UnicodeOption = Unicode.auto,
    max_parts: MaxPartsOption = None,
    flash: FlashOption = False,
    msg_type: BulkMsgTypeOption = None,
    deliver_in: DeliverInOption = None,
    deliver_at: DeliverAtOption = None,
    validity: ValidityOption = None,
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--client-id",
            metavar="PREFIX",
            help="Prefix for each row's client message ID (up to 15 letters/digits).",
        ),
    ] = None,
    callback: CallbackOption = None,
    delivery_ack: DeliveryAckOption = False,
    max_credits: MaxCreditsOption = None,
    queue: QueueOption = None,
    escalate: EscalateOption = False,
    mo: MoOption = False,
    batch: Annotated[
        bool,
        typer.Option(
            "--batch",
            help="Use Clickatell's batch messaging: the template goes once (startbatch), then "
            "each message only its numbers and {column} values (senditem, quicksend).",
        ),
    ] = False,
    concurrency: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=1,
            max=MAX_CONCURRENCY,
            help=(
                "Requests in flight at once.  [default: found from the rate and the "
                "gateway's latency]"
            ),
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option(
            min=0,
            help="Messages per second at most (Clickatell's default cap): 0 for no limit, "
            "else at least 1. A resume keeps the job's own unless given.",
        ),
    ] = 100.0,
    on_limit: Annotated[
        OnLimit,
        typer.Option(
            "--on-limit",
            case_sensitive=False,
            help="On ERR 130 (MT limit until a time): stop, or wait and go on.",
        ),
    ] = OnLimit.stop,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Send nothing: counts, encodings, parts and estimated charge."
        ),
    ] = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Start a new job even though one of this file is unfinished (its sent rows "
            "go out twice).",
        ),
    ] = False,
    resume: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--resume",
            metavar="JOB",
            help="Continue an interrupted job (see `jobs`).",
            autocompletion=unfinished_jobs,
        ),
    ] = None,
    journal: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            metavar="PATH",
            help="Journal file.  [default: journal.sqlite3 in the config dir]",
            show_default=False,
        ),
    ] = None,
    results: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            metavar="FILE", help="Write every row's result to this .csv, .json or .jsonl file."
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Send a message to every number in a CSV file; each row exactly once.

    Every run is a job in a journal: after Ctrl-C, a crash or a network failure,
    `--resume JOB` finishes it without sending any row twice.

    \b
        clicksms bulk customers.csv --text "Hi {name}, your order {order} has shipped"
        clicksms bulk numbers.csv -t "Maintenance tonight 22:00" --from ACME --dry-run
        clicksms bulk customers.csv -t "Hi {name}, your code is {code}" --batch
        clicksms bulk --resume k3f9a2c1
    """
    invocation: Invocation = ctx.obj
    request = BulkRequest(
        file=file,
        text=text,
        template_file=str(template_file) if template_file else None,
        number_column=number_column,
        encoding=encoding,
        country=country,
        allow_duplicates=allow_duplicates,
        sender=sender,
        unicode=unicode.value,
        max_parts=max_parts,
        flash=flash,
        msg_type=msg_type,
        deliver_in=deliver_in,
        deliver_at=deliver_at,
        validity=validity,
        client_id_prefix=client_id,
        callback=callback,
        delivery_ack=delivery_ack,
        max_credits=max_credits,
        queue=queue,
        escalate=escalate,
        mo=mo,
        batch=batch,
        concurrency=concurrency,
        rate=rate,
        wait_on_limit=on_limit is OnLimit.wait,
        chosen=_chosen(ctx),
        again=again,
        dry_run=dry_run,
        resume=resume,
        journal=journal,
        results=results,
        output=output,
    )
    _check_combinations(request)
    raise typer.Exit(_run(invocation, request))


def _run(invocation: Invocation, request: BulkRequest) -> int:
    """Run the job the flags describe; the rows and summary are shown, the exit code returned.

    However the run ends, even by an exception (a second Ctrl-C), the rows known so far,
    the summary and the resume line are printed before the error line.
    """
    from clicksms.bulk.job import RunOptions, resume_job, start_job
    from clicksms.cli.bulk_view import BulkView, show_broken_off, show_dry_run, show_outcome

    run = RunOptions(
        request.concurrency, request.rate, request.wait_on_limit, request.results, request.chosen
    )

    def journal() -> "Journal":
        return invocation.open_journal(request.journal)

    view = BulkView(invocation.use_sandbox)
    try:
        with view:
            if request.resume is not None:
                outcome = resume_job(
                    request.resume,
                    client=invocation.gateway,
                    journal=journal,
                    run=run,
                    on_event=view,
                )
            else:
                new = _new_job(invocation, request)
                if request.dry_run:
                    from clicksms.bulk.dry_run import dry_run

                    report = dry_run(
                        new, client=lambda: invocation.gateway(prompt=False), on_event=view
                    )
                    show_dry_run(report, request.output)
                    if not request.again:
                        _say_if_unfinished(invocation, request.journal, new.file)
                    return report.exit_code
                outcome = start_job(
                    new, client=invocation.gateway, journal=journal, run=run, on_event=view
                )
    except BaseException as exc:
        show_broken_off(view, request.output, request.results, exc)
        raise
    show_outcome(outcome, request.output, request.results, view)
    return outcome.exit_code


def _chosen(ctx: typer.Context) -> frozenset[str]:
    """The run options given on the command line (a resume keeps the job's own for the rest)."""
    flags = {"concurrency": "concurrency", "rate": "rate", "on_limit": "wait_on_limit"}
    sources = {flag: ctx.get_parameter_source(flag) for flag in flags}
    return frozenset(
        kept
        for flag, kept in flags.items()
        if sources[flag] is not None and sources[flag].name != "DEFAULT"
    )


def _new_job(invocation: Invocation, request: BulkRequest) -> "NewJob":
    """The job the flags describe, every value checked, in the order they are reported."""
    from clicksms.bulk.job import NewJob, check_client_prefix
    from clicksms.bulk.template import load_template

    template = load_template(request.text, request.template_file)
    options = send_options(
        invocation.soap_style(),
        msg_type=request.msg_type,
        flash=request.flash,
        deliver_in=request.deliver_in,
        deliver_at=request.deliver_at,
        validity=request.validity,
        callback=request.callback,
        delivery_ack=request.delivery_ack,
        max_credits=request.max_credits,
        queue=request.queue,
        escalate=request.escalate,
        mo=request.mo,
        max_parts=request.max_parts,
    )
    sender = invocation.sender(request.sender)
    prefix = check_client_prefix(request.client_id_prefix)
    return NewJob(
        file=request.file or "-",
        template=template,
        options=options,
        sender=sender,
        client_id_prefix=prefix,
        country=invocation.country(request.country),
        unicode=request.unicode,
        encoding=request.encoding,
        number_column=request.number_column,
        allow_duplicates=request.allow_duplicates,
        batch=request.batch,
        soap_style=invocation.soap_style(),
        again=request.again,
    )


def _say_if_unfinished(invocation: Invocation, given: Path | None, file: str) -> None:
    """A dry run's warning that the run itself would be refused (an unfinished job of the
    file); a journal that does not exist yet is not made for it."""
    from clicksms.bulk.job import file_label, unfinished_job

    if not invocation.journal_path(given).exists():
        return
    problem = unfinished_job(invocation.open_journal(given).jobs_of(file_label(file)), file)
    if problem is not None:
        warn(f"a run would be refused: {problem}")


def _check_combinations(request: BulkRequest) -> None:
    """Flags that contradict each other, refused before reading anything."""
    if not (request.rate == 0 or 1 <= request.rate < math.inf):  # inf: 0 means no limit
        raise UsageError(f"--rate {request.rate:g}: use 0 (no limit) or at least 1 per second")
    if request.results is not None and request.results.suffix.lower() not in RESULTS_SUFFIXES:
        raise UsageError(
            f"--results {request.results}: the file name must end in .csv, .json or .jsonl"
        )
    if request.resume is not None:
        given = [name for name, value in _started_with(request) if value]
        if given:
            raise UsageError(
                f"--resume continues a job exactly as it was started: drop {', '.join(given)}"
            )
        return
    if request.file is None:
        raise UsageError("no CSV file: give FILE.csv ('-' for stdin) or --resume JOB")


def _started_with(request: BulkRequest) -> list[tuple[str, object]]:
    """The flags a job is started with and keeps: a resume may not change them."""
    return [
        ("FILE", request.file),
        ("--text", request.text),
        ("--template-file", request.template_file),
        ("--dry-run", request.dry_run),
        ("--number-column", request.number_column),
        ("--encoding", request.encoding),
        ("--country", request.country),
        ("--allow-duplicates", request.allow_duplicates),
        ("--from", request.sender),
        ("--unicode", request.unicode != "auto"),
        ("--max-parts", request.max_parts),
        ("--flash", request.flash),
        ("--msg-type", request.msg_type),
        ("--deliver-in", request.deliver_in),
        ("--deliver-at", request.deliver_at),
        ("--validity", request.validity),
        ("--client-id", request.client_id_prefix),
        ("--callback", request.callback),
        ("--delivery-ack", request.delivery_ack),
        ("--max-credits", request.max_credits),
        ("--queue", request.queue),
        ("--escalate", request.escalate),
        ("--mo", request.mo),
        ("--batch", request.batch),
        ("--again", request.again),
    ]
