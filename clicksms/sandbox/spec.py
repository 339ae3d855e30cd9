"""What API.md fixes, as tables: error texts, operations, limits, option values, formats.

Each table names the API.md section it comes from, so a reader can check it against the
reference; the few sandbox choices among them (magic numbers, the frozen user) are marked and
listed for users in README's sandbox section. Nothing here holds state or reads a request.
"""

from __future__ import annotations

import re
import secrets

# ------------------------------------------------------------------------------ errors
#: API.md §7, 2009 spec wording (105 capitalised as seen on the wire). REST-only codes are left
#: out; 130's text is followed by `` until <unix time>`` (see ``limit_exceeded``).
ERRORS: dict[int, str] = {
    1: "Authentication failed",
    2: "Unknown username or password",
    3: "Session ID expired",
    4: "Account frozen",
    5: "Missing session ID",
    7: "IP Lockdown violation",
    101: "Invalid or missing parameters",
    102: "Invalid user data header",
    103: "Unknown API message ID",
    104: "Unknown client message ID",
    105: "Invalid Destination Address",
    106: "Invalid source address",
    107: "Empty message",
    108: "Invalid or missing API ID",
    109: "Missing message ID",
    110: "Error with email message",
    111: "Invalid protocol",
    112: "Invalid message type",
    113: "Maximum message parts exceeded",
    114: "Cannot route message",
    115: "Message expired",
    116: "Invalid Unicode data",
    120: "Invalid delivery time",
    121: "Destination mobile number blocked",
    122: "Destination mobile opted out",
    123: "Invalid Sender ID",
    128: "Number delisted",
    130: "Maximum MT limit exceeded",
    201: "Invalid batch ID",
    202: "No batch template",
    301: "No credit left",
    302: "Max allowed credit",
    901: "Internal error",
}


def err(code: int) -> str:
    """``ERR: NNN, Description`` exactly as API.md §4.1 spells it."""
    return f"ERR: {code:03d}, {ERRORS[code]}"


def limit_exceeded(until: int) -> str:
    """API.md §7: ``ERR: 130`` ends with the unix time at which sending may resume."""
    return f"{err(130)} until {until}"


# routecoverage answers, verbatim from API.md §4 (the failure has no numeric code).
COVERAGE_OK = "OK: This prefix is currently supported. Messages sent to this prefix will be routed."
COVERAGE_NONE = (
    "ERR: This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)

# -------------------------------------------------------------------------- operations
#: API.md §2.1: the 15 operations of both WSDLs (RPC spells routecoverage ``routeCoverage``).
OPERATIONS = frozenset(
    {
        "auth",
        "ping",
        "sendmsg",
        "querymsg",
        "delmsg",
        "getbalance",
        "routecoverage",
        "si_push",
        "ind_push",
        "token_pay",
        "startbatch",
        "senditem",
        "quicksend",
        "endbatch",
        "getmsgcharge",
    }
)


def operation_named(name: str) -> str | None:
    """The operation ``name`` means in any case (RPC spells routecoverage ``routeCoverage``)."""
    return _BY_LOWER.get(name.lower())


_BY_LOWER = {op.lower(): op for op in OPERATIONS}
#: Operations that send messages, so have a credit stage (API.md §11.5): the only ones
#: err-130 / no-credit act on.
CREDIT_OPS = frozenset({"sendmsg", "senditem", "quicksend", "si_push", "ind_push"})

# ---------------------------------------------------------------------- magic numbers
# Sandbox choices, not API.md's: destinations with fixed outcomes (README's table).
#: Refused at send time with this error code.
MAGIC_NUMBERS: dict[str, int] = {
    "27820000105": 105,
    "27820000114": 114,  # only through the default coverage table, which a custom one replaces
    "27820000121": 121,
    "27820000122": 122,
    "27820000128": 128,
    "27820000301": 301,  # at the credit stage, as if the account were empty
}
#: Accepted and charged, then this final status instead of 004.
MAGIC_STATUSES: dict[str, str] = {
    "27820000002": "002",  # never leaves the queue: cancellable, and expires to 010
    "27820000007": "007",  # 003, then 007 error delivering
}
QUEUED_NUMBER = "27820000002"
FAILING_NUMBER = "27820000007"
NO_CREDIT_NUMBER = "27820000301"
#: routecoverage answers ``ERR: 901`` for it; sendmsg treats it like any other number.
COVERAGE_ERROR_NUMBER = "27820000901"
#: Decided at the recipient stage by number alone (114 comes from the coverage table, 301
#: from the credit stage).
RECIPIENT_ERRORS = {n: c for n, c in MAGIC_NUMBERS.items() if c not in (114, 301)}
#: A second user of the configured account (same api_id and password): always ``ERR: 004``.
FROZEN_USER = "frozen"
#: token_pay vouchers (API.md §4: 16 digits): ``4242`` then 6 digits of your choosing then 6
#: that spell the credits it adds (4242000000000100 adds 100), once; any other token is 101.
VOUCHER_PREFIX = "4242"
#: API.md §4 quotes the spec's success line "OK: 605 - If the transaction was successful"
#: (the meaning of 605 is unverified); the part after the dash reads as the table's comment.
VOUCHER_ACCEPTED = "OK: 605"


# ------------------------------------------------------------------------------ limits
MAX_RECIPIENTS = 300  # per request (API.md §1, §5.1)
MAX_PARTS = 35  # "max 35 parts if no escaping" (API.md §5.1 concat, §6)
MAX_DELIV_TIME = 10080  # minutes, 7 days (API.md §5.1 deliv_time)
MAX_VALIDITY = 1440  # minutes; also the default (API.md §5.1 validity, 2009 spec)
DAY = 86400.0
BATCH_SECONDS = DAY  # "batches expire after 24 h" (API.md §4, §9)
QUERY_DAYS = 6  # querymsg/delmsg: "queryable ≈6 days after submission" (API.md §4)
CHARGE_DAYS = 15  # getmsgcharge: "only messages < 15 days old" (API.md §4)

# --------------------------------------------------------------------- sendmsg options
#: API.md §5.1 msg_type, case-sensitive; anything else is 112.
MSG_TYPES = frozenset(
    {
        "SMS_TEXT",
        "SMS_FLASH",
        "SMS_NOKIA_OLOGO",
        "SMS_NOKIA_GLOGO",
        "SMS_NOKIA_PICTURE",
        "SMS_NOKIA_RINGTONE",
        "SMS_NOKIA_RTTL",
        "SMS_NOKIA_CLEAN",
        "SMS_NOKIA_VCARD",
        "SMS_NOKIA_VCAL",
    }
)
#: Integer sendmsg options (API.md §5.1): each must parse as xsd:int when present.
INT_OPTIONS = (
    "concat",
    "unicode",
    "msg_callback",
    "deliv_ack",
    "deliv_time",
    "req_feat",
    "queue",
    "escalate",
    "mo",
    "validity",
)
#: Allowed values (API.md §5.1; msg_callback per §8's 0-7 table). 0 means "use the default"
#: and is in every range: generated RPC clients send every part (API.md §5.1, §10.2).
OPTION_RANGES = {
    "unicode": range(2),
    "msg_callback": range(8),
    "deliv_ack": range(2),
    "queue": range(4),
    "escalate": range(2),
    "mo": range(2),
    "validity": range(MAX_VALIDITY + 1),
}

# ---------------------------------------------------------------------------- statuses
#: API.md §8: still at Clickatell (011 scheduled, 002 queued), the only statuses delmsg can
#: stop (006) and validity can expire (010).
WAITING = frozenset({"011", "002"})
UNKNOWN_STATUS = "001"
QUEUED = "002"
AT_GATEWAY = "003"
DELIVERED = "004"
CANCELLED = "006"
DELIVERY_FAILED = "007"
ROUTING_ERROR = "009"  # max_credits below the route's price (API.md §5.1)
EXPIRED = "010"
SCHEDULED = "011"

# ----------------------------------------------------------------------------- formats
XSD_INT = re.compile(r"[+-]?[0-9]+")
MSISDN = re.compile(r"[1-9][0-9]{6,14}")  # E.164 digits, no + or 00 (§5.1); +690 has 7
NUMERIC_SENDER = re.compile(r"[0-9]{1,16}")  # API.md §5.1 from
ALPHA_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")
CLIMSGID = re.compile(r"[A-Za-z0-9]{1,32}")  # "≤32 alphanumeric chars, no spaces" (§5.1)
VOUCHER = re.compile(r"[0-9]{16}")  # token_pay's token, "16-digit voucher" (§4)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def parse_int(value: str | None) -> int | None:
    """xsd:int lexical form (surrounding whitespace collapsed); None when not one."""
    if value is None:
        return None
    value = value.strip()
    if not XSD_INT.fullmatch(value):
        return None
    number = int(value)
    return number if _INT_MIN <= number <= _INT_MAX else None


def voucher_credits(token: str) -> int | None:
    """The credits a sandbox voucher adds; None when ``token`` is not one."""
    if not (VOUCHER.fullmatch(token) and token.startswith(VOUCHER_PREFIX)):
        return None
    return int(token[-6:]) or None


def format_credit(value: float) -> str:
    """``12.5`` / ``1000.0`` (API.md §4 ``Credit: 12.5``): at most 4 decimals, never 1e-05."""
    text = f"{round(value, 4):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def new_id() -> str:
    """Session IDs, apimsgids and batch IDs: 32 lowercase hex characters (API.md §11.3)."""
    return secrets.token_hex(16)
