"""Rendering for ``send --dry-run`` (the core is :mod:`clicksms.preview`)."""

from typing import TYPE_CHECKING

import typer

from clicksms.render import Column, OutputFormat, emit, format_credits, note
from clicksms.runtime import Runtime

if TYPE_CHECKING:
    from clicksms.options import Content
    from clicksms.preview import RouteLookup
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
    rt: Runtime, recipients: "Recipients", content: "Content", output: OutputFormat
) -> None:
    """Print what would be sent; exit as the real send would for the numbers themselves."""
    from clicksms.errors import outcome_exit_code
    from clicksms.preview import preview

    route = _routes(rt, recipients.valid) if recipients.valid else None
    rows = preview(recipients.checks, content, route)
    data = [r.as_dict() for r in rows]
    for row in data:
        row["size"] = f"{row['length']} {row['length_unit']}" if row["length"] is not None else None
        if output is OutputFormat.table and row["charge"] is not None:
            row["charge"] = format_credits(row["charge"])
    columns = PREVIEW_TABLE if output is OutputFormat.table else PREVIEW_FIELDS
    if route is None and output is OutputFormat.table:
        columns = [c for c in columns if c.key != "charge"]
    emit(data, columns, output)
    sending = [r for r in rows if r.ok]
    parts = sum(r.shape.parts for r in sending if r.shape)
    summary = f"Dry run, nothing sent: {len(sending)} message(s), {parts} part(s)"
    if route is not None:
        total = round(sum(r.charge or 0 for r in sending), 6)
        summary += (
            f", estimated charge {format_credits(total)} credits (route's lowest charge × parts)"
        )
    failed = len(rows) - len(sending)
    note(summary + (f"; {failed} would fail." if failed else "."))
    raise typer.Exit(outcome_exit_code(r.ok for r in rows))


def _routes(rt: Runtime, numbers: tuple[str, ...]) -> "RouteLookup | None":
    """routecoverage's answer for each distinct number, or None when offline."""
    from clicksms.errors import AuthError, NetworkError
    from clicksms.responses import parse_coverage, single_reply

    answers = {}
    try:
        account = rt.account(prompt=False)
        for number in dict.fromkeys(numbers):
            reply = single_reply(account.call("routecoverage", msisdn=number), "routecoverage")
            answers[number] = parse_coverage(reply)
    except (AuthError, NetworkError) as exc:
        note(f"Charge not estimated (offline preview): {exc}")
        return None
    return answers.__getitem__
