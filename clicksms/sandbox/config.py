"""Sandbox configuration (one place for every knob the CLI and tests may turn)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

#: The route table a sandbox starts with: only the magic number 27820000114 has no route.
DEFAULT_COVERAGE: dict[str, float | None] = {"27820000114": None}

#: How the RPC server sends array returns: inline, or as multi-reference values (both exist).
RPC_ARRAY_STYLES = ("inline", "multiref")

_PREFIX = re.compile(r"[1-9][0-9]{0,14}")  # a leading part of an international number


def check_route(prefix: str, charge: float | None) -> float | None:
    """Validate one coverage entry; return the charge as a float (or None).

    Prefixes are what numbers start with in international format (no ``+``, no ``00``,
    no leading ``0``), so a prefix that no routable number could match is refused instead
    of silently never matching.
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"coverage prefix {prefix!r} must be 1-15 digits of an international number "
            "(no '+', no leading 0)"
        )
    if charge is None:
        return None
    if isinstance(charge, bool) or not isinstance(charge, int | float):
        raise ValueError(f"coverage charge for {prefix} must be a number or None")
    value = float(charge)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"coverage charge for {prefix} must be a finite number >= 0")
    return value


_NO_PREFIX = object()  # price_for: a prefix not in the table


def parse_coverage(specs: list[str]) -> dict[str, float | None]:
    """Parse CLI-style ``PREFIX=CHARGE`` / ``PREFIX=none`` specs (e.g. ``44=1.5``, ``1=none``).

    Raises ValueError with a message fit for a usage error. A prefix given twice is an
    error rather than "last one wins": the two specs disagree or one is redundant.
    """
    table: dict[str, float | None] = {}
    for spec in specs:
        prefix, sep, raw = spec.partition("=")
        prefix, raw = prefix.strip(), raw.strip()
        if not sep or not prefix or not raw:
            raise ValueError(
                f"coverage {spec!r}: expected PREFIX=CHARGE or PREFIX=none, e.g. 44=1.5"
            )
        if raw.lower() == "none":
            charge: float | None = None
        else:
            try:
                charge = float(raw)
            except ValueError:
                raise ValueError(
                    f"coverage {spec!r}: charge {raw!r} is neither a number nor 'none'"
                ) from None
        if prefix in table:
            raise ValueError(f"coverage {spec!r}: prefix {prefix} is given more than once")
        try:
            table[prefix] = check_route(prefix, charge)
        except ValueError as exc:
            raise ValueError(f"coverage {spec!r}: {exc}") from None
    return table


@dataclass
class SandboxConfig:
    """Settings for one sandbox server and its single Clickatell account.

    Defaults mirror the 2009 API spec where it states one (15-minute sessions,
    ``concat`` default 1); the rest are sandbox conveniences.

    ``coverage`` is the route table behind ``routecoverage`` and per-recipient pricing:
    the longest matching prefix wins, numbers matching none cost ``route_price`` per
    part, and a ``None`` charge means "no route" (sendmsg answers ``ERR: 114``). Passing
    a table replaces the default one (which only holds the magic number 27820000114).
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral; read the real one from Sandbox.port
    api_id: int = 3512345
    user: str = "sandbox"
    password: str = "sandbox-secret"
    credits: float = 1000.0  # starting balance
    route_price: float = 1.0  # credits charged per message part on routes not in `coverage`
    session_timeout: float = 900.0  # idle seconds before ERR 003
    default_concat: int = 1  # used when concat is absent or 0
    delivery_seconds: float = 5.0  # status 003 -> 004 (or 007) after this long
    latency: float = 0.0  # seconds slept before answering each POST
    ledger_path: Path | None = None  # JSON-lines file, one record per accepted message
    rpc_arrays: str = "inline"  # RPC array returns: "inline" or "multiref" (href to multiRef)
    coverage: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_COVERAGE))
    # The prefix lengths of `coverage`, longest first, and the table they were read from.
    _lengths: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _lengths_of: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ledger_path is not None and not isinstance(self.ledger_path, Path):
            self.ledger_path = Path(self.ledger_path)
        if self.default_concat < 1:
            raise ValueError("default_concat must be >= 1")
        if self.route_price < 0 or self.credits < 0:
            raise ValueError("credits and route_price must not be negative")
        if self.rpc_arrays not in RPC_ARRAY_STYLES:
            raise ValueError(f"rpc_arrays must be one of {', '.join(RPC_ARRAY_STYLES)}")
        if not self.delivery_seconds >= 0:  # also rejects nan
            raise ValueError("delivery_seconds must not be negative")
        # A private copy: the caller's dict must not change routes behind the gateway's back.
        self.coverage = {prefix: check_route(prefix, c) for prefix, c in self.coverage.items()}

    def price_for(self, number: str) -> float | None:
        """Credits per part for ``number``: longest matching prefix, else ``route_price``.

        Only the lengths of the table's prefixes are tried: a request of 300 recipients
        asks twice for each of them."""
        coverage = self.coverage
        if self._lengths_of is not coverage:  # the table was replaced: its lengths again
            self._lengths = sorted({len(prefix) for prefix in coverage}, reverse=True)
            self._lengths_of = coverage
        for end in self._lengths:
            if end <= len(number):
                charge = coverage.get(number[:end], _NO_PREFIX)
                if charge is not _NO_PREFIX:
                    return charge
        return self.route_price
