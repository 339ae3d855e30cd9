"""``bulk --batch``: Clickatell's batch messaging (API.md §9) under the bulk sender.

One ``startbatch`` keeps the job's template and options at the gateway; then each request
carries only its numbers: ``quicksend`` when the template has no placeholder (every row has
its text), ``senditem`` with the row's values as ``field1`` … ``fieldN`` otherwise (rows whose
texts are the same go as one item to all their numbers). ``endbatch`` closes the batch once
the job has no row left to send.

How a template becomes a batch (:func:`batch_layout`): each distinct ``{column}`` is a
``#fieldN#``, in order of first use. What a batch cannot carry is refused before anything is
sent: more placeholders than the style's senditem has fields (10 over Document/Literal, 4
over RPC/Encoded), placeholders in a template whose own text is not GSM, or with ``--unicode
always`` (a UCS-2 template is hex: the spec says its fields cannot be filled), and a template
that already reads ``#fieldN#``. A row that still cannot be an item (its values bring
characters that are not GSM, or normalise differently from the whole text) goes as a plain
``sendmsg``: what reaches the handset is always exactly what ``bulk`` without ``--batch``
sends.

The journal keeps the open batch (ID and start time, under ``open_batch``). A batch lives
24 hours, so one older than :data:`RENEW_AFTER` is replaced before it is used, a run after a
resume included; an item answered ``ERR 201`` (the batch expired or was closed) opens a new
one and goes again, which is safe: 201 means the gateway took nothing of it.

Items cannot carry a client message ID of their own (senditem and quicksend have none); they
take the batch's, which every batch of the job shares (``<prefix><job>batch``). So a request
whose answer was lost can only be settled per job: if the gateway knows no message under that
ID, its rows go out again; else they end *unknown*, never resent
(:func:`~clicksms.bulk.sender.reconcile`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clicksms.bulk.requests import Outgoing, Sendmsg
from clicksms.errors import ClickSmsError, GatewayError, NetworkError, UsageError
from clicksms.gateway.limits import STYLE_NAMES, senditem_fields
from clicksms.gateway.responses import parse_batch_id, parse_end_batch, parse_error, single_reply
from clicksms.message.options import SendOptions, sendmsg_fields
from clicksms.message.text import GSM_BASIC, GSM_EXTENSION, EncodedMessage

if TYPE_CHECKING:
    from clicksms.bulk.journal import Job
    from clicksms.bulk.plan import MessageCache
    from clicksms.bulk.template import Template
    from clicksms.gateway.client import GatewayClient

BATCH_LIFETIME = 24 * 3600.0  # "batches expire after 24 h" (API.md §4, §9)
#: A batch this old is replaced before it is used: an hour to spare for clocks and long runs.
RENEW_AFTER = BATCH_LIFETIME - 3600.0
#: The answer for an unknown, expired or closed batch.
BATCH_GONE = "201"
#: What the job's client message ID prefix and ID are followed by for its batches.
CLIENT_ID_SUFFIX = "batch"
#: ``#field1#`` and the like: what the gateway would fill in a template.
_FIELD_MARK = re.compile(r"#field\d+#", re.IGNORECASE)
_GSM = GSM_BASIC | GSM_EXTENSION


@dataclass(frozen=True)
class BatchLayout:
    """A job's template as a batch: the gateway's template and how rows fill it.

    ``literals`` (NFC-normalised, as a message's text is) and ``names`` alternate as in
    :attr:`Template.pieces`; ``columns`` are the distinct names, ``field1`` first. A static
    template (no columns) is the message itself: its GSM text, or its UCS-2 hex (``unicode``).
    """

    template: str
    literals: tuple[str, ...]
    names: tuple[str, ...]
    columns: tuple[str, ...]
    unicode: bool
    #: Reads each column's value back from a row's rendered text (see :meth:`values`).
    pattern: re.Pattern[str]

    def values(self, text: str) -> list[str] | None:
        """The columns' values that render ``text``; None when it does not read as the template.

        The journal keeps each row's rendered text, not its CSV values; any values that render
        the same text fill the gateway's template to the same message, so these serve.
        """
        match = self.pattern.fullmatch(text)
        if match is None:
            return None
        return [match.group(f"f{n}") for n in range(len(self.columns))]

    def fill(self, values: list[str]) -> str:
        """What the gateway makes of the template with these field values."""
        slot = {name: n for n, name in enumerate(self.columns)}
        pieces = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            pieces += [values[slot[name]], literal]
        return "".join(pieces)


def batch_layout(
    template: Template, unicode: str, soap_style: str, static: EncodedMessage | None
) -> BatchLayout:
    """How ``template`` goes as a batch over ``soap_style``; a UsageError for what cannot.

    ``static`` is the message every row gets when the template has no placeholder.
    """
    literals, names = template.pieces
    columns = tuple(dict.fromkeys(names))
    if not columns:
        assert static is not None
        _refuse_marks([static.text])
        return BatchLayout(static.text, (static.text,), (), (), static.unicode, re.compile(""))
    most = senditem_fields(soap_style)
    if len(columns) > most:
        raise UsageError(
            f"--batch: the template uses {len(columns)} columns, but {STYLE_NAMES[soap_style]}'s "
            f"senditem fills at most {most} (field1 to field{most}): use fewer columns"
            + (", or --soap-style document (10)" if most < 10 else "")
            + ", or drop --batch"
        )
    normal = tuple(unicodedata.normalize("NFC", literal) for literal in literals)
    foreign = sorted({ch for literal in normal for ch in literal if ch not in _GSM})
    if foreign or unicode == "always":
        why = (
            "--unicode always makes every message UCS-2"
            if unicode == "always"
            else f"the template's own text is not GSM ({''.join(foreign)[:10]!r}), so UCS-2"
        )
        raise UsageError(
            f"--batch: {why}, and Clickatell cannot fill the fields of a UCS-2 template: "
            "drop --batch, or the placeholders"
        )
    slot = {name: n for n, name in enumerate(columns)}
    pieces = [normal[0]]
    for name, literal in zip(names, normal[1:], strict=True):
        pieces += [f"#field{slot[name] + 1}#", literal]
    _refuse_marks(pieces)
    layout = "".join(pieces)
    return BatchLayout(layout, normal, names, columns, False, _reader(literals, names, slot))


def _refuse_marks(pieces: list[str]) -> None:
    """Refuse a template whose own text the gateway would read as a ``#fieldN#`` (alone, or
    run together with one of ours): ``pieces`` alternate literal text and our marks, and the
    marks found must be ours, where we put them."""
    ours, at = [], 0
    for index, piece in enumerate(pieces):
        if index % 2:
            ours.append((at, piece))
        at += len(piece)
    for found in _FIELD_MARK.finditer("".join(pieces)):
        if (found.start(), found.group()) not in ours:
            raise UsageError(
                f"--batch: the template's text reads as {found.group()}, which Clickatell's "
                "batch would fill in itself: reword it, or drop --batch"
            )


def _reader(literals: tuple[str, ...], names: tuple[str, ...], slot: dict[str, int]) -> Any:
    """A pattern matching a rendered text: literals as they are, each column's value a group
    (the same column twice: the same value)."""
    pattern = [re.escape(literals[0])]
    seen: set[str] = set()
    for name, literal in zip(names, literals[1:], strict=True):
        group = f"f{slot[name]}"
        pattern.append(f"(?P={group})" if name in seen else f"(?P<{group}>.*?)")
        seen.add(name)
        pattern.append(re.escape(literal))
    return re.compile("".join(pattern), re.DOTALL)


def batch_client_id(job: Job) -> str | None:
    """The client message ID every item of a ``--batch`` job carries; None for another job."""
    if not job.options.get("batch"):
        return None
    return f"{job.options.get('client_id_prefix') or ''}{job.id}{CLIENT_ID_SUFFIX}"


@dataclass(frozen=True)
class OpenBatch:
    """A batch the gateway keeps for the job: its ID, and when it was started (epoch seconds)."""

    id: str
    started_at: float

    def as_kept(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at}


class BatchRequests:
    """Requests as items of the job's batch (see the module docstring); thread-safe."""

    def __init__(
        self,
        layout: BatchLayout,
        sender: str | None,
        options: SendOptions,
        messages: MessageCache,
        *,
        client_id: str,
        most_parts: int,
        kept: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.layout = layout
        self.sender = sender
        self.options = options
        self.messages = messages
        self.client_id = client_id
        self.most_parts = max(1, most_parts)
        self._clock = clock
        self._plain = Sendmsg(sender, options)  # rows that cannot be items
        self._batch = None if not kept else OpenBatch(kept["id"], float(kept["started_at"]))
        self._lock = threading.Lock()
        self.fields = functools.lru_cache(maxsize=1024)(self._fields)

    # ------------------------------------------------------------------- the job's run
    def open(self, account: GatewayClient) -> None:
        """The batch the job keeps, while it is young enough; else a new one."""
        with self._lock:
            if self._batch is not None and not self._old(self._batch):
                return
            try:
                self._batch = self._start(account)
            except GatewayError as exc:
                reason = f"the gateway would not open a batch (startbatch): {exc.reason}"
                raise GatewayError(exc.code, reason) from None

    def kept(self) -> dict[str, Any]:
        with self._lock:
            return {"open_batch": None if self._batch is None else self._batch.as_kept()}

    def close(self, account: GatewayClient) -> None:
        """endbatch; a batch that is gone already (ERR 201), or any failure, changes nothing:
        the gateway lets it expire after 24 hours anyway."""
        with self._lock:
            batch, self._batch = self._batch, None
        if batch is None:
            return
        with contextlib.suppress(ClickSmsError):
            parse_end_batch(single_reply(account.call("endbatch", batch_id=batch.id), "endbatch"))

    # ---------------------------------------------------------------------- requests
    def shared_client_id(self, text: str) -> str | None:
        return None if self.fields(text) is None else self.client_id

    def prepare(self, account: GatewayClient, request: Outgoing) -> None:
        """zeep, always: a batch's calls are few and its item shapes vary with the row."""
        account.soap.prepare()

    def send(self, account: GatewayClient, request: Outgoing) -> list[str]:
        fields = self.fields(request.text)
        if fields is None:  # not an item: plain sendmsg, under the ID it was marked with
            return self._plain.send(account, request)
        batch = self._current(account)
        replies = self._item(account, batch, request.numbers, fields)
        if _gone(replies):  # the batch expired or was closed: nothing of this was taken
            replies = self._item(account, self._renew(account, batch), request.numbers, fields)
            if _gone(replies):
                raise GatewayError(
                    BATCH_GONE, "the gateway answered ERR 201 for a batch it had just opened"
                )
        return replies

    def _fields(self, text: str) -> dict[str, str] | None:
        """A row text's item fields ({} for quicksend), or None when it cannot be an item."""
        message = self.messages.get(text)
        if isinstance(message, str):
            return None
        if not self.layout.columns:
            return {} if message.text == self.layout.template else None
        values = self.layout.values(text) if not message.unicode else None
        if values is None:
            return None
        values = [unicodedata.normalize("NFC", value) for value in values]
        if any(_FIELD_MARK.search(value) for value in values):
            return None  # the gateway might fill that in too
        if self.layout.fill(values) != message.text:  # normalised apart, not as a whole
            return None
        return {f"field{n + 1}": value for n, value in enumerate(values)}

    def _item(
        self, account: GatewayClient, batch: OpenBatch, numbers: list[str], fields: dict[str, str]
    ) -> list[str]:
        if not self.layout.columns:
            return account.call("quicksend", batch_id=batch.id, to=numbers)
        return account.call("senditem", batch_id=batch.id, to=numbers, **fields)

    # ------------------------------------------------------------------------ batches
    def _current(self, account: GatewayClient) -> OpenBatch:
        with self._lock:
            batch = self._batch
        if batch is None or self._old(batch):
            return self._renew(account, batch)
        return batch

    def _renew(self, account: GatewayClient, stale: OpenBatch | None) -> OpenBatch:
        """A new batch in place of ``stale``; workers that find the same one gone share it.

        The request that found it gone was not taken, so a failure here leaves its rows
        unsent: a refusal as ``ERR 201`` with the whole story (the sender holds the rows and
        stops, saying it), a network failure as one that provably never arrived.
        """
        with self._lock:
            if self._batch is not None and self._batch != stale and not self._old(self._batch):
                return self._batch  # another worker renewed it already
            try:
                self._batch = self._start(account)
            except GatewayError as exc:
                raise GatewayError(
                    BATCH_GONE,
                    "the batch expired (ERR 201) and the gateway would not open a new one: "
                    f"{exc.reason} (ERR {exc.code})",
                ) from None
            except NetworkError as exc:
                raise NetworkError(
                    f"the batch expired and a new one could not be opened: {exc}",
                    may_have_arrived=False,
                ) from None
            return self._batch

    def _start(self, account: GatewayClient) -> OpenBatch:
        started = self._clock()
        reply = single_reply(account.call("startbatch", **self._batch_fields()), "startbatch")
        return OpenBatch(parse_batch_id(reply), started)

    def _batch_fields(self) -> dict[str, Any]:
        """startbatch: the template, the job's sender and options, the shared client ID.

        ``concat`` and ``req_feat`` hold for every item, so they are set for the longest
        message the job has (``--max-parts``, if given, as for sendmsg).
        """
        layout = self.layout
        widest = EncodedMessage(layout.template, layout.unicode, self.most_parts, 0, ())
        fields = sendmsg_fields(widest, self.sender, self.options)  # with the template as text
        return {"template": fields.pop("text"), **fields, "climsgid": self.client_id}

    def _old(self, batch: OpenBatch) -> bool:
        return self._clock() - batch.started_at >= RENEW_AFTER


def _gone(replies: list[str]) -> bool:
    """A whole answer ``ERR: 201``: the batch is unknown, expired or closed."""
    if len(replies) != 1:
        return False
    error = parse_error(replies[0])
    return error is not None and error.code == BATCH_GONE and error.to is None
