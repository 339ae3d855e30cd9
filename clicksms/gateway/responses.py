"""Parse the strings Clickatell returns inside ``<return>`` (API.md §4.1).

Success and failure are both plain strings; these pure functions turn them into values or
raise :class:`~clicksms.errors.GatewayError` / :class:`~clicksms.errors.ProtocolError`.
Parsing is liberal about spacing, as the spec's own examples are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from clicksms.errors import AuthError, GatewayError, ProtocolError, SessionExpired
from clicksms.gateway.codes import AUTH_CODES, SESSION_EXPIRED, describe_error

_ERR = re.compile(r"^ERR:\s*(\d{3}),\s*(.*?)(?:\s+To:\s*(\d+))?\s*$", re.DOTALL)
_OK = re.compile(r"^OK:?\s*(\S*)\s*$")
_ID = re.compile(r"^ID:\s*(\w+)(?:\s+To:\s*(\d+))?\s*$")
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_STATUS = re.compile(r"^ID:\s*(\w+)\s+Status:\s*(\d{3})\s*$", re.IGNORECASE)
_CREDIT = re.compile(rf"^Credits?:\s*(-?){_NUMBER}\s*$", re.IGNORECASE)
_COVERED = re.compile(rf"^OK\b:?\s*(.*?)(?:\s*Charge:\s*{_NUMBER})?\s*$", re.DOTALL | re.IGNORECASE)
_NOT_COVERED = re.compile(r"^ERR:\s*([^\d\s].*?)\s*$", re.DOTALL)  # no code (API.md §4)
_CHARGE = re.compile(
    rf"^apiMsgId:\s*(\w+)\s+charge:\s*{_NUMBER}\s+status:\s*(\d{{3}})\s*$", re.IGNORECASE
)
#: Anything shaped like a session ID (32 hex in every example) is never quoted back.
_SECRET_LIKE = re.compile(r"[0-9A-Fa-f]{32,}")


@dataclass(frozen=True)
class GatewayErr:
    """An ``ERR: nnn, text [To: msisdn]`` answer."""

    code: str
    text: str
    to: str | None = None

    @property
    def message(self) -> str:
        return describe_error(self.code, quote(self.text))  # it may end up in the journal


class MessageState(NamedTuple):
    """querymsg/delmsg: ``ID: <apimsgid> Status: <NNN>``."""

    message_id: str
    status: str


class MessageCharge(NamedTuple):
    """getmsgcharge: ``apiMsgId: <id> charge: <float> status: <NNN>``."""

    message_id: str
    charge: float
    status: str


@dataclass(frozen=True)
class Coverage:
    """routecoverage's verdict on a number; ``charge`` is the cheapest one-part price quoted.

    ``text`` is the gateway's own sentence (cleaned for one line), which is all it explains.
    """

    supported: bool
    charge: float | None
    text: str


# Slotted, not frozen: built for every row (see JobRow in clicksms.bulk.journal).
@dataclass(slots=True)
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
        raise SessionExpired(line, code=err.code)
    if err.code in AUTH_CODES:
        raise AuthError(line, code=err.code)
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


def single_reply(replies: list[str], operation: str) -> str:
    """The one ``<return>`` that querymsg, delmsg, getbalance, ping and friends send."""
    if len(replies) != 1:
        raise ProtocolError(f"expected one answer to {operation}, got {len(replies)}")
    return replies[0]


def parse_ping(reply: str) -> None:
    """ping succeeds with any answer starting ``OK`` (``OK:``, ``OK: ``, even ``OK: <id>``)."""
    raise_for_error(reply)
    if not reply.strip().startswith("OK"):
        # Never quoted: some docs show ping answering with the session ID.
        raise ProtocolError(f"unexpected answer to ping ({len(reply)} characters, not 'OK')")


def parse_message_status(reply: str, operation: str = "querymsg") -> MessageState:
    """``ID: x Status: NNN`` from querymsg or delmsg; coded ``ERR:`` answers raise."""
    raise_for_error(reply)
    match = _STATUS.match(reply.strip())
    if not match:
        raise ProtocolError(f"unexpected answer to {operation}: {quote(reply)!r}")
    return MessageState(match[1], match[2])


def parse_balance(reply: str) -> float:
    """``Credit: 12.5`` (2009 spec) or ``Credits: 123.00`` (later docs)."""
    raise_for_error(reply)
    match = _CREDIT.match(reply.strip())
    if not match:
        raise ProtocolError(f"unexpected answer to getbalance: {quote(reply)!r}")
    return float(match[1] + match[2])


def parse_coverage(reply: str) -> Coverage:
    """routecoverage: ``OK: <sentence> Charge: <n>`` is covered; a code-less ``ERR: <sentence>``
    is "not covered" (an answer, not a failure); a coded ``ERR: nnn, …`` raises as usual.
    """
    raise_for_error(reply)
    text = reply.strip()
    covered = _COVERED.match(text)
    if covered:
        charge = float(covered[2]) if covered[2] is not None else None
        return Coverage(supported=True, charge=charge, text=clip(covered[1], 300))
    refused = _NOT_COVERED.match(text)
    if refused:
        return Coverage(supported=False, charge=None, text=clip(refused[1], 300))
    raise ProtocolError(f"unexpected answer to routecoverage: {quote(reply)!r}")


def parse_charge(reply: str) -> MessageCharge:
    """getmsgcharge: ``apiMsgId: x charge: 1.5 status: 004`` (lower-case keys in the spec)."""
    raise_for_error(reply)
    match = _CHARGE.match(reply.strip())
    if not match:
        raise ProtocolError(f"unexpected answer to getmsgcharge: {quote(reply)!r}")
    return MessageCharge(match[1], float(match[2]), match[3])


def parse_token_pay(replies: list[str]) -> str:
    """token_pay: ``OK: <text>`` (the spec quotes ``OK: 605``; what 605 means is unverified).

    The answer is one ``<return>`` (a list of them over Document/Literal, one string over
    RPC/Encoded); the whole OK line is returned, for the user to see.
    """
    reply = single_reply(replies, "token_pay")
    raise_for_error(reply)
    text = reply.strip()
    if not text.startswith("OK"):
        raise ProtocolError(f"unexpected answer to token_pay: {quote(reply)!r}")
    return clip(text)


def parse_batch_id(reply: str) -> str:
    """startbatch: ``ID: <batch_id>``; a coded ``ERR:`` (202 no template, …) raises."""
    raise_for_error(reply)
    match = _ID.match(reply.strip())
    if not match or match[2] is not None:
        raise ProtocolError(f"unexpected answer to startbatch: {quote(reply)!r}")
    return match[1]


def parse_end_batch(reply: str) -> None:
    """endbatch: ``OK``; a coded ``ERR:`` (201 unknown or expired batch) raises."""
    raise_for_error(reply)
    if not reply.strip().startswith("OK"):
        raise ProtocolError(f"unexpected answer to endbatch: {quote(reply)!r}")


def quote(reply: object) -> str:
    """:func:`clip` for error lines, with anything shaped like a session ID masked.

    A broken server may echo the request, and a --debug log or CI output must not show
    the session that logs in as the user.
    """
    return clip(_SECRET_LIKE.sub("<hex>", str(reply)))


def mask(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every echo of each secret replaced by ``<name hidden>`` (name: secret).

    A server may echo a secret as it was sent, XML-escaped (``&amp;`` for ``&``), with its
    spaces and tabs collapsed or changed, or cut short: its first characters (four or more,
    starting a word) at the end of the text or before a cut mark (``…``, ``...``) count too.
    Mask before :func:`clip`, whose collapsing and cutting would hide a secret from this.
    """
    for name, secret in secrets.items():
        if not _may_echo(text, secret):
            continue
        patterns = _echoes(secret)
        if patterns is not None:
            hidden = f"<{name} hidden>"
            for pattern in patterns:
                text = pattern.sub(hidden, text)
    return text


def mask_each(texts: list[str], secrets: Mapping[str, str]) -> list[str]:
    """:func:`mask` on each text. The secrets none of them may echo are set aside by one
    test on them all (a text is part of the whole), not one per text: a sendmsg answer to
    300 recipients has 300 texts."""
    whole = "\n".join(texts)
    echoed = {name: secret for name, secret in secrets.items() if _may_echo(whole, secret)}
    if not echoed:
        return texts
    return [mask(text, echoed) for text in texts]


#: The shortest start of a secret masked where a text was cut.
_CUT_PREFIX = 4


def _may_echo(text: str, secret: str) -> bool:
    """Whether ``text`` may hold an echo of ``secret``, by a test far cheaper than compiling
    :func:`_echoes`'s patterns (most texts, a message ID say, need none).

    Every echo the patterns find starts with the secret's first characters (at least
    :data:`_CUT_PREFIX` of them, or the whole of a shorter secret), each as itself or as a
    character reference (``&...;``); whitespace inside may be any whitespace. So a text with
    no ``&`` holds an echo only if it holds that start verbatim.

    It must stay a test of what the text *contains*: :func:`mask_each` asks it once of many
    texts joined, which is only sound while a text's answer can never be True alone.
    """
    if "&" in text:
        return True
    start = secret.strip()[:_CUT_PREFIX]
    return any(ch.isspace() for ch in start) or start in text


#: Where a cut text ends: a cut mark, or the end (after spaces or dots).
_CUT = r"(?=…|\.\.\.|[\s.]*\Z)"
#: The named entities XML-escaping uses; any character may also come back as a numeric
#: character reference (``&#39;``, ``&#x27;``: PHP's and Python's escapers write those).
_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def _echo_of(char: str) -> str:
    """A pattern for one character of a secret as it may be echoed: itself, escaped or not."""
    code = ord(char)
    forms = [re.escape(char), f"&#0*{code};", f"(?i:&#x0*{code:x};)"]
    if char in _NAMED:
        forms.append(_NAMED[char])
    return "(?:" + "|".join(forms) + ")"


@functools.lru_cache(maxsize=32)
def _echoes(secret: str) -> tuple[re.Pattern[str], ...] | None:
    """Patterns for ``secret`` whole, then for its start where a text was cut (if long enough).

    Whitespace around a secret may be lost in an echo, so only what it surrounds is looked
    for; whitespace inside matches any whitespace. None for a secret of whitespace only.
    """
    units = [
        r"\s+" if piece.isspace() else _echo_of(piece)
        for piece in re.findall(r"\s+|.", secret.strip(), re.DOTALL)
    ]
    if not units:
        return None
    whole = re.compile("".join(units))
    if len(units) <= _CUT_PREFIX:
        return (whole,)
    rest = ""
    for unit in reversed(units[_CUT_PREFIX:-1]):  # a proper start: the whole is masked above
        rest = f"(?:{unit}{rest})?"
    # A start of the secret begins a word, and everything from it to the cut belongs to the
    # secret: a message ID whose last characters happen to begin the session ID is no echo.
    start = r"(?<!\w)" if re.match(r"\w", secret.strip()) else ""
    return whole, re.compile(start + "".join(units[:_CUT_PREFIX]) + rest + _CUT)


def clip(text: object, limit: int = 100) -> str:
    """Server-supplied text made safe for one terminal line: no control characters, short.

    It collapses whitespace and cuts: secrets in ``text`` must be masked (:func:`mask`) first.
    """
    printable = "".join(ch if ch.isprintable() else " " for ch in str(text))
    flat = " ".join(printable.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
