"""Keep an account under its allowed messages per second, in every one-second window.

Clickatell counts messages, not requests, so a request for 300 recipients uses 300 of the
allowance. A token bucket would allow bursts above the cap at the start of each second; this
sliding-window limiter never lets any window of one second carry more than ``rate`` messages,
which is the promise users (and the gateway) care about.

A slot is counted when it is handed out, so it must be taken as late as possible: bulk's worker
threads take it just before they send, with the SOAP client, the session and the envelope
ready. A slot taken earlier (when a request is queued for a worker, say) is spent at the wrong
time: if the request then waits (for zeep to load, for a connection), it leaves with the ones
after it, in a window that already holds its share.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 1.0  # seconds
#: Steady flow just under the cap, so that jitter between a slot and the request's arrival
#: cannot tip the gateway's window over it: at 97%, any jitter under 30 ms is absorbed.
PACE = 0.97


class RateLimiter:
    """Blocks :meth:`acquire` until ``count`` more messages fit in the last second.

    Two rules together: batches are paced evenly at just under the rate (no burst when a
    run starts), and no sliding one-second window may ever hold more than the rate. Safe to
    call from many threads: one waits for the next slot, the others wait for it on a lock, so
    a hundred waiting workers cost no more than one.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (use no limiter for an unlimited rate)")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[tuple[float, int]] = deque()  # (time, messages), oldest first
        self._in_window = 0
        self._next_at = 0.0  # pacing: the earliest time the next batch may go
        self._turn = threading.Lock()  # held by the one caller waiting for the next slot

    def batch_size(self, ceiling: int) -> int:
        """Recipients per request that keep the flow smooth: a twentieth of the rate.

        Small batches spread the allowance across the second instead of spending it in
        one burst, so network jitter cannot push a window over the cap. It also caps the
        requests a second at 20, so Little's law asks for 20 × latency requests in flight
        (5 at 250 ms, 20 at a second): far inside bulk's bound whatever the latency, which
        is why the batch need not grow with it.
        """
        return max(1, min(ceiling, int(self.rate / 20)))

    def acquire(self, count: int, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait until ``count`` messages may go; False if ``should_stop`` turned true first."""
        if count > self.rate:
            raise ValueError(f"a batch of {count} can never fit a rate of {self.rate:g}/s")
        with self._turn:
            if should_stop():  # asked while queued behind another caller
                return False
            while True:
                now = self._clock()
                self._forget_before(now - WINDOW)
                if now >= self._next_at and self._in_window + count <= self.rate:
                    fresh = not self._sent  # nothing in the last second: no schedule to keep
                    self._sent.append((now, count))
                    self._in_window += count
                    step = count / (self.rate * PACE)
                    # Late by less than a step (a slow answer): keep the schedule rather
                    # than let the lateness add up; the window check still caps it.
                    base = now if fresh else max(self._next_at, now - step)
                    self._next_at = base + step
                    return True
                wait = max(self._next_at - now, self._wait_for(count, now))
                if should_stop():
                    return False
                self._sleep(min(wait, 0.1))  # short naps so stop requests are prompt

    def _forget_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0][0] <= cutoff:
            self._in_window -= self._sent.popleft()[1]

    def _wait_for(self, count: int, now: float) -> float:
        """Seconds until enough old sends leave the window for ``count`` more."""
        excess = self._in_window + count - self.rate
        if excess <= 0:
            return 0.0
        for stamp, sent in self._sent:
            excess -= sent
            if excess <= 0:
                return max(0.0, stamp + WINDOW - now) + 1e-4
        return WINDOW
