"""``clicksms topup``: pay a Clickatell voucher into the account and show the new balance."""

from typing import Annotated, Optional

import typer

from clicksms.cli.params import OutputOption, QuietOption, secret_line
from clicksms.cli.render import OutputFormat, credits_value, emit_object, format_credits, warn
from clicksms.errors import UsageError

#: The most of stdin read for a voucher: one line of 16 digits, with room for separators.
_MAX_VOUCHER_LINE = 256


def topup(
    ctx: typer.Context,
    voucher: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Argument(
            metavar="VOUCHER",
            help="The 16-digit voucher; read from stdin when not given (typed unseen on a "
            "terminal), which keeps it out of your shell history.",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Top the account up with a Clickatell voucher (token_pay), then show the balance.

    The voucher is shown by its last four digits only. Exit code 4 when the gateway
    refuses it, 5 when the answer was lost (check `clicksms balance` before trying the
    voucher again: it works once).

    \b
        clicksms topup                          # asks for the voucher without echoing it
        clicksms topup 4242-0000-0000-0100
        printf '%s\\n' "$VOUCHER" | clicksms topup -o json
    """
    from clicksms.topup import check_voucher, top_up

    code = check_voucher(voucher if voucher is not None else _voucher_from_stdin())
    done = top_up(ctx.obj.gateway(), code)
    balance = "" if done.balance is None else f" Balance: {format_credits(done.balance)} credits."
    if done.balance_error is not None:
        warn(f"the voucher was accepted, but the balance could not be read: {done.balance_error}")
    emit_object(
        {
            "ok": True,
            "voucher": done.voucher,
            "answer": done.answer,
            "balance": credits_value(done.balance),
        },
        f"Voucher {done.voucher} accepted ({done.answer}).{balance}",
        output,
    )


def _voucher_from_stdin() -> str:
    """The first line of stdin; on a terminal, typed without echo."""
    import sys

    if sys.stdin is None:
        raise UsageError("no voucher: give VOUCHER, or pipe it on stdin (standard input is closed)")
    return secret_line("voucher", "Voucher: ", UsageError, _MAX_VOUCHER_LINE)
