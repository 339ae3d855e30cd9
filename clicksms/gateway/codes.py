"""Clickatell's error codes (API.md §7) and message status codes (§8), explained for humans.

The gateway's own error descriptions vary in wording between sources, so we key on the number
only and print our own sentence, which also says what to do where that helps. Status codes
keep the spec's wording, plus what a waiting user needs: final or not, failed or delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Codes that mean "who you are" is the problem, not the message: exit code 3.
AUTH_CODES = frozenset({"001", "002", "003", "004", "005", "007", "108"})

#: Code meaning the stored session has gone idle; safe to re-authenticate and repeat.
SESSION_EXPIRED = "003"

ERROR_MESSAGES: dict[str, str] = {
    "001": "authentication failed: check api_id, user and password",
    "002": "unknown username or password",
    "003": "the gateway expired the session again right after a fresh login: retry later",
    "004": "the Clickatell account is frozen: contact Clickatell support",
    "005": "missing session ID: run `clicksms auth`",
    "007": "IP lockdown violation: this machine's IP is not allowed for the API connection",
    "100": "the gateway could not parse the request (data malformed)",
    "101": "invalid or missing parameters",
    "102": "invalid user data header (UDH)",
    "103": "unknown API message ID",
    "104": "unknown client message ID",
    "105": "invalid destination number",
    "106": "invalid sender ID (from)",
    "107": "empty message",
    "108": "invalid or missing API ID",
    "109": "missing message ID",
    "110": "error with email message",
    "111": "invalid protocol",
    "112": "invalid message type",
    "113": "message needs more parts than allowed (concat)",
    "114": "cannot route message to this number",
    "115": "message expired",
    "116": "invalid unicode data",
    "120": "invalid delivery time",
    "121": "destination number is blocked",
    "122": "destination number has opted out",
    "123": "sender ID is not registered or approved",
    "128": "number delisted",
    "130": "maximum MT limit exceeded",
    "201": "invalid batch ID",
    "202": "no batch template",
    "301": "no credit left: top up the account",
    "302": "maximum allowed credit reached",
    "901": "internal gateway error: retry later",
}

#: Codes whose gateway text carries data we must not drop (130 ends with a resume time).
_KEEP_GATEWAY_TEXT = frozenset({"130"})


def describe_error(code: str, gateway_text: str = "") -> str:
    """Our sentence for an ``ERR:`` code; unknown codes keep the gateway's own words."""
    known = ERROR_MESSAGES.get(code)
    if known is None:
        return gateway_text or f"gateway error {code}"
    if code in _KEEP_GATEWAY_TEXT and gateway_text:
        return f"{known} (gateway says: {gateway_text})"
    return known


@dataclass(frozen=True)
class MessageStatus:
    """What a message status code (API.md §8) means for someone waiting on the message.

    ``final``: the gateway will not report anything else for it. ``error``: the message did
    not, and will not, get through (or the gateway does not know it). ``delivered``: the
    recipient's handset received it (004), the only status that says so. ``known``: the code
    is in the documented table.
    """

    code: str
    meaning: str
    final: bool
    error: bool
    delivered: bool = False
    known: bool = True


#: API.md §8 (2009 spec wording; 013 and 014 from later docs).
MESSAGE_STATUSES: dict[str, MessageStatus] = {
    s.code: s
    for s in (
        # 001 is neither intermediate nor final in the spec ("ID wrong, not found, or
        # reporting delayed"). To a user it means a wrong or too old ID (queries work for
        # about 6 days): a failure, and final for us, so `status --wait` stops asking about
        # it instead of polling until the timeout, and the Final column says so.
        MessageStatus("001", "Message unknown", final=True, error=True),
        MessageStatus("002", "Message queued", final=False, error=False),
        MessageStatus("003", "Delivered to gateway", final=False, error=False),
        MessageStatus("004", "Received by recipient", final=True, error=False, delivered=True),
        MessageStatus("005", "Error with message", final=True, error=True),
        MessageStatus("006", "User cancelled message delivery", final=True, error=False),
        MessageStatus("007", "Error delivering message", final=True, error=True),
        # 008 "OK" means "message received by gateway" (API.md §8), and the 2009 spec puts
        # it in the final set (callback=2): the last word the gateway says about it. It is
        # not a receipt from the handset, so `status --wait` does not count it delivered.
        MessageStatus("008", "OK", final=True, error=False),
        MessageStatus("009", "Routing error", final=True, error=True),
        MessageStatus("010", "Message expired", final=True, error=True),
        MessageStatus("011", "Message queued for later delivery", final=False, error=False),
        MessageStatus("012", "Out of credit", final=True, error=True),
        MessageStatus("013", "Clickatell cancelled message delivery", final=True, error=False),
        MessageStatus("014", "Maximum MT limit exceeded", final=True, error=True),
    )
}

#: delmsg answers this status when it stopped the message.
CANCELLED = "006"
#: querymsg answers this status for an ID it does not know (or no longer knows).
MESSAGE_UNKNOWN = "001"


def message_status(code: str) -> MessageStatus:
    """The table entry for ``code``; an undocumented code is neither final nor a success."""
    known = MESSAGE_STATUSES.get(code)
    if known is not None:
        return known
    return MessageStatus(code, f"undocumented status {code}", final=False, error=False, known=False)
