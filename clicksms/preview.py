"""Dry runs: what a send would put on the wire and what it would cost, sending nothing.

The encoding and part count are computed locally, exactly as for a real send. The charge
comes from ``routecoverage`` (the lowest single-part charge of the route, API.md §4) times
the parts, and only when the account can be reached; otherwise the preview is offline. A
coded ``ERR:`` about one number costs only that number its estimate, since the number
itself may still be fine; only "cannot route" marks it as one that would fail.

``send --dry-run`` and ``bulk --dry-run`` share :func:`ask_routes`, :func:`price` and
:class:`ChargeEstimate`: one way to ask, one error handling, one total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clicksms.errors import AuthError, ClickSmsError, NetworkError
from clicksms.message.binary import BinaryMessage
from clicksms.message.numbers import NumberCheck
from clicksms.message.options import Content
from clicksms.queries import CoverageResult, route_coverage

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient

WOULD_SEND = "would_send"
NOT_COVERED = "not_covered"
INVALID = "invalid"

#: Coded routecoverage errors that mean a send to the number would fail for want of a route.
NOT_ROUTABLE = frozenset({"114"})


@dataclass(frozen=True)
class Routes:
    """routecoverage's answer (or coded error) for each number asked about, by number.

    ``offline`` is why there are no answers at all: no credentials, the network, or an answer
    that could not be read. Then no charge is estimated, for any number.
    """

    answers: Mapping[str, CoverageResult] = field(default_factory=dict)
    offline: ClickSmsError | None = None


def ask_routes(account: Callable[[], GatewayClient], numbers: Iterable[str]) -> Routes:
    """routecoverage once per distinct number, in order: the error handling of every dry run.

    A coded ``ERR:`` about one number is that number's answer. Without credentials (never
    prompting for a password: pass an account that does not), on a network failure or an
    unreadable answer the estimate is offline. An account the gateway refuses (a coded auth
    error) is raised, as the real send would fail too; so is Ctrl-C.
    """
    checks = [NumberCheck(n, True, n) for n in dict.fromkeys(numbers)]
    if not checks:
        return Routes()
    report = route_coverage(account, checks)
    failure = report.failure
    if isinstance(failure, AuthError) and failure.code is not None:
        raise failure
    if isinstance(failure, (AuthError, NetworkError)):
        return Routes(offline=failure)
    if failure is not None:
        raise failure
    return Routes({r.number: r for r in report.results if r.number})


@dataclass(frozen=True)
class Priced:
    """What routecoverage's answer means for sending ``parts`` to a number."""

    status: str  # WOULD_SEND or NOT_COVERED
    charge: float | None = None  # None: not estimated (offline, or a coded error)
    error: str | None = None


def price(answer: CoverageResult | None, parts: int) -> Priced:
    """The route's charge × parts, or why there is none (``answer`` None: offline)."""
    if answer is None:
        return Priced(WOULD_SEND)
    coverage = answer.coverage
    if coverage is None:  # a coded ERR: for this number only
        problem = f"{answer.error} (ERR {answer.error_code})"
        if answer.error_code in NOT_ROUTABLE:
            return Priced(NOT_COVERED, error=problem)
        return Priced(WOULD_SEND, error=f"charge not estimated: {problem}")
    if not coverage.supported:
        return Priced(NOT_COVERED, error="Clickatell does not cover this number's prefix")
    charge = None if coverage.charge is None else round(coverage.charge * parts, 6)
    return Priced(WOULD_SEND, charge=charge)


@dataclass
class ChargeEstimate:
    """The total of a dry run's charges, and the messages it leaves out."""

    total: float = 0.0
    unestimated: int = 0  # messages that would go but whose charge is not known
    not_covered: int = 0  # messages to numbers no route covers: they would fail

    def add(self, status: str, charge: float | None, messages: int = 1) -> None:
        """Count ``messages`` priced as :func:`price` said (``charge`` is for all of them)."""
        if status == NOT_COVERED:
            self.not_covered += messages
        elif charge is None:
            self.unestimated += messages
        else:
            self.total = round(self.total + charge, 6)


@dataclass(frozen=True)
class Shape:
    """How the content goes on the wire: the same for every recipient."""

    encoding: str
    non_gsm: str | None  # the characters that forced UCS-2, with 1-based positions
    length: int
    length_unit: str
    parts: int


@dataclass(frozen=True)
class PreviewRow:
    """One recipient of a dry run (``charge`` is None when it could not be estimated)."""

    to: str
    status: str
    shape: Shape | None = None
    charge: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == WOULD_SEND

    def as_dict(self) -> dict[str, object]:
        """Flat keys for tables, JSON and CSV."""
        shape = self.shape
        return {
            "to": self.to,
            "ok": self.ok,
            "status": self.status,
            "encoding": shape.encoding if shape else None,
            "non_gsm": shape.non_gsm if shape else None,
            "length": shape.length if shape else None,
            "length_unit": shape.length_unit if shape else None,
            "parts": shape.parts if shape else None,
            "charge": self.charge,
            "error": self.error,
        }


def shape_of(content: Content) -> Shape:
    """Encoding, the characters that forced UCS-2, length with its unit, and parts."""
    if isinstance(content, BinaryMessage):
        return Shape(content.encoding, None, content.octets, "octets", content.parts)
    forced = ", ".join(f"{ch} (pos {i + 1})" for i, ch in content.non_gsm[:10])
    if len(content.non_gsm) > 10:
        forced += f", … {len(content.non_gsm) - 10} more"
    unit = "UTF-16 units" if content.unicode else "septets"
    return Shape(content.encoding, forced or None, content.units, unit, content.parts)


def preview(checks: tuple[NumberCheck, ...], content: Content, routes: Routes) -> list[PreviewRow]:
    """One row per input: invalid numbers, uncovered routes, or what would be sent."""
    shape = shape_of(content)
    rows = []
    for check in checks:
        if not check.valid or not check.number:
            reason = f"invalid number: {check.error}"
            rows.append(PreviewRow(check.input.strip(), INVALID, error=reason))
        else:
            priced = price(routes.answers.get(check.number), shape.parts)
            rows.append(PreviewRow(check.number, priced.status, shape, priced.charge, priced.error))
    return rows


def estimate(rows: Iterable[PreviewRow]) -> ChargeEstimate:
    """The charge of a send's dry run, counted as :func:`price` judged each row."""
    total = ChargeEstimate()
    for row in rows:
        if row.status != INVALID:
            total.add(row.status, row.charge)
    return total
