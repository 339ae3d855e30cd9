"""``clicksms balance``, ``coverage`` and ``ping``: questions about the account, not a message."""

import typer

from clicksms.cli.params import (
    CountryOption,
    NumbersArgument,
    OutputOption,
    QuietOption,
    finish,
    raise_if_nothing_answered,
    stdin_lines,
)
from clicksms.cli.render import (
    Column,
    OutputFormat,
    credits_value,
    emit,
    emit_object,
    format_credits,
)


def balance(
    ctx: typer.Context,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Show the account's credit balance.

    \b
        clicksms balance
        clicksms balance -o json | jq .balance
    """
    from clicksms.queries import balance as get_balance

    value = get_balance(ctx.obj.gateway())
    emit_object(
        {"balance": credits_value(value)}, f"Balance: {format_credits(value)} credits", output
    )


def coverage(
    ctx: typer.Context,
    numbers: NumbersArgument = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Ask the gateway whether it can route to numbers, and the lowest one-part charge.

    Each number is checked as send checks it; invalid ones are reported without asking
    the gateway. The charge is a guide, not a quote: no need to ask before every send.

    \b
        clicksms coverage 27821234567 "+44 7911 123456"
        clicksms coverage "082 123 4567" --country ZA -o json
    """
    from clicksms.errors import outcome_exit_code
    from clicksms.message.numbers import check_number
    from clicksms.queries import route_coverage

    invocation = ctx.obj
    region = invocation.country(country)
    checks = [check_number(n, region) for n in (numbers or stdin_lines("numbers"))]
    report = route_coverage(invocation.gateway, checks)
    raise_if_nothing_answered(report)
    rows = []
    for r in report.results:
        answer = r.coverage
        rows.append(
            {
                "input": r.input,
                "number": r.number,
                "ok": r.ok,
                "supported": answer.supported if answer else None,
                "charge": credits_value(answer.charge) if answer else None,
                "text": answer.text if answer else None,
                "error_code": r.error_code,
                "error": r.error,
            }
        )
    if output is OutputFormat.table:
        for row in rows:
            row["number"] = row["number"] or row["input"]
            row["charge"] = None if row["charge"] is None else format_credits(row["charge"])
            row["text"] = row["text"] or row["error"]
        columns = [
            Column("number", "Number"),
            Column("supported", "Supported", lambda ok: "green" if ok else "red"),
            Column("charge", "Charge"),
            Column("text", "Answer", wrap=True),
        ]
        emit(rows, columns, output)
    else:
        keys = ["input", "number", "ok", "supported", "charge", "text", "error_code", "error"]
        emit(rows, [Column(k, k) for k in keys], output)
    finish(report.failure, outcome_exit_code(r.ok for r in report.results))


def ping(
    ctx: typer.Context,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Check the gateway accepts our session, and keep it alive (logs in if needed).

    Any command resets the session's 15-minute idle timer; ping does only that, so a
    cron job can keep a session warm. With --no-session it checks the credentials instead
    (session_reused is null).

    \b
        clicksms ping
        clicksms ping -o json        # {"ok": true, "session_reused": true, ...}
    """
    from clicksms.queries import ping as ping_gateway

    result = ping_gateway(ctx.obj.gateway())
    if result.reused is None:
        how = "it accepts the credentials (--no-session: no session to keep alive)"
    elif result.reused:
        how = "the stored session was reused"
    else:
        how = "logged in for a new session (none was stored, or the gateway had expired it)"
    emit_object(
        {
            "ok": True,
            "session_reused": result.reused,
            "endpoint": result.endpoint,
            "user": result.user,
        },
        f"The gateway at {result.endpoint} answered: {how}.",
        output,
    )
