"""Streaming CSV input for ``bulk``: dialect, encoding, header and number column.

A bulk file can hold a million rows, so nothing here reads it whole. ``CsvSource()`` looks at
a bounded sample, enough to choose the delimiter, the header and the phone-number column and to
catch most mistakes before anything is sent; ``rows()`` then streams the rest. Every record
keeps the physical line it starts on, because that is the number a user finds in an editor.
Bytes are decoded chunk by chunk, so a bad byte deep in the file is still reported on its line.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from types import TracebackType
from typing import BinaryIO

from clicksms.bulk.template import column_named, columns_named
from clicksms.errors import UsageError, unreadable

MIB = 1024 * 1024
FIELD_LIMIT = MIB  # no SMS template needs a longer cell; longer means a quote left open
MAX_LINE = 8 * MIB  # a longer physical line is not a CSV file we can use
CHUNK = 64 * 1024
SAMPLE_LINES = 200
SAMPLE_CHARS = 64 * 1024
SAMPLE_MIN_LINES = 4  # a header and some data, however wide: 20 000 columns outgrow SAMPLE_CHARS
DELIMITERS = (",", ";", "\t")

#: Every BOM with the codec and byte order it announces. UTF-32 LE comes before UTF-16 LE:
#: it starts with the same two bytes.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)
_UTF16_HINT = " (UTF-16 text? pass --encoding utf-16)"
_NUMBER_NOISE = re.compile(r"[\s\-.()]")
_NUMBER_SHAPE = re.compile(r"(?:\+|00)?[0-9]{7,15}")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_STRONG_HINTS = frozenset(
    {"phone", "mobile", "msisdn", "cell", "tel", "telephone", "cellphone", "gsm", "handy"}
)
_WEAK_HINTS = frozenset({"number", "to", "recipient", "destination", "sms", "nr", "no", "num"})
_TIE = 0.05  # columns this close to the best score count as a tie


# Slotted, not frozen: built for every row (see JobRow in clicksms.bulk.journal).
@dataclass(slots=True)
class CsvRow:
    """One data record; ``line`` is where it starts, since a quoted cell may span lines."""

    row: int
    line: int
    values: tuple[str, ...]


def looks_like_number(cell: str) -> bool:
    """A cheap shape test (7–15 digits after formatting); not validation, just sniffing."""
    return _NUMBER_SHAPE.fullmatch(_NUMBER_NOISE.sub("", cell)) is not None


class CsvSource:
    """A CSV file (or stdin) read once, record by record, in bounded memory."""

    name: str
    delimiter: str
    header: tuple[str, ...] | None
    columns: tuple[str, ...]
    number_index: int
    number_column: str
    number_column_guessed: bool
    size: int | None
    bytes_read: int

    def __init__(
        self,
        path: str,
        *,
        encoding: str | None = None,
        number_column: str | None = None,
        stdin: BinaryIO | None = None,
        has_header: bool | None = None,
    ) -> None:
        self._codec = _check_encoding(encoding)
        self._stream, self._owns_stream, self.name = _open(path, stdin)
        self._read = getattr(self._stream, "read1", self._stream.read)
        self.size = _size(self._stream) if self._owns_stream else None
        self.bytes_read = 0
        self._used = False
        try:
            self._start(encoding, number_column, has_header)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file we opened; stdin belongs to the caller."""
        if self._owns_stream:
            self._stream.close()

    def rows(self) -> Iterator[CsvRow]:
        """Every data record, once, in file order; blank lines and the header are skipped."""
        if self._used:
            raise RuntimeError("CsvSource.rows() streams the file once")
        self._used = True
        return self._rows()

    # --- setup: encoding, sample, dialect, header, number column -----------------------------

    def _start(
        self, encoding: str | None, number_column: str | None, has_header: bool | None
    ) -> None:
        """Read the sample and decide everything that must be known before sending."""
        first = self._peek()
        self._head = first[:64]
        if encoding is None:
            self._codec = _bom_codec(first)
        else:
            self._codec = self._fit_bom(first, encoding)
        self._label = _label(encoding, self._codec)
        self._decoder = codecs.getincrementaldecoder(self._codec)()
        lines = chain.from_iterable(self._line_batches(first))
        head, complete = _take_sample(lines)
        self.delimiter = _choose_delimiter(head, complete)
        csv.field_size_limit(FIELD_LIMIT)
        self._reader = csv.reader(
            chain(head, lines), delimiter=self.delimiter, quotechar='"', strict=True
        )
        self._records = self._parse()
        self._sample = self._read_sample(len(head))
        self._plan([values for _, values in self._sample], number_column, has_header)

    def _peek(self) -> bytes:
        """At least four bytes (unless the file is shorter), enough to see any BOM."""
        data = b""
        while len(data) < 4:
            chunk = self._read(CHUNK)
            if not chunk:
                break
            data += chunk
        return data

    def _fit_bom(self, first: bytes, encoding: str) -> str:
        """The codec for ``--encoding``, checked against a BOM and given a byte order if needed.

        A BOM that contradicts ``--encoding`` would turn the header into mojibake, so it is
        refused; ``utf-16``/``utf-32`` without a BOM would make Python's decoder fail, so the
        byte order is read from where the NUL bytes of ASCII text fall.
        """
        name = codecs.lookup(self._codec).name
        marks = [codec for bom, codec in _BOMS if first.startswith(bom)]
        if marks:
            if any(mark.startswith(name) for mark in marks) or (
                name == "utf-8-sig" and "utf-8" in marks
            ):
                return self._codec
            raise UsageError(
                f"{self.name} starts with a {marks[0].upper()} byte order mark but --encoding "
                f"{encoding} was given: drop --encoding"
            )
        if name in ("utf-16", "utf-32"):
            return f"{name}-be" if first[:1] == b"\x00" else f"{name}-le"
        return self._codec

    def _read_sample(self, head_lines: int) -> list[tuple[int, list[str]]]:
        """Parse the sampled lines for real, so CSV mistakes in them surface now."""
        sample: list[tuple[int, list[str]]] = []
        while self._reader.line_num < head_lines:
            record = next(self._records, None)
            if record is None:
                break
            sample.append(record)
        return sample

    def _plan(
        self, records: list[list[str]], number_column: str | None, has_header: bool | None
    ) -> None:
        """Decide the header, the column names and the number column from the sample."""
        spec = number_column.strip() if number_column is not None else None
        if has_header is None:
            has_header = _detect_header(records, spec)
        self.header = tuple(records[0]) if has_header and records else None
        data = records[1:] if self.header is not None else records
        if self.header is not None:
            self.columns = tuple(cell.strip() for cell in self.header)
        else:
            width = max((len(values) for values in records), default=0)
            self.columns = tuple(str(i) for i in range(1, width + 1))
        self.number_column_guessed = spec is None
        if spec is None:
            self.number_index = self._detect_number_column(data)
            self._refuse_ambiguous(self.columns[self.number_index] if self.header else None)
        else:
            if self.header is not None and not _is_index(spec):
                self._refuse_ambiguous(spec)
            self.number_index = self._resolve_number_column(spec, number_column or "")
        self.number_column = self._column_label(self.number_index)

    def _refuse_ambiguous(self, name: str | None) -> None:
        """A number column named by a header that names another column too is anyone's guess
        (``phone,phone``): refuse it rather than take the first."""
        if not name:
            return
        same = columns_named(name, self.columns)
        if len(same) > 1:
            first, second = same[0] + 1, same[1] + 1
            raise UsageError(
                f"{self.name} has more than one column named {self.columns[same[0]]!r} (columns "
                f"{first} and {second}), so clicksms cannot tell which holds the numbers: rename "
                f"one, or choose with --number-column {first}"
            )

    def _column_label(self, index: int) -> str:
        if self.header is not None and index < len(self.columns) and self.columns[index]:
            return self.columns[index]
        return str(index + 1)

    def _resolve_number_column(self, spec: str, given: str) -> int:
        """``--number-column`` as a header name (any case) or a 1-based index."""
        if self.header is not None:
            found = column_named(spec, self.columns)
            if found is not None:
                return found
        width = len(self.columns)
        if _is_index(spec):
            index = int(spec) - 1
            if width == 0:
                return max(index, 0)  # no records at all: nothing to check it against
            if 0 <= index < width:
                return index
            raise UsageError(
                f"--number-column {given} is out of range: {self.name} has {width} "
                f"column{'s' if width != 1 else ''} ({_listing(self.columns)})"
            )
        if width == 0:
            return 0  # no records at all: nothing will be sent, and the caller says so
        if self.header is None:
            raise UsageError(
                f"--number-column {given!r} is not a column of {self.name}: it has no header "
                f"row, so give a column number from 1 to {width}"
            )
        raise UsageError(
            f"--number-column {given!r} is not a column of {self.name}: use one of "
            f"{_listing(self.columns)}, or a column number from 1 to {width}"
        )

    def _detect_number_column(self, data: list[list[str]]) -> int:
        """The column that most looks like phone numbers; header names break ties."""
        names = self.columns if self.header is not None else ("",) * len(self.columns)
        if not data:
            hinted = [i for i, name in enumerate(names) if _hint(name)]
            return max(hinted, key=lambda i: _hint(names[i]), default=0)
        scores = [_column_scores(data, i) for i in range(len(self.columns))]
        best = max((score for score, _ in scores), default=0.0)
        if best < 0.5:
            if self.header is not None:
                where = f"one of: {_listing(self.columns)}"
            else:
                where = f"a column number from 1 to {len(self.columns)}"
            raise UsageError(
                f"{self.name}: no column looks like phone numbers; pass --number-column with "
                f"{where}"
            )
        tied = [i for i, (score, _) in enumerate(scores) if score >= best - _TIE]
        return max(tied, key=lambda i: (_hint(names[i]), scores[i][1], scores[i][0], -i))

    # --- streaming --------------------------------------------------------------------------

    def _rows(self) -> Iterator[CsvRow]:
        """The sampled records, then the rest straight from the reader (one generator: fast)."""
        sample, self._sample = self._sample, []
        if self.header is not None:
            sample = sample[1:]
        number = 0
        for number, (line, values) in enumerate(sample, 1):
            yield CsvRow(number, line, tuple(values))
        reader = self._reader
        end = reader.line_num  # the sampler stopped right after a record
        try:
            for values in reader:
                start, end = end + 1, reader.line_num
                if (values and values[0].strip()) or _has_content(values):
                    number += 1
                    yield CsvRow(number, start, tuple(values))
        except csv.Error as exc:
            raise self._csv_error(exc, end + 1, reader.line_num) from None

    def _parse(self) -> Iterator[tuple[int, list[str]]]:
        """Non-blank records with the physical line each starts on (for the sample)."""
        reader = self._reader
        end = reader.line_num
        try:
            for values in reader:
                start, end = end + 1, reader.line_num
                if (values and values[0].strip()) or _has_content(values):
                    yield start, values
        except csv.Error as exc:
            raise self._csv_error(exc, end + 1, reader.line_num) from None

    def _csv_error(self, exc: csv.Error, start: int, current: int) -> UsageError:
        """Say what is wrong with the record in words a spreadsheet user knows."""
        text = str(exc)
        where = f"{self.name} line"
        if "field larger than field limit" in text:
            return UsageError(
                f"{where} {start} has a field longer than {FIELD_LIMIT // MIB} MiB: check it "
                "for a quote that is never closed"
            )
        if "unexpected end of data" in text:
            return UsageError(
                f"{where} {start} opens a quote that is never closed: close it, and write a "
                'quote inside a quoted field as ""'
            )
        if "expected after" in text:
            return UsageError(
                f"{where} {current} has text after a closing quote: quote the whole field and "
                'write each quote inside it as ""'
            )
        if "new-line character" in text:
            return UsageError(
                f"{where} {current} has a carriage return outside quotes: save the file with "
                "ordinary (LF or CRLF) line endings"
            )
        return UsageError(f"{where} {start} is not valid CSV ({text}): check its quotes")

    def _line_batches(self, first: bytes) -> Iterator[list[str]]:
        """Decoded physical lines (ends kept, as csv needs), one list per chunk read."""
        decoder = self._decoder
        pending = ""
        done = 0  # physical lines handed out so far
        data = first
        bom = True
        while True:
            final = not data
            state = decoder.getstate()
            try:
                text = decoder.decode(data, final)
            except UnicodeDecodeError as exc:
                good = pending + self._decoded_before(exc, state)
                yield from _complete_lines(good)
                raise self._decode_error(exc, done + good.count("\n") + 1) from None
            except UnicodeError as exc:  # exotic codecs (idna, …) fail without a position
                raise UsageError(
                    f"{self.name} cannot be read as {self._label} ({exc}): pass the file's real "
                    "encoding with --encoding"
                ) from None
            self.bytes_read += len(data)
            if bom and text:
                text, bom = text.removeprefix("\ufeff"), False
            buf = pending + text if pending else text
            if "\x00" in buf:
                good = buf[: buf.index("\x00")]
                yield from _complete_lines(good)
                raise self._nul_error(buf, len(good), done + good.count("\n") + 1)
            lines = buf.split("\n")
            pending = lines.pop()
            if len(pending) > MAX_LINE:
                raise UsageError(
                    f"{self.name} line {done + len(lines) + 1} is longer than "
                    f"{MAX_LINE // MIB} MiB: is this a CSV file?"
                )
            if lines:
                done += len(lines)
                yield [line + "\n" for line in lines]
            if final:
                if pending:
                    yield [pending]
                return
            data = self._read(CHUNK)

    def _decoded_before(self, exc: UnicodeDecodeError, state: tuple[bytes, int]) -> str:
        """The text before the bad byte, decoded from the same decoder state."""
        try:
            fresh = codecs.getincrementaldecoder(self._codec)(errors="replace")
            fresh.setstate((b"", state[1]))
            return fresh.decode(exc.object[: exc.start])
        except Exception:  # an exotic codec without usable state: ASCII newlines still count
            return "\n" * exc.object[: exc.start].count(b"\n")

    def _decode_error(self, exc: UnicodeDecodeError, line: int) -> UsageError:
        bad = exc.object[exc.start : exc.start + 1]
        byte = f" (byte 0x{bad[0]:02x})" if bad else ""
        if b"\x00" in exc.object and "\x00".encode(self._codec) == b"\x00":
            hint = _UTF16_HINT if _looks_utf16(self._head) else ""
            return UsageError(
                f"{self.name} line {line} is not text{byte} and the file contains NUL bytes: "
                f"is this a CSV file?{hint}"
            )
        if self._label == "UTF-8":
            hint = "pass --encoding, e.g. --encoding cp1252"
        else:
            hint = "pass the file's real encoding with --encoding"
        return UsageError(f"{self.name} line {line} is not valid {self._label}{byte}: {hint}")

    def _nul_error(self, buf: str, at: int, line: int) -> UsageError:
        start = buf.rfind("\n", 0, at) + 1
        probe = buf[start : start + 64]
        utf16 = len(probe) >= 4 and ("\x00" * (len(probe) // 2) in (probe[0::2], probe[1::2]))
        hint = _UTF16_HINT if utf16 or _looks_utf16(self._head) else ""
        return UsageError(f"{self.name} line {line} contains NUL bytes: is this a CSV file?{hint}")


# --- helpers ---------------------------------------------------------------------------------


def _check_encoding(encoding: str | None) -> str:
    """The codec to decode with; an unknown or non-text codec is the user's typo."""
    if encoding is None:
        return "utf-8"
    try:
        "".encode(encoding)  # LookupError for unknown names and for bytes codecs like hex
    except LookupError:
        raise UsageError(
            f"unknown encoding {encoding!r} (--encoding): use a name such as utf-8, cp1252, "
            "latin-1 or utf-16"
        ) from None
    return encoding


def _bom_codec(first: bytes) -> str:
    """UTF-8 unless a byte order mark says otherwise: a BOM is unambiguous."""
    for bom, codec in _BOMS:
        if first.startswith(bom):
            return codec.removesuffix("-le").removesuffix("-be")  # the decoder eats the BOM
    return "utf-8"


def _looks_utf16(head: bytes) -> bool:
    """Mostly-Latin UTF-16 without a BOM: NUL in (nearly) every other byte, and only there."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return any(
        zeros.count(0) * 4 >= len(zeros) * 3 and others.count(0) * 4 <= len(others)
        for zeros, others in ((even, odd), (odd, even))
    )


def _label(encoding: str | None, codec: str) -> str:
    """How the encoding is named in errors: the user's spelling, or ours when we chose it."""
    if codecs.lookup(codec).name in ("utf-8", "utf-8-sig"):
        return "UTF-8"
    return encoding if encoding is not None else codec.upper()


def _open(path: str, stdin: BinaryIO | None) -> tuple[BinaryIO, bool, str]:
    """The byte stream, whether we own it, and the name used in messages."""
    if path == "-":
        return (stdin if stdin is not None else sys.stdin.buffer), False, "<stdin>"
    try:
        return open(path, "rb"), True, path
    except OSError as exc:
        raise unreadable(exc, path, "CSV file") from None


def _size(stream: BinaryIO) -> int | None:
    """The file's size in bytes, for a progress estimate; None for pipes."""
    try:
        return os.fstat(stream.fileno()).st_size or None
    except (OSError, ValueError, AttributeError):
        return None


def _complete_lines(text: str) -> Iterator[list[str]]:
    """The whole lines of ``text`` (the last, unfinished one is the bad one)."""
    lines = text.split("\n")[:-1]
    if lines:
        yield [line + "\n" for line in lines]


def _take_sample(lines: Iterator[str]) -> tuple[list[str], bool]:
    """Up to SAMPLE_LINES lines or SAMPLE_CHARS characters (but at least SAMPLE_MIN_LINES),
    and whether that was all."""
    head: list[str] = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(line)
        if len(head) >= SAMPLE_LINES or (size >= SAMPLE_CHARS and len(head) >= SAMPLE_MIN_LINES):
            return head, False
    return head, True


def _choose_delimiter(head: list[str], complete: bool) -> str:
    """The candidate giving the most consistent column count above one; csv.Sniffer on ties."""
    scores: dict[str, tuple[float, int]] = {}
    for delimiter in DELIMITERS:
        widths = _widths(head, delimiter, complete)
        if widths:
            width, count = Counter(widths).most_common(1)[0]
            if width > 1:
                scores[delimiter] = (count / len(widths), width)
    if not scores:
        return ","  # one column: any delimiter reads it the same
    best = max(consistency for consistency, _ in scores.values())
    tied = [d for d, (consistency, _) in scores.items() if consistency == best]
    if len(tied) > 1:
        sniffed = _sniff(head)
        if sniffed in tied:
            return sniffed
    return max(tied, key=lambda d: scores[d][1])


def _widths(head: list[str], delimiter: str, complete: bool) -> list[int]:
    """Cell counts of the sampled non-blank records, read leniently with ``delimiter``."""
    try:
        records = list(csv.reader(head, delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return []
    if not complete and records:
        records.pop()  # the sample may have cut it short
    return [len(r) for r in records if _has_content(r)]


def _sniff(head: list[str]) -> str | None:
    """csv.Sniffer's opinion on a small sample (it is slow on big ones)."""
    try:
        dialect = csv.Sniffer().sniff("".join(head[:50])[:8192], delimiters="".join(DELIMITERS))
    except csv.Error:
        return None
    return dialect.delimiter


def _has_content(values: Sequence[str]) -> bool:
    """False for a blank line or a row of empty cells (",,,"), which are not records."""
    return any(cell.strip() for cell in values)


def _cell(values: Sequence[str], index: int) -> str:
    return values[index] if index < len(values) else ""


def _is_label(cell: str) -> bool:
    """A header-like cell: has a letter and is not mostly digits ("phone", "Mobile 2")."""
    text = cell.strip()
    return any(ch.isalpha() for ch in text) and sum(ch.isdigit() for ch in text) < 5


def _all_labels(values: Sequence[str]) -> bool:
    cells = [cell for cell in values if cell.strip()]
    return bool(cells) and all(_is_label(cell) for cell in cells)


def _number_score(records: Iterable[Sequence[str]], index: int) -> float:
    rows = list(records)
    if not rows:
        return 0.0
    return sum(looks_like_number(_cell(values, index)) for values in rows) / len(rows)


def _column_scores(data: list[list[str]], index: int) -> tuple[float, float]:
    """How many values look like numbers, and how many clearly international ones."""
    cells = [_cell(values, index) for values in data]
    numbers = [cell for cell in cells if looks_like_number(cell)]
    strong = sum(_is_international(cell) for cell in numbers)
    return len(numbers) / len(cells), strong / len(cells)


def _is_international(cell: str) -> bool:
    compact = _NUMBER_NOISE.sub("", cell)
    return compact.startswith(("+", "00")) or len(compact) >= 10


def _detect_header(records: list[list[str]], spec: str | None) -> bool:
    """Is the first record a header? Judged by the number column, else by its words."""
    if not records:
        return False
    first, rest = records[0], records[1:]
    if spec and not _is_index(spec) and column_named(spec, [c.strip() for c in first]) is not None:
        return True
    index = int(spec) - 1 if spec and _is_index(spec) else None
    if index is None and rest:
        width = max(len(values) for values in rest)
        scored = [(_number_score(rest, i), i) for i in range(width)]
        score, best = max(scored, key=lambda pair: (pair[0], -pair[1]), default=(0.0, 0))
        index = best if score >= 0.5 else None
    if index is not None and index >= 0 and rest and _number_score(rest, index) >= 0.5:
        cell = _cell(first, index)
        return _is_label(cell) or (not cell.strip() and _all_labels(first))
    return _all_labels(first)


def _is_index(spec: str) -> bool:
    return spec.isascii() and spec.isdigit()


def _hint(name: str) -> int:
    """2 for names like "phone"/"mobile", 1 for "number"/"to", else 0."""
    words = {word.lower() for word in _WORDS.findall(name)}
    if words & _STRONG_HINTS:
        return 2
    return 1 if words & _WEAK_HINTS else 0


def _listing(columns: Sequence[str], limit: int = 20) -> str:
    """Column names for a one-line message, shortened when there are many."""
    names = [name or f"(column {i})" for i, name in enumerate(columns, 1)]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", … ({len(names)} in all)"
    return ", ".join(names)
