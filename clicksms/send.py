"""Send one text to many recipients: check numbers, chunk by 300, match answers to numbers.

The result is data (:class:`SendReport`), one :class:`SendResult` per recipient in input order;
rendering and exit codes are derived from it, never decided here ad hoc.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from clicksms.errors import (
    ClickSmsError,
    ExitCode,
    GatewayError,
    Interrupted,
    NetworkError,
    PauseInterrupted,
    ProtocolError,
    UsageError,
    outcome_exit_code,
)
from clicksms.gateway.codes import AUTH_CODES
from clicksms.gateway.responses import SendItem, parse_send_item, raise_for_error
from clicksms.message.numbers import NumberCheck, check_number
from clicksms.message.options import Content, SendOptions, sendmsg_fields

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient

#: Clickatell accepts at most 300 ``to`` elements per sendmsg (API.md §1, §5.1).
MAX_RECIPIENTS = 300

_SENDER_NUMERIC_MAX = 16
_SENDER_ALPHA_MAX = 11

ACCEPTED = "accepted"
REJECTED = "rejected"
INVALID = "invalid"
NOT_SENT = "not_sent"
UNKNOWN = "unknown"  # the request may have reached the gateway: check before resending


@dataclass(frozen=True)
class SendResult:
    """What happened to one recipient; ``status`` is one of the constants above."""

    to: str
    status: str
    message_id: str | None = None
    client_id: str | None = None  # the climsgid its request carried, if any
    error_code: str | None = None
    error: str | None = None
    ok: bool = field(init=False)  # derived, but a key of its own in JSON/CSV for scripts

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.status == ACCEPTED)


def accepted(number: str, message_id: str | None) -> SendResult:
    return SendResult(number, ACCEPTED, message_id=message_id)


def rejected(number: str, code: str, reason: str) -> SendResult:
    return SendResult(number, REJECTED, error_code=code, error=reason)


def invalid(raw: str, reason: str | None) -> SendResult:
    return SendResult(raw.strip(), INVALID, error=f"invalid number: {reason}")


def not_sent(number: str, cause: object) -> SendResult:
    return SendResult(number, NOT_SENT, error=f"not sent: {cause}")


#: What an ``unknown`` row means; a table says it once, in its summary line.
UNKNOWN_MEANING = "outcome unknown, may have been sent (check before resending)"


def unknown(number: str, cause: object) -> SendResult:
    return SendResult(number, UNKNOWN, error=f"{UNKNOWN_MEANING}: {cause}")


@dataclass(frozen=True)
class SendReport:
    """Per-recipient results, plus the failure that stopped sending part-way, if any."""

    results: tuple[SendResult, ...]
    failure: ClickSmsError | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.failure is not None:
            return self.failure.exit_code
        return outcome_exit_code(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many rows ended in each status, in a fixed order, zeros left out."""
        order = (ACCEPTED, REJECTED, INVALID, NOT_SENT, UNKNOWN)
        tally = {status: 0 for status in order}
        for result in self.results:
            tally[result.status] += 1
        return {k: v for k, v in tally.items() if v or k in (ACCEPTED, REJECTED)}


@dataclass(frozen=True)
class Recipients:
    """Every distinct input in input order: valid ones to send, invalid ones to report."""

    checks: tuple[NumberCheck, ...]
    duplicates: tuple[str, ...]

    @property
    def valid(self) -> tuple[str, ...]:
        return tuple(c.number for c in self.checks if c.valid and c.number)

    def results(self, sent: Iterable[SendResult]) -> tuple[SendResult, ...]:
        """One row per distinct input, in the order given; invalid ones never left."""
        by_number = {r.to: r for r in sent}
        rows = []
        for check in self.checks:
            if not check.valid or not check.number:
                rows.append(invalid(check.input, check.error))
            else:
                rows.append(by_number[check.number])
        return tuple(rows)


def split_recipients(raw: Iterable[str], country: str | None) -> Recipients:
    """Normalise every input (commas also separate); drop repeats of the same number."""
    checks: list[NumberCheck] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for arg in raw:
        for item in arg.split(","):
            if not item.strip():
                continue
            check = check_number(item, country)
            if check.valid and check.number in seen:
                duplicates.append(item.strip())
                continue
            if check.valid and check.number:
                seen.add(check.number)
            checks.append(check)
    return Recipients(tuple(checks), tuple(duplicates))


def check_sender(sender: str | None, where: str | None = None) -> str | None:
    """Sender IDs are 1–16 digits or up to 11 letters/digits (API.md §5.1); ``where`` names
    the setting it came from, when not ``--from``."""
    if sender is None:
        return None
    value = sender.strip().lstrip("+")
    if value.isdigit() and len(value) <= _SENDER_NUMERIC_MAX:
        return value
    if value.isascii() and value.isalnum() and len(value) <= _SENDER_ALPHA_MAX:
        return value
    told = f" ({where})" if where else ""
    raise UsageError(
        f"invalid sender {sender!r}{told}: use up to 16 digits or up to 11 letters and digits"
    )


def send(
    account: GatewayClient,
    numbers: Sequence[str],
    content: Content,
    sender: str | None = None,
    options: SendOptions | None = None,
) -> SendReport:
    """Send ``content`` to ``numbers`` with ``sendmsg`` (see :func:`deliver`)."""
    options = options or SendOptions()
    fields = sendmsg_fields(content, sender, replace(options, client_id=None))
    return deliver(account, "sendmsg", numbers, fields, options.client_id)


def deliver(
    account: GatewayClient,
    operation: str,
    numbers: Sequence[str],
    fields: dict[str, Any],
    client_id: str | None = None,
) -> SendReport:
    """Send one message to ``numbers`` in requests of at most 300 recipients.

    ``operation`` is any that takes ``to`` and answers like sendmsg (``sendmsg``, ``si_push``,
    ``ind_push``); ``fields`` are its fields but ``to`` and ``climsgid``.

    Nothing whose outcome is unknown is ever resent (:mod:`clicksms.gateway.retry` repeats a request
    only when it provably never arrived). When the conversation breaks (network, auth,
    Ctrl-C), the request in flight is reported as *unknown* if it may have reached the gateway
    and the rest as *not sent*; a failure before anything could have arrived is simply raised,
    except Ctrl-C, whose rows (all *not sent* then) are still reported.

    A single recipient always goes with a client message ID — ``client_id``, else a random
    one — so that an *unknown* row can say how to find out: ``clicksms status --client-id ID``.
    """
    user_client_id = client_id
    if not client_id and len(numbers) == 1:
        client_id = auto_client_id()
    if client_id:
        fields = {**fields, "climsgid": client_id}
    account.ready()  # log in first: a failure here cannot have sent anything
    if user_client_id:
        _check_unused(account, user_client_id)
    results: list[SendResult] = []
    strangers: list[str] = []
    for start in range(0, len(numbers), MAX_RECIPIENTS):
        chunk = list(numbers[start : start + MAX_RECIPIENTS])
        try:
            replies = account.call(operation, to=chunk, **fields)
            answers = match_replies(chunk, replies)
            results.extend(answers.results)
            strangers.extend(answers.strangers)
        except GatewayError as exc:  # the whole request was refused; later chunks may pass
            results.extend(rejected(n, exc.code, exc.reason) for n in chunk)
        except (ClickSmsError, KeyboardInterrupt) as exc:  # nothing more will get through
            failure = exc if isinstance(exc, ClickSmsError) else _interrupted(exc)
            if not results and not _in_doubt(failure) and not isinstance(failure, Interrupted):
                raise failure from None
            results += _abandon(numbers[start:], len(chunk), failure)
            return _report(results, client_id, failure, strangers)
    return _report(results, client_id, None, strangers)


def _report(
    results: list[SendResult],
    client_id: str | None,
    failure: ClickSmsError | None,
    strangers: Sequence[str] = (),
) -> SendReport:
    """The report, with hints on *unknown* rows; any such row makes the exit code 5.

    Rows left unknown by a network failure already carry it; rows whose answer could not be
    read, and answers for numbers never sent, are named in the error line, joined to any
    other failure that stopped the send.
    """
    results = _with_status_hint(results, client_id)
    if client_id:  # one recipient: scripts get the ID to ask `status --client-id` about
        results = [replace(r, client_id=client_id) for r in results]
    whys = []
    doubtful = sum(r.status == UNKNOWN for r in results)
    if doubtful and not isinstance(failure, (NetworkError, Interrupted)):
        whys.append(
            f"the gateway's answer for {doubtful} recipient(s) was not understood; "
            "those messages may have been sent"
        )
    if strangers:
        whys.append(strangers_line(strangers))
    if whys:
        why = "; and ".join(whys)
        failure = ProtocolError(why if failure is None else f"{failure}; and {why}")
    return SendReport(tuple(results), failure)


def strangers_line(numbers: Sequence[str]) -> str:
    """What to say about answers for numbers a request never carried (send and bulk)."""
    shown = ", ".join(numbers[:5]) + (", …" if len(numbers) > 5 else "")
    which = "a number" if len(numbers) == 1 else f"{len(numbers)} numbers"
    return (
        f"the gateway answered for {which} it was not sent to ({shown}): look for it in your "
        "Clickatell account's message log"
    )


def _check_unused(account: GatewayClient, client_id: str) -> None:
    """Refuse a client ID the gateway already knows: status and cancel find one message by it.

    Costs one querymsg per send, and makes ``status``/``cancel --client-id`` unambiguous.
    """
    from clicksms.gateway.responses import parse_message_status, single_reply

    try:
        reply = single_reply(account.call("querymsg", climsgid=client_id), "querymsg")
        found = parse_message_status(reply)
    except GatewayError as exc:
        if exc.code == "104":  # unknown client message ID: free to use
            return
        raise
    if found.status != "001":
        raise UsageError(
            f"--client-id {client_id} is already used by message {found.message_id} "
            f"(status {found.status}): choose a new one"
        )


def auto_client_id() -> str:
    """A client message ID for a send the user gave none: ``cs`` and 24 random hex digits.

    96 random bits never collide with another send's, so no querymsg is needed to check it.
    """
    return "cs" + secrets.token_hex(12)


def _with_status_hint(results: list[SendResult], client_id: str | None) -> list[SendResult]:
    """An *unknown* row says how to find out what happened before anything is resent.

    With a client ID (one recipient) ``status --client-id`` answers it; a request to several
    numbers has none that names their messages, so only the account's message log can.
    """
    if client_id:
        hint = f"; check with `clicksms status --client-id {client_id}`"
    else:
        hint = (
            "; look for it in your Clickatell account's message log (a request to several "
            "numbers has no client ID to ask `clicksms status` about)"
        )
    return [replace(r, error=f"{r.error}{hint}") if r.status == UNKNOWN else r for r in results]


def _interrupted(exc: KeyboardInterrupt) -> Interrupted:
    """Ctrl-C: the request in flight may have arrived, unless the Ctrl-C came during a retry
    pause after an attempt that provably did not (refused, DNS, connect timeout, ERR 901)."""
    if isinstance(exc, PauseInterrupted):
        return Interrupted(may_have_arrived=exc.may_have_arrived)
    return Interrupted()


def _in_doubt(failure: ClickSmsError) -> bool:
    """Whether the request that failed may still have reached the gateway and been accepted."""
    if isinstance(failure, (Interrupted, NetworkError)):
        return failure.may_have_arrived
    return False


def _abandon(rest: Sequence[str], in_flight: int, failure: ClickSmsError) -> list[SendResult]:
    """Rows for numbers left unanswered: the request in flight *unknown* when in doubt."""
    doubtful = in_flight if _in_doubt(failure) else 0
    return [unknown(n, failure) for n in rest[:doubtful]] + [
        not_sent(n, failure) for n in rest[doubtful:]
    ]


@dataclass(frozen=True)
class Answers:
    """A sendmsg answer matched to the request's recipients.

    ``results``: one per recipient, in request order. ``strangers``: numbers the answer names
    that the request never carried (a gateway fault worth reporting, never a success).
    """

    results: list[SendResult]
    strangers: tuple[str, ...] = ()


def match_replies(chunk: Sequence[str], replies: Sequence[str]) -> Answers:
    """Pair each recipient with its answer, and only with its own.

    An item with ``To:`` belongs to that number; a lone ``ERR`` without ``To:`` is a
    whole-request error. Items without ``To:`` (one recipient, or per-recipient errors in the
    2009 spec) pair up by position only when the answer has exactly one item per recipient:
    the gateway answers in request order. A recipient with no item, with two, or with one we
    cannot read is *unknown* (it may have been sent), never failed and never accepted with
    a message ID that could be another recipient's.
    """
    items = [_parse_item(r) for r in replies]
    if len(items) == 1 and items[0].to is None:
        lone = items[0]
        if lone.error and (len(chunk) > 1 or lone.error.code in AUTH_CODES):
            raise_for_error(replies[0])
        if len(chunk) == 1:  # the usual one-recipient answer: no To:, its own
            return Answers([_result(chunk[0], [lone])])
    in_order = len(items) == len(chunk)
    answers: list[list[SendItem]] = [[] for _ in chunk]
    named: dict[str, list[SendItem]] = {}
    for index, item in enumerate(items):
        if item.to is not None:
            named.setdefault(item.to, []).append(item)
        elif in_order:
            answers[index].append(item)
    places: dict[str, list[int]] = {}
    for index, number in enumerate(chunk):
        places.setdefault(number, []).append(index)
    strangers = []
    unclear: dict[int, str] = {}
    for number, found in named.items():
        where = places.get(number)
        if where is None:
            strangers.append(number)
        elif len(found) == len(where):  # in order, also for a number sent twice (bulk)
            for index, item in zip(where, found, strict=True):
                answers[index].append(item)
        else:  # more or fewer answers than sends: nobody can tell whose is whose
            why = f"the gateway gave {len(found)} answers for this number"
            if len(where) > 1:
                why = f"{why}, which the request carried {len(where)} times"
            unclear.update(dict.fromkeys(where, why))
    results = [
        unknown(number, unclear[i]) if i in unclear else _result(number, answers[i])
        for i, number in enumerate(chunk)
    ]
    return Answers(results, tuple(strangers))


def _parse_item(reply: str) -> SendItem:
    try:
        return parse_send_item(reply)
    except ProtocolError:
        return SendItem(to=None)  # neither an ID nor an error: we cannot tell what happened


def _result(number: str, found: list[SendItem]) -> SendResult:
    if not found:
        return unknown(number, "the gateway gave no answer for this number")
    if len(found) > 1:  # one with To: and one by position
        return unknown(number, f"the gateway gave {len(found)} answers for this number")
    item = found[0]
    if item.error is not None:
        return rejected(number, item.error.code, item.error.message)
    if item.message_id is None:
        return unknown(number, "the gateway's answer was not understood")
    return accepted(number, item.message_id)
