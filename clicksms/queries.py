"""Questions to the gateway that send nothing: balance, route coverage, ping, and the loop
that asks one question per item.

Pure gateway conversations returning data; the commands in :mod:`clicksms.cli` render them.

:func:`ask_each` is the rule ``status``, ``cancel``, ``charge``, ``coverage`` and the dry runs
share: a coded ``ERR:`` answer about one item is that item's row, while an auth, network or
protocol failure (or Ctrl-C) ends the run with the rows answered so far kept, so they can
still be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from clicksms.errors import ClickSmsError, GatewayError, Interrupted, NetworkError, ProtocolError
from clicksms.gateway.responses import (
    Coverage,
    parse_balance,
    parse_coverage,
    parse_ping,
    single_reply,
)
from clicksms.message.numbers import NumberCheck

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient


K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class Report(Generic[T]):
    """One result per item, in input order, plus the failure that stopped the run, if any.

    ``answered`` counts the items the gateway answered before ``failure``; the results after
    them only say that they were not asked about.
    """

    results: tuple[T, ...]
    answered: int
    failure: ClickSmsError | None = None


def ask_each(
    items: Sequence[K],
    ask: Callable[[K], T],
    refused: Callable[[K, str | None, str], T],
) -> Report[T]:
    """``ask`` about every item; a coded ``ERR:`` for one item is its row, not the end.

    ``refused(item, code, reason)`` makes the row for an item the gateway refused, or (with
    code None) one left unanswered when an auth, network or protocol failure, or Ctrl-C,
    ended the run.
    """
    results: list[T] = []
    for n, item in enumerate(items):
        try:
            results.append(ask(item))
        except GatewayError as exc:
            results.append(refused(item, exc.code, exc.reason))
        except (ClickSmsError, KeyboardInterrupt) as exc:
            failure = exc if isinstance(exc, ClickSmsError) else Interrupted()
            results.append(refused(item, None, _in_flight(failure)))
            results += [refused(i, None, f"not asked: {failure}") for i in items[n + 1 :]]
            return Report(tuple(results), n, failure)
    return Report(tuple(results), len(results))


def _in_flight(failure: ClickSmsError) -> str:
    """What became of the request that failed: it may have been acted on, if it arrived."""
    if isinstance(failure, ProtocolError):
        return str(failure)  # it arrived; the answer was unreadable
    if isinstance(failure, Interrupted) or (
        isinstance(failure, NetworkError) and failure.may_have_arrived
    ):
        return f"no answer, though the request may have arrived: {failure}"
    return f"not asked: {failure}"


def balance(account: GatewayClient) -> float:
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
    account: Callable[[], GatewayClient], checks: Sequence[NumberCheck]
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
    """A successful ping; ``reused`` is False when a new login was needed first, None when
    there is no session at all (per-request credentials)."""

    reused: bool | None
    endpoint: str
    user: str


def ping(account: GatewayClient) -> PingResult:
    """ping with the session the account would use anyway, which resets its idle timer.

    GatewayClient.call logs in when no fresh session is stored, and once more on ERR 003; the
    stored session counts as reused only when the gateway accepted that very session.

    Per-request credentials have no session to keep alive, and Clickatell's ping takes a
    session only: the gateway is asked to check the credentials instead (``getbalance``).
    """
    if account.store is None:
        account.check_credentials()
        settings = account.settings
        return PingResult(reused=None, endpoint=settings.endpoint, user=str(settings.user))
    before = account.store.load()
    parse_ping(single_reply(account.call("ping"), "ping"))
    session = account.session()
    reused = before is not None and session.session_id == before.session_id
    return PingResult(reused=reused, endpoint=session.endpoint, user=session.user)
