"""How many requests bulk keeps in flight: found from the rate and the gateway's latency.

Little's law says what is needed: to send R messages a second, m to a request, through a
gateway that takes L seconds to answer, R / m × L requests must be in flight at once — 25 for
personalised rows at 100 a second and 250 ms, 2 at 20 ms. No fixed number fits both, and
neither the latency nor what the gateway can take is known in advance, so the number is found
while sending, as TCP finds its congestion window. :class:`AdaptiveConcurrency` decides from
what each answer tells it (:class:`Sample`):

* **It grows only while the limit is what holds sending back**: every slot was taken when the
  sender had more to send (RFC 7661's "cwnd-limited" test; a slow CSV or the end of a job is
  no reason to grow), and the rate needs more: the limit is below what Little's law asks at
  the measured mean latency, or the last two seconds brought fewer answered messages than the
  rate allows (otherwise more requests at once would only wait for the rate limiter) — but
  never beyond twice the law's need, where a shortfall is the answers' jitter, not a lack.
* **Fast, then slowly**: one more slot per answer (TCP's slow start: doubling each round trip)
  up to what Little's law says the rate needs, measured latency and batch size included, with
  10% to spare, or until an answer comes back late (CUBIC's HyStart: latency rising means the
  limit is near); after that, one more per round trip (additive increase, as AIMD), or straight
  to Little's law's need (at most doubling) when the rate is known and not met.
* **It shrinks on push-back**: a retry or a failure (ERR 901, HTTP 503/429, a refused or
  dropped connection, a timeout) cuts it to 70% at once, at most once per round trip
  (multiplicative decrease).
* **It shrinks when latency climbs**: each round trip's median latency is compared with the
  baseline, the lowest such median of the last 30 seconds. More than 1.5 times the baseline
  means requests queue somewhere (the gateway, the network, our own CPU): the limit is scaled
  by 1.5 × baseline / latency, at most halved (the latency gradient of TCP Vegas and of
  Netflix's gradient limiters). By Little's law throughput is in flight / latency, so with
  ``--rate 0`` this is where throughput stops improving: growth stops there.

Why this mix rather than one of the known limiters alone: AIMD learns only from failures, so it
would grow until the gateway refuses, and here refusals stop or slow a job. Vegas and the
gradient limiters need no failures, but with no target they keep probing for more throughput,
which under a rate cap is waste; Little's law gives the target outright when the rate is known.
A plain minimum latency is biased low by lucky samples (Gradient2's complaint), so the baseline
is a per-round-trip median, and it expires so that a gateway that became slower for good is
not mistaken for a queue forever.

It is bounded by 1 and :data:`MAX_CONCURRENCY`; ``--concurrency N`` pins it
(:class:`FixedConcurrency`). The controller runs in the thread that coordinates the sending
and needs no lock; its clock is the samples' own, so tests drive it with synthetic samples.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

#: The most requests in flight at once: one worker thread and one connection each.
MAX_CONCURRENCY = 128
#: Where the adaptive limit starts: the fixed default of earlier versions.
START = 8
BACKOFF = 0.7  # push-back: the limit × this (TCP CUBIC's factor: gentler than halving)
TOLERANCE = 1.5  # a round trip's median latency over baseline × this means queueing
MIN_GRADIENT = 0.5  # one latency decision never more than halves the limit
HEADROOM = 1.1  # Little's law's need × this, for latency jitter
RATE_MET = 0.95  # answered in the last RATE_WINDOW ≥ rate × this: the rate is met
SURPLUS = 2.0  # never more than Little's law's need × this while the rate is known
ROUND_MIN = 4  # answers a round trip needs at the least for its median to mean anything
BASELINE_AGE = 30.0  # seconds a baseline latency is trusted without a new, lower one
RATE_WINDOW = 2.0  # seconds over which answered messages are counted against the rate


@dataclass(frozen=True)
class Sample:
    """What one answered request tells the controller (times in seconds, one clock)."""

    sent_at: float  # when the request left (after any wait for the rate limiter)
    latency: float  # from leaving to its answer
    messages: int  # recipients it carried
    pushed_back: bool = False  # it was retried, or failed at the network or with ERR 901


class Change(Enum):
    """Why the limit changed."""

    GROWING = "growing"  # the limit held sending back, latency was flat
    LATENCY = "latency"  # latency climbed: requests queue somewhere
    PUSH_BACK = "push-back"  # a retry or a failure


class FixedConcurrency:
    """``--concurrency N``: always N."""

    def __init__(self, limit: int) -> None:
        if not 1 <= limit <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be 1 to {MAX_CONCURRENCY}")
        self.limit = limit

    def full(self, now: float) -> None:
        """Every slot is taken and there is more to send (nothing to learn here)."""

    def record(self, sample: Sample) -> Change | None:
        return None


class AdaptiveConcurrency:
    """The limit found from the answers; see the module docstring for the rules."""

    def __init__(
        self, rate: float | None, *, start: int = START, maximum: int = MAX_CONCURRENCY
    ) -> None:
        """``rate``: the messages a second the rate limiter lets through (None: no limit)."""
        self.limit = max(1, min(start, maximum))
        self._rate = rate
        self._maximum = maximum
        self._slow_start = True
        self._full_at = -math.inf  # the last time every slot was taken with more to send
        self._decreased_at = -math.inf
        self._per_request = 0.0  # messages per request, a moving average
        # This round trip: the latencies of requests sent since it began.
        self._round_start = -math.inf
        self._round_size = max(ROUND_MIN, self.limit)
        self._round: list[float] = []
        self._baseline: float | None = None
        self._baseline_at = 0.0
        self._answered: deque[tuple[float, int]] = deque()  # (answered at, messages)
        self._answered_total = 0
        self._first_answer: float | None = None

    def full(self, now: float) -> None:
        """The sender found every slot taken while it had more to send."""
        self._full_at = now

    def record(self, sample: Sample) -> Change | None:
        """Learn from one answer; the reason when it changed the limit."""
        now = sample.sent_at + sample.latency
        self._count(now, sample.messages)
        if sample.pushed_back:
            return self._push_back(sample, now)
        change = None
        if self._slow_start:
            change = self._slow_start_step(sample, now)
        if sample.sent_at < self._round_start:
            return change  # sent before this round trip began: judged with the last one
        self._round.append(sample.latency)
        if len(self._round) >= self._round_size:
            change = self._end_round(now) or change
        return change

    # --------------------------------------------------------------------------- rules
    def _slow_start_step(self, sample: Sample, now: float) -> Change | None:
        """One more slot per answer until the rate's need is reached or latency rises."""
        if not self._flat(sample.latency):
            self._slow_start = False  # latency rises: the limit is near (CUBIC's HyStart)
            return None
        change = None
        if sample.sent_at >= self._decreased_at and self._may_grow(
            sample.sent_at, now, sample.latency
        ):
            change = self._set(self.limit + 1, Change.GROWING)
        if self._rate is not None and self.limit >= self._need(sample.latency):
            self._slow_start = False
        return change

    def _push_back(self, sample: Sample, now: float) -> Change | None:
        """Multiplicative decrease, once per round trip: an answer to a request sent before
        the last decrease belongs to the same episode."""
        if sample.sent_at < self._decreased_at:
            return None
        self._slow_start = False
        return self._decrease(math.floor(self.limit * BACKOFF), Change.PUSH_BACK, now)

    def _end_round(self, now: float) -> Change | None:
        """A round trip's worth of answers: judge its median latency (queueing), then start
        the next. Little's law takes the mean: slow answers hold their slots longer."""
        latency = _median(self._round)
        mean = sum(self._round) / len(self._round)
        if (
            self._baseline is None
            or latency <= self._baseline
            or now - self._baseline_at > BASELINE_AGE
        ):
            self._baseline, self._baseline_at = latency, now
        if latency > self._baseline * TOLERANCE:
            gradient = max(MIN_GRADIENT, self._baseline * TOLERANCE / latency)
            self._slow_start = False
            return self._decrease(math.floor(self.limit * gradient), Change.LATENCY, now)
        change = None
        if not self._slow_start and self._may_grow(self._round_start, now, mean):
            # One more per round trip; straight towards Little's law's need (at most
            # doubling) when the rate is known and needs more.
            grown = self.limit + 1
            if self._rate is not None:
                grown = max(grown, min(self._need(mean), 2 * self.limit))
            change = self._set(grown, Change.GROWING)
        self._new_round(now)
        return change

    def _may_grow(self, since: float, now: float, latency: float) -> bool:
        """Every slot was taken since ``since``, and the rate needs more requests at once:
        by Little's law at this latency, or because the last RATE_WINDOW fell short of it
        (up to SURPLUS × the law's need: beyond, a shortfall is the answers' jitter)."""
        if self._full_at < since or self.limit >= self._maximum:
            return False
        if self._rate is None:
            return True
        need = self._need(latency)
        if self.limit < need:
            return True
        if self.limit >= need * SURPLUS or self._first_answer is None:
            return False
        if now - self._first_answer < RATE_WINDOW:
            return False  # not a whole window to judge by yet
        self._forget_answers(now)
        return self._answered_total < self._rate * RATE_MET * RATE_WINDOW

    def _need(self, latency: float) -> int:
        """Little's law: requests in flight that carry ``rate`` messages a second."""
        assert self._rate is not None
        return math.ceil(self._rate / self._per_request * latency * HEADROOM)

    def _flat(self, latency: float) -> bool:
        """No sign of queueing in this answer (none can be seen before a baseline exists)."""
        return self._baseline is None or latency <= self._baseline * TOLERANCE

    def _decrease(self, limit: int, why: Change, now: float) -> Change | None:
        self._decreased_at = now
        change = self._set(limit, why)
        self._new_round(now)
        return change

    def _set(self, limit: int, why: Change) -> Change | None:
        limit = max(1, min(self._maximum, limit))
        if limit == self.limit:
            return None
        self.limit = limit
        return why

    def _new_round(self, now: float) -> None:
        self._round_start = now
        self._round_size = max(ROUND_MIN, self.limit)
        self._round = []

    def _count(self, now: float, messages: int) -> None:
        """Messages per request (for Little's law) and messages answered in the last second."""
        if self._first_answer is None:
            self._first_answer, self._per_request = now, float(messages)
        self._per_request += (messages - self._per_request) / 16
        if self._rate is None:
            return
        self._answered.append((now, messages))
        self._answered_total += messages
        self._forget_answers(now)

    def _forget_answers(self, now: float) -> None:
        while self._answered and self._answered[0][0] <= now - RATE_WINDOW:
            self._answered_total -= self._answered.popleft()[1]


Concurrency = FixedConcurrency | AdaptiveConcurrency


def _median(values: list[float]) -> float:
    """The middle value (the upper one of an even count): statistics costs an import."""
    return sorted(values)[len(values) // 2]
