"""Top the account up with a Clickatell voucher (``token_pay``), then read the new balance.

A voucher is a 16-digit code worth credits to whoever types it in, so it is shown only by its
last four digits (:func:`masked`), in results and errors alike, and the SOAP client masks any
echo of it in a server's answer. ``token_pay`` is never repeated after a request that may
have arrived: a voucher works once, so a second try would be refused and hide the first one's
success.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clicksms.errors import ClickSmsError, GatewayError, NetworkError, UsageError
from clicksms.gateway.responses import parse_token_pay

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient

VOUCHER_DIGITS = 16  # "token (16-digit voucher)", API.md §4
SHOWN_DIGITS = 4
#: What may separate the digit groups of a voucher as printed: dropped before checking.
_SEPARATORS = str.maketrans("", "", " -")


@dataclass(frozen=True)
class TopUp:
    """An accepted voucher: the gateway's answer and the balance read after it.

    ``balance`` is None when ``getbalance`` failed after the voucher was accepted
    (``balance_error`` says why): the top-up happened all the same.
    """

    voucher: str  # masked: every digit but the last four hidden
    answer: str  # the gateway's OK line, e.g. "OK: 605"
    balance: float | None
    balance_error: ClickSmsError | None = None


def check_voucher(raw: str) -> str:
    """The voucher's 16 digits; spaces and dashes between digit groups are fine.

    The error never repeats what was typed: it may be a real voucher with a typo.
    """
    voucher = raw.strip().translate(_SEPARATORS)
    if not voucher:
        raise UsageError("no voucher: give VOUCHER, or pipe it on stdin")
    if not (voucher.isascii() and voucher.isdigit()):
        raise UsageError(f"a voucher is {VOUCHER_DIGITS} digits: this has other characters too")
    if len(voucher) != VOUCHER_DIGITS:
        raise UsageError(f"a voucher is {VOUCHER_DIGITS} digits, not {len(voucher)}")
    return voucher


def masked(voucher: str) -> str:
    """``************0100``: enough to tell vouchers apart, not enough to spend one."""
    return "*" * (len(voucher) - SHOWN_DIGITS) + voucher[-SHOWN_DIGITS:]


def top_up(account: GatewayClient, voucher: str) -> TopUp:
    """Pay ``voucher`` into the account, then ask for the balance.

    A refusal names the voucher by its last digits; a request that may have arrived but got
    no readable answer says to check the balance before trying the voucher again.
    """
    from clicksms.queries import balance

    shown = masked(voucher)
    try:
        answer = parse_token_pay(account.call("token_pay", token=voucher))
    except GatewayError as exc:
        hint = "; check the digits (a voucher works once)" if exc.code == "101" else ""
        raise GatewayError(exc.code, f"voucher {shown} was refused: {exc.reason}{hint}") from None
    except NetworkError as exc:
        if not exc.may_have_arrived:
            raise
        raise type(exc)(
            f"{exc}; voucher {shown} may have been used: check `clicksms balance` before "
            "trying it again",
            may_have_arrived=True,
            permanent=exc.permanent,
        ) from None
    try:
        return TopUp(shown, answer, balance(account))
    except ClickSmsError as exc:
        return TopUp(shown, answer, None, exc)
