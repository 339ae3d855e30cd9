"""Everything the user reads: result tables (rich), JSON and CSV on stdout; notes on stderr.

stdout carries data only, so ``-o json | jq`` and ``-o csv > file`` always work; summaries,
warnings and errors go to stderr. rich is imported only when a table is actually drawn.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from typing import Any


class OutputFormat(str, Enum):
    """``-o`` choices shared by every command."""

    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    """One column of a result table: the dict key, its header, and an optional cell style."""

    key: str
    header: str
    style: Callable[[Any], str] | None = None
    wrap: bool = False  # only free text wraps; numbers and IDs stay whole for copy-paste


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PIPE_WIDTH = 400
#: Rows per table when rows stream in (:func:`emit_stream`): a table is sized to its rows, so
#: it must hold them all; a thousand at a time keeps memory flat.
TABLE_PIECE = 1000


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], fmt: OutputFormat) -> None:
    """Write ``rows`` to stdout in the chosen format.

    Values are made valid UTF-8 first (argv and stdin may carry undecodable bytes). A reader
    that goes away (``| head``) is not an error: the command's own exit code still stands.
    """
    clean = [{c.key: _valid_text(row.get(c.key)) for c in columns} for row in rows]
    with stdout_reader_may_leave():
        if fmt is OutputFormat.json:
            import json

            json.dump(clean, sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
        elif fmt is OutputFormat.csv:
            write_csv(clean, [c.key for c in columns], sys.stdout)
        else:
            print_table(clean, columns)
        sys.stdout.flush()


def emit_stream(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], fmt: OutputFormat
) -> None:
    """:func:`emit` for rows made one at a time, so that any number of them fits in memory.

    JSON and CSV are written row by row; a table is drawn in pieces of :data:`TABLE_PIECE`
    rows (each sized to its own rows). A reader that goes away ends the writing quietly; the
    caller may go on consuming ``rows`` (to count them for its exit code, say).
    """
    keys = [c.key for c in columns]
    clean = ({k: _valid_text(row.get(k)) for k in keys} for row in rows)
    with stdout_reader_may_leave():
        if fmt is OutputFormat.json:
            write_json_rows(clean, keys, sys.stdout)
        elif fmt is OutputFormat.csv:
            write_csv(clean, keys, sys.stdout)
        else:
            while piece := list(islice(clean, TABLE_PIECE)):
                print_table(piece, columns)
        sys.stdout.flush()


def emit_object(row: Mapping[str, Any], sentence: str, fmt: OutputFormat) -> None:
    """One answer, not a list: a sentence for people, a JSON object or one CSV row for scripts."""
    if fmt is not OutputFormat.json:
        if fmt is OutputFormat.csv:
            emit([row], [Column(k, k) for k in row], fmt)
            return
        text = sentence
    else:
        import json

        text = json.dumps({k: _valid_text(v) for k, v in row.items()}, indent=2, ensure_ascii=False)
    with stdout_reader_may_leave():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


@contextmanager
def stdout_reader_may_leave() -> Iterator[None]:
    """A reader that went away (``| head``) is not a failure: silence stdout and carry on."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet too


def format_credits(value: float) -> str:
    """12.5, 1000, 0.3: as many decimals as needed (four at most), never exponent form."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def write_csv(rows: Iterable[Mapping[str, Any]], keys: Sequence[str], stream: Any) -> None:
    """CSV with a header row; cells that a spreadsheet would run as formulas are neutralised."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow([csv_cell(row.get(k)) for k in keys])


def write_json_rows(rows: Iterable[Mapping[str, Any]], keys: Sequence[str], stream: Any) -> None:
    """A JSON array written one object at a time, so a million rows never sit in memory."""
    import json

    stream.write("[")
    for index, row in enumerate(rows):
        item = {k: _valid_text(row.get(k)) for k in keys}
        stream.write(("\n  " if index == 0 else ",\n  ") + json.dumps(item, ensure_ascii=False))
    stream.write("\n]\n")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column.header, no_wrap=not column.wrap, overflow="fold")
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column.key)
            text = "" if value is None else _plain(value)
            if column.style and value is not None:
                text = f"[{column.style(value)}]{_escape(text)}[/]"
            else:
                text = _escape(text)
            cells.append(text)
        table.add_row(*cells)
    # Piped into a file or a log, rows should stay one line each, whatever the width.
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    Console(highlight=False, width=width).print(table)


def note(message: str) -> None:
    """A line for humans on stderr (summaries, warnings)."""
    sys.stderr.write(message + "\n")


def counts_line(counts: dict[str, int], errors: Iterable[str | None]) -> str:
    """``3 accepted, 2 rejected.`` — naming the cause once when every error is the same one.

    Unattended runs (cron, CI) read stderr, not the table: one shared cause such as
    "no credit left" belongs on the summary line itself.
    """
    line = ", ".join(f"{n} {what}" for what, n in counts.items())
    causes = {e for e in errors if e}
    if len(causes) == 1:
        return f"{line}: {causes.pop()}."
    return line + "."


def warn(message: str) -> None:
    """Something went wrong that does not change the outcome."""
    sys.stderr.write(f"Warning: {message}\n")


def error_line(message: str) -> None:
    """The one line that explains a failure."""
    sys.stderr.write(f"Error: {message}\n")


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    # Input echoed into a terminal must not carry escape sequences (colours, window titles).
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))


def _valid_text(value: Any) -> Any:
    """Strings with lone surrogates (undecodable input bytes) become valid, with U+FFFD."""
    if not isinstance(value, str):
        return value
    try:  # bytes Python kept as surrogates come back as themselves, then as U+FFFD
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
