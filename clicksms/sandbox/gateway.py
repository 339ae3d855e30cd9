"""Account state and command semantics of the sandbox gateway (no HTTP, no XML).

Everything here follows API.md (§3 sessions, §4 commands, §5 parameters, §6 content,
§7 error wording, §8 statuses, §11 validation order), not whatever our client sends:
the sandbox exists to catch client bugs.

Magic destination numbers give deterministic outcomes. ``MAGIC_NUMBERS`` maps those that
fail at send time to their error code; ``MAGIC_STATUSES`` maps those that are accepted
(and charged) to the final status they reach; ``COVERAGE_ERROR_NUMBER`` is special to
routecoverage only:

=============  ======  ================================================================
number         code    outcome
=============  ======  ================================================================
27820000105    ERR     ``ERR: 105, Invalid Destination Address``
27820000114    ERR     ``ERR: 114, Cannot route message`` (it is ``None`` in the default
                       coverage table, so a custom ``coverage`` table can drop it)
27820000121    ERR     ``ERR: 121, Destination mobile number blocked``
27820000122    ERR     ``ERR: 122, Destination mobile opted out``
27820000128    ERR     ``ERR: 128, Number delisted``
27820000301    ERR     ``ERR: 301, No credit left`` (credit stage, as if out of credit)
27820000002    status  stays ``002`` Message queued at Clickatell, never delivered; becomes
                       ``010`` Message expired (refunded) when its validity runs out.
                       Lets clients test delmsg (``006``) and expiry.
27820000007    status  ``003``, then ``007`` Error delivering message after
                       ``delivery_seconds`` instead of ``004``: a failed delivery.
27820000901    cover   ``routecoverage`` answers ``ERR: 901, Internal error`` (sendmsg
                       treats it like any other number): lets clients test a coded
                       coverage error for one number among several.
=============  ======  ================================================================

Message lifecycle (API.md §8, §11.7), read from the injected clock at every request:

* accepted -> ``003`` Delivered to gateway -> ``004`` after ``delivery_seconds``;
  ``deliv_time`` > 0 -> ``011`` until due (``due_at`` = acceptance + ``deliv_time``).
* ``validity`` is in minutes; 0 or absent means 1440. The 2009 spec allows 1..1440 and
  names no error for other values, so they get the generic ``ERR: 101``. It is counted
  from ``due_at``, not from acceptance: a design choice (UNVERIFIED, API.md does not say
  where it starts). API.md calls validity "how long the message may wait on Clickatell's
  gateway" and allows ``deliv_time`` up to 10080 minutes; counted from acceptance, the
  1440-minute default would expire every message scheduled more than a day ahead before
  it was due. So a scheduled message is never expired while ``011``; one still waiting
  (``002``) ``validity`` minutes after it was due becomes ``010`` and its charge is
  refunded (API.md: expiry is not charged).
* ``max_credits`` below the route's price for one part -> ``009`` at once, not charged.
  API.md only says max_credits "overrides max charge"; comparing it with the price of
  one part (not the whole message) is the sandbox's interpretation (UNVERIFIED).
* ``delmsg`` stops a message still at Clickatell (``011``/``002``) -> ``006``; any other
  status is reported unchanged. A cancelled message keeps its charge: API.md promises a
  refund only for expiry, and a client must not count on cancelling to get credit back.
* ``getmsgcharge`` reports the credits the message actually costs now: parts x route
  price, 0 for ``009`` and ``010``.
* A ``climsgid`` reused by a later message refers to the latest one (querymsg, delmsg).
* Messages age out as API.md §4 says, on the injected clock: from 6 days on
  (``QUERY_DAYS``, "queryable ≈6 days") querymsg and delmsg answer as for an unknown
  message (``Status: 001`` / ``ERR: 103`` / ``ERR: 104``); from 15 days on
  (``CHARGE_DAYS``, "only messages < 15 days old") getmsgcharge answers ``ERR: 103``.
  API.md counts "after submission"; the sandbox counts from ``due_at``, which is the
  same for an unscheduled message, so that a message scheduled up to 7 days ahead can
  still be queried and cancelled until it is sent (UNVERIFIED design choice).

Option values (API.md §5.1; 0 or empty means "use the default", as RPC clients send every
part): ``queue`` 1..3 (default 3), ``msg_callback`` 0..7, ``deliv_ack``/``escalate``/``mo``
0 or 1, ``unicode`` 0 or 1, ``concat`` >= 0. Anything else is ``ERR: 101``.

Accounts: the configured ``api_id``/``user``/``password``; plus user ``frozen`` with the
same api_id and password, which always answers ``ERR: 004, Account frozen``.

Injected faults of the credit stage (``faults.CREDIT_KINDS``) are acted out here, in
``_credit_fault``, when a sendmsg reaches step 5 of ``_op_sendmsg``: ``no-credit`` empties
the account so that ``_accept`` answers ``ERR: 301`` by itself, ``err-130`` gives every
recipient still standing ``ERR: 130, Maximum MT limit exceeded until T`` (per recipient, as
``301`` is). A request that fails authentication or an earlier check never gets there.
"""

from __future__ import annotations

import copy
import heapq
import json
import math
import re
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clicksms.sandbox import gsm
from clicksms.sandbox.clock import Clock, system_clock
from clicksms.sandbox.config import SandboxConfig

if TYPE_CHECKING:  # faults.py imports this module
    from clicksms.sandbox.faults import Faults

MAGIC_NUMBERS: dict[str, int] = {
    "27820000105": 105,
    "27820000114": 114,
    "27820000121": 121,
    "27820000122": 122,
    "27820000128": 128,
    "27820000301": 301,
}
MAGIC_STATUSES: dict[str, str] = {
    "27820000002": "002",
    "27820000007": "007",
}
QUEUED_NUMBER = "27820000002"
FAILING_NUMBER = "27820000007"
NO_CREDIT_NUMBER = "27820000301"
#: routecoverage answers ``ERR: 901`` for it; sendmsg treats it like any other number.
COVERAGE_ERROR_NUMBER = "27820000901"
# Decided at the recipient stage by number alone (114 comes from the coverage table).
_RECIPIENT_ERRORS = {n: c for n, c in MAGIC_NUMBERS.items() if c not in (114, 301)}

# routecoverage answers, verbatim from API.md §4 (the failure has no numeric code).
COVERAGE_OK = "OK: This prefix is currently supported. Messages sent to this prefix will be routed."
COVERAGE_NONE = (
    "ERR: This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)

FROZEN_USER = "frozen"

# API.md §7 (2009 spec wording; 105 as seen on the wire).
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
    112: "Invalid message type",
    113: "Maximum message parts exceeded",
    114: "Cannot route message",
    116: "Invalid Unicode data",
    120: "Invalid delivery time",
    121: "Destination mobile number blocked",
    122: "Destination mobile opted out",
    128: "Number delisted",
    130: "Maximum MT limit exceeded",  # the gateway appends " until <unix time>"
    301: "No credit left",
    901: "Internal error",
}

# API.md §5.1, case-sensitive.
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

IMPLEMENTED_OPS = (
    "auth",
    "ping",
    "sendmsg",
    "querymsg",
    "delmsg",
    "getbalance",
    "routecoverage",
    "getmsgcharge",
)
#: Operations with a credit stage, the only ones err-130 / no-credit faults can act on.
CREDIT_OPS = frozenset({"sendmsg"})
PENDING_OPS = frozenset(
    {
        "token_pay",
        "si_push",
        "ind_push",
        "startbatch",
        "senditem",
        "quicksend",
        "endbatch",
    }
)

MAX_RECIPIENTS = 300
MAX_PARTS = 35
MAX_DELIV_TIME = 10080  # minutes (7 days)
MAX_VALIDITY = 1440  # minutes; also the default (2009 spec)
DAY = 86400.0
QUERY_DAYS = 6  # querymsg/delmsg know a message this long after acceptance (API.md §4)
CHARGE_DAYS = 15  # getmsgcharge: "only messages < 15 days old" (API.md §4)
# Allowed values of integer options; 0 (= "use the default") is in every range.
_OPTION_RANGES = {
    "unicode": range(2),
    "msg_callback": range(8),
    "deliv_ack": range(2),
    "queue": range(4),
    "escalate": range(2),
    "mo": range(2),
    "validity": range(MAX_VALIDITY + 1),
}
# Still at Clickatell: the only statuses delmsg can stop and validity can expire.
WAITING = frozenset({"011", "002"})
# Never copied into a ledger record's `fields`: secrets, and `to` has its own key.
_LEDGER_SKIP = frozenset({"session_id", "api_id", "user", "password", "to"})
# Integer sendmsg options that must parse as xsd:int when present (RPC-style "" = unset).
_INT_OPTIONS = (
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
_ALIASES = {"cliMsgId": "climsgid"}
_XSD_INT = re.compile(r"[+-]?[0-9]+")
_MSISDN = re.compile(r"[1-9][0-9]{6,14}")  # E.164: up to 15 digits; +690 numbers have 7
_NUMERIC_SENDER = re.compile(r"[0-9]{1,16}")
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")
_CLIMSGID = re.compile(r"[A-Za-z0-9]{1,32}")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def err(code: int) -> str:
    """``ERR: NNN, Description`` exactly as API.md §4.1 spells it."""
    return f"ERR: {code:03d}, {ERRORS[code]}"


def format_credit(value: float) -> str:
    """``12.5`` / ``1000.0``: float repr style, 4 decimals at most, never exponent form."""
    text = f"{round(value, 4):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def parse_int(value: str | None) -> int | None:
    """xsd:int lexical form (surrounding whitespace collapsed); None when not one."""
    if value is None:
        return None
    value = value.strip()
    if not _XSD_INT.fullmatch(value):
        return None
    number = int(value)
    return number if _INT_MIN <= number <= _INT_MAX else None


def new_id() -> str:
    """Session ids and apimsgids: 32 lowercase hex characters (API.md §11.3)."""
    return secrets.token_hex(16)


class GatewayFault(Exception):
    """An operation the gateway cannot answer with a ``<return>`` (becomes a SOAP Fault)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Fields:
    """Request children by local name; repeated names keep every value in order."""

    def __init__(self, pairs: list[tuple[str, str | None]]) -> None:
        self.pairs = list(pairs)  # as sent, for the ledger
        self._ledger_fields: dict[str, Any] | None = None
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if value is None:  # xsi:nil means "not sent"
                continue
            self._values.setdefault(_ALIASES.get(name, name), []).append(value)

    def has(self, name: str) -> bool:
        return name in self._values

    def first(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def ledger_fields(self) -> dict[str, Any]:
        """Every field as sent except credentials and recipients (one copy per message)."""
        if self._ledger_fields is None:
            kept = [(name, value) for name, value in self.pairs if name not in _LEDGER_SKIP]
            self._ledger_fields = _log_fields(kept)
        return dict(self._ledger_fields)


@dataclass
class Message:
    """An accepted message, kept for querymsg, delmsg and getmsgcharge."""

    apimsgid: str
    climsgid: str | None
    to: str
    parts: int
    charge: float  # credits it costs now: 0 when 009, back to 0 once expired and refunded
    accepted_at: float
    due_at: float  # accepted_at + deliv_time; status 011 until then
    expires_at: float  # due_at + validity (see the module docstring)
    held: bool = False  # never leaves Clickatell's queue (status 002), so it expires
    outcome: str = "004"  # final status once delivery_seconds have passed after due_at
    fixed: str | None = None  # a settled status: 009 at acceptance, 006 cancelled, 010 expired

    def older_than(self, days: int, now: float) -> bool:
        """Past the age at which the gateway forgets it, counted from due_at (module docstring)."""
        return now - self.due_at >= days * DAY


@dataclass
class _Content:
    shown: str  # ledger text
    unicode: int
    parts: int
    concat: int


class Gateway:
    """One Clickatell account plus its sessions and messages; every method is thread-safe.

    ``faults``: the sandbox's injected faults, asked at sendmsg's credit stage (None: none).
    """

    def __init__(
        self, config: SandboxConfig, clock: Clock | None = None, faults: Faults | None = None
    ) -> None:
        self.config = config
        self.clock: Clock = clock or system_clock
        self.faults = faults
        self._lock = threading.Lock()
        self._balance = float(config.credits)
        self._sessions: dict[str, float] = {}  # session id -> last use
        self._messages: dict[str, Message] = {}
        self._by_climsgid: dict[str, str] = {}  # climsgid -> latest apimsgid
        self._expiring: list[tuple[float, str]] = []  # heap of (expires_at, apimsgid)
        self._ledger: list[dict[str, Any]] = []
        self._unwritten: list[str] = []  # ledger lines of the request being answered
        self._requests: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- inspection
    def balance(self) -> float:
        with self._lock:
            self._settle(self.clock())
            return self._balance

    def add_credits(self, credits: float) -> float:
        """Top the account up (what buying credit does), e.g. to resume after ERR 301."""
        if not credits > 0:
            raise ValueError("credits to add must be positive")
        with self._lock:
            self._balance += credits
            return self._balance

    def expire_session(self, session_id: str) -> bool:
        """Forget a session as its idle timeout would, so its next use answers ``ERR: 003``."""
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    @property
    def ledger(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._ledger)

    def status(self, apimsgid: str) -> str:
        """The status querymsg would report now (``001`` when unknown or too old), without SOAP."""
        with self._lock:
            now = self.clock()
            self._settle(now)
            message = self._messages.get(apimsgid)
            if message is None or message.older_than(QUERY_DAYS, now):
                return "001"
            return self._status(message, now)

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """Every accepted message by apimsgid, in acceptance order, with its state now."""
        with self._lock:
            now = self.clock()
            self._settle(now)
            return {
                m.apimsgid: {
                    "to": m.to,
                    "climsgid": m.climsgid,
                    "parts": m.parts,
                    "charge": m.charge,
                    "status": self._status(m, now),
                }
                for m in self._messages.values()
            }

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "op": r["op"],
                    "fields": {
                        k: list(v) if isinstance(v, list) else v for k, v in r["fields"].items()
                    },
                }
                for r in self._requests
            ]

    # ------------------------------------------------------------------- dispatch
    def dispatch(self, op: str, pairs: list[tuple[str, str | None]]) -> list[str]:
        """Run one operation; return its ``<return>`` strings or raise GatewayFault."""
        with self._lock:
            self._requests.append({"op": op, "fields": _log_fields(pairs)})
            if op in PENDING_OPS:
                raise GatewayFault(
                    "Server", f"Operation '{op}' is not implemented by the sandbox yet"
                )
            if op not in IMPLEMENTED_OPS:
                raise GatewayFault("Client", f"Procedure '{op}' not present")
            self._settle(self.clock())  # expiry refunds land before anything reads them
            handler = getattr(self, f"_op_{op}")
            return handler(Fields(pairs))

    # --------------------------------------------------------------- authentication
    def _check_credentials(self, f: Fields) -> str | None:
        api_id = parse_int(f.first("api_id"))
        if api_id is None or api_id != self.config.api_id:
            return err(108)
        user, password = f.first("user"), f.first("password")
        if password != self.config.password:
            return err(1)
        if user == self.config.user:
            return None
        if user == FROZEN_USER:
            return err(4)
        return err(1)

    def _touch_session(self, session_id: str) -> str | None:
        now = self.clock()
        last = self._sessions.get(session_id)
        if last is None or now - last > self.config.session_timeout:
            self._sessions.pop(session_id, None)
            return err(3)
        self._sessions[session_id] = now  # sliding idle timeout (API.md §3)
        return None

    def _authenticate(self, f: Fields) -> str | None:
        """session_id wins; else the credential triple; else 005 (API.md §3)."""
        session_id = f.first("session_id")
        if session_id:
            return self._touch_session(session_id)
        if f.has("api_id") or f.has("user") or f.has("password"):
            return self._check_credentials(f)
        return err(5)

    # ------------------------------------------------------------------ operations
    def _op_auth(self, f: Fields) -> list[str]:
        problem = self._check_credentials(f)
        if problem:
            return [problem]
        now = self.clock()
        self._expire_sessions(now)
        session_id = new_id()
        self._sessions[session_id] = now
        return [f"OK: {session_id}"]

    def _op_ping(self, f: Fields) -> list[str]:
        session_id = f.first("session_id")
        if not session_id:
            return [err(5)]
        return [self._touch_session(session_id) or "OK: "]

    def _op_getbalance(self, f: Fields) -> list[str]:
        problem = self._authenticate(f)
        return [problem or f"Credit: {format_credit(self._balance)}"]

    def _op_querymsg(self, f: Fields) -> list[str]:
        problem = self._authenticate(f)
        if problem:
            return [problem]
        now = self.clock()
        apimsgid = f.first("apimsgid")
        if apimsgid and self._known(apimsgid, QUERY_DAYS, now) is None:
            return [f"ID: {apimsgid} Status: 001"]  # querymsg reports unknown ids as a status
        found = self._find(f, now)
        if isinstance(found, str):
            return [found]
        return [f"ID: {found.apimsgid} Status: {self._status(found, now)}"]

    def _op_delmsg(self, f: Fields) -> list[str]:
        problem = self._authenticate(f)
        if problem:
            return [problem]
        now = self.clock()
        found = self._find(f, now)
        if isinstance(found, str):
            return [found]
        status = self._status(found, now)
        if status in WAITING:
            found.fixed = status = "006"  # charge kept: see the module docstring
        return [f"ID: {found.apimsgid} Status: {status}"]

    def _op_getmsgcharge(self, f: Fields) -> list[str]:
        problem = self._authenticate(f)
        if problem:
            return [problem]
        apimsgid = f.first("apimsgid")  # no climsgid here: neither SOAP WSDL declares it
        if not apimsgid:
            return [err(109)]
        now = self.clock()
        message = self._known(apimsgid, CHARGE_DAYS, now)
        if message is None:
            return [err(103)]
        status = self._status(message, now)
        charge = format_credit(message.charge)
        return [f"apiMsgId: {message.apimsgid} charge: {charge} status: {status}"]

    def _op_routecoverage(self, f: Fields) -> list[str]:
        problem = self._authenticate(f)
        if problem:
            return [problem]
        msisdn = f.first("msisdn")
        if not msisdn:
            return [err(101)]
        if not _MSISDN.fullmatch(msisdn):  # same number rule as sendmsg's `to`
            return [err(105)]
        if msisdn == COVERAGE_ERROR_NUMBER:
            return [err(901)]
        price = self.config.price_for(msisdn)
        if price is None:
            return [COVERAGE_NONE]
        return [f"{COVERAGE_OK} Charge: {format_credit(price)}"]

    def _op_sendmsg(self, f: Fields) -> list[str]:
        # 1. authentication
        problem = self._authenticate(f)
        if problem:
            return [problem]
        # 2. command parameters
        recipients = f.all("to")
        options = self._parse_options(f)
        if not 1 <= len(recipients) <= MAX_RECIPIENTS or options is None:
            return [err(101)]
        multi = len(recipients) > 1

        def item(text: str, to: str) -> str:
            return f"{text} To: {to}" if multi else text

        # 3. per recipient; a stage that leaves nobody standing ends the request
        verdicts = [self._check_recipient(to) for to in recipients]
        if all(verdicts):
            return [item(v or "", to) for v, to in zip(verdicts, recipients, strict=True)]
        # 4. content (whole request)
        content = self._check_content(f, options)
        if isinstance(content, str):
            return [content]
        # 5. credit (where injected err-130 / no-credit act), then acceptance
        limit = self._credit_fault()
        results: list[str] = []
        try:
            for verdict, to in zip(verdicts, recipients, strict=True):
                results.append(item(verdict or limit or self._accept(f, options, content, to), to))
        finally:
            self._write_ledger()
        return results

    # ------------------------------------------------------------------- sendmsg parts
    def _parse_options(self, f: Fields) -> dict[str, int] | None:
        """Integer options (0/"" = default, as RPC clients send); None = 101."""
        options: dict[str, int] = {}
        for name in _INT_OPTIONS:
            raw = f.first(name)
            if raw is None or raw.strip() == "":
                options[name] = 0
                continue
            value = parse_int(raw)
            if value is None:
                return None
            options[name] = value
        if options["concat"] < 0:
            return None
        if any(options[name] not in allowed for name, allowed in _OPTION_RANGES.items()):
            return None  # see "Option values" in the module docstring
        # Documented values are decimals (0.8, 1.5) although the WSDL says xsd:int.
        raw_max = (f.first("max_credits") or "").strip()
        if raw_max:
            try:
                max_credits = float(raw_max)
            except ValueError:
                return None
            if not max_credits >= 0:  # also rejects nan
                return None
            options["max_credits_milli"] = round(max_credits * 1000)
        # climsgid: up to 32 alphanumeric characters, no spaces (API.md §5.1).
        climsgid = f.first("climsgid") or ""
        if climsgid and not _CLIMSGID.fullmatch(climsgid):
            return None
        return options

    def _check_recipient(self, to: str) -> str | None:
        """Number format, magic failures, then the coverage table (no route = 114)."""
        if not _MSISDN.fullmatch(to):
            return err(105)
        code = _RECIPIENT_ERRORS.get(to)
        if code is not None:
            return err(code)
        if self.config.price_for(to) is None:
            return err(114)
        return None

    def _check_content(self, f: Fields, options: dict[str, int]) -> _Content | str:
        """API.md §11.5 content order: 107, 112, 102, 116, 113, 120, 106."""
        text = f.first("text") or ""
        data = f.first("data") or ""
        udh = f.first("udh") or ""
        msg_type = f.first("msg_type") or "SMS_TEXT"
        if not text and not data:
            return err(107)
        if msg_type not in MSG_TYPES:
            return err(112)
        if udh and not _valid_udh(udh):
            return err(102)
        if text and options["unicode"] == 1:
            if not gsm.is_ucs2_hex(text):
                return err(116)
            shown, unicode, parts = gsm.decode_ucs2(text), 1, gsm.ucs2_parts(text)
        elif text:
            shown, unicode, parts = gsm.handset_text(text), 0, gsm.gsm_parts(text)
        else:  # 8-bit payload in `data` (with optional udh)
            if not gsm.is_octet_hex(data):
                return err(101)
            octets = len(data) // 2 + len(udh) // 2
            if udh:  # a user header rules out gateway concatenation
                parts = 1 if octets <= gsm.OCTET_SINGLE else MAX_PARTS + 1
            else:
                parts = gsm.octet_parts(octets)
            shown, unicode = data, 0
        concat = options["concat"] or self.config.default_concat
        if parts > concat or parts > MAX_PARTS:
            return err(113)
        if not 0 <= options["deliv_time"] <= MAX_DELIV_TIME:
            return err(120)
        sender = f.first("from") or ""
        if sender and not (_NUMERIC_SENDER.fullmatch(sender) or _ALPHA_SENDER.fullmatch(sender)):
            return err(106)
        return _Content(shown=shown, unicode=unicode, parts=parts, concat=concat)

    def _credit_fault(self) -> str | None:
        """Act out the injected fault due at the credit stage, if any: ``no-credit`` empties
        the account (``_accept`` then answers 301), ``err-130`` returns the MT-limit answer."""
        fault = None if self.faults is None else self.faults.take_at_credit("sendmsg")
        if fault is None:
            return None
        if fault.kind == "no-credit":
            self._balance = 0.0
            return None
        until = math.ceil(self.clock() + (fault.seconds or 0.0))
        return f"{err(130)} until {until}"

    def _accept(self, f: Fields, options: dict[str, int], content: _Content, to: str) -> str:
        """Charge and store one recipient's message; ``ERR: 301`` when credit is short."""
        price = self.config.price_for(to)
        if price is None:  # _check_recipient already turned these away; kept for the type
            return err(114)
        max_milli = options.get("max_credits_milli")
        unroutable = bool(max_milli) and round(price * 1000, 6) > (max_milli or 0)
        cost = 0.0 if unroutable else round(content.parts * price, 9)  # 009 is not charged
        if to == NO_CREDIT_NUMBER or self._balance + 1e-9 < cost:
            return err(301)
        self._balance = max(0.0, round(self._balance - cost, 9))
        now = self.clock()
        apimsgid = new_id()
        climsgid = f.first("climsgid") or None
        validity = options["validity"] or MAX_VALIDITY
        due_at = now + options["deliv_time"] * 60
        message = Message(
            apimsgid=apimsgid,
            climsgid=climsgid,
            to=to,
            parts=content.parts,
            charge=cost,
            accepted_at=now,
            due_at=due_at,
            expires_at=due_at + validity * 60,
            held=to == QUEUED_NUMBER,
            outcome="007" if to == FAILING_NUMBER else "004",
            fixed="009" if unroutable else None,
        )
        self._messages[apimsgid] = message
        if climsgid:
            self._by_climsgid[climsgid] = apimsgid
        if message.fixed is None and message.held:
            heapq.heappush(self._expiring, (message.expires_at, apimsgid))
        record = {
            "to": to,
            "text": content.shown,
            "unicode": content.unicode,
            "parts": content.parts,
            "concat": content.concat,
            "from": f.first("from") or None,
            "apimsgid": apimsgid,
            "climsgid": climsgid,
            "time": now,
            "charge": cost,
            "fields": f.ledger_fields(),
        }
        self._ledger.append(record)
        if self.config.ledger_path is not None:
            self._unwritten.append(json.dumps(record, ensure_ascii=False) + "\n")
        return f"ID: {apimsgid}"

    def _write_ledger(self) -> None:
        """Append this request's records to the ledger file in one write."""
        if self._unwritten and self.config.ledger_path is not None:
            with self.config.ledger_path.open("a", encoding="utf-8") as fh:
                fh.write("".join(self._unwritten))
        self._unwritten.clear()

    # ---------------------------------------------------------------------- helpers
    def _known(self, apimsgid: str, days: int, now: float) -> Message | None:
        """The message with this apimsgid, unless it is unknown or ``days`` old."""
        message = self._messages.get(apimsgid)
        if message is None or message.older_than(days, now):
            return None
        return message

    def _find(self, f: Fields, now: float) -> Message | str:
        """querymsg/delmsg's message by apimsgid (103 if unknown or too old) or climsgid
        (104); neither: 109."""
        apimsgid, climsgid = f.first("apimsgid"), f.first("climsgid")
        if apimsgid:
            return self._known(apimsgid, QUERY_DAYS, now) or err(103)
        if climsgid:
            found = self._by_climsgid.get(climsgid)
            message = None if found is None else self._known(found, QUERY_DAYS, now)
            return message or err(104)
        return err(109)

    def _status(self, message: Message, now: float) -> str:
        """Lifecycle (module docstring): 011 until due, then 003 (or 002 held), then final."""
        if message.fixed:
            return message.fixed
        if message.held and now >= message.expires_at:
            return "010"
        if now < message.due_at:
            return "011"
        if message.held:
            return "002"
        if now - message.due_at >= self.config.delivery_seconds:
            return message.outcome
        return "003"

    def _settle(self, now: float) -> None:
        """Mark messages whose validity ran out while waiting as 010 and refund them."""
        while self._expiring and self._expiring[0][0] <= now:
            _, apimsgid = heapq.heappop(self._expiring)
            message = self._messages[apimsgid]
            if message.fixed is None:  # not cancelled in the meantime
                message.fixed = "010"
                self._balance = round(self._balance + message.charge, 9)
                message.charge = 0.0

    def _expire_sessions(self, now: float) -> None:
        timeout = self.config.session_timeout
        for session_id in [s for s, last in self._sessions.items() if now - last > timeout]:
            del self._sessions[session_id]


def _valid_udh(udh: str) -> bool:
    """Even-length hex whose first octet (UDHL) counts the octets after it."""
    if not udh or not gsm.is_octet_hex(udh):
        return False
    return int(udh[:2], 16) == len(udh) // 2 - 1


def _log_fields(pairs: list[tuple[str, str | None]]) -> dict[str, Any]:
    """Fields as sent (raw names): one value per name, a list when repeated; `to` always a list."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = [value] if name == "to" else value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields
