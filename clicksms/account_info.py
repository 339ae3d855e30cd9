"""Questions about the account rather than a message: balance, route coverage, session ping.

Pure gateway conversations returning data; the commands in :mod:`clicksms.commands.account`
render them. Coverage uses the one-row-per-item loop of :mod:`clicksms.asking`; ``send
--dry-run`` asks its coverage questions through :func:`route_coverage` too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clicksms.asking import Report, ask_each
from clicksms.numbers import NumberCheck
from clicksms.responses import (
    Coverage,
    parse_balance,
    parse_coverage,
    parse_ping,
    single_reply,
)

if TYPE_CHECKING:
    from clicksms.account import Account


def balance(account: Account) -> float:
    """The account's credit balance (getbalance)."""
    return parse_balance(single_reply(account.call("getbalance"), "getbalance"))


@dataclass(frozen=True)
class CoverageResult:
    """routecoverage's answer for one input number, or why there is none.

    ``number`` is Clickatell's form when the input is valid; invalid inputs never reach the
    gateway and carry the reason in ``error``.
    """

    input: str
    number: str | None
    coverage: Coverage | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.coverage is not None and self.coverage.supported


def route_coverage(
    account: Callable[[], Account], checks: Sequence[NumberCheck]
) -> Report[CoverageResult]:
    """routecoverage for each valid number, once per distinct number, in input order.

    ``account`` is called only when there is a valid number, so a list of invalid ones
    needs no credentials and makes no network call.
    """
    answers: dict[str, Coverage] = {}

    def ask(check: NumberCheck) -> CoverageResult:
        if not check.valid or not check.number:
            return CoverageResult(check.input, None, error=f"invalid number: {check.error}")
        if check.number not in answers:
            reply = account().call("routecoverage", msisdn=check.number)
            answers[check.number] = parse_coverage(single_reply(reply, "routecoverage"))
        return CoverageResult(check.input, check.number, answers[check.number])

    def refused(check: NumberCheck, code: str | None, reason: str) -> CoverageResult:
        return CoverageResult(check.input, check.number, error_code=code, error=reason)

    return ask_each(checks, ask, refused)


@dataclass(frozen=True)
class PingResult:
    """A successful ping; ``reused`` is False when a new login was needed first."""

    reused: bool
    endpoint: str
    user: str


def ping(account: Account) -> PingResult:
    """ping with the session the account would use anyway, which resets its idle timer.

    Account.call logs in when no fresh session is stored, and once more on ERR 003; the
    stored session counts as reused only when the gateway accepted that very session.
    """
    before = account.store.load()
    parse_ping(single_reply(account.call("ping"), "ping"))
    session = account.session()
    reused = before is not None and session.session_id == before.session_id
    return PingResult(reused=reused, endpoint=session.endpoint, user=session.user)
