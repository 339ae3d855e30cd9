"""Clickatell's error codes (API.md §7), explained for humans.

The gateway's own descriptions vary in wording between sources, so we key on the number only
and print our own sentence, which also says what to do where that helps.
"""

from __future__ import annotations

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
