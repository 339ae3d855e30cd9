"""Send a bulk job's pending rows: grouped, concurrent, rate-limited, journalled.

What goes on the wire for one request, a sendmsg or an item of a batch (``bulk --batch``),
is :mod:`clicksms.bulk.requests`'s business; which rows go together, when, under which client
message ID, and what the answer means for the journal, this module's. How many requests are
in flight at once is :mod:`clicksms.bulk.concurrency`'s decision, made from every answer; the
rate limiter hands each worker its slot just before it sends (:mod:`clicksms.bulk.ratelimit`
says why not earlier).

The journal is the source of truth. A row is marked in flight (with its request's client
message ID) before the request leaves, and settled after the answer; only the coordinating
thread writes to the journal, worker threads only talk to the gateway. A commit costs more CPU
than the rest of a message's bookkeeping, so the next few requests are marked in one
transaction, which also writes the results that came in since the last one. Whatever stops a run
(Ctrl-C, kill -9, network, credit), every row is pending, in flight or settled, and
:func:`reconcile` turns in-flight rows back into facts with ``querymsg`` by client ID.
"""

from __future__ import annotations

import math
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from clicksms.bulk.batch import BATCH_GONE, batch_client_id
from clicksms.bulk.concurrency import MAX_CONCURRENCY, Sample
from clicksms.bulk.events import (
    ConcurrencyChanged,
    EventSink,
    Progress,
    StopRequested,
    StrangerAnswers,
    WaitingForGateway,
    WaitingForLimit,
    ignore,
)
from clicksms.bulk.interrupts import deferred_interrupts
from clicksms.bulk.journal import (
    ROW_DONE,
    ROW_FAILED,
    ROW_IN_FLIGHT,
    ROW_PENDING,
    Job,
    JobRow,
    Journal,
    client_message_id,
)
from clicksms.bulk.outcome import Stop, StopReason
from clicksms.bulk.plan import MessageCache
from clicksms.bulk.requests import Outgoing
from clicksms.errors import (
    AuthError,
    ClickSmsError,
    GatewayError,
    NetworkError,
    PauseInterrupted,
)
from clicksms.gateway.responses import parse_message_status, single_reply
from clicksms.gateway.retry import INTERNAL_ERROR
from clicksms.message.options import SendOptions
from clicksms.send import ACCEPTED, MAX_RECIPIENTS, REJECTED, SendResult, match_replies

if TYPE_CHECKING:
    from clicksms.bulk.concurrency import Concurrency
    from clicksms.bulk.ratelimit import RateLimiter
    from clicksms.bulk.requests import Requests
    from clicksms.gateway.client import GatewayClient

# Once this many rows are marked, the transaction ends (so at most one full request more):
# marking a whole round of 300-recipient requests before the first leaves would hold them
# all back, while one-recipient requests still share a transaction per round.
MARK_AHEAD_ROWS = MAX_RECIPIENTS
GROUP_WINDOW = 3000  # rows held back at most while looking for identical texts to group
NO_CREDIT = "301"
MT_LIMIT = "130"
#: Refusals that say nothing about the rows themselves: they are held for a later pass
#: (901, "please retry", only once GatewayClient.call's own retries have run out; 201, a
#: batch gone and not renewed, see clicksms.bulk.batch).
HELD = (NO_CREDIT, MT_LIMIT, INTERNAL_ERROR, BATCH_GONE)
_UNTIL = re.compile(r"until\D*(\d{9,11})")

_INTERRUPTED = Stop(StopReason.INTERRUPTED)


@dataclass(frozen=True)
class SendPlan:
    """What every request of the job carries besides its recipients and text, and how it
    goes out (``requests``: one sendmsg each, or items of a batch)."""

    sender: str | None
    options: SendOptions
    messages: MessageCache
    requests: Requests
    client_id_prefix: str = ""


@dataclass
class RunResult:
    """How a run ended: ``stop`` is None when it went through every pending row."""

    sent: int = 0
    failed: int = 0
    parts: int = 0  # SMS parts of the messages accepted in this run
    strangers: int = 0  # answers for numbers no request carried
    stop: Stop | None = None
    peak_in_flight: int = 0  # the most requests sent and not yet answered at once


@dataclass(frozen=True)
class _Outcome:
    """A worker's report for one request."""

    rows: list[JobRow]
    results: list[SendResult] | None = None
    parts: int = 0  # per recipient
    refused: GatewayError | None = None  # the whole request was refused
    failure: ClickSmsError | None = None  # the conversation broke
    strangers: tuple[str, ...] = ()  # numbers the answer named that the request did not carry
    unsent: bool = False  # never left: the run stopped, or ``failure`` came before sending
    sent_at: float = 0.0  # time.monotonic() when it left
    latency: float = 0.0  # seconds from leaving to the answer
    retries: int = 0  # tries after the first (GatewayClient's retries)


class _Request:
    """One request handed to a worker: its rows, client ID and, once finished, its outcome."""

    __slots__ = ("client_id", "error", "outcome", "rows")

    def __init__(self, rows: list[JobRow], client_id: str) -> None:
        self.rows = rows
        self.client_id = client_id
        self.outcome: _Outcome | None = None
        self.error: BaseException | None = None  # a bug, not a gateway answer: raised in run()

    def done(self) -> bool:
        return self.outcome is not None or self.error is not None

    def result(self) -> _Outcome:
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


class _Workers:
    """Up to ``size`` threads that send requests and put each finished one on ``finished``.

    What a ThreadPoolExecutor does for bulk, without a Future, its condition variable and its
    callbacks per request: that bookkeeping cost more CPU than a journal commit. Requests not
    yet taken by a worker when :meth:`shutdown` is called are dropped unsent, as the
    executor's ``cancel_futures`` did; their rows stay in flight for resume to reconcile.
    """

    def __init__(
        self,
        size: int,
        send: Callable[[list[JobRow], str], _Outcome],
        finished: queue.SimpleQueue[_Request],
    ) -> None:
        self._size = size
        self._send = send
        self._finished = finished
        self._inbox: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, request: _Request, outstanding: int) -> None:
        """Queue ``request``; ``outstanding`` requests (this one included) await a worker."""
        if len(self._threads) < min(self._size, outstanding):
            # Daemon: a worker stuck in a request abandoned by a second Ctrl-C must not keep
            # the process alive; its rows are in flight, for resume to reconcile.
            thread = threading.Thread(
                target=self._work, name=f"bulk_{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._inbox.put(request)

    def shutdown(self) -> None:
        """Let each worker finish the request it is sending, then end; no waiting here."""
        self._closed = True
        for _ in self._threads:
            self._inbox.put(None)

    def _work(self) -> None:
        while (request := self._inbox.get()) is not None:
            if self._closed:
                continue
            try:
                request.outcome = self._send(request.rows, request.client_id)
            except BaseException as exc:  # a bug: run() raises it in the coordinating thread
                request.error = exc
            self._finished.put(request)


class _OnTheWire:
    """Requests sent and not yet answered, counted by the worker threads, and the peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.peak = 0

    def leave(self) -> None:
        with self._lock:
            self.count += 1
            self.peak = max(self.peak, self.count)

    def arrive(self) -> None:
        with self._lock:
            self.count -= 1


def batches(
    rows: Iterable[JobRow], size: int, window: int = GROUP_WINDOW
) -> Iterator[list[JobRow]]:
    """Rows with the same text together, ``size`` at most, in roughly row order.

    Holding back at most ``window`` rows keeps memory bounded however long the file; a
    static text still fills every request, personalised texts go one per request.
    """
    groups: dict[str, list[JobRow]] = {}
    held = 0
    for row in rows:
        group = groups.setdefault(row.text or "", [])
        group.append(row)
        held += 1
        if len(group) >= size:
            held -= len(group)
            yield groups.pop(row.text or "")
        elif held >= window:
            oldest = next(iter(groups))
            held -= len(groups[oldest])
            yield groups.pop(oldest)
    yield from groups.values()


class BulkSender:
    """Runs one job's pending rows through a thread pool; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        job: Job,
        account: GatewayClient,
        plan: SendPlan,
        *,
        concurrency: Concurrency,
        limiter: RateLimiter | None,
        wait_on_limit: bool,
        on_event: EventSink = ignore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.journal = journal
        self.job = job
        self.account = account
        self.plan = plan
        self.concurrency = concurrency
        self.limiter = limiter
        self.wait_on_limit = wait_on_limit
        self.on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self.result = RunResult()
        self._resume_at = 0.0  # ERR 130: no new request before this time
        # Settled rows not yet written: they ride along with the next _mark_ahead. Until then
        # they are "in flight" on disk, which is safe: a resume asks the gateway about them by
        # client message ID. Rows of a grouped request are written at once (see _record).
        self._unsaved: list[JobRow] = []
        self._last_stamp = 0  # last time-based client ID, so two are never equal
        # Finished requests, in the order they finish: O(1) per answer, unlike a wait that
        # walks every request in flight on each call.
        self._finished: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._stop_announced = False  # the first Ctrl-C is answered once, from the loop
        self._abandoned = False  # a second Ctrl-C: stop waiting for requests in flight
        self._wire = _OnTheWire()
        self._tries = threading.local()  # each worker's retries of its current request

    # ---------------------------------------------------------------- coordinating thread
    def run(self) -> RunResult:
        size = MAX_RECIPIENTS
        if self.limiter is not None:
            size = self.limiter.batch_size(MAX_RECIPIENTS)
        in_flight: dict[_Request, list[JobRow]] = {}
        pool = _Workers(MAX_CONCURRENCY, self._send, self._finished)
        watching, self.account.on_retry = self.account.on_retry, self._retried
        # The first Ctrl-C only sets result.stop, checked between steps, so the journal and
        # the requests in flight always agree; a second one interrupts the wait.
        with deferred_interrupts(lambda: self._stop(_INTERRUPTED)):
            try:
                try:
                    # Rows held back by ERR 130 with --on-limit wait go back to pending
                    # behind the reading position: another pass picks them up later.
                    while self._one_pass(pool, in_flight, size) and self.result.stop is None:
                        self._drain(in_flight, until_empty=True)
                except KeyboardInterrupt:
                    self._give_up()
                if not self._abandoned:
                    self._drain(in_flight, until_empty=True)
            finally:
                try:
                    self._save()  # may fail too (a journal locked too long): still shut down
                finally:
                    pool.shutdown()
                    self.account.on_retry = watching
                    self.account.keep_retrying()  # reconcile and later passes may pause again
        self.result.peak_in_flight = self._wire.peak
        return self.result

    def _one_pass(self, pool: _Workers, in_flight: dict[_Request, list[JobRow]], size: int) -> bool:
        """Send every row pending now, in row order; True if any request went out.

        Requests marked in flight but not sent when the pass ends (the run is stopping) go
        back to pending: they provably never left; so do those a worker was holding for a
        rate-limit slot (see :meth:`_record`).
        """
        submitted = False
        source = batches(self.journal.rows(self.job.id, [ROW_PENDING]), size)
        ready: deque[tuple[list[JobRow], str]] = deque()
        try:
            while self._ready_for_more(in_flight):
                if not ready:
                    ready.extend(self._mark_ahead(source))
                    if not ready:
                        break
                batch, client_id = ready.popleft()
                request = _Request(batch, client_id)
                in_flight[request] = batch
                pool.submit(request, outstanding=len(in_flight))
                submitted = True
        finally:
            if ready:
                self.journal.release(self.job.id, [r.row for batch, _ in ready for r in batch])
        return submitted

    def _mark_ahead(self, source: Iterator[list[JobRow]]) -> list[tuple[list[JobRow], str]]:
        """The next requests (up to one per slot, and only until MARK_AHEAD_ROWS rows are
        marked) with their client IDs, marked in flight.

        One transaction marks them all and writes the results held in memory. A request marked
        but never sent is harmless even after a crash: like any row left in flight, resume
        asks ``querymsg`` about its client ID, which the gateway does not know, so it goes again.
        """
        requests = []
        marked = 0
        for batch in source:  # slots' worth of requests, or fewer when they are large
            requests.append((batch, self._client_id(batch)))
            marked += len(batch)
            if len(requests) >= self.concurrency.limit or marked >= MARK_AHEAD_ROWS:
                break
        unsaved, self._unsaved = self._unsaved, []  # Ctrl-C mid-commit must not save twice
        try:
            self.journal.mark_requests_in_flight(
                self.job.id, [([r.row for r in b], client_id) for b, client_id in requests],
                settle=unsaved,
            )  # fmt: skip
        except Exception:  # rolled back: still to be written
            # Not on a (second) Ctrl-C, which may land after the commit: writing the rows
            # again would fail, and leaving them in flight is safe (reconciled on resume).
            self._unsaved = unsaved + self._unsaved
            raise
        return requests

    def _client_id(self, batch: list[JobRow]) -> str:
        """The request's climsgid: job and first row, or a fresh one for rows sent before.

        A first attempt is deterministic (job + ``r`` + first row in hex). Rows released
        back to pending (ERR 301/130/901, a refused connection) have been under another ID
        already; their new request gets a time-based one (job + ``t`` + milliseconds in
        base 36), so the gateway can never answer for the old request when asked later.
        """
        shared = self.plan.requests.shared_client_id(batch[0].text or "")
        if shared is not None:  # an item of a batch: the batch's (see clicksms.bulk.batch)
            return shared
        prefix = self.plan.client_id_prefix
        if all(r.client_id is None for r in batch):
            return prefix + client_message_id(self.job.id, batch[0].row)
        stamp = max(time.time_ns() // 1_000_000, self._last_stamp + 1)
        self._last_stamp = stamp
        return f"{prefix}{self.job.id}t{_base36(stamp)}"

    def _ready_for_more(self, in_flight: dict[_Request, list[JobRow]]) -> bool:
        """Wait for a free slot and for the end of an MT-limit pause; False = stop."""
        while len(in_flight) >= self.concurrency.limit and self.result.stop is None:
            self.concurrency.full(time.monotonic())  # the limit holds us back: worth growing?
            self._drain(in_flight, until_empty=False)
        if self._clock() < self._resume_at:
            self._save()  # about to pause: let `jobs` see what is settled
        while self.result.stop is None and self._clock() < self._resume_at:
            self._drain(in_flight, until_empty=False, timeout=0.2)
            self._sleep(min(1.0, max(0.0, self._resume_at - self._clock())))
        return self.result.stop is None

    def _drain(
        self,
        in_flight: dict[_Request, list[JobRow]],
        *,
        until_empty: bool,
        timeout: float | None = None,
    ) -> None:
        """Record finished requests; a second Ctrl-C while waiting gives up waiting."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while in_flight:
            try:
                done = [self._next_finished(in_flight, deadline)]
            except queue.Empty:
                return
            except KeyboardInterrupt:
                self._give_up()
                return  # the unanswered rows stay in flight: reconciled on --resume
            while True:  # everything else that has finished meanwhile, without waiting
                try:
                    done.append(self._finished.get_nowait())
                except queue.Empty:
                    break
            for request in done:
                if in_flight.pop(request, None) is not None:
                    self._record(request.result())
            if not until_empty:
                return
        self._save()

    def _next_finished(
        self, in_flight: dict[_Request, list[JobRow]], deadline: float | None
    ) -> _Request:
        """The next finished request; queue.Empty at the deadline.

        Short waits keep Ctrl-C prompt. A Ctrl-C can land just after a finished request was
        taken off the queue, so each wait also looks for a finished one the queue lost.
        """
        while True:
            if self.result.stop == _INTERRUPTED and not self._stop_announced:
                self._stop_announced = True  # said from the loop: a signal handler must not
                self.on_event(StopRequested(self._wire.count))  # not those awaiting a slot
            wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if wait <= 0:
                raise queue.Empty
            try:
                return self._finished.get(timeout=wait)
            except queue.Empty:
                lost = next((f for f in in_flight if f.done()), None)
                if lost is not None:
                    return lost
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    def _give_up(self) -> None:
        """A second Ctrl-C: leave the requests in flight to --resume and stop now."""
        self._stop(_INTERRUPTED)
        self._abandoned = True

    def _save(self) -> None:
        """Write the settled rows still held in memory."""
        unsaved, self._unsaved = self._unsaved, []
        if unsaved:
            try:
                self.journal.record_results(self.job.id, unsaved)
            except Exception:  # as in _one_pass: never after a Ctrl-C that may follow the commit
                self._unsaved = unsaved + self._unsaved
                raise

    def _record(self, outcome: _Outcome) -> None:
        rows = outcome.rows
        if outcome.unsent:  # held for a rate-limit slot when the run stopped: never left
            self.journal.release(self.job.id, [r.row for r in rows])
            if outcome.failure is not None:  # getting ready to send failed
                self._broken(outcome.failure, [])
            return
        self._learn(outcome)
        if outcome.failure is not None:
            self._broken(outcome.failure, [r.row for r in rows])
            return
        if outcome.refused is not None:
            self._refused(outcome.refused, rows)
            return
        assert outcome.results is not None
        settled: list[JobRow] = []
        held: list[tuple[JobRow, SendResult]] = []
        accepted = 0
        for row, result in zip(rows, outcome.results, strict=True):
            if result.status == ACCEPTED:
                settled.append(_settled(row, ROW_DONE, message_id=result.message_id))
                accepted += 1
            elif result.status == REJECTED and result.error_code in HELD:
                held.append((row, result))
            elif result.status == REJECTED:
                settled.append(_settled(row, ROW_FAILED, result.error_code, result.error))
            # UNKNOWN: the answer for this number was missing or unreadable; it stays in
            # flight; the end-of-run check settles it by its request (unknown if it had several).
        if outcome.strangers:
            self.result.strangers += len(outcome.strangers)
            self.on_event(StrangerAnswers(outcome.strangers))
        self._unsaved += settled
        if len(rows) > 1:
            # A grouped request left in flight can only end "unknown" on resume (its client ID
            # names one message), so its results are written now rather than with the next mark.
            self._save()
        if held:
            _, first = held[0]
            self._hold([row for row, _ in held], first.error_code or "", first.error or "")
        self.result.sent += accepted
        self.result.parts += accepted * outcome.parts
        self.result.failed += len(settled) - accepted
        self.on_event(Progress(self.result.sent, self.result.failed))

    def _learn(self, outcome: _Outcome) -> None:
        """Tell the concurrency controller what this request's answer says about the gateway."""
        pushed_back = (
            outcome.retries > 0
            or isinstance(outcome.failure, NetworkError)
            or (outcome.refused is not None and outcome.refused.code == INTERNAL_ERROR)
        )
        sample = Sample(outcome.sent_at, outcome.latency, len(outcome.rows), pushed_back)
        change = self.concurrency.record(sample)
        if change is not None:
            self.on_event(ConcurrencyChanged(self.concurrency.limit, change.value))

    def _refused(self, error: GatewayError, rows: list[JobRow]) -> None:
        """A whole-request ``ERR``: nothing was sent; credit, MT limit and 901 hold the rows."""
        if error.code in HELD:
            self._hold(rows, error.code, error.reason)
            return
        failed = [
            replace(r, state=ROW_FAILED, error_code=error.code, error=error.reason) for r in rows
        ]
        self.journal.record_results(self.job.id, failed)
        self.result.failed += len(failed)
        self.on_event(Progress(self.result.sent, self.result.failed))

    def _hold(self, rows: list[JobRow], code: str, text: str) -> None:
        """Rows the gateway refused for its own or the account's sake: unsent, to go later."""
        self.journal.release(self.job.id, [r.row for r in rows])
        if code == NO_CREDIT:
            self._stop(Stop(StopReason.CREDIT))
            return
        if code == INTERNAL_ERROR:
            self._stop(Stop(StopReason.GATEWAY))
            return
        if code == BATCH_GONE:  # clicksms.bulk.batch's words say what happened
            self._stop(Stop(StopReason.GATEWAY, text))
            return
        until = _UNTIL.search(text)
        resume_at = float(until[1]) if until else self._clock() + 60.0
        if self.wait_on_limit:
            if resume_at > self._resume_at:  # say so once per new time, not per request
                self.on_event(WaitingForLimit(resume_at))
            self._resume_at = max(self._resume_at, resume_at)
        else:
            self._stop(Stop(StopReason.LIMIT, until=resume_at))

    def _broken(self, failure: ClickSmsError, numbers: list[int]) -> None:
        """The conversation broke: rows that provably never left go back to pending."""
        if isinstance(failure, AuthError):
            self.journal.release(self.job.id, numbers)
            self._stop(Stop(StopReason.AUTH, str(failure)))
            return
        if isinstance(failure, NetworkError) and not failure.may_have_arrived:
            self.journal.release(self.job.id, numbers)
        self._stop(Stop(StopReason.NETWORK, str(failure)))

    def _stop(self, stop: Stop) -> None:
        """The first reason to stop wins; workers pausing before another try give up now."""
        if self.result.stop is None:
            self.result.stop = stop
            self.account.stop_retrying()  # workers pausing before another try give up now

    # --------------------------------------------------------------------- worker threads
    def _send(self, rows: list[JobRow], client_id: str) -> _Outcome:
        """Take a rate-limit slot, send, and time the answer; everything is ready before."""
        message = self.plan.messages.get(rows[0].text or "")
        if isinstance(message, str):  # checked when planned; only a changed rule gets here
            error = GatewayError("101", message)
            return _Outcome(rows, refused=error)
        numbers = [r.number or "" for r in rows]
        request = Outgoing(numbers, rows[0].text or "", message, client_id)
        try:  # zeep, if this shape was never learned (nor stretches one): before the slot
            self.plan.requests.prepare(self.account, request)
        except ClickSmsError as exc:
            return _Outcome(rows, failure=exc, unsent=True)
        if self.limiter is not None and not self.limiter.acquire(len(rows), self._stopping):
            return _Outcome(rows, unsent=True)
        self._tries.count = 0
        results: list[SendResult] | None = None
        strangers: tuple[str, ...] = ()
        refused = failure = None
        self._wire.leave()
        sent_at = time.monotonic()
        try:
            replies = self.plan.requests.send(self.account, request)
            answers = match_replies(numbers, replies)
            results, strangers = answers.results, answers.strangers
        except GatewayError as exc:
            refused = exc
        except ClickSmsError as exc:
            failure = exc
        except PauseInterrupted as exc:  # the run is stopping (GatewayClient.stop_retrying)
            failure = NetworkError("stopped between tries", may_have_arrived=exc.may_have_arrived)
        finally:
            self._wire.arrive()
        latency = time.monotonic() - sent_at
        return _Outcome(
            rows,
            results,
            message.parts,
            refused,
            failure,
            strangers,
            sent_at=sent_at,
            latency=latency,
            retries=self._tries.count,
        )

    def _stopping(self) -> bool:
        return self.result.stop is not None

    def _retried(self) -> None:
        """GatewayClient is about to try this worker's request again: a push-back."""
        self._tries.count = getattr(self._tries, "count", 0) + 1


@dataclass
class Reconciled:
    """What asking about the rows left in flight found out."""

    found: int = 0  # the gateway has them: sent
    released: int = 0  # it has never heard of them: pending again, sent on
    unknown: int = 0  # their request arrived, but the answer for these numbers was lost
    in_doubt: int = 0  # not known yet (status 001) or not asked: still in flight
    failure: ClickSmsError | None = None  # asking broke off (network, auth)


UNKNOWN_OUTCOME = (
    "outcome unknown: its request reached the gateway but the answer for this number was "
    "lost; check before resending"
)


def reconcile(
    journal: Journal, job: Job, account: GatewayClient, on_event: EventSink = ignore
) -> Reconciled:
    """Settle rows left in flight by asking ``querymsg`` about their client message IDs.

    Only ``ERR 104`` (unknown client message ID) proves a request never arrived: those rows
    go back to pending. Status 001 may mean "reporting delayed" (API.md §8), so those rows
    stay in flight for a later resume. A request with one recipient that the gateway knows
    is sent, with its message ID. With several recipients the ID names only one message,
    so those rows end as *unknown*, never as sent and never resent: that is decided by how
    many recipients the request carried, not by how many of its rows are still in flight
    (the others may have been answered, or a recipient missing from the answer left alone).
    """
    by_client: dict[str, list[JobRow]] = {}
    for row in journal.rows(job.id, [ROW_IN_FLIGHT]):
        by_client.setdefault(row.client_id or "", []).append(row)
    if by_client:
        _let_the_gateway_learn(journal.sent_at_latest(job.id), account, len(by_client), on_event)
    sizes = journal.request_sizes(job.id) if by_client else {}
    shared = batch_client_id(job)  # names every item of the job's batches: never one message
    outcome = Reconciled()
    for client_id, rows in by_client.items():
        numbers = [r.row for r in rows]
        if outcome.failure is not None:
            outcome.in_doubt += len(rows)
            continue
        if not client_id:
            journal.release(job.id, numbers)
            outcome.released += len(rows)
            continue
        try:
            reply = single_reply(account.call("querymsg", climsgid=client_id), "querymsg")
            state = parse_message_status(reply)
        except GatewayError as exc:
            if exc.code != "104":
                outcome.failure, outcome.in_doubt = exc, outcome.in_doubt + len(rows)
                continue
            state = None
        except ClickSmsError as exc:
            outcome.failure, outcome.in_doubt = exc, outcome.in_doubt + len(rows)
            continue
        if state is None:
            journal.release(job.id, numbers)
            outcome.released += len(rows)
        elif state.status == "001":
            outcome.in_doubt += len(rows)
        elif len(rows) == 1 and sizes.get(client_id) == 1 and client_id != shared:
            journal.record_results(
                job.id, [replace(rows[0], state=ROW_DONE, message_id=state.message_id)]
            )
            outcome.found += 1
        else:
            unknown = [replace(r, state=ROW_FAILED, error=UNKNOWN_OUTCOME) for r in rows]
            journal.record_results(job.id, unknown)
            outcome.unknown += len(rows)
    return outcome


def _let_the_gateway_learn(
    sent: float, account: GatewayClient, requests: int, on_event: EventSink
) -> None:
    """Ask no sooner than CLICKSMS_QUERY_DELAY seconds after the requests may have left.

    Only ERR 104 proves that a request never arrived, and API.md does not say how soon the
    gateway knows a client message ID: asked too early, it could call a message it took
    unknown, and the row would go out twice.
    """
    delay = account.settings.query_delay
    wait = min(delay, sent + delay - time.time())
    if wait <= 0:
        return
    on_event(WaitingForGateway(math.ceil(wait), requests))
    time.sleep(wait)


def _settled(
    row: JobRow,
    state: str,
    error_code: str | None = None,
    error: str | None = None,
    *,
    message_id: str | None = None,
) -> JobRow:
    """``row`` with its outcome, built directly (``dataclasses.replace`` costs ten times more).

    Its client ID is left out (None): the journal then keeps the one the row was marked with,
    not the stale one read before a re-send.
    """
    return JobRow(
        row.row, row.number, row.text, state, None, message_id, error_code, error, row.input
    )


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"
