"""Fit a result table to the terminal without ever cutting an ID, a number or a figure.

Three shapes, the first that fits: the whole table on one line per row; the table with its
free-text columns (errors, meanings, file names) folded over several lines; or, when even the
values that must stay whole do not fit side by side, one block per row with a ``Header: value``
line per column. With no width to fit (a pipe, a file), every row stays on one line.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable, Sequence

#: What a table adds between two columns: " │ ".
SEPARATOR = 3
#: A free-text column folds down to its longest word, but to no less than FOLDED_MIN and
#: needs no more than FOLDED_MAX (a longer word, say a path, is folded inside).
FOLDED_MIN = 6
FOLDED_MAX = 12


def draw(
    cells: Sequence[Sequence[str]],
    styles: Sequence[Sequence[str | None]],
    headers: Sequence[str],
    wraps: Sequence[bool],
    width: int | None,
    title: str | None = None,
) -> None:
    """Print ``cells`` (rows of plain text) under ``headers`` in the shape that fits ``width``.

    A column with nothing in any row is left out: it would only take room.
    """
    from rich.cells import cell_len

    keep = [i for i in range(len(headers)) if any(row[i] for row in cells)] or [0]
    if len(keep) < len(headers):
        cells = [[row[i] for i in keep] for row in cells]
        styles = [[row[i] for i in keep] for row in styles]
        headers = [headers[i] for i in keep]
        wraps = [wraps[i] for i in keep]

    natural = [
        max([cell_len(header), *(cell_len(row[i]) for row in cells)])
        for i, header in enumerate(headers)
    ]
    needed = sum(natural) + SEPARATOR * (len(headers) - 1)
    if title is not None:
        sys.stdout.write(title + "\n")
    if width is None or needed <= width:
        _table(cells, styles, headers, wraps, natural, needed)
        return
    least = [
        min(natural[i], _foldable_to(headers[i], (row[i] for row in cells)))
        if wraps[i]
        else natural[i]
        for i in range(len(headers))
    ]
    room = width - SEPARATOR * (len(headers) - 1)
    if sum(least) <= room:
        _table(cells, styles, headers, wraps, _share(least, natural, room), width)
        return
    _vertical(cells, headers, wraps, width)


def _share(least: Sequence[int], natural: Sequence[int], room: int) -> list[int]:
    """Column widths: each at least ``least``, the room left given out one column at a time
    to the folded columns furthest from their natural width."""
    widths = list(least)
    spare = room - sum(widths)
    while spare > 0:
        wanting = [i for i, w in enumerate(widths) if w < natural[i]]
        if not wanting:
            break
        neediest = max(wanting, key=lambda i: natural[i] - widths[i])
        widths[neediest] += 1
        spare -= 1
    return widths


def _table(
    cells: Sequence[Sequence[str]],
    styles: Sequence[Sequence[str | None]],
    headers: Sequence[str],
    wraps: Sequence[bool],
    widths: Sequence[int],
    width: int,
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for header, wrap, exact in zip(headers, wraps, widths, strict=True):
        if wrap:  # words wrap; only a word longer than the column is folded
            table.add_column(header, overflow="fold", width=exact)
        else:  # whole, whatever it costs the free-text columns
            table.add_column(header, no_wrap=True, width=exact)
    for row, row_styles in zip(cells, styles, strict=True):
        table.add_row(*(Text(c, style=s or "") for c, s in zip(row, row_styles, strict=True)))
    # Headers are plain words: no markup or :emoji: codes to read (rich's emoji table alone
    # costs a one-shot command milliseconds to load).
    console = Console(highlight=False, markup=False, emoji=False, width=max(width, 1))
    console.print(table)


def _vertical(
    cells: Sequence[Sequence[str]], headers: Sequence[str], wraps: Sequence[bool], width: int
) -> None:
    """One block per row: ``Header: value``; free text wraps under its value, nothing else."""
    label = max(len(h) for h in headers) + 2
    room = max(width - label, FOLDED_MIN)
    blocks = []
    for row in cells:
        lines = []
        for header, value, wrap in zip(headers, row, wraps, strict=True):
            if not value:
                continue
            pieces = textwrap.wrap(value, room, break_on_hyphens=False) if wrap else [value]
            lines.append(f"{header + ':':<{label}}{pieces[0] if pieces else ''}")
            lines.extend(" " * label + piece for piece in pieces[1:])
        blocks.append("\n".join(lines))
    sys.stdout.write("\n\n".join(blocks) + "\n")


def _foldable_to(header: str, values: Iterable[str]) -> int:
    """How narrow a free-text column can get without breaking a word of ordinary length."""
    from rich.cells import cell_len

    words = (word for text in (header, *values) for word in text.split())
    longest = max((cell_len(word) for word in words), default=0)
    return min(max(longest, FOLDED_MIN), FOLDED_MAX)
