"""``clicksms send``: one text to one or more numbers."""

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms.commands.common import CountryOption, OutputOption, read_stdin, stdin_is_terminal
from clicksms.errors import UsageError
from clicksms.render import Column, OutputFormat, emit, note
from clicksms.runtime import Runtime

if TYPE_CHECKING:
    from clicksms.send import SendReport


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
    sender: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--from", "-f", help="Sender ID: up to 16 digits or 11 letters/digits."),
    ] = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Send one text to one or more numbers; one result row per recipient.

    \b
        clicksms send 27821234567 +447911123456 --text "deploy ok"
        echo "deploy ok" | clicksms send 27821234567
    """
    from clicksms.message import prepare
    from clicksms.send import SendReport, check_sender, split_recipients
    from clicksms.send import send as send_messages

    rt: Runtime = ctx.obj
    rt.settings()  # a bad setting is a usage error even if no number turns out valid
    message = prepare(_message_text(text))
    sender_id = check_sender(sender)
    recipients = split_recipients(to, rt.country(country))
    if not recipients.checks:
        raise UsageError("no recipients: give at least one phone number")
    for duplicate in recipients.duplicates:
        note(f"Skipping {duplicate}: same number as an earlier recipient.")
    sent = SendReport(())
    if recipients.valid:
        sent = send_messages(rt.account(), recipients.valid, message, sender_id)
    _show_send(SendReport(recipients.results(sent.results), sent.failure), output)


_STATUS_STYLE = {"accepted": "green", "unknown": "yellow"}
SEND_TABLE = [
    Column("to", "To"),
    Column("status", "Result", lambda status: _STATUS_STYLE.get(status, "red")),
    Column("message_id", "Message ID"),
    Column("error_code", "Code"),
    Column("error", "Error", wrap=True),
]
SEND_FIELDS = [Column(k, k) for k in ("to", "ok", "status", "message_id", "error_code", "error")]


def _show_send(report: "SendReport", output: OutputFormat) -> None:
    from dataclasses import asdict

    columns = SEND_TABLE if output is OutputFormat.table else SEND_FIELDS
    emit([asdict(r) for r in report.results], columns, output)
    if output is OutputFormat.table:
        counts = report.counts()
        note(", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items()) + ".")
    if report.failure is not None:
        raise report.failure  # after the rows: the boundary prints its one line and exit code
    raise typer.Exit(report.exit_code)


def _message_text(text: str | None) -> str:
    """--text wins; '-' or no --text with a pipe reads stdin (one trailing newline dropped)."""
    if text is not None and text != "-":
        return text
    if text is None and stdin_is_terminal():
        raise UsageError("no message text: pass --text TEXT or pipe the text on stdin")
    data = read_stdin("message text")
    for ending in ("\r\n", "\n"):  # what echo, printf or a Windows editor put at the end
        if data.endswith(ending):
            return data[: -len(ending)]
    return data
