"""Rendering for ``send --dry-run`` (the core is :mod:`clicksms.preview`)."""

from typing import TYPE_CHECKING

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.render import Column, OutputFormat, emit, format_credits, note

if TYPE_CHECKING:
    from clicksms.message.numbers import NumberCheck
    from clicksms.message.options import Content
    from clicksms.preview import Routes
    from clicksms.send import Recipients

PREVIEW_TABLE = [
    Column("to", "To"),
    Column("status", "Dry run", lambda status: "green" if status == "would_send" else "red"),
    Column("encoding", "Encoding"),
    Column("non_gsm", "UCS-2 because of", wrap=True),
    Column("size", "Length"),
    Column("parts", "Parts"),
    Column("charge", "Charge"),
    Column("error", "Error", wrap=True),
]
PREVIEW_FIELDS = [
    Column(k, k)
    for k in (
        "to",
        "ok",
        "status",
        "encoding",
        "non_gsm",
        "length",
        "length_unit",
        "parts",
        "charge",
        "error",
    )
]


def show_preview(
    rt: Invocation, recipients: "Recipients", content: "Content", output: OutputFormat
) -> None:
    """Print what would be sent; exit as the real send would for the numbers themselves."""
    from clicksms.errors import outcome_exit_code
    from clicksms.preview import preview

    valid = tuple(c for c in recipients.checks if c.valid and c.number)
    routes = _routes(rt, valid) if valid else None
    rows = preview(recipients.checks, content, routes)
    data = [r.as_dict() for r in rows]
    for row in data:
        row["size"] = f"{row['length']} {row['length_unit']}" if row["length"] is not None else None
        if output is OutputFormat.table and row["charge"] is not None:
            row["charge"] = format_credits(row["charge"])
    columns = PREVIEW_TABLE if output is OutputFormat.table else PREVIEW_FIELDS
    if routes is None and output is OutputFormat.table:
        columns = [c for c in columns if c.key != "charge"]
    emit(data, columns, output)
    sending = [r for r in rows if r.ok]
    parts = sum(r.shape.parts for r in sending if r.shape)
    summary = f"Dry run, nothing sent: {len(sending)} message(s), {parts} part(s)"
    if routes is not None:
        total = round(sum(r.charge or 0 for r in sending), 6)
        summary += (
            f", estimated charge {format_credits(total)} credit{'' if total == 1 else 's'} "
            "(route's lowest charge × parts)"
        )
        unestimated = sum(r.charge is None for r in sending)
        if unestimated:
            summary += f" for all but {unestimated} of them"
    failed = len(rows) - len(sending)
    note(summary + (f"; {failed} would fail." if failed else "."))
    raise typer.Exit(outcome_exit_code(r.ok for r in rows))


def _routes(rt: Invocation, checks: "tuple[NumberCheck, ...]") -> "Routes | None":
    """routecoverage's answer for each valid number, or None when offline.

    A coded error about one number is that number's answer; an auth or network failure,
    including an unreadable answer, makes the whole preview offline; Ctrl-C ends it.
    """
    from clicksms.errors import AuthError, NetworkError
    from clicksms.queries import route_coverage

    report = route_coverage(lambda: rt.account(prompt=False), checks)
    if isinstance(report.failure, AuthError) and report.failure.code is not None:
        raise report.failure  # the gateway refused the account: the real send would too
    if isinstance(report.failure, AuthError | NetworkError):
        note(f"Charge not estimated (offline preview): {report.failure}")
        return None
    if report.failure is not None:
        raise report.failure
    return {r.number: r for r in report.results if r.number}
