"""After sending: ask for status (querymsg), cancel (delmsg) and the charge (getmsgcharge).

Results are data, one per ID in the order given: the gateway's answer, or the coded error it
gave for that ID (an unknown ID is a failed row, not a crash). Auth, network and protocol
failures end the run; the rows answered so far stay in the report so they can still be shown.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clicksms.errors import ClickSmsError, Interrupted, ProtocolError, UsageError
from clicksms.gateway.codes import CANCELLED, MESSAGE_UNKNOWN, MessageStatus, message_status
from clicksms.gateway.responses import clip, parse_charge, parse_message_status, quote, single_reply
from clicksms.message.options import check_client_id
from clicksms.queries import Report, ask_each

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient

#: climsgid: up to 32 ASCII letters and digits, no spaces (API.md §5.1).
#: apimsgid: 32 hex characters in every example; anything alphanumeric is let through.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9]{1,64}")

#: ``status --wait``: each pause is 1.5 times the last, never more than a minute.
BACKOFF = 1.5
MAX_INTERVAL = 60.0
#: Longest --timeout accepted: a day. Past that, a cron job is the better tool.
MAX_WAIT = 86400.0


def check_ids(raw: Iterable[str], by_client: bool) -> tuple[list[str], list[str]]:
    """Validate IDs before any network call: the distinct ones in order, and the repeats."""
    ids: list[str] = []
    repeats: list[str] = []
    for item in raw:
        ident = item.strip()
        if by_client:
            check_client_id(ident, "client message ID")
        elif not _MESSAGE_ID.fullmatch(ident):
            raise UsageError(
                f"invalid message ID {clip(item, 40)!r}: use the ID that send printed "
                "(letters and digits; --client-id for your own client message IDs)"
            )
        if ident in ids:
            repeats.append(ident)
        else:
            ids.append(ident)
    if not ids:
        raise UsageError("no message IDs given")
    return ids, repeats


def check_wait(interval: float, timeout: float) -> None:
    """Refuse pause lengths that would make the wait loop spin or never end."""
    if not (math.isfinite(interval) and 0 < interval <= MAX_INTERVAL):
        raise UsageError(f"--interval must be more than 0 and at most {MAX_INTERVAL:g} seconds")
    if not (math.isfinite(timeout) and 0 <= timeout <= MAX_WAIT):
        raise UsageError(f"--timeout must be between 0 and {MAX_WAIT:g} seconds")


@dataclass(frozen=True)
class StatusResult:
    """One message's status (querymsg or delmsg), or why the gateway gave none.

    ``asked`` is the ID as given (an apimsgid, or a climsgid when ``by_client``);
    ``message_id`` is the apimsgid the gateway answered for.
    """

    asked: str
    by_client: bool
    message_id: str | None = None
    status: MessageStatus | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """No status, an error status, Message unknown, or a code we cannot interpret."""
        return self.status is None or self.status.error or not self.status.known

    @property
    def settled(self) -> bool:
        """Nothing more to wait for: the status is final, or there will never be one."""
        return self.status is None or self.status.final

    @property
    def delivered(self) -> bool:
        return self.status is not None and self.status.delivered

    @property
    def cancelled(self) -> bool:
        return self.status is not None and self.status.code == CANCELLED

    def cancel_problem(self) -> str | None:
        """Why delmsg did not cancel the message (None when it did)."""
        status = self.status
        if status is None:
            return self.error
        if status.code == CANCELLED:
            return None
        if status.code == MESSAGE_UNKNOWN:
            return "the gateway does not know this message (wrong ID, or too old)"
        if status.code in ("002", "011"):  # still queued, yet not stopped
            return f"still {status.code} {status.meaning}: the gateway did not cancel it"
        return f"already {status.code} {status.meaning}: too late to cancel"


def _refused_status(by_client: bool) -> Callable[[str, str | None, str], StatusResult]:
    def refused(ident: str, code: str | None, reason: str) -> StatusResult:
        return StatusResult(ident, by_client, error_code=code, error=reason)

    return refused


def _check_answered_id(asked: str, answered: str, operation: str) -> None:
    """An answer about another message than the one asked about must not be used for it.

    Hex IDs are compared without regard to case, in case the ID was typed in capitals.
    """
    if answered.casefold() != asked.casefold():
        raise ProtocolError(
            f"unexpected answer to {operation}: it is about message {quote(answered)!r}, "
            f"not {asked}"
        )


def _ask_status(
    account: GatewayClient, operation: str, ident: str, by_client: bool
) -> StatusResult:
    field = "climsgid" if by_client else "apimsgid"
    reply = single_reply(account.call(operation, **{field: ident}), operation)
    state = parse_message_status(reply, operation)
    if not by_client:  # by climsgid, the answer names the apimsgid instead
        _check_answered_id(ident, state.message_id, operation)
    return StatusResult(ident, by_client, state.message_id, message_status(state.status))


def query_status(
    account: GatewayClient, ids: Sequence[str], by_client: bool
) -> Report[StatusResult]:
    """querymsg for each ID (by apimsgid, or by climsgid when ``by_client``)."""
    return ask_each(
        ids,
        lambda ident: _ask_status(account, "querymsg", ident, by_client),
        _refused_status(by_client),
    )


def cancel(account: GatewayClient, ids: Sequence[str], by_client: bool) -> Report[StatusResult]:
    """delmsg for each ID; the answer is the status the message is in afterwards."""
    return ask_each(
        ids,
        lambda ident: _ask_status(account, "delmsg", ident, by_client),
        _refused_status(by_client),
    )


@dataclass(frozen=True)
class WaitReport:
    """The last status of every message, and how many were still not final at the timeout."""

    results: tuple[StatusResult, ...]
    not_final: int
    failure: ClickSmsError | None = None


def wait_for_final(
    account: GatewayClient,
    ids: Sequence[str],
    by_client: bool,
    *,
    interval: float,
    timeout: float,
    progress: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitReport:
    """Query until every message is settled or ``timeout`` seconds have passed.

    Pauses start at ``interval`` and grow ×1.5 up to a minute, and never run past the
    deadline, so the loop ends at most one query round after it. Only unsettled messages
    are asked again. A failure ends the wait with the last status known for each message.
    """
    check_wait(interval, timeout)
    deadline = clock() + timeout
    delay = interval
    latest: dict[str, StatusResult] = {}
    pending = list(ids)
    while True:
        round_ = query_status(account, pending, by_client)
        for result in round_.results[: round_.answered]:
            latest[result.asked] = result
        if round_.failure is not None:
            if not latest:  # nothing to show: end like any other failed command
                raise round_.failure
            unanswered = {r.asked: r for r in round_.results[round_.answered :]}
            rows = tuple(latest.get(i) or unanswered[i] for i in ids)
            return WaitReport(rows, 0, round_.failure)
        pending = [i for i in pending if not latest[i].settled]
        left = deadline - clock()
        if not pending or left <= 0:
            break
        pause = min(delay, left)
        try:  # Ctrl-C while telling or pausing: show what is known, not a traceback
            progress(
                f"Waiting: {len(pending)} of {len(ids)} message(s) not final yet; "
                f"checking again in {pause:.2g}s ({left:.0f}s left)."
            )
            sleep(pause)
        except KeyboardInterrupt:
            return WaitReport(tuple(latest[i] for i in ids), len(pending), Interrupted())
        delay = min(delay * BACKOFF, MAX_INTERVAL)
    return WaitReport(tuple(latest[i] for i in ids), len(pending))


@dataclass(frozen=True)
class ChargeResult:
    """What one message cost (getmsgcharge), or why the gateway would not say."""

    message_id: str
    charge: float | None = None
    status: MessageStatus | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.charge is not None


def _ask_charge(account: GatewayClient, ident: str) -> ChargeResult:
    reply = single_reply(account.call("getmsgcharge", apimsgid=ident), "getmsgcharge")
    answer = parse_charge(reply)
    _check_answered_id(ident, answer.message_id, "getmsgcharge")
    return ChargeResult(ident, answer.charge, message_status(answer.status))


def charges(account: GatewayClient, ids: Sequence[str]) -> Report[ChargeResult]:
    """getmsgcharge for each apimsgid (neither WSDL lets it take a climsgid)."""
    return ask_each(
        ids,
        lambda ident: _ask_charge(account, ident),
        lambda ident, code, reason: ChargeResult(ident, error_code=code, error=reason),
    )
