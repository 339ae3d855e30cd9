"""Fault injection: which misbehaviour the sandbox shows, for which requests, and when.

This module only decides *whether* a fault fires for a request; what each kind does lives
in ``server.py`` (on the wire) and ``gateway.py`` (``err-130``, ``no-credit``, which
``sendmsg.py`` asks for at the credit stage of every operation that sends messages). A fault
is counted and fired per SOAP request that parsed (a malformed request gets its ordinary
Client fault and counts for nothing), at one of two stages:

* Arrival (``Faults.take``, before the gateway sees the request): every kind but
  ``CREDIT_KINDS``.
* Credit (``Faults.take_at_credit``): ``err-130`` and ``no-credit`` are account states, so
  like the real gateway (API.md §11.5: auth, command parameters, recipients, content, then
  credit) they only meet a sending request (sendmsg, senditem, quicksend, si_push,
  ind_push) that got that far. A request that fails authentication
  or an earlier check answers as usual and is not counted.

Matching, per stage:

* ``ops``: the operations it applies to (None = every one; ``err-130`` and ``no-credit``
  default to, and only accept, ``CREDIT_OPS``: the operations that send). Every fault
  counts the matching requests it sees, whether or not another fault fired on them.
* ``after``: let this many matching requests through first.
* ``times``: how many requests it hits (None = until cleared). A spent fault stays listed
  until ``clear()``; a slow drip it started goes on dripping until then.
* At most one fault fires per request and stage: the first one added that is due. So an
  arrival fault that lets the request through (``latency``, ``drop-after``, …) and a
  credit fault can both act on one sendmsg.
* Over the RPC server, operations are named as ``spec.OPERATIONS`` spells them:
  ``routecoverage`` matches RPC's ``routeCoverage`` too (and ``ops=`` takes either).
* ``expire-session`` only matches requests that carry a ``session_id`` (auth never does), so
  it always has a session to expire.

Specs for the command line and the control endpoint read
``KIND[,ops=OP+OP][,after=N][,times=N][,seconds=S]``, e.g. ``drop-after,ops=sendmsg,times=1``.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clicksms.sandbox import spec
from clicksms.sandbox.spec import CREDIT_OPS, OPERATIONS

#: Every kind, in the order ``--help`` lists them.
KINDS = (
    "latency",
    "drop-before",
    "drop-after",
    "http-500",
    "http-503",
    "malformed-xml",
    "soap-fault",
    "slow-drip",
    "expire-session",
    "err-130",
    "no-credit",
    "err-901",
)
#: Kinds that take ``seconds``, with their default (None = required).
SECONDS: dict[str, float | None] = {
    "latency": None,  # slept after processing, before the answer is sent
    "slow-drip": 1.0,  # between two bytes of the body
    "err-130": 60.0,  # how far past the sandbox clock the MT limit lifts
    "http-503": 1.0,  # Retry-After, rounded up to whole seconds
}
#: Kinds acted out at the credit stage, inside the gateway (see the module docstring).
CREDIT_KINDS = frozenset({"err-130", "no-credit"})
_POSITIVE_SECONDS = frozenset({"latency", "slow-drip"})  # 0 would be no fault, or a busy loop
FIRED_KEPT = 10_000  # Faults.fired remembers this many, so a long-running sandbox stays small
SPEC_SYNTAX = "KIND[,ops=OP+OP][,after=N][,times=N][,seconds=S]"


@dataclass(eq=False)
class Fault:
    """One injected fault and its counters; build it with ``Fault.create`` (validated)."""

    kind: str
    ops: frozenset[str] | None = None
    after: int = 0
    times: int | None = None
    seconds: float | None = None
    seen: int = 0  # matching requests counted so far
    hits: int = 0  # requests it fired on
    _cleared: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def create(
        cls,
        kind: str,
        *,
        ops: Iterable[str] | None = None,
        after: int = 0,
        times: int | None = None,
        seconds: float | None = None,
    ) -> Fault:
        """Check every argument; raise ValueError with a message fit for a usage error."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}: use one of {', '.join(KINDS)}")
        op_set = None if ops is None else _check_ops(ops)
        if kind == "expire-session" and op_set == {"auth"}:
            raise ValueError("expire-session never matches auth (it carries no session)")
        if kind in CREDIT_KINDS:
            op_set = _credit_ops(kind, op_set)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a whole number >= 0, not {after!r}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise ValueError(f"times must be a whole number >= 1, not {times!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be a whole number >= 1, not {times!r}")
        return cls(kind, op_set, after, times, _check_seconds(kind, seconds))

    @property
    def active(self) -> bool:
        """False once cleared: a slow drip ends then, and it never fires again."""
        return not self._cleared.is_set()

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    @property
    def spec(self) -> str:
        """The fault written back as a spec (``drop-after,ops=sendmsg,times=1``)."""
        parts = [self.kind]
        if self.ops is not None:
            parts.append("ops=" + "+".join(sorted(self.ops)))
        if self.after:
            parts.append(f"after={self.after}")
        if self.times is not None:
            parts.append(f"times={self.times}")
        if self.seconds is not None:
            parts.append(f"seconds={self.seconds:g}")
        return ",".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view, for ``Faults.active()`` and the control endpoint."""
        return {
            "spec": self.spec,
            "kind": self.kind,
            "ops": None if self.ops is None else sorted(self.ops),
            "after": self.after,
            "times": self.times,
            "seconds": self.seconds,
            "seen": self.seen,
            "hits": self.hits,
            "spent": self.spent,
        }

    def _matches(self, op: str, has_session: bool, at_credit: bool) -> bool:
        if (self.kind in CREDIT_KINDS) != at_credit:
            return False
        if self.ops is not None and op not in self.ops:
            return False
        return has_session or self.kind != "expire-session"


class Faults:
    """The sandbox's faults, in the order they were added; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._fired: deque[dict[str, str]] = deque(maxlen=FIRED_KEPT)

    def add(self, kind: str, **options: Any) -> Fault:
        """Validate and add one fault; ``options`` are ``Fault.create``'s keywords (ops=,
        after=, times=, seconds=), not repeated here. ValueError when one is wrong."""
        fault = Fault.create(kind, **options)
        self.extend([fault])
        return fault

    def extend(self, faults: Iterable[Fault]) -> None:
        """Add faults already built with ``Fault.create`` / ``parse_spec``."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> int:
        """Remove every fault (ending any slow drip); return how many there were."""
        with self._lock:
            gone, self._faults = self._faults, []
        for fault in gone:
            fault._cleared.set()
        return len(gone)

    def active(self) -> list[dict[str, Any]]:
        """Every fault added since the last clear(), spent ones included, with counters."""
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    @property
    def fired(self) -> list[dict[str, str]]:
        """``{"kind", "op"}`` per request a fault fired on, oldest first (the latest 10,000)."""
        with self._lock:
            return [dict(item) for item in self._fired]

    def take(self, op: str, has_session: bool = True) -> Fault | None:
        """Arrival stage: count this request against every matching fault (all kinds but
        ``CREDIT_KINDS``); return the one that fires, if any.

        ``has_session``: whether the request carries a session_id (see ``expire-session``).
        """
        return self._take(op, has_session, at_credit=False)

    def take_at_credit(self, op: str) -> Fault | None:
        """Credit stage: a sendmsg passed authentication, parameter, recipient and content
        checks; count it against the ``CREDIT_KINDS`` faults; return the one that fires."""
        return self._take(op, True, at_credit=True)

    def _take(self, op: str, has_session: bool, at_credit: bool) -> Fault | None:
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if not fault._matches(op, has_session, at_credit):
                    continue
                fault.seen += 1
                due = fault.seen > fault.after and not fault.spent
                if due and chosen is None:
                    fault.hits += 1
                    chosen = fault
            if chosen is not None:
                self._fired.append({"kind": chosen.kind, "op": op})
            return chosen

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


# ------------------------------------------------------------------------------ specs
def parse_spec(spec: str) -> Fault:
    """``KIND[,ops=OP+OP][,after=N][,times=N][,seconds=S]`` -> a validated Fault."""
    kind, *options = (part.strip() for part in spec.strip().split(","))
    values: dict[str, Any] = {}
    for option in options:
        name, sep, raw = option.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not raw:
            raise ValueError(f"{option!r} is not NAME=VALUE (syntax: {SPEC_SYNTAX})")
        if name in values:
            raise ValueError(f"{name}= is given more than once")
        if name == "ops":
            values[name] = [op.strip() for op in raw.split("+")]
        elif name in ("after", "times"):
            values[name] = _whole(name, raw)
        elif name == "seconds":
            values[name] = _number(raw)
        else:
            raise ValueError(f"unknown option {name!r}: use ops=, after=, times= or seconds=")
    if not kind:
        raise ValueError(f"no fault kind given (syntax: {SPEC_SYNTAX})")
    return Fault.create(kind, **values)


def from_json(item: object) -> Fault:
    """A control-endpoint object ``{"kind": ..., "ops": [...] | "a+b", ...}`` -> a Fault."""
    if not isinstance(item, Mapping):
        raise ValueError("each fault must be a JSON object with a 'kind'")
    unknown = set(item) - {"kind", "ops", "after", "times", "seconds"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    kind = item.get("kind")
    if not isinstance(kind, str):
        raise ValueError("each fault needs a 'kind' string")
    ops = item.get("ops")
    if isinstance(ops, str):
        ops = ops.split("+")
    elif ops is not None and not (isinstance(ops, list) and all(isinstance(op, str) for op in ops)):
        raise ValueError("ops must be a list of operation names, 'op+op' or null")
    seconds = item.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
        raise ValueError(f"seconds must be a number, not {seconds!r}")
    return Fault.create(
        kind, ops=ops, after=item.get("after", 0), times=item.get("times"), seconds=seconds
    )


def parse_control_body(body: bytes) -> list[Fault]:
    """A POST to the control endpoint: a JSON object or list, else one spec per line."""
    text = body.decode("utf-8").strip()
    if not text:
        raise ValueError(f"no fault given: send JSON or a spec ({SPEC_SYNTAX})")
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"bad JSON: {exc}") from None
        return [from_json(item) for item in (data if isinstance(data, list) else [data])]
    return [parse_spec(line) for line in text.splitlines() if line.strip()]


def _check_ops(ops: Iterable[str]) -> frozenset[str]:
    if isinstance(ops, str):  # a bare string would be taken letter by letter
        ops = [ops]
    chosen = frozenset(spec.operation_named(op) or op for op in ops)  # RPC's routeCoverage
    unknown = sorted(chosen - OPERATIONS)
    if unknown:
        raise ValueError(
            f"unknown operation {unknown[0]!r}: use SOAP names such as "
            "sendmsg, querymsg, getbalance, auth, ping"
        )
    if not chosen:
        raise ValueError("ops must name at least one operation")
    return chosen


def _credit_ops(kind: str, ops: frozenset[str] | None) -> frozenset[str]:
    """``err-130``/``no-credit`` act at the credit stage, which only CREDIT_OPS have."""
    if ops is None:
        return CREDIT_OPS
    if not ops <= CREDIT_OPS:
        raise ValueError(
            f"{kind} acts at the credit stage of the operations that send: "
            f"ops= can only name {', '.join(sorted(CREDIT_OPS))}"
        )
    return ops


def _check_seconds(kind: str, seconds: float | None) -> float | None:
    if kind not in SECONDS:
        if seconds is not None:
            allowed = ", ".join(SECONDS)
            raise ValueError(f"{kind} takes no seconds= (only {allowed} do)")
        return None
    if seconds is None:
        default = SECONDS[kind]
        if default is None:
            raise ValueError(f"{kind} needs seconds=, e.g. {kind},seconds=2")
        return default
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
    if value == 0 and kind in _POSITIVE_SECONDS:
        raise ValueError(f"{kind} needs seconds > 0")
    return value


def _whole(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"seconds={raw!r} is not a number") from None
