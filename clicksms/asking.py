"""One gateway question per item, one result row per item: the loop behind ``status``,
``cancel``, ``charge``, ``coverage`` and the dry run's charge estimate.

It lives on its own because the rule it encodes is shared: a coded ``ERR:`` answer about one
item is that item's row, while an auth, network or protocol failure (or Ctrl-C) ends the run
with the rows answered so far kept, so they can still be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from clicksms.errors import ClickSmsError, GatewayError, Interrupted, NetworkError, ProtocolError

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
