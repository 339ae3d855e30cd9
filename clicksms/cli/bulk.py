"""``clicksms bulk``: a CSV file of numbers, one message each, every row sent exactly once."""

import math
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import CountryOption, OutputOption
from clicksms.cli.render import OutputFormat
from clicksms.cli.send import (
    CallbackOption,
    DeliverAtOption,
    DeliverInOption,
    DeliveryAckOption,
    EscalateOption,
    FlashOption,
    MaxCreditsOption,
    MaxPartsOption,
    MoOption,
    MsgTypeOption,
    QueueOption,
    SenderOption,
    Unicode,
    UnicodeOption,
    ValidityOption,
)
from clicksms.errors import UsageError

if TYPE_CHECKING:
    from clicksms.bulk.job import BulkRequest


class OnLimit(str, Enum):
    stop = "stop"
    wait = "wait"


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
            help="Column with the numbers: header name or 1-based index (default: detected).",
        ),
    ] = None,
    encoding: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="File encoding when not UTF-8, e.g. cp1252, latin-1, utf-16."),
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
    msg_type: MsgTypeOption = None,
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
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Requests in flight at once.")
    ] = 8,
    rate: Annotated[
        float,
        typer.Option(
            min=0, help="Messages per second at most (Clickatell's default cap); 0 = no limit."
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
    resume: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--resume", metavar="JOB", help="Continue an interrupted job (see `jobs`)."),
    ] = None,
    journal: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Journal file (default: journal.sqlite3 in the config dir)."),
    ] = None,
    results: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Write every row's result to this .csv or .json file."),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Send a message to every number in a CSV file; each row exactly once.

    Every run is a job in a journal: after Ctrl-C, a crash or a network failure,
    `--resume JOB` finishes it without sending any row twice.

    \b
        clicksms bulk customers.csv --text "Hi {name}, your order {order} has shipped"
        clicksms bulk numbers.csv -t "Maintenance tonight 22:00" --from ACME --dry-run
        clicksms bulk --resume k3f9a2c1
    """
    from clicksms.bulk.job import BulkRequest, run_bulk

    rt: Invocation = ctx.obj
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
        concurrency=concurrency,
        rate=rate,
        wait_on_limit=on_limit is OnLimit.wait,
        dry_run=dry_run,
        resume=resume,
        journal=journal,
        results=results,
        output=output,
    )
    _check_combinations(request)
    raise typer.Exit(run_bulk(rt, request))


def _check_combinations(request: "BulkRequest") -> None:
    """Flags that contradict each other, refused before reading anything."""
    if not (request.rate == 0 or 1 <= request.rate < math.inf):  # inf: 0 means no limit
        raise UsageError(f"--rate {request.rate:g}: use 0 (no limit) or at least 1 per second")
    if request.results is not None and request.results.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--results {request.results}: the file name must end in .csv or .json")
    if request.resume is not None:
        given = [name for name, value in _started_with(request) if value]
        if given:
            raise UsageError(
                f"--resume continues a job exactly as it was started: drop {', '.join(given)}"
            )
        return
    if request.file is None:
        raise UsageError("no CSV file: give FILE.csv ('-' for stdin) or --resume JOB")


def _started_with(request: "BulkRequest") -> list[tuple[str, object]]:
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
    ]
