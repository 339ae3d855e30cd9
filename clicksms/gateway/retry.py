"""When a gateway call may be repeated, and how: bounded exponential backoff with full jitter.

Repeating a question (auth, ping, balance, status, coverage, charge) can never do harm, nor
can opening or closing a batch (startbatch, endbatch: they send nothing), so
it is repeated after any network or protocol failure that may pass (not an HTTP 4xx page, a
redirect or an untrusted certificate: ``permanent``) and after a whole-answer ``ERR: 901``
(internal error). Anything else — ``sendmsg`` above all, but also ``delmsg`` — is repeated
only when the request provably never reached the gateway (refused, DNS, connect timeout:
``may_have_arrived=False``) or the gateway answered ``ERR: 901`` for the whole request,
which it accepted nothing of. A send whose outcome is unknown is never repeated here: that
would risk a duplicate message.

The pauses are "full jitter" (a random time up to base × 2^n, capped), so that many clients
failing together do not come back in step; a longer ``Retry-After`` from an HTTP 503 (or 429)
is waited instead, up to the same cap. The caller's thread sleeps, so Ctrl-C during a pause
interrupts it at once, as :class:`~clicksms.errors.PauseInterrupted`: it says whether the
attempt before the pause may have arrived, so a send can tell *not sent* from *unknown*.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from clicksms.config import MAX_RETRY_DELAY
from clicksms.errors import NetworkError, PauseInterrupted
from clicksms.gateway.responses import parse_error

#: Operations that only ask, or only open and close a batch (a template kept at the gateway):
#: repeating them cannot send, cancel or charge anything. A repeated startbatch leaves at
#: worst an unused batch, which expires; a repeated endbatch answers ERR 201, closed already.
SAFE_OPERATIONS = frozenset(
    {
        "auth",
        "ping",
        "getbalance",
        "querymsg",
        "routecoverage",
        "getmsgcharge",
        "startbatch",
        "endbatch",
    }
)
#: The whole-answer code that means "try again later" and that nothing was done.
INTERNAL_ERROR = "901"
#: The longest single pause, whatever the attempt number or the server's Retry-After.
MAX_DELAY = MAX_RETRY_DELAY


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra attempts; the n-th pause is random in [0, min(8, base × 2^n)]."""

    retries: int = 3
    base_delay: float = 0.5

    def pause(self, retry: int, asked: float | None = None) -> float:
        """Seconds to wait before extra attempt number ``retry`` (0 for the first).

        ``asked`` is the server's Retry-After: waited instead when longer, up to the cap. A
        base of 0 means no pauses at all, Retry-After included (tests, impatient scripts).
        """
        jitter = random.uniform(0.0, min(MAX_DELAY, self.base_delay * 2**retry))
        if asked is None or self.base_delay == 0:
            return jitter
        return max(jitter, min(asked, MAX_DELAY))


def may_retry_error(operation: str, error: BaseException) -> bool:
    """Whether ``operation`` may be sent again after it failed with ``error``."""
    if not isinstance(error, NetworkError) or error.permanent:  # auth, usage, bugs, Ctrl-C
        return False
    return operation in SAFE_OPERATIONS or not error.may_have_arrived


def may_retry_answer(replies: list[str]) -> bool:
    """Whether the gateway's answer is a whole-request ``ERR: 901``: it did nothing."""
    if len(replies) != 1:
        return False
    error = parse_error(replies[0])
    return error is not None and error.code == INTERNAL_ERROR and error.to is None


def call_with_retries(
    operation: str,
    attempt: Callable[[], list[str]],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """``attempt()`` once, then again while the rules above allow and retries remain.

    The last answer is returned as it is (an ``ERR: 901`` included, for the caller to report);
    the last error is raised with the number of attempts added when there were several.
    Ctrl-C during a pause raises :class:`PauseInterrupted`.
    """
    tries = 0
    while True:
        tries += 1
        last_try = tries > policy.retries
        try:
            replies = attempt()
        except NetworkError as exc:
            if last_try or not may_retry_error(operation, exc):
                if tries == 1:
                    raise
                raise _after(exc, tries) from exc
            arrived, asked = exc.may_have_arrived, exc.retry_after
        else:
            if last_try or not may_retry_answer(replies):
                return replies
            arrived, asked = False, None  # a whole-request ERR 901: the gateway did nothing
        try:
            sleep(policy.pause(tries - 1, asked))
        except KeyboardInterrupt:
            raise PauseInterrupted(may_have_arrived=arrived) from None


def _after(error: NetworkError, tries: int) -> NetworkError:
    """The same error, of the same kind and arrival flag, saying how often it was tried."""
    return type(error)(
        f"{error} (after {tries} attempts)",
        may_have_arrived=error.may_have_arrived,
        permanent=error.permanent,
        retry_after=error.retry_after,
    )
