"""Batch messaging (API.md §9): a template kept at the gateway, then items that carry only
numbers and fields.

``startbatch`` takes the template (``#field1#`` … ``#field10#`` placeholders) and every
sendmsg option but ``to`` and ``text``, checks what no field can change and answers
``ID: <batch_id>``; the batch lives 24 hours on the sandbox clock. ``senditem`` fills the
placeholders with its fields (one not sent, or empty, fills with nothing) and sends to its
numbers; ``quicksend`` sends the template as it is to up to 300 numbers; ``endbatch`` closes
the batch (``OK``). A unicode template is hex, so it has no fields to fill (the spec's note):
both send it as it is. An unknown, expired or closed batch is ``ERR: 201``; a startbatch
without a template ``ERR: 202``.

Items are real messages: they go through sendmsg's recipient, content and credit stages with
the batch's options, so they are charged, queryable, in the ledger (op ``senditem`` or
``quicksend``, ``fields`` = the batch's options, the item's text and fields) and taken up
again after a restart. Batches themselves are not in the ledger: a restart forgets them, as
it forgets sessions, and items of a forgotten batch answer 201 as if it had expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clicksms.sandbox import sendmsg, spec
from clicksms.sandbox.fields import NOT_LOGGED, Fields, Pairs
from clicksms.sandbox.spec import err

if TYPE_CHECKING:
    from clicksms.sandbox.sendmsg import Account

#: ``#field1#`` … ``#field10#`` (doc/literal's senditem has field1..10, RPC's field1..4).
PLACEHOLDER = re.compile(r"#field(10|[1-9])#")
FIELDS = tuple(f"field{n}" for n in range(1, 11))


@dataclass
class Batch:
    """One open batch: its template and the startbatch fields every item is sent with."""

    batch_id: str
    template: str
    pairs: Pairs  # startbatch's fields as sent, without credentials
    options: dict[str, int]
    unicode: bool
    expires_at: float

    def item(self, text: str, extra: Pairs) -> Fields:
        """An item's request as sendmsg's stages read it: the batch's fields, its text."""
        return Fields([*self.pairs, ("text", text), ("batch_id", self.batch_id), *extra])


class Batches:
    """The account's open batches (the gateway holds one; its lock guards it)."""

    def __init__(self) -> None:
        self._open: dict[str, Batch] = {}

    def add(self, batch: Batch, now: float) -> None:
        for batch_id in [b for b, batch in self._open.items() if batch.expires_at <= now]:
            del self._open[batch_id]  # so a long-running sandbox stays small
        self._open[batch.batch_id] = batch

    def find(self, batch_id: str | None, now: float) -> Batch | None:
        batch = self._open.get(batch_id or "")
        return batch if batch is not None and now < batch.expires_at else None

    def close(self, batch_id: str) -> None:
        self._open.pop(batch_id, None)


def fill(template: str, fields: Fields) -> str:
    """The template with each placeholder replaced by its field ("" when not set)."""
    return PLACEHOLDER.sub(lambda m: fields.first(f"field{m.group(1)}") or "", template)


# ---------------------------------------------------------------------- operations
def start(account: Account, f: Fields) -> list[str]:
    """startbatch: 202 without a template, 101 for bad options, then the content checks."""
    problem = account.authenticate(f)
    if problem:
        return [problem]
    template = f.first("template") or ""
    if not template:
        return [err(202)]
    options = sendmsg.parse_options(f)
    if options is None:
        return [err(101)]
    unicode = options["unicode"] == 1
    # Checked on the shortest text an item can make (every placeholder empty; the template
    # itself when that leaves nothing, as a field may fill it): what no field can change.
    shortest = template if unicode else (fill(template, Fields([])) or template)
    pairs = [(n, v) for n, v in f.pairs if n not in NOT_LOGGED and n != "text"]
    probe = Fields([*pairs, ("text", shortest)])
    content = sendmsg.check_content(probe, options, account.config.default_concat)
    if isinstance(content, str):
        return [content]
    now = account.now()
    batch = Batch(spec.new_id(), template, pairs, options, unicode, now + spec.BATCH_SECONDS)
    account.batches.add(batch, now)
    return [f"ID: {batch.batch_id}"]


def send_item(account: Account, f: Fields) -> list[str]:
    """senditem: the template filled with this item's fields, to its numbers."""
    found = _open_batch(account, f)
    if isinstance(found, str):
        return [found]
    item_fields = [(name, f.first(name) or "") for name in FIELDS if f.has(name)]
    text = found.template if found.unicode else fill(found.template, f)
    return _send(account, "senditem", found, found.item(text, item_fields), f.all("to"))


def quick_send(account: Account, f: Fields) -> list[str]:
    """quicksend: the template as it is, to up to 300 numbers."""
    found = _open_batch(account, f)
    if isinstance(found, str):
        return [found]
    return _send(account, "quicksend", found, found.item(found.template, []), f.all("to"))


def end(account: Account, f: Fields) -> list[str]:
    """endbatch: ``OK``, and the batch takes no more items."""
    found = _open_batch(account, f)
    if isinstance(found, str):
        return [found]
    account.batches.close(found.batch_id)
    return ["OK"]


def _open_batch(account: Account, f: Fields) -> Batch | str:
    """Authentication, then the batch named (201 when unknown, expired or closed)."""
    problem = account.authenticate(f)
    if problem:
        return problem
    return account.batches.find(f.first("batch_id"), account.now()) or err(201)


def _send(account: Account, op: str, batch: Batch, item: Fields, to: list[str]) -> list[str]:
    if not sendmsg.recipients_fit(to):
        return [err(101)]
    return sendmsg.deliver(account, op, item, to, batch.options, sendmsg.check_content)
