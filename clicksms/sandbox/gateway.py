"""The account's state and the command table: what one Clickatell account remembers, and
which operation answers which request (no HTTP, no XML).

``Gateway.dispatch(op, pairs)`` is the one way in: a codec turns an envelope of either SOAP
style into the operation's name and its ``(name, value)`` pairs, and turns the ``<return>``
strings that come back into the answer. Operations are ``COMMANDS[op](gateway, fields)``;
sendmsg's stages live in ``sendmsg``, the tables they follow in ``spec`` (API.md is the
reference, not our client: the sandbox exists to catch client bugs). With a ledger, the
messages it holds are taken up again at start (``restored``), so a restart forgets nothing a
client could ask about; sessions are not kept (they never touch the disk).
"""

from __future__ import annotations

import copy
import heapq
import math
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clicksms.sandbox import batch, push, sendmsg, spec
from clicksms.sandbox.clock import Clock, system_clock
from clicksms.sandbox.config import SandboxConfig
from clicksms.sandbox.fields import Fields, Pairs, as_sent
from clicksms.sandbox.ledger import Ledger, Loaded
from clicksms.sandbox.messages import Message
from clicksms.sandbox.spec import err, format_credit

if TYPE_CHECKING:
    from clicksms.sandbox.faults import Faults


#: How many of the latest requests ``Gateway.requests`` keeps.
REQUESTS_KEPT = 100_000


class GatewayFault(Exception):
    """An operation the gateway cannot answer with a ``<return>`` (becomes a SOAP Fault)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Gateway:
    """One Clickatell account plus its sessions and messages; every public method is
    thread-safe. The others run inside ``dispatch``, with the lock held.

    ``faults``: the sandbox's injected faults, asked at the credit stage (None: none).
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
        self.batches = batch.Batches()  # never in the ledger: a restart forgets them
        self._vouchers_used: set[str] = set()  # nor are vouchers, nor the credit they added
        self._ledger = Ledger(config.ledger_path)
        # The latest requests, for tests and for inspection: a sandbox left running (or
        # driven by a benchmark) must not grow without end.
        self._requests: deque[dict[str, Any]] = deque(maxlen=REQUESTS_KEPT)
        # What the ledger held at start: its records, and the bytes of a torn last line dropped.
        self.restored: Loaded = self._ledger.load(self._restore)

    def _restore(self, record: dict[str, Any]) -> None:
        """Take up a message of the ledger again: known by both IDs, charged to the balance
        (``credits`` is the balance before the ledger's first message), refunded on expiry."""
        message = sendmsg.reaccepted(record, self.config)
        self._balance = max(0.0, round(self._balance - message.charge, 9))
        self._remember(message)

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
        """Every ledger record (those read at start first), as copies."""
        with self._lock:
            return copy.deepcopy(self._ledger.records)

    def status(self, apimsgid: str) -> str:
        """The status querymsg would report now (``001`` when unknown or too old), without SOAP."""
        with self._lock:
            now = self.clock()
            self._settle(now)
            message = self._known(apimsgid, spec.QUERY_DAYS, now)
            return spec.UNKNOWN_STATUS if message is None else self._status(message, now)

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
    def dispatch(
        self, op: str, pairs: Pairs, fractional: frozenset[str] = frozenset()
    ) -> list[str]:
        """Run one operation; return its ``<return>`` strings or raise GatewayFault.
        ``fractional``: fields the request's WSDL types xsd:float (``Fields.fractional``)."""
        with self._lock:
            self._requests.append({"op": op, "fields": as_sent(pairs)})
            command = COMMANDS.get(op)
            if command is None:
                raise GatewayFault("Client", f"Procedure '{op}' not present")
            self._settle(self.clock())  # expiry refunds land before anything reads them
            try:
                return command(self, Fields(pairs, fractional))
            finally:
                self._ledger.flush()  # this request's records, in one append

    # ------------------------------------------------ state the operations act on
    def now(self) -> float:
        return self.clock()

    def authenticate(self, f: Fields) -> str | None:
        """session_id wins; else the credential triple; else 005 (API.md §3). An empty part
        is one not set (RPC clients send every part, API.md §10.2)."""
        session_id = f.first("session_id")
        if session_id:
            return self._touch_session(session_id)
        if f.first("api_id") or f.first("user") or f.first("password"):
            return self._check_credentials(f)
        return err(5)

    def credit_fault(self, op: str) -> str | None:
        """Act out the injected fault due at the credit stage, if any: ``no-credit`` empties
        the account (acceptance then answers 301), ``err-130`` returns the MT-limit answer."""
        fault = None if self.faults is None else self.faults.take_at_credit(op)
        if fault is None:
            return None
        if fault.kind == "no-credit":
            self._balance = 0.0
            return None
        return spec.limit_exceeded(math.ceil(self.clock() + (fault.seconds or 0.0)))

    def debit(self, credits: float) -> bool:
        if self._balance + 1e-9 < credits:
            return False
        self._balance = max(0.0, round(self._balance - credits, 9))
        return True

    def keep(self, message: Message, record: dict[str, Any]) -> None:
        self._remember(message)
        self._ledger.add(record)

    def _remember(self, message: Message) -> None:
        self._messages[message.apimsgid] = message
        if message.climsgid:
            self._by_climsgid[message.climsgid] = message.apimsgid  # the latest one wins
        if message.expires:
            heapq.heappush(self._expiring, (message.expires_at, message.apimsgid))

    def _check_credentials(self, f: Fields) -> str | None:
        api_id = spec.parse_int(f.first("api_id"))
        if api_id is None or api_id != self.config.api_id:
            return err(108)
        user, password = f.first("user"), f.first("password")
        if password != self.config.password:
            return err(1)
        if user == self.config.user:
            return None
        if user == spec.FROZEN_USER:
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

    def _expire_sessions(self, now: float) -> None:
        timeout = self.config.session_timeout
        for session_id in [s for s, last in self._sessions.items() if now - last > timeout]:
            del self._sessions[session_id]

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
            return self._known(apimsgid, spec.QUERY_DAYS, now) or err(103)
        if climsgid:
            found = self._by_climsgid.get(climsgid)
            message = None if found is None else self._known(found, spec.QUERY_DAYS, now)
            return message or err(104)
        return err(109)

    def _status(self, message: Message, now: float) -> str:
        return message.status(now, self.config.delivery_seconds)

    def _settle(self, now: float) -> None:
        """Mark messages whose validity ran out while waiting as 010 and refund them."""
        while self._expiring and self._expiring[0][0] <= now:
            _, apimsgid = heapq.heappop(self._expiring)
            message = self._messages[apimsgid]
            if message.fixed is None:  # not cancelled in the meantime
                message.fixed = spec.EXPIRED
                self._balance = round(self._balance + message.charge, 9)
                message.charge = 0.0

    # ------------------------------------------------------------------ operations
    def _op_auth(self, f: Fields) -> list[str]:
        problem = self._check_credentials(f)
        if problem:
            return [problem]
        now = self.clock()
        self._expire_sessions(now)
        session_id = spec.new_id()
        self._sessions[session_id] = now
        return [f"OK: {session_id}"]

    def _op_ping(self, f: Fields) -> list[str]:
        session_id = f.first("session_id")
        if not session_id:
            return [err(5)]
        return [self._touch_session(session_id) or "OK: "]

    def _op_getbalance(self, f: Fields) -> list[str]:
        problem = self.authenticate(f)
        return [problem or f"Credit: {format_credit(self._balance)}"]

    def _op_querymsg(self, f: Fields) -> list[str]:
        problem = self.authenticate(f)
        if problem:
            return [problem]
        now = self.clock()
        apimsgid = f.first("apimsgid")
        if apimsgid and self._known(apimsgid, spec.QUERY_DAYS, now) is None:
            return [f"ID: {apimsgid} Status: {spec.UNKNOWN_STATUS}"]  # not an ERR for querymsg
        found = self._find(f, now)
        if isinstance(found, str):
            return [found]
        return [f"ID: {found.apimsgid} Status: {self._status(found, now)}"]

    def _op_delmsg(self, f: Fields) -> list[str]:
        problem = self.authenticate(f)
        if problem:
            return [problem]
        now = self.clock()
        found = self._find(f, now)
        if isinstance(found, str):
            return [found]
        status = self._status(found, now)
        if status in spec.WAITING:
            # Cancelled messages keep their charge: API.md promises a refund only for expiry.
            found.fixed = status = spec.CANCELLED
        return [f"ID: {found.apimsgid} Status: {status}"]

    def _op_getmsgcharge(self, f: Fields) -> list[str]:
        problem = self.authenticate(f)
        if problem:
            return [problem]
        apimsgid = f.first("apimsgid")  # no climsgid here: neither SOAP WSDL declares it
        if not apimsgid:
            return [err(109)]
        now = self.clock()
        message = self._known(apimsgid, spec.CHARGE_DAYS, now)
        if message is None:
            return [err(103)]
        status = self._status(message, now)
        charge = format_credit(message.charge)
        return [f"apiMsgId: {message.apimsgid} charge: {charge} status: {status}"]

    def _op_routecoverage(self, f: Fields) -> list[str]:
        problem = self.authenticate(f)
        if problem:
            return [problem]
        msisdn = f.first("msisdn")
        if not msisdn:
            return [err(101)]
        if not spec.MSISDN.fullmatch(msisdn):  # same number rule as sendmsg's `to`
            return [err(105)]
        if msisdn == spec.COVERAGE_ERROR_NUMBER:
            return [err(901)]
        price = self.config.price_for(msisdn)
        if price is None:
            return [spec.COVERAGE_NONE]
        return [f"{spec.COVERAGE_OK} Charge: {format_credit(price)}"]

    def _op_token_pay(self, f: Fields) -> list[str]:
        """A sandbox voucher adds its credits once; any other token is an invalid parameter
        (API.md names no code for a bad voucher)."""
        problem = self.authenticate(f)
        if problem:
            return [problem]
        token = f.first("token") or ""
        credits = spec.voucher_credits(token)
        if credits is None or token in self._vouchers_used:
            return [err(101)]
        self._vouchers_used.add(token)
        self._balance += credits
        return [spec.VOUCHER_ACCEPTED]


#: Operation name (as the codec gives it) -> its semantics: plain values in, ``<return>``
#: strings out, the same for either SOAP style. Every name of ``spec.OPERATIONS`` is here.
COMMANDS: dict[str, Callable[[Gateway, Fields], list[str]]] = {
    "auth": Gateway._op_auth,
    "ping": Gateway._op_ping,
    "sendmsg": sendmsg.run,
    "querymsg": Gateway._op_querymsg,
    "delmsg": Gateway._op_delmsg,
    "getbalance": Gateway._op_getbalance,
    "routecoverage": Gateway._op_routecoverage,
    "getmsgcharge": Gateway._op_getmsgcharge,
    "startbatch": batch.start,
    "senditem": batch.send_item,
    "quicksend": batch.quick_send,
    "endbatch": batch.end,
    "token_pay": Gateway._op_token_pay,
    "si_push": push.si_push,
    "ind_push": push.ind_push,
}
