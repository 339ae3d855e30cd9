"""``--dry-run``: what a send would put on the wire and what it would cost, sending nothing.

The encoding and part count are computed locally, exactly as for a real send. The charge
comes from ``routecoverage`` (the lowest single-part charge of the route, API.md §4) times
the parts, and only when the account can be reached; otherwise the preview is offline. A
coded ``ERR:`` about one number costs only that number its estimate, since the number
itself may still be fine; only "cannot route" marks it as one that would fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clicksms.message.binary import BinaryMessage
from clicksms.message.numbers import NumberCheck
from clicksms.message.options import Content
from clicksms.queries import CoverageResult

WOULD_SEND = "would_send"
NOT_COVERED = "not_covered"
INVALID = "invalid"

#: routecoverage's answer (or coded error) for each valid number, keyed by number.
Routes = Mapping[str, CoverageResult]

#: Coded routecoverage errors that mean a send to the number would fail for want of a route.
NOT_ROUTABLE = frozenset({"114"})


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


def preview(
    checks: tuple[NumberCheck, ...], content: Content, routes: Routes | None
) -> list[PreviewRow]:
    """One row per input: invalid numbers, uncovered routes, or what would be sent.

    ``routes`` is None for an offline preview (no charges at all).
    """
    shape = shape_of(content)
    rows = []
    for check in checks:
        if not check.valid or not check.number:
            reason = f"invalid number: {check.error}"
            rows.append(PreviewRow(check.input.strip(), INVALID, error=reason))
        else:
            answer = routes.get(check.number) if routes is not None else None
            rows.append(_routed_row(check.number, shape, answer))
    return rows


def _routed_row(number: str, shape: Shape, answer: CoverageResult | None) -> PreviewRow:
    """A valid number's row from routecoverage's answer (None: offline, no estimate)."""
    if answer is None:
        return PreviewRow(number, WOULD_SEND, shape)
    coverage = answer.coverage
    if coverage is None:  # a coded ERR: for this number only
        problem = f"{answer.error} (ERR {answer.error_code})"
        if answer.error_code in NOT_ROUTABLE:
            return PreviewRow(number, NOT_COVERED, shape, error=problem)
        return PreviewRow(number, WOULD_SEND, shape, error=f"charge not estimated: {problem}")
    if not coverage.supported:
        reason = "Clickatell does not cover this number's prefix"
        return PreviewRow(number, NOT_COVERED, shape, error=reason)
    charge = None if coverage.charge is None else round(coverage.charge * shape.parts, 6)
    return PreviewRow(number, WOULD_SEND, shape, charge=charge)
