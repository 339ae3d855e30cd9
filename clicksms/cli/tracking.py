"""``clicksms status``, ``cancel`` and ``charge``: follow messages after sending them."""

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import (
    OutputOption,
    QuietOption,
    finish,
    raise_if_nothing_answered,
    stdin_lines,
)
from clicksms.cli.render import (
    Column,
    OutputFormat,
    counts_line,
    credits_value,
    emit,
    format_credits,
    is_quiet,
    note,
)
from clicksms.errors import outcome_exit_code

if TYPE_CHECKING:
    from clicksms.tracking import ChargeResult, StatusResult

IdsArgument = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Argument(
        metavar="ID",
        help="Message IDs as send printed them; read from stdin (one per line) when none given.",
        show_default=False,
    ),
]
ClientIdOption = Annotated[
    bool,
    typer.Option(
        "--client-id",
        help="The IDs are client message IDs (climsgid, up to 32 letters and digits).",
    ),
]


def status(
    ctx: typer.Context,
    ids: IdsArgument = None,
    client_id: ClientIdOption = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Poll until every message is final; exit 0 only if all were delivered."
        ),
    ] = False,
    interval: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            metavar="SECONDS",
            help="With --wait: seconds before the first re-check, then x1.5 per round up to "
            "60.  [default: 2]",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="With --wait: give up after this many seconds (the global --timeout, before "
            "the command, limits each request).  [default: 600]",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Show the delivery status of sent messages (one row per ID).

    A row fails when the gateway does not know the ID or reports an error status. With
    --wait, a row succeeds only when the recipient received the message (status 004).

    \b
        clicksms status 9c1f3e2b8a7d4c6e5f4a3b2c1d0e9f8a
        clicksms status --client-id deploy42 --wait --timeout 120
        clicksms send 27821234567 -t hi -o json | jq -r '.[] | select(.ok) | .message_id' \\
            | clicksms status
    """
    from clicksms.errors import UsageError
    from clicksms.tracking import check_wait, query_status, wait_for_final

    invocation: Invocation = ctx.obj
    if not wait and (interval is not None or timeout is not None):
        raise UsageError("--interval and --timeout only apply with --wait")
    interval = 2.0 if interval is None else interval
    timeout = 600.0 if timeout is None else timeout
    if wait:
        check_wait(interval, timeout)
    message_ids = _ids(ids, client_id)
    account = invocation.gateway()
    if not wait:
        report = query_status(account, message_ids, client_id)
        raise_if_nothing_answered(report)
        _show_status(report.results, client_id, wait, output)
        finish(report.failure, outcome_exit_code(not r.failed for r in report.results))
    waited = wait_for_final(
        account, message_ids, client_id, interval=interval, timeout=timeout, progress=note
    )
    _show_status(waited.results, client_id, wait, output)
    if waited.not_final and waited.failure is None:
        note(
            f"{waited.not_final} message(s) still not final when the --timeout of "
            f"{timeout:g}s ran out; counted as not delivered."
        )
    elif waited.not_final:
        note(f"{waited.not_final} message(s) not final yet when the wait stopped.")
    finish(waited.failure, outcome_exit_code(r.delivered for r in waited.results))


def cancel(
    ctx: typer.Context,
    ids: IdsArgument = None,
    client_id: ClientIdOption = False,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Stop messages the gateway still holds (queued or scheduled); one row per ID.

    A row succeeds when the gateway answers status 006 (cancelled). A message already
    handed on or delivered shows the status it is in instead.

    \b
        clicksms cancel 9c1f3e2b8a7d4c6e5f4a3b2c1d0e9f8a
        clicksms cancel --client-id deploy42
    """
    from clicksms.tracking import cancel as cancel_messages

    invocation: Invocation = ctx.obj
    message_ids = _ids(ids, client_id)
    report = cancel_messages(invocation.gateway(), message_ids, client_id)
    raise_if_nothing_answered(report)
    rows = []
    for r in report.results:
        row = _status_row(r, client_id)
        row.update(ok=r.cancelled, error=r.cancel_problem())
        rows.append(row)
    if output is OutputFormat.table:
        columns = [
            Column("id", "ID"),
            *([Column("client_id", "Client ID")] if client_id else []),
            Column("ok", "Cancelled", lambda ok: "green" if ok else "red"),
            Column("status", "Status"),
            Column("detail", "Detail", wrap=True),
        ]
        for row in rows:
            row["detail"] = row["error"] or row["meaning"]
        emit(rows, columns, output)
        note(f"{sum(r.cancelled for r in report.results)} of {len(rows)} cancelled.")
    else:
        keys = ["id", *(["client_id"] if client_id else []), "ok", "status", "meaning"]
        emit(rows, [Column(k, k) for k in [*keys, "error_code", "error"]], output)
    finish(report.failure, outcome_exit_code(r.cancelled for r in report.results))


def charge(
    ctx: typer.Context,
    ids: IdsArgument = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Show what sent messages cost, with their status; the table adds a total.

    Takes the message IDs that send printed (apimsgid) only: the SOAP API's getmsgcharge
    has no client message ID field. The gateway keeps charges for about 15 days.

    \b
        clicksms charge 9c1f3e2b8a7d4c6e5f4a3b2c1d0e9f8a 1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c
    """
    from clicksms.tracking import charges

    invocation: Invocation = ctx.obj
    message_ids = _ids(ids, by_client=False)
    report = charges(invocation.gateway(), message_ids)
    raise_if_nothing_answered(report)
    rows = [_charge_row(r) for r in report.results]
    if output is OutputFormat.table:
        total = sum(r.charge or 0.0 for r in report.results)
        for row in rows:
            row["charge"] = None if row["charge"] is None else format_credits(row["charge"])
            row["detail"] = row["error"] or row["meaning"]
        rows.append({"id": "Total", "charge": format_credits(total)})
        columns = [
            Column("id", "ID"),
            Column("charge", "Charge"),
            Column("status", "Status"),
            Column("detail", "Meaning", wrap=True),
        ]
        emit(rows, columns, output)
    else:
        keys = ["id", "ok", "charge", "status", "meaning", "error_code", "error"]
        emit(rows, [Column(k, k) for k in keys], output)
    finish(report.failure, outcome_exit_code(r.ok for r in report.results))


def _ids(ids: Optional[list[str]], by_client: bool) -> list[str]:  # noqa: UP045
    """The distinct IDs from the arguments or stdin, checked before any network call."""
    from clicksms.tracking import check_ids

    what = "client message IDs" if by_client else "message IDs"
    checked, repeats = check_ids(ids or stdin_lines(what), by_client)
    for repeat in repeats:
        note(f"Skipping {repeat}: given more than once.")
    return checked


def _status_row(result: "StatusResult", by_client: bool) -> dict[str, object]:
    status = result.status
    row: dict[str, object] = {
        "id": result.message_id or (None if by_client else result.asked),
        "ok": not result.failed,
        "status": status.code if status else None,
        "meaning": status.meaning if status else None,
        "final": status.final if status else None,
        "delivered": result.delivered,
        "error_code": result.error_code,
        "error": result.error,
    }
    if by_client:
        row["client_id"] = result.asked
    return row


def _status_style(code: str) -> str:
    from clicksms.gateway.codes import message_status

    status = message_status(code)
    if status.delivered:
        return "green"
    return "red" if status.error or not status.known else "yellow"


def _show_status(
    results: "tuple[StatusResult, ...]", by_client: bool, wait: bool, output: OutputFormat
) -> None:
    rows = [_status_row(r, by_client) for r in results]
    if wait:
        for row, result in zip(rows, results, strict=True):
            row["ok"] = result.delivered
    client = ["client_id"] if by_client else []
    if output is not OutputFormat.table:
        keys = ["id", *client, "ok", "status", "meaning", "final", "delivered"]
        emit(rows, [Column(k, k) for k in [*keys, "error_code", "error"]], output)
        if is_quiet():  # -q: only a failure is said, whatever the format
            _status_counts(results, rows)
        return
    for row in rows:
        if row["error"] is not None:
            row["meaning"] = row["error"]
    emit(
        rows,
        [
            Column("id", "ID"),
            *([Column("client_id", "Client ID")] if by_client else []),
            Column("status", "Status", _status_style),
            Column("meaning", "Meaning", wrap=True),
            Column("final", "Final"),
        ],
        output,
    )
    _status_counts(results, rows)


def _status_counts(results: "tuple[StatusResult, ...]", rows: list[dict[str, object]]) -> None:
    """The summary line: counts, and the one shared cause of failure if there is one."""
    counts = {
        "delivered": sum(r.delivered for r in results),
        "not final yet": sum(not r.settled for r in results),
        "final but not delivered": sum(
            r.settled and not r.failed and not r.delivered for r in results
        ),
        "failed": sum(r.failed and r.settled for r in results),
    }
    shown = {what: n for what, n in counts.items() if n or what == "delivered"}
    failed = (r.error for r in results if r.failed)
    note(counts_line(shown, failed), failure=not all(row["ok"] for row in rows))


def _charge_row(result: "ChargeResult") -> dict[str, object]:
    status = result.status
    return {
        "id": result.message_id,
        "ok": result.ok,
        "charge": credits_value(result.charge),
        "status": status.code if status else None,
        "meaning": status.meaning if status else None,
        "error_code": result.error_code,
        "error": result.error,
    }
