"""``clicksms send``: one text to one or more numbers."""

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import (
    CountryOption,
    OutputOption,
    QuietOption,
    read_stdin,
    stdin_is_terminal,
)
from clicksms.cli.render import Column, OutputFormat, counts_line, emit, is_quiet, note
from clicksms.errors import UsageError

#: The most text ``send`` reads from stdin: 35 SMS parts are at most 5,355 characters, and
#: NFC normalisation can only shorten a text (to a third, for Hangul jamo).
MAX_STDIN_TEXT = 64 * 1024

if TYPE_CHECKING:
    from clicksms.message.options import Content, SendOptions
    from clicksms.send import Recipients, SendReport


class Unicode(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


# Option types, shared with every command that sends (bulk takes the same flags).
SenderOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--from",
        "-f",
        metavar="SENDER",
        help="Sender ID: up to 16 digits or 11 letters/digits (env CLICKSMS_FROM).",
    ),
]
FlashOption = Annotated[
    bool, typer.Option("--flash", help="Flash SMS: shown at once, not stored (SMS_FLASH).")
]
MsgTypeOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--msg-type",
        metavar="TYPE",
        help="SMS_TEXT, SMS_FLASH or an SMS_NOKIA_* type (for --data payloads).  "
        "[default: SMS_TEXT]",
        show_default=False,
    ),
]
#: bulk has no --data: its messages are text.
BulkMsgTypeOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--msg-type",
        metavar="TYPE",
        help="SMS_TEXT or SMS_FLASH (as --flash).  [default: SMS_TEXT]",
        show_default=False,
    ),
]
UnicodeOption = Annotated[
    Unicode,
    typer.Option(
        "--unicode",
        case_sensitive=False,
        help="auto: UCS-2 only when a character is not GSM; always; never (error instead).",
    ),
]
MaxPartsOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--max-parts",
        min=1,
        max=35,
        metavar="N",
        help="Refuse texts needing more than N SMS parts (concat).",
    ),
]
DeliverInOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--deliver-in", metavar="DURATION", help="Deliver later: 90 (minutes), 2h, 1d, 1h30m."
    ),
]
DeliverAtOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--deliver-at",
        metavar="TIME",
        help="Deliver at 2026-11-26T09:00 (local), …Z, …+02:00, or HH:MM; within 7 days.",
    ),
]
ValidityOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--validity",
        metavar="DURATION",
        help="How long Clickatell may keep trying before status 010 (1 min to 24h).",
    ),
]
CallbackOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--callback",
        metavar="LEVEL",
        help="Status callbacks: none, intermediate, final, error, all (or a,b).",
    ),
]
DeliveryAckOption = Annotated[
    bool, typer.Option("--delivery-ack", help="Ask for a handset delivery acknowledgement.")
]
MaxCreditsOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--max-credits",
        metavar="N",
        help="Highest charge to route it at (whole credits; fractions with --soap-style rpc).",
    ),
]
QueueOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--queue",
        min=1,
        max=3,
        help="Priority queue; 1 is the highest.",
        show_default="3",
    ),
]
EscalateOption = Annotated[
    bool, typer.Option("--escalate", help="Move to a pricier route at once if queued.")
]
MoOption = Annotated[
    bool, typer.Option("--mo", help="Route via a two-way carrier so replies reach you.")
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Send nothing: show encoding, parts and, if online, the charge."
    ),
]


def send(
    ctx: typer.Context,
    to: Annotated[
        list[str],
        typer.Argument(
            metavar="NUMBER",
            help="Recipients: +27821234567, 0027…, 27821234567, or national with --country.",
            show_default=False,
        ),
    ],
    text: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--text", "-t", help="Message text; '-' or omitted with a pipe reads stdin."),
    ] = None,
    sender: SenderOption = None,
    country: CountryOption = None,
    unicode: UnicodeOption = Unicode.auto,
    max_parts: MaxPartsOption = None,
    flash: FlashOption = False,
    msg_type: MsgTypeOption = None,
    udh: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--udh", metavar="HEX", help="User Data Header for --data (8-bit)."),
    ] = None,
    data: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--data", metavar="HEX", help="8-bit payload instead of text (≤140 bytes)."),
    ] = None,
    deliver_in: DeliverInOption = None,
    deliver_at: DeliverAtOption = None,
    validity: ValidityOption = None,
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--client-id", metavar="ID", help="Your ID for this message (≤32 letters/digits)."
        ),
    ] = None,
    callback: CallbackOption = None,
    delivery_ack: DeliveryAckOption = False,
    max_credits: MaxCreditsOption = None,
    queue: QueueOption = None,
    escalate: EscalateOption = False,
    mo: MoOption = False,
    dry_run: DryRunOption = False,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Send one text to one or more numbers; one result row per recipient.

    \b
        clicksms send 27821234567 +447911123456 --text "deploy ok"
        echo "deploy ok" | clicksms send 27821234567
        clicksms send 27821234567 -t "standup" --deliver-at 09:00 --client-id standup1
        clicksms send 27821234567 -t "Ünïcødé?" --dry-run
    """
    from clicksms.message.options import check_content
    from clicksms.send import SendReport, split_recipients
    from clicksms.send import send as send_messages

    invocation: Invocation = ctx.obj
    # A bad setting is a usage error even if no number turns out valid (--sandbox: not started).
    invocation.check_settings()
    content = _content(text, udh, data, unicode.value)
    options = send_options(
        invocation.soap_style(),
        msg_type=msg_type,
        flash=flash,
        deliver_in=deliver_in,
        deliver_at=deliver_at,
        validity=validity,
        client_id=client_id,
        callback=callback,
        delivery_ack=delivery_ack,
        max_credits=max_credits,
        queue=queue,
        escalate=escalate,
        mo=mo,
        max_parts=max_parts,
    )
    sender_id = invocation.sender(sender)
    recipients = split_recipients(to, invocation.country(country))
    if not recipients.checks:
        raise UsageError("no recipients: give at least one phone number")
    check_content(content, options, len(recipients.valid))
    note_duplicates(recipients)
    if dry_run:
        from clicksms.cli.preview import show_preview

        show_preview(invocation, recipients, content, output)
        return
    sent = SendReport(())
    if recipients.valid:
        sent = send_messages(invocation.gateway(), recipients.valid, content, sender_id, options)
    show_send(SendReport(recipients.results(sent.results), sent.failure), output)


def note_duplicates(recipients: "Recipients") -> None:
    """Say which inputs are skipped as repeats of an earlier number."""
    for duplicate in recipients.duplicates:
        note(f"Skipping {duplicate}: same number as an earlier recipient.")


def _content(text: str | None, udh: str | None, data: str | None, unicode: str) -> "Content":
    """Text (from --text or stdin) or 8-bit --udh/--data, never both."""
    if udh is not None or data is not None:
        if text is not None:
            raise UsageError("--data sends 8-bit content; it cannot be combined with --text")
        if unicode != "auto":
            raise UsageError("--unicode applies to text; --data is 8-bit content")
        from clicksms.message.binary import prepare_binary

        return prepare_binary(udh, data)
    from clicksms.message.text import prepare

    return prepare(message_text(text), unicode)


_STATUS_STYLE = {"accepted": "green", "unknown": "yellow"}
SEND_TABLE = [
    Column("to", "To"),
    Column("status", "Result", lambda status: _STATUS_STYLE.get(status, "red")),
    Column("message_id", "Message ID"),
    Column("error_code", "Code"),
    Column("error", "Error", wrap=True),
]
SEND_KEYS = ("to", "ok", "status", "message_id", "client_id", "error_code", "error")
SEND_FIELDS = [Column(k, k) for k in SEND_KEYS]


def said_once(error: Optional[str], meaning: str) -> Optional[str]:  # noqa: UP045
    """A row's error in a table, less the ``meaning`` its summary line says once for all."""
    if error is None or error == meaning:
        return None
    return error.removeprefix(meaning + ": ")


def show_send(report: "SendReport", output: OutputFormat) -> None:
    """One row per recipient, a summary line, and the exit code (send and push)."""
    from dataclasses import asdict

    from clicksms.send import UNKNOWN, UNKNOWN_MEANING

    rows = [asdict(r) for r in report.results]
    if output is not OutputFormat.table:
        emit(rows, SEND_FIELDS, output)
    else:
        for row in rows:
            row["error"] = said_once(row["error"], UNKNOWN_MEANING)
        emit(rows, SEND_TABLE, output)
    if output is OutputFormat.table or is_quiet():  # -q: only a failure is said, in any format
        shown = {status.replace("_", " "): n for status, n in report.counts().items()}
        causes = (
            UNKNOWN_MEANING if r.status == UNKNOWN else r.error for r in report.results if not r.ok
        )
        note(counts_line(shown, causes), failure=any(not r.ok for r in report.results))
    if report.failure is not None:
        raise report.failure  # after the rows: the boundary prints its one line and exit code
    raise typer.Exit(report.exit_code)


def send_options(
    soap_style: str,
    *,
    deliver_in: str | None,
    deliver_at: str | None,
    validity: str | None,
    callback: str | None,
    delivery_ack: bool,
    max_credits: str | None,
    queue: int | None,
    escalate: bool,
    mo: bool,
    client_id: str | None = None,
    msg_type: str | None = None,
    flash: bool = False,
    max_parts: int | None = None,
) -> "SendOptions":
    """The send options of ``send``, ``push`` and ``bulk`` from their flags, each checked the
    same way; a delivery delay is announced once it is known to be good."""
    from clicksms.message.options import (
        SendOptions,
        check_client_id,
        check_msg_type,
        parse_callback,
        parse_max_credits,
    )
    from clicksms.message.schedule import delivery_delay, validity_minutes

    options = SendOptions(
        msg_type=check_msg_type(msg_type, flash),
        deliv_time=delivery_delay(deliver_in, deliver_at),
        validity=validity_minutes(validity),
        client_id=check_client_id(client_id),
        callback=parse_callback(callback),
        delivery_ack=delivery_ack,
        max_credits=parse_max_credits(max_credits, soap_style),
        queue=queue,
        escalate=escalate,
        mo=mo,
        max_parts=max_parts,
    )
    if options.deliv_time:
        from clicksms.message.schedule import describe_delay

        note(f"Scheduled: Clickatell delivers {describe_delay(options.deliv_time)}.")
    return options


def message_text(text: str | None) -> str:
    """--text wins; '-' or no --text with a pipe reads stdin (one trailing newline dropped)."""
    if text is not None and text != "-":
        return text
    if text is None and stdin_is_terminal():
        raise UsageError("no message text: pass --text TEXT or pipe the text on stdin")
    from clicksms.message.text import MAX_PARTS

    # Far past the longest text a message can carry (35 parts of 153 GSM characters), and
    # read no further: a 200 MB pipe is refused without reading it whole.
    longest = MAX_PARTS * 153
    data = read_stdin(
        "message text",
        limit=MAX_STDIN_TEXT,
        too_long=f": a message is at most {MAX_PARTS} SMS parts ({longest} GSM characters)",
    )
    for ending in ("\r\n", "\n"):  # what echo, printf or a Windows editor put at the end
        if data.endswith(ending):
            return data[: -len(ending)]
    return data
