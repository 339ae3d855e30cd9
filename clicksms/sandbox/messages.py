"""An accepted message and its lifecycle (API.md §8, §11.7), read from the clock when asked.

accepted -> 011 until due -> 003 -> 004 (or 007) ``delivery_seconds`` after it was due.
A held message stays 002 and becomes 010 once its validity runs out; 009 (max_credits below
the route's price), 006 (cancelled) and 010 are settled for good. Two readings are the
sandbox's own because API.md does not say (README states them): validity and age are counted
from when the message is due, not from acceptance, so a message scheduled days ahead neither
expires nor is forgotten before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from clicksms.sandbox import spec


@dataclass
class Message:
    """One recipient's message, kept for querymsg, delmsg and getmsgcharge."""

    apimsgid: str
    climsgid: str | None
    to: str
    parts: int
    charge: float  # credits it costs now: 0 when 009, back to 0 once expired and refunded
    accepted_at: float
    due_at: float  # accepted_at + deliv_time; status 011 until then
    expires_at: float  # due_at + validity
    held: bool = False  # never leaves Clickatell's queue (status 002), so it expires
    outcome: str = spec.DELIVERED  # final status once delivery_seconds have passed after due_at
    fixed: str | None = None  # a settled status: 009 at acceptance, 006 cancelled, 010 expired

    @classmethod
    def accepted(
        cls,
        *,
        apimsgid: str,
        climsgid: str | None,
        to: str,
        parts: int,
        charge: float,
        at: float,
        deliv_time: int,
        validity: int,
        unroutable: bool,
    ) -> Message:
        """A message accepted ``at``; ``deliv_time`` and ``validity`` in minutes (0: default)."""
        due_at = at + deliv_time * 60
        return cls(
            apimsgid=apimsgid,
            climsgid=climsgid,
            to=to,
            parts=parts,
            charge=charge,
            accepted_at=at,
            due_at=due_at,
            expires_at=due_at + (validity or spec.MAX_VALIDITY) * 60,
            held=to == spec.QUEUED_NUMBER,
            outcome=spec.DELIVERY_FAILED if to == spec.FAILING_NUMBER else spec.DELIVERED,
            fixed=spec.ROUTING_ERROR if unroutable else None,
        )

    @property
    def expires(self) -> bool:
        """Whether validity can still run out on it (only a held, unsettled message)."""
        return self.held and self.fixed is None

    def older_than(self, days: int, now: float) -> bool:
        """Past the age at which the gateway forgets it, counted from due_at."""
        return now - self.due_at >= days * spec.DAY

    def status(self, now: float, delivery_seconds: float) -> str:
        """The status querymsg reports at ``now``."""
        if self.fixed:
            return self.fixed
        if self.held and now >= self.expires_at:
            return spec.EXPIRED
        if now < self.due_at:
            return spec.SCHEDULED
        if self.held:
            return spec.QUEUED
        if now - self.due_at >= delivery_seconds:
            return self.outcome
        return spec.AT_GATEWAY
