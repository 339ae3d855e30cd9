"""``bulk --dry-run``: what a job would send and cost, reading the whole file, sending nothing.

Memory stays flat however long the file: rows are counted as they stream past, and only the
first problems are kept in detail. The charge is estimated from ``routecoverage`` once per
number prefix (the route's lowest single-part charge × parts), when the account is reachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clicksms.bulk.plan import PlanSummary
from clicksms.cli.render import Column, OutputFormat, emit, emit_object, format_credits, note
from clicksms.errors import (
    AuthError,
    GatewayError,
    NetworkError,
    UsageError,
    counts_exit_code,
)

if TYPE_CHECKING:
    from clicksms.bulk.plan import Planner
    from clicksms.cli.context import Invocation

PROBLEM_COLUMNS = [
    Column("row", "Row"),
    Column("input", "Number"),
    Column("status", "Skipped because", wrap=False),
    Column("error", "Error", wrap=True),
]


def dry_run(rt: Invocation, planner: Planner, output: OutputFormat) -> int:
    summary = PlanSummary()
    for planned in planner.rows():
        summary.add(planned)
    if summary.rows == 0:
        raise UsageError(f"{planner.source.name} has no data rows")
    charge = _estimate_charge(rt, summary)
    facts: dict[str, Any] = {
        "rows": summary.rows,
        "messages": summary.messages,
        "parts": summary.parts,
        "invalid": summary.invalid,
        "duplicates": summary.duplicates,
        "encodings": dict(summary.encodings),
        "charge": charge,
        "problems": [
            {"row": p.row, "input": p.input, "status": p.status, "error": p.error}
            for p in summary.problems
        ],
    }
    if output is OutputFormat.table:
        _table(summary, charge)
    else:
        emit_object(facts, "", output) if output is OutputFormat.json else _csv(facts)
    return int(counts_exit_code(summary.messages, summary.invalid + summary.duplicates))


def _table(summary: PlanSummary, charge: float | None) -> None:
    if summary.problems:
        emit(
            [
                {"row": p.row, "input": p.input, "status": p.status, "error": p.error}
                for p in summary.problems
            ],
            PROBLEM_COLUMNS,
            OutputFormat.table,
        )
        hidden = summary.invalid + summary.duplicates - len(summary.problems)
        if hidden > 0:
            note(f"… and {hidden} more skipped row(s) not shown.")
    encodings = ", ".join(f"{n} {name}" for name, n in summary.encodings.most_common())
    cost = ""
    if charge is not None:
        cost = f"; estimated charge {format_credits(charge)} credit{'' if charge == 1 else 's'}"
    note(
        f"Dry run, nothing sent: {summary.rows} row(s): {summary.messages} message(s) "
        f"({encodings or 'none'}), {summary.parts} part(s){cost}; "
        f"{summary.invalid} invalid, {summary.duplicates} duplicate."
    )


def _csv(facts: dict[str, Any]) -> None:
    flat = {k: v for k, v in facts.items() if k not in ("encodings", "problems")}
    for name, count in facts["encodings"].items():
        flat[f"encoding_{name}"] = count
    emit_object(flat, "", OutputFormat.csv)


def _estimate_charge(rt: Invocation, summary: PlanSummary) -> float | None:
    """Parts × the route charge of each number prefix; None (with a note) when offline."""
    from clicksms.gateway.responses import parse_coverage, single_reply

    if not summary.prefixes:
        return None
    total = 0.0
    try:
        account = rt.account(prompt=False)
        for prefix, parts in summary.prefixes.items():
            number = summary.examples[prefix]  # the first number seen on that prefix
            try:
                reply = single_reply(account.call("routecoverage", msisdn=number), "routecoverage")
                coverage = parse_coverage(reply)
            except GatewayError:
                continue
            if coverage.supported and coverage.charge is not None:
                total += coverage.charge * parts
    except (AuthError, NetworkError) as exc:
        if isinstance(exc, AuthError) and exc.code is not None:
            raise  # the gateway refused the account: the real run would fail too
        note(f"Charge not estimated (offline dry run): {exc}")
        return None
    return round(total, 6)
