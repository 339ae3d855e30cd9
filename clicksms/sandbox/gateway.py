"""Account state and command semantics of the sandbox gateway (no HTTP, no XML).

Everything here follows API.md (§3 sessions, §4 commands, §5 parameters, §6 content,
§7 error wording, §8 statuses, §11 validation order), not whatever our client sends:
the sandbox exists to catch client bugs.

Magic destination numbers (``MAGIC_NUMBERS``) give deterministic per-recipient failures:

=============  =====  ==========================================================
number         code   answer
=============  =====  ==========================================================
27820000105    105    ``ERR: 105, Invalid Destination Address``
27820000114    114    ``ERR: 114, Cannot route message``
27820000121    121    ``ERR: 121, Destination mobile number blocked``
27820000122    122    ``ERR: 122, Destination mobile opted out``
27820000128    128    ``ERR: 128, Number delisted``
27820000301    301    ``ERR: 301, No credit left`` (credit stage, as if out of credit)
=============  =====  ==========================================================

Accounts: the configured ``api_id``/``user``/``password``; plus user ``frozen`` with the
same api_id and password, which always answers ``ERR: 004, Account frozen``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from clicksms.sandbox import gsm
from clicksms.sandbox.clock import Clock, system_clock
from clicksms.sandbox.config import SandboxConfig

MAGIC_NUMBERS: dict[str, int] = {
    "27820000105": 105,
    "27820000114": 114,
    "27820000121": 121,
    "27820000122": 122,
    "27820000128": 128,
    "27820000301": 301,
}

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

IMPLEMENTED_OPS = ("auth", "ping", "sendmsg", "querymsg", "getbalance")
PENDING_OPS = frozenset(
    {
        "delmsg",
        "routecoverage",
        "getmsgcharge",
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


@dataclass
class Message:
    """An accepted message, kept for querymsg."""

    apimsgid: str
    climsgid: str | None
    to: str
    parts: int
    accepted_at: float
    due_at: float  # accepted_at + deliv_time; status 011 until then
    final_status: str | None = None  # fixed outcome, e.g. 009 when max_credits is too low


@dataclass
class _Content:
    shown: str  # ledger text
    unicode: int
    parts: int
    concat: int


class Gateway:
    """One Clickatell account plus its sessions and messages; every method is thread-safe."""

    def __init__(self, config: SandboxConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or system_clock
        self._lock = threading.Lock()
        self._balance = float(config.credits)
        self._sessions: dict[str, float] = {}  # session id -> last use
        self._messages: dict[str, Message] = {}
        self._by_climsgid: dict[str, str] = {}  # climsgid -> latest apimsgid
        self._ledger: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- inspection
    def balance(self) -> float:
        with self._lock:
            return self._balance

    @property
    def ledger(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._ledger]

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
        apimsgid, climsgid = f.first("apimsgid"), f.first("climsgid")
        now = self.clock()
        if apimsgid:
            message = self._messages.get(apimsgid)
            status = self._status(message, now) if message else "001"
            return [f"ID: {apimsgid} Status: {status}"]
        if climsgid:
            found = self._by_climsgid.get(climsgid)
            if found is None:
                return [err(104)]
            message = self._messages[found]
            return [f"ID: {message.apimsgid} Status: {self._status(message, now)}"]
        return [err(109)]

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
        # 5. credit, then acceptance
        results: list[str] = []
        for verdict, to in zip(verdicts, recipients, strict=True):
            results.append(item(verdict or self._accept(f, options, content, to), to))
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
        if options["concat"] < 0 or options["unicode"] not in (0, 1):
            return None
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
        if not _MSISDN.fullmatch(to):
            return err(105)
        code = MAGIC_NUMBERS.get(to)
        if code is not None and code != 301:  # 301 is decided at the credit stage
            return err(code)
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

    def _accept(self, f: Fields, options: dict[str, int], content: _Content, to: str) -> str:
        """Charge and store one recipient's message; ``ERR: 301`` when credit is short."""
        price = content.parts * self.config.route_price
        max_milli = options.get("max_credits_milli")
        unroutable = bool(max_milli) and self.config.route_price * 1000 > max_milli
        cost = 0.0 if unroutable else price  # status 009 messages are not charged
        if to in MAGIC_NUMBERS or self._balance + 1e-9 < cost:
            return err(301)
        self._balance = max(0.0, round(self._balance - cost, 9))
        now = self.clock()
        apimsgid = new_id()
        climsgid = f.first("climsgid") or None
        message = Message(
            apimsgid=apimsgid,
            climsgid=climsgid,
            to=to,
            parts=content.parts,
            accepted_at=now,
            due_at=now + options["deliv_time"] * 60,
            final_status="009" if unroutable else None,
        )
        self._messages[apimsgid] = message
        if climsgid:
            self._by_climsgid[climsgid] = apimsgid
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
        }
        self._ledger.append(record)
        if self.config.ledger_path is not None:
            with self.config.ledger_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"ID: {apimsgid}"

    # ---------------------------------------------------------------------- helpers
    def _status(self, message: Message, now: float) -> str:
        """Lifecycle (API.md §11.7): 011 until due, then 003, then 004 after delivery."""
        if message.final_status:
            return message.final_status
        if now < message.due_at:
            return "011"
        if now - message.due_at >= self.config.delivery_seconds:
            return "004"
        return "003"

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
