"""Turn CSV rows into messages: number, rendered text, encoding, or the reason a row is skipped.

Everything here streams: a row is read, checked and handed on, so a file of a million rows
costs no more memory than one of a thousand. Repeated numbers are found through a small
on-disk SQLite table rather than an in-memory set for the same reason.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from clicksms.bulk.source import CsvRow, CsvSource
from clicksms.bulk.template import MissingColumn, Template
from clicksms.errors import UsageError
from clicksms.message.numbers import normalise_number
from clicksms.message.options import SendOptions, check_content
from clicksms.message.text import EncodedMessage, prepare

SEND = "send"
INVALID = "invalid"
DUPLICATE = "duplicate"


# Slotted, not frozen: built for every row (see JobRow in clicksms.bulk.journal).
@dataclass(slots=True)
class PlannedRow:
    """One CSV row: what to send, or why it is skipped (``error``)."""

    row: int
    input: str
    status: str
    number: str | None = None
    text: str | None = None
    message: EncodedMessage | None = None
    error: str | None = None


class SeenNumbers:
    """Numbers met so far and the row each first appeared on, in bounded memory."""

    def __init__(self) -> None:
        # "" = a private temporary database that spills to disk past the cache size.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA cache_size = -2048")  # KiB
        self._db.execute("CREATE TABLE seen (number TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def first_row(self, number: str, row: int) -> int | None:
        """None the first time ``number`` is seen, else the row it was first seen on."""
        cursor = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (number, row))
        if cursor.rowcount:
            return None
        (first,) = self._db.execute("SELECT row FROM seen WHERE number = ?", (number,)).fetchone()
        return int(first)

    def close(self) -> None:
        self._db.close()


class MessageCache:
    """``prepare`` once per distinct text (every row of a static template shares one)."""

    def __init__(self, unicode: str, options: SendOptions, size: int = 512) -> None:
        self._unicode = unicode
        self._options = options
        self._size = size
        self._cache: OrderedDict[str, EncodedMessage | str] = OrderedDict()
        self._lock = threading.Lock()  # bulk's worker threads share one cache

    def get(self, text: str) -> EncodedMessage | str:
        """The encoded message, or the one-line reason it cannot be sent."""
        with self._lock:
            return self._get(text)

    def _get(self, text: str) -> EncodedMessage | str:
        found = self._cache.get(text)
        if found is not None:
            self._cache.move_to_end(text)
            return found
        try:
            message: EncodedMessage | str = prepare(text, self._unicode)
            check_content(message, self._options, recipients=1)  # type: ignore[arg-type]
        except UsageError as exc:
            message = str(exc)
        self._cache[text] = message
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return message


@dataclass
class Planner:
    """Reads ``source`` row by row and decides each row's fate."""

    source: CsvSource
    template: Template
    country: str | None
    messages: MessageCache
    allow_duplicates: bool = False
    #: The most SMS parts a message to send needs, of the rows planned so far (a batch's
    #: ``concat`` is set once for all its items).
    most_parts: int = 0

    def rows(self) -> Iterator[PlannedRow]:
        seen = None if self.allow_duplicates else SeenNumbers()
        try:
            for row in self.source.rows():
                yield self._plan(row, seen)
        finally:
            if seen is not None:
                seen.close()

    def _plan(self, row: CsvRow, seen: SeenNumbers | None) -> PlannedRow:
        index = self.source.number_index
        if index >= len(row.values):
            return PlannedRow(row.row, "", INVALID, error=f"row has no column {index + 1}")
        raw = row.values[index].strip()
        check = normalise_number(raw, self.country)
        if not check.valid or not check.number:
            return PlannedRow(row.row, raw, INVALID, error=f"invalid number: {check.error}")
        number = check.number
        if seen is not None:
            first = seen.first_row(number, row.row)
            if first is not None:
                reason = f"same number as row {first}"
                return PlannedRow(row.row, raw, DUPLICATE, number=number, error=reason)
        try:
            text = self.template.render_row(row.values)
        except MissingColumn as exc:
            reason = f"row has no value for {{{exc.column}}}"
            return PlannedRow(row.row, raw, INVALID, number, error=reason)
        if not text.strip():  # prepare()'s "pass --text" advice does not fit a row
            reason = "message is empty: the template's columns are blank in this row"
            return PlannedRow(row.row, raw, INVALID, number, text, error=reason)
        message = self.messages.get(text)
        if isinstance(message, str):
            return PlannedRow(row.row, raw, INVALID, number, text, error=message)
        if message.parts > self.most_parts:
            self.most_parts = message.parts
        return PlannedRow(row.row, raw, SEND, number, text, message)


@dataclass
class PlanSummary:
    """What a dry run reports: counts, encodings, parts, and the first problems in detail."""

    rows: int = 0
    messages: int = 0
    parts: int = 0
    invalid: int = 0
    duplicates: int = 0
    encodings: Counter[str] = field(default_factory=Counter)
    problems: list[PlannedRow] = field(default_factory=list)
    prefixes: Counter[str] = field(default_factory=Counter)  # number prefix -> parts
    prefix_messages: Counter[str] = field(default_factory=Counter)  # number prefix -> messages
    examples: dict[str, str] = field(default_factory=dict)  # number prefix -> a number on it
    samples: list[PlannedRow] = field(default_factory=list)  # the first rows that would go out
    ucs2_rows: list[tuple[int, str]] = field(default_factory=list)  # row, the non-GSM chars

    MAX_PROBLEMS = 100
    MAX_SAMPLES = 3
    MAX_UCS2_ROWS = 20
    PREFIX_DIGITS = 5

    def add(self, planned: PlannedRow) -> None:
        self.rows += 1
        if planned.status == SEND and planned.message and planned.number:
            self.messages += 1
            self.parts += planned.message.parts
            self.encodings[planned.message.encoding] += 1
            prefix = planned.number[: self.PREFIX_DIGITS]
            self.prefixes[prefix] += planned.message.parts
            self.prefix_messages[prefix] += 1
            self.examples.setdefault(prefix, planned.number)
            if len(self.samples) < self.MAX_SAMPLES:
                self.samples.append(planned)
            if planned.message.unicode and len(self.ucs2_rows) < self.MAX_UCS2_ROWS:
                forced = dict.fromkeys(ch for _, ch in planned.message.non_gsm)
                self.ucs2_rows.append((planned.row, "".join(forced)))
            return
        if planned.status == DUPLICATE:
            self.duplicates += 1
        else:
            self.invalid += 1
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(planned)
