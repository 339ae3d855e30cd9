"""Message templates for ``bulk``: ``{column}`` placeholders filled from each CSV row.

A template is parsed once and compiled into a ``str.format`` string with positional slots, so
rendering a million rows costs one C call per row. Placeholder names are column names taken
literally (spaces, colons and dots included): there are no format specs or conversions, which
would surprise someone who only wants ``{first name}`` filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from clicksms.errors import UsageError, unreadable

MAX_TEMPLATE_BYTES = 64 * 1024  # 35 SMS parts are ~5,400 characters; more is the wrong file

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class MissingColumn(LookupError):
    """A row has no value for a column the template uses (a short, ragged row)."""

    def __init__(self, column: str) -> None:
        super().__init__(f"the row has no value for column {column!r}")
        self.column = column


class Template:
    """A parsed template; call :meth:`check` with the file's columns before rendering."""

    text: str
    fields: tuple[str, ...]

    def __init__(self, text: str) -> None:
        self.text = text
        literals, names = _parse(text)
        self.fields = tuple(dict.fromkeys(names))
        slot = {name: i for i, name in enumerate(self.fields)}
        self._static = "".join(literals)
        self._format = _compile(literals, [f"{{{slot[name]}}}" for name in names])
        self._literals = literals
        self._names = names
        self._keys: tuple[str, ...] = self.fields
        self._indexes: tuple[int, ...] | None = None
        self._row_format = ""

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    @property
    def pieces(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The literal texts (braces unescaped) and, between each two, the placeholder's name:
        one more literal than names, the first and last possibly empty."""
        return tuple(self._literals), tuple(self._names)

    @property
    def is_static(self) -> bool:
        """No placeholders: every row gets the same text, so rows group into one request."""
        return not self.fields

    def check(self, columns: Sequence[str]) -> None:
        """Match every placeholder to a column, or name all the unknown ones at once.

        A name two columns share (a header such as ``phone,name,name``) is refused: which
        one the user meant is anyone's guess.
        """
        resolved = [_resolve(name, columns) for name in self.fields]
        unknown = [name for name, index in zip(self.fields, resolved, strict=True) if index is None]
        if unknown:
            raise UsageError(_unknown_message(unknown, columns))
        for name in self.fields:
            same = columns_named(name, columns)
            if len(same) > 1:
                numbers = [str(i + 1) for i in same]
                raise UsageError(
                    f"{{{name}}} in the template could mean column {' or '.join(numbers)}, both "
                    f"named {columns[same[0]]!r}: rename one in the file, or use the column's "
                    f"number ({' or '.join('{' + n + '}' for n in numbers)})"
                )
        indexes = tuple(index for index in resolved if index is not None)
        self._indexes = indexes
        self._keys = tuple(columns[index] for index in indexes)
        by_field = dict(zip(self.fields, indexes, strict=True))
        self._row_format = _compile(
            self._literals, [f"{{0[{by_field[name]}]}}" for name in self._names]
        )

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one row given as ``{column: value}``."""
        if not self._keys:
            return self._static
        try:
            args = [values[key] for key in self._keys]
        except KeyError:
            args = [_lookup(values, key) for key in self._keys]
        return self._format.format(*args)

    def render_row(self, values: Sequence[str]) -> str:
        """The text for one row given as its cells in column order (after :meth:`check`).

        Faster than :meth:`render` because no mapping is built per row.
        """
        if self._indexes is None:
            raise RuntimeError("Template.check(columns) must come before render_row()")
        if not self._indexes:
            return self._static
        try:
            return self._row_format.format(values)
        except IndexError:
            missing = next(i for i in self._indexes if i >= len(values))
            raise MissingColumn(self._keys[self._indexes.index(missing)]) from None


def load_template(text: str | None, template_file: str | None) -> Template:
    """The template from exactly one of ``--text`` and ``--template-file``."""
    if text is not None and template_file is not None:
        raise UsageError("use either --text or --template-file, not both")
    if text is None and template_file is None:
        raise UsageError("no message: give --text TEMPLATE or --template-file FILE")
    if template_file is not None:
        text = _read_template_file(template_file)
        if not text.strip():
            raise UsageError(f"--template-file {template_file} is empty: write the message in it")
    elif text is not None and not text.strip():
        raise UsageError("--text is empty: give the message to send")
    assert text is not None
    return Template(text)


def _parse(text: str) -> tuple[list[str], list[str]]:
    """Literal pieces around each placeholder (one more literal than names)."""
    literals: list[str] = []
    names: list[str] = []
    piece: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        piece.append(text[position : match.start()])
        position = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            piece.append(token[0])
        elif token == "{":
            raise UsageError(
                f"unclosed {{ at position {match.start() + 1} in the template; "
                "write {{ for a literal {"
            )
        elif token == "}":
            raise UsageError(
                f"single }} at position {match.start() + 1} in the template; "
                "write }} for a literal }"
            )
        else:
            name = match.group(1).strip()
            if not name:
                raise UsageError(
                    f"empty {{}} at position {match.start() + 1} in the template: put a column "
                    "name inside, or write {{}} for literal braces"
                )
            literals.append("".join(piece))
            names.append(name)
            piece = []
    piece.append(text[position:])
    literals.append("".join(piece))
    return literals, names


def _compile(literals: list[str], slots: list[str]) -> str:
    """A str.format string: literal braces escaped, one slot per placeholder."""
    parts = [literals[0].replace("{", "{{").replace("}", "}}")]
    for slot, literal in zip(slots, literals[1:], strict=True):
        parts += [slot, literal.replace("{", "{{").replace("}", "}}")]
    return "".join(parts)


def column_named(name: str, columns: Sequence[str]) -> int | None:
    """Index of the column called ``name``: exactly, else ignoring case (None if none).

    The one rule for naming a column, shared by placeholders and ``--number-column``.
    """
    found = columns_named(name, columns)
    return found[0] if found else None


def columns_named(name: str, columns: Sequence[str]) -> list[int]:
    """Every column ``name`` could mean: those called exactly that, else any case of it.

    More than one means the name is ambiguous (a header with a repeated name).
    """
    exact = [i for i, column in enumerate(columns) if column == name]
    if exact:
        return exact
    folded = name.casefold()
    return [i for i, column in enumerate(columns) if column.casefold() == folded]


def _resolve(name: str, columns: Sequence[str]) -> int | None:
    """Column index for a placeholder: exact name, any case, then a 1-based index."""
    found = column_named(name, columns)
    if found is not None:
        return found
    if name.isascii() and name.isdigit() and 1 <= int(name) <= len(columns):
        return int(name) - 1
    return None


def _lookup(values: Mapping[str, str], key: str) -> str:
    """Slow path for :meth:`Template.render` without :meth:`check`: match ignoring case."""
    if key in values:
        return values[key]
    folded = key.casefold()
    for column, value in values.items():
        if column.casefold() == folded:
            return value
    raise MissingColumn(key)


def _unknown_message(unknown: list[str], columns: Sequence[str]) -> str:
    names = ", ".join(f"{{{name}}}" for name in unknown)
    plural = "s" if len(unknown) > 1 else ""
    if not columns:
        return f"unknown placeholder{plural} {names} in the template: the file has no columns"
    shown = [f"{{{column}}}" for column in columns[:20] if column]
    more = f", … ({len(columns)} in all)" if len(columns) > 20 else ""
    return (
        f"unknown placeholder{plural} {names} in the template: the columns are "
        f"{', '.join(shown)}{more} (write {{{{ and }}}} for literal braces)"
    )


def _read_template_file(path: str) -> str:
    """The file as UTF-8 text, BOM stripped and one trailing newline dropped."""
    where = f"--template-file {path}"
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise unreadable(exc, where) from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise UsageError(f"{where} is larger than 64 KiB: is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{where} is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}): "
            "save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")
