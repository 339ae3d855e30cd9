"""Clock types for the sandbox.

Every time-dependent rule (session idle timeout, delivery status progression, ledger
timestamps) reads time through an injected zero-argument callable, so tests can move
time forward deterministically instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Any zero-argument callable returning epoch seconds (``time.time`` is the default)."""

system_clock: Clock = time.time


class ManualClock:
    """A clock that only moves when told to; thread-safe because server threads read it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward (never backwards: real clocks used by the gateway do not)."""
        if seconds < 0:
            raise ValueError("ManualClock cannot go backwards")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, now: float) -> None:
        """Jump to an absolute time (forward only, for the same reason as advance)."""
        with self._lock:
            if now < self._now:
                raise ValueError("ManualClock cannot go backwards")
            self._now = float(now)

    def __repr__(self) -> str:
        return f"ManualClock({self():.3f})"
