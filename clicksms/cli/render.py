"""Everything the user reads: result tables (rich), JSON, JSON lines and CSV on stdout; notes
on stderr.

stdout carries data only, so ``-o json | jq`` and ``-o csv > file`` always work; summaries,
warnings and errors go to stderr. ``-q`` silences stdout and the notes, never warnings or
errors. rich is imported only when a table is actually drawn, and a table never cuts a value:
it folds its free-text columns, or turns vertical when even that does not fit
(:mod:`clicksms.cli.layout`).
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
    jsonl = "jsonl"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    """One column of a result table: the dict key, its header, and an optional cell style."""

    key: str
    header: str
    style: Callable[[Any], str] | None = None
    wrap: bool = False  # only free text wraps; numbers and IDs stay whole for copy-paste


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows per table when rows stream in (:func:`emit_stream`): a table is sized to its rows, so
#: it must hold them all; a thousand at a time keeps memory flat.
TABLE_PIECE = 1000
_quiet = False


def set_quiet(quiet: bool) -> None:
    """``-q``: nothing on stdout and no notes on stderr; warnings and errors still show."""
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: OutputFormat,
    title: str | None = None,
) -> None:
    """Write ``rows`` to stdout in the chosen format (``title``: above a table only).

    Values are made valid UTF-8 first (argv and stdin may carry undecodable bytes). A reader
    that goes away (``| head``) is not an error: the command's own exit code still stands.
    """
    if _quiet:
        return
    with stdout_reader_may_leave():
        if fmt in (OutputFormat.jsonl, OutputFormat.csv):  # the writers make values valid
            ROW_WRITERS[fmt](rows, [c.key for c in columns], sys.stdout)
        else:
            clean = [{c.key: _valid_text(row.get(c.key)) for c in columns} for row in rows]
            if fmt is OutputFormat.json:
                import json

                json.dump(clean, sys.stdout, indent=2, ensure_ascii=False)
                sys.stdout.write("\n")
            else:
                print_table(clean, columns, title)
        sys.stdout.flush()


def emit_stream(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], fmt: OutputFormat
) -> None:
    """:func:`emit` for rows made one at a time, so that any number of them fits in memory.

    JSON, JSON lines and CSV are written row by row; a table is drawn in pieces of
    :data:`TABLE_PIECE` rows (each sized to its own rows). A reader that goes away ends the
    writing quietly, and so does ``-q``: the caller may go on consuming ``rows`` (to count them
    for its exit code, say).
    """
    if _quiet:
        return
    keys = [c.key for c in columns]
    with stdout_reader_may_leave():
        if fmt is OutputFormat.table:
            clean = ({k: _valid_text(row.get(k)) for k in keys} for row in rows)
            while piece := list(islice(clean, TABLE_PIECE)):
                print_table(piece, columns)
        else:  # the writers make values valid
            ROW_WRITERS[fmt](rows, keys, sys.stdout)
        sys.stdout.flush()


def emit_object(row: Mapping[str, Any], sentence: str, fmt: OutputFormat) -> None:
    """One answer, not a list: a sentence for people, one JSON object (on one line with
    ``jsonl``) or one CSV row for scripts."""
    if _quiet:
        return
    if fmt is OutputFormat.csv:
        emit([row], [Column(k, k) for k in row], fmt)
        return
    if fmt is OutputFormat.table:
        text = sentence
    else:
        import json

        clean = {k: _valid_text(v) for k, v in row.items()}
        indent = 2 if fmt is OutputFormat.json else None
        text = json.dumps(clean, indent=indent, ensure_ascii=False)
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


def credits_value(value: float | None) -> float | int | None:
    """A credit figure for JSON and CSV, written as the table writes it: 80470, not 80470.0."""
    if value is None:
        return None
    rounded = round(value, 4)
    return int(rounded) if rounded.is_integer() else rounded


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


def write_json_lines(rows: Iterable[Mapping[str, Any]], keys: Sequence[str], stream: Any) -> None:
    """One JSON object per line (``-o jsonl``), what log shippers and ``jq -c`` read."""
    import json

    for row in rows:
        item = {k: _valid_text(row.get(k)) for k in keys}
        stream.write(json.dumps(item, ensure_ascii=False) + "\n")


#: How each machine format streams a long list of rows (bulk, --results).
ROW_WRITERS = {
    OutputFormat.json: write_json_rows,
    OutputFormat.jsonl: write_json_lines,
    OutputFormat.csv: write_csv,
}


def csv_cell(value: Any) -> str:
    value = _valid_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def print_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str | None = None
) -> None:
    """The rows as a table that fits the terminal, or one record per block when it cannot."""
    from clicksms.cli.layout import draw

    cells = [[_plain_cell(row.get(column.key)) for column in columns] for row in rows]
    styles = [
        [
            column.style(row.get(column.key))
            if column.style and row.get(column.key) is not None
            else None
            for column in columns
        ]
        for row in rows
    ]
    headers = [c.header for c in columns]
    draw(cells, styles, headers, [c.wrap for c in columns], output_width(), title)


def output_width() -> int | None:
    """The width tables must fit: COLUMNS, else the terminal's; None (no limit) in a pipe.

    Piped into a file or a log, rows stay one line each, whatever their length.
    """
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def note(message: str, *, failure: bool = False) -> None:
    """A line for humans on stderr (summaries); ``-q`` leaves it out, unless it reports a
    ``failure`` (cron mails, and CI logs show, what went wrong even when told to be quiet)."""
    if failure or not _quiet:
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


def _plain_cell(value: Any) -> str:
    return "" if value is None else _plain(value)


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
