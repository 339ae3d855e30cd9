"""Parse the strings Clickatell returns inside ``<return>`` (API.md §4.1).

Success and failure are both plain strings; these pure functions turn them into values or
raise :class:`~clicksms.errors.GatewayError` / :class:`~clicksms.errors.ProtocolError`.
Parsing is liberal about spacing, as the spec's own examples are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clicksms.codes import AUTH_CODES, SESSION_EXPIRED, describe_error
from clicksms.errors import AuthError, GatewayError, ProtocolError, SessionExpired

_ERR = re.compile(r"^ERR:\s*(\d{3}),\s*(.*?)(?:\s+To:\s*(\d+))?\s*$", re.DOTALL)
_OK = re.compile(r"^OK:?\s*(\S*)\s*$")
_ID = re.compile(r"^ID:\s*(\w+)(?:\s+To:\s*(\d+))?\s*$")


@dataclass(frozen=True)
class GatewayErr:
    """An ``ERR: nnn, text [To: msisdn]`` answer."""

    code: str
    text: str
    to: str | None = None

    @property
    def message(self) -> str:
        return describe_error(self.code, clip(self.text))


@dataclass(frozen=True)
class SendItem:
    """One item of a sendmsg answer: an accepted message ID or an error, maybe with ``To:``."""

    to: str | None
    message_id: str | None = None
    error: GatewayErr | None = None


def parse_error(reply: str) -> GatewayErr | None:
    """Return the error in ``reply`` if it is an ``ERR:`` answer with a code, else None."""
    match = _ERR.match(reply.strip())
    if not match:
        return None
    return GatewayErr(code=match[1], text=match[2].strip(), to=match[3])


def raise_for_error(reply: str) -> None:
    """Raise the matching exception when a whole-request answer is an ``ERR:``."""
    err = parse_error(reply)
    if err is None:
        return
    line = f"{err.message} (ERR {err.code})"
    if err.code == SESSION_EXPIRED:
        raise SessionExpired(line)
    if err.code in AUTH_CODES:
        raise AuthError(line)
    raise GatewayError(err.code, err.message)


def session_expired(replies: list[str]) -> bool:
    """True when a whole answer is ``ERR: 003``: nothing was done, re-auth and repeat is safe."""
    if len(replies) != 1:
        return False
    err = parse_error(replies[0])
    return err is not None and err.code == SESSION_EXPIRED


def parse_session_id(reply: str) -> str:
    """``OK: <session>`` from auth; anything else is an error."""
    raise_for_error(reply)
    match = _OK.match(reply.strip())
    if not match or not match[1]:
        # Never quote it: an almost-valid answer would carry the session ID.
        raise ProtocolError(f"unexpected answer to auth ({len(reply)} characters, not 'OK: <id>')")
    return match[1]


def parse_send_item(reply: str) -> SendItem:
    """One ``<return>`` of sendmsg: ``ID: x [To: n]`` or ``ERR: nnn, text [To: n]``."""
    err = parse_error(reply)
    if err is not None:
        return SendItem(to=err.to, error=err)
    match = _ID.match(reply.strip())
    if not match:
        raise ProtocolError(f"unexpected answer to sendmsg: {clip(reply)!r}")
    return SendItem(to=match[2], message_id=match[1])


def clip(text: object, limit: int = 100) -> str:
    """Server-supplied text made safe for one terminal line: no control characters, short."""
    printable = "".join(ch if ch.isprintable() else " " for ch in str(text))
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
