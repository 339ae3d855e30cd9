"""The concurrency controller on a simulated clock: synthetic answers in, limit out.

A small event simulation plays the sender: it keeps ``limit`` requests in flight, paces them
under a rate like the rate limiter, and answers each after a latency that may grow with the
load. No sockets and no real time, so every number here is exact on any machine.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from clicksms.bulk.concurrency import (
    MAX_CONCURRENCY,
    START,
    AdaptiveConcurrency,
    Change,
    FixedConcurrency,
    Sample,
)
from clicksms.bulk.ratelimit import PACE

PACED = 100 * PACE  # what the rate limiter lets through at --rate 100


@dataclass
class Run:
    """What a simulated run saw: the limit over time and the answers."""

    limits: list[tuple[float, int]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)  # answer times, one per message

    def limit_at(self, when: float) -> int:
        return [limit for at, limit in self.limits if at <= when][-1]

    def rate_between(self, start: float, end: float) -> float:
        return sum(start <= t < end for t in self.answered) / (end - start)


def simulate(
    controller: AdaptiveConcurrency,
    latency: Callable[[float, int], float],
    *,
    seconds: float,
    rate: float | None = None,
    messages: int = 1,
    pushed_back: Callable[[float], bool] = lambda now: False,
    source_limit: int | None = None,
) -> Run:
    """Send for ``seconds``: ``latency(now, in_flight)`` answers each request, ``rate``
    paces departures (messages per second), ``pushed_back(now)`` marks an answer a retry,
    and ``source_limit`` caps how many requests the sender has to offer at once."""
    run = Run(limits=[(0.0, controller.limit)])
    answers: list[tuple[float, float]] = []  # (answer time, sent at)
    now = next_slot = 0.0
    in_flight = 0
    while now < seconds:
        offer = controller.limit if source_limit is None else min(controller.limit, source_limit)
        while in_flight < offer:
            sent_at = max(now, next_slot)
            if rate is not None:
                next_slot = sent_at + messages / rate
            in_flight += 1
            heapq.heappush(answers, (sent_at + latency(sent_at, in_flight), sent_at))
        if source_limit is None or controller.limit <= source_limit:
            controller.full(now)
        now, sent_at = heapq.heappop(answers)
        in_flight -= 1
        run.answered += [now] * messages
        sample = Sample(sent_at, now - sent_at, messages, pushed_back(now))
        change = controller.record(sample)
        if change is not None:
            run.changes.append(change)
            run.limits.append((now, controller.limit))
    return run


def flat(seconds: float) -> Callable[[float, int], float]:
    return lambda now, in_flight: seconds


def test_grows_to_what_the_rate_needs_at_high_latency() -> None:
    """250 ms a request, 100 personalised messages a second: Little's law says 25."""
    controller = AdaptiveConcurrency(PACED)
    run = simulate(controller, flat(0.25), seconds=20, rate=PACED)
    assert 25 <= max(limit for _, limit in run.limits) <= math.ceil(25 * 1.1) + 1
    assert run.rate_between(5, 20) >= 95
    assert set(run.changes) == {Change.GROWING}


def test_jittery_latency_meets_the_rate_without_creeping_up() -> None:
    """Answers take 200 to 400 ms at random: Little's law asks 33 at the mean. The answers
    bunch, so some seconds fall short and the limit grows a little, but it settles."""
    rng = random.Random(12)
    controller = AdaptiveConcurrency(PACED)
    run = simulate(controller, lambda now, n: rng.uniform(0.2, 0.4), seconds=300, rate=PACED)
    assert run.rate_between(10, 300) >= 95
    assert controller.limit <= 2 * 33
    assert controller.limit - run.limit_at(30) <= 2  # settled: at most a stray step since
    assert Change.LATENCY not in run.changes


def test_slow_stragglers_are_covered_by_more_requests_in_flight() -> None:
    """One answer in twenty takes 2 s: those hold their slots eight times as long."""
    rng = random.Random(12)
    controller = AdaptiveConcurrency(PACED)
    run = simulate(
        controller, lambda now, n: 2.0 if rng.random() < 0.05 else 0.25, seconds=120, rate=PACED
    )
    assert run.rate_between(10, 120) >= 95
    assert controller.limit <= 2 * math.ceil(100 * (0.95 * 0.25 + 0.05 * 2.0) * 1.1)


def test_batches_need_fewer_requests_in_flight() -> None:
    """Five recipients a request at 100 a second: 20 requests a second, 5 in flight."""
    controller = AdaptiveConcurrency(PACED)
    run = simulate(controller, flat(0.25), seconds=10, rate=PACED, messages=5)
    assert run.limits == [(0.0, START)]  # eight are already more than enough
    assert run.rate_between(2, 10) >= 95


def test_does_not_grow_when_the_rate_is_met() -> None:
    controller = AdaptiveConcurrency(PACED)
    run = simulate(controller, flat(0.02), seconds=10, rate=PACED)
    assert controller.limit == START and run.changes == []


def test_does_not_grow_when_the_sender_has_nothing_more_to_offer() -> None:
    """A slow source (or the end of a job) is not the limit's fault: no growth."""
    controller = AdaptiveConcurrency(None)
    run = simulate(controller, flat(0.1), seconds=10, source_limit=3)
    assert controller.limit == START and run.changes == []


def test_without_a_rate_grows_until_latency_climbs() -> None:
    """A gateway that answers 1000 a second at most: beyond 20 in flight, requests queue.

    Throughput is in flight / latency: the controller must reach the knee (where throughput
    stops improving) and not run off to the maximum.
    """

    def queueing(now: float, in_flight: int) -> float:
        return max(0.02, in_flight / 1000)

    controller = AdaptiveConcurrency(None)
    run = simulate(controller, queueing, seconds=30)
    settled = [limit for at, limit in run.limits if at > 10]
    assert min(settled) >= 20 and max(settled) <= 40
    assert run.rate_between(10, 30) >= 0.95 * 1000
    assert Change.LATENCY in run.changes


def test_grows_additively_without_a_rate_while_latency_stays_flat() -> None:
    controller = AdaptiveConcurrency(None)
    run = simulate(controller, flat(0.05), seconds=60)
    assert controller.limit == MAX_CONCURRENCY  # nothing ever pushed back: bounded all the same
    assert Change.LATENCY not in run.changes


def test_push_back_cuts_the_limit_once_per_round_trip() -> None:
    """A burst of retries between 10 s and 10.5 s (ERR 901, HTTP 503): one cut per round trip,
    not one per answer, then growth again towards the need."""
    controller = AdaptiveConcurrency(PACED)
    run = simulate(
        controller,
        flat(0.25),
        seconds=30,
        rate=PACED,
        pushed_back=lambda now: 10 <= now < 10.5,
    )
    before = run.limit_at(9.9)
    cuts = [(at, limit) for (at, limit), why in zip(run.limits[1:], run.changes, strict=True)
            if why is Change.PUSH_BACK]  # fmt: skip
    assert 1 <= len(cuts) <= 3  # half a second of retries is two round trips at most
    assert cuts[0][1] == math.floor(before * 0.7)
    assert run.limit_at(29) >= 25  # back to what the rate needs
    assert run.rate_between(20, 30) >= 95


def test_one_push_back_cuts_to_seventy_percent() -> None:
    controller = AdaptiveConcurrency(None, start=20)
    assert controller.record(Sample(0.0, 0.1, 1, pushed_back=True)) is Change.PUSH_BACK
    assert controller.limit == 14
    # An answer to a request sent before the cut belongs to the same episode.
    assert controller.record(Sample(0.05, 0.1, 1, pushed_back=True)) is None
    assert controller.limit == 14
    assert controller.record(Sample(0.2, 0.1, 1, pushed_back=True)) is Change.PUSH_BACK
    assert controller.limit == 9


def test_never_below_one() -> None:
    controller = AdaptiveConcurrency(None, start=1)
    for n in range(5):
        controller.record(Sample(float(n), 0.1, 1, pushed_back=True))
    assert controller.limit == 1


def test_latency_that_climbs_for_good_shrinks_the_limit_then_becomes_the_baseline() -> None:
    """The gateway becomes five times slower at 20 s, whatever the load. The limit shrinks at
    once (it looks like a queue); once the old baseline has expired (30 s), Little's law on the
    new latency brings the rate back."""

    def slower(now: float, in_flight: int) -> float:
        return 0.05 if now < 20 else 0.25

    controller = AdaptiveConcurrency(PACED)
    run = simulate(controller, slower, seconds=90, rate=PACED)
    assert Change.LATENCY in run.changes
    assert min(limit for at, limit in run.limits if 20 <= at <= 30) < START
    assert run.limit_at(89) >= 25
    assert run.rate_between(70, 90) >= 95


def test_a_latency_cut_is_at_most_half() -> None:
    controller = AdaptiveConcurrency(None, start=16)
    for n in range(16):  # a round trip at 100 ms sets the baseline
        controller.full(n * 0.01)
        controller.record(Sample(n * 0.01, 0.1, 1))
    limit = controller.limit
    changes = set()
    for n in range(limit):  # the next round trip takes ten times as long
        sent = 1.0 + n * 0.01
        controller.full(sent)
        changes.add(controller.record(Sample(sent, 1.0, 1)))
    assert Change.LATENCY in changes
    assert controller.limit == limit // 2


def test_fixed_concurrency_never_changes() -> None:
    controller = FixedConcurrency(3)
    controller.full(0.0)
    assert controller.record(Sample(0.0, 5.0, 1, pushed_back=True)) is None
    assert controller.limit == 3


@pytest.mark.parametrize("limit", [0, MAX_CONCURRENCY + 1])
def test_fixed_concurrency_is_bounded(limit: int) -> None:
    with pytest.raises(ValueError, match="concurrency must be"):
        FixedConcurrency(limit)
