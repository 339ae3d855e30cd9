"""Rendering for ``send --dry-run`` (the core is :mod:`clicksms.preview`), and the wording of
the charge estimate that ``bulk --dry-run`` shares."""

from typing import TYPE_CHECKING

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.render import Column, OutputFormat, credits_value, emit, format_credits, note

if TYPE_CHECKING:
    from clicksms.errors import ClickSmsError
    from clicksms.message.options import Content
    from clicksms.preview import ChargeEstimate
    from clicksms.send import Recipients

PREVIEW_TABLE = [
    Column("to", "To"),
    Column("status", "Dry run", lambda status: "green" if status == "would_send" else "red"),
    Column("encoding", "Encoding"),
    Column("non_gsm", "UCS-2 because of", wrap=True),
    Column("size", "Length", wrap=True),  # "29 UTF-16 units" may wrap between its words
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
    invocation: Invocation, recipients: "Recipients", content: "Content", output: OutputFormat
) -> None:
    """Print what would be sent; exit as the real send would for the numbers themselves."""
    from clicksms.errors import outcome_exit_code
    from clicksms.preview import Routes, ask_routes, estimate, preview

    valid = [c.number for c in recipients.checks if c.valid and c.number]
    routes = ask_routes(lambda: invocation.gateway(prompt=False), valid) if valid else None
    if routes is not None and routes.offline is not None:
        note(offline_note(routes.offline))
    online = routes is not None and routes.offline is None
    rows = preview(recipients.checks, content, routes or Routes())
    data = [r.as_dict() for r in rows]
    for row in data:
        row["size"] = f"{row['length']} {row['length_unit']}" if row["length"] is not None else None
        if output is OutputFormat.table and row["charge"] is not None:
            row["charge"] = format_credits(row["charge"])
        else:
            row["charge"] = credits_value(row["charge"])
    columns = PREVIEW_TABLE if output is OutputFormat.table else PREVIEW_FIELDS
    if not online and output is OutputFormat.table:
        columns = [c for c in columns if c.key != "charge"]
    emit(data, columns, output)
    sending = [r for r in rows if r.ok]
    parts = sum(r.shape.parts for r in sending if r.shape)
    summary = f"Dry run, nothing sent: {len(sending)} message(s), {parts} part(s)"
    if online:
        summary += f", {charge_clause(estimate(rows))}"
    failed = len(rows) - len(sending)
    note(summary + (f"; {failed} would fail." if failed else "."))
    raise typer.Exit(outcome_exit_code(r.ok for r in rows))


def offline_note(failure: "ClickSmsError") -> str:
    """Why a dry run shows no charge (no credentials, network, an unreadable answer)."""
    return f"Charge not estimated (offline preview): {failure}"


def charge_clause(charge: "ChargeEstimate") -> str:
    """The estimated charge as both dry runs say it."""
    total = charge.total
    clause = (
        f"estimated charge {format_credits(total)} credit{'' if total == 1 else 's'} "
        "(route's lowest charge × parts)"
    )
    if charge.unestimated:
        clause += f" for all but {charge.unestimated} of them"
    return clause
