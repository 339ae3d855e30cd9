"""Option types, stdin helpers and the end of a one-row-per-item command, shared by several
commands so that they read their input and end the same way."""

import sys
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

from clicksms.cli.render import OutputFormat, set_quiet
from clicksms.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from clicksms.queries import Report

#: The longest stdin line kept whole. Nothing that long is an ID or a phone number, and a file
#: without line breaks must not be read into memory at once.
MAX_LINE = 64 * 1024

OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="table for people; json, jsonl (one object per line) or csv for scripts.",
    ),
]


def _quiet(value: bool) -> bool:
    set_quiet(value)
    return value


QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        callback=_quiet,
        help="Print nothing on stdout and no notes: errors still go to stderr, and the exit "
        "code tells how it went.",
    ),
]
CountryOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--country",
        "-c",
        metavar="REGION",
        help="Region for numbers written without a country code, e.g. ZA (env CLICKSMS_COUNTRY).",
    ),
]
NumbersArgument = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Argument(
        metavar="NUMBER",
        help="Numbers to check; read from stdin (one per line) when none given.",
        show_default=False,
    ),
]


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def secret_line(what: str, prompt: str, error: type[Exception], limit: int = 4096) -> str:
    """A secret (password, voucher): on a terminal typed without echo, else the first line of
    stdin (at most ``limit`` characters, its line break kept, a leading BOM dropped). Nothing
    typed is ``error``; bytes that are not UTF-8 are a UsageError. ``what`` names the secret."""
    if stdin_is_terminal():
        import getpass

        try:
            return getpass.getpass(prompt)
        except EOFError:
            sys.stderr.write("\n")  # end the prompt's line before the error line
            raise error(f"no {what} entered") from None
    try:
        line = sys.stdin.readline(limit)
        line.encode("utf-8")  # lone surrogates: see read_stdin
    except UnicodeError:
        raise UsageError(f"the {what} on standard input is not valid UTF-8") from None
    return line.removeprefix("\ufeff")


def read_stdin(what: str, limit: int | None = None, too_long: str = "") -> str:
    """All of stdin as text, with a clear error for a closed stdin or bytes that are not UTF-8.

    ``limit``: refuse more than that many characters (``too_long`` says why), having read
    one more at most, so a huge input costs neither the time nor the memory to read it.
    """
    if sys.stdin is None:
        raise UsageError(f"no {what}: standard input is closed")
    try:
        text = sys.stdin.read() if limit is None else sys.stdin.read(limit + 2)  # + BOM
        # Where Python decodes stdin with surrogateescape (POSIX and C.UTF-8 locales), bytes
        # that are not UTF-8 arrive as lone surrogates instead of raising: refuse them here too.
        text.encode("utf-8")
    except UnicodeError:
        raise UsageError(
            f"{what} on standard input is not valid UTF-8: convert it first "
            "(iconv -f CP1252 -t UTF-8, say)"
        ) from None
    text = text.removeprefix("\ufeff")  # a BOM from Windows editors
    if limit is not None and len(text) > limit:
        raise UsageError(f"{what} on standard input is longer than {limit} characters{too_long}")
    return text


def stdin_lines(what: str) -> list[str]:
    """Non-blank stripped lines of stdin; a usage error on a terminal or when there are none."""
    return list(stream_stdin_lines(what))


def stream_stdin_lines(what: str) -> Iterator[str]:
    """:func:`stdin_lines` one at a time as they arrive, so no amount of input fills memory.

    The first line is read at once, so "none" is a usage error before any output. A line
    longer than :data:`MAX_LINE` is cut there (the rest of it is skipped, not kept).
    """
    if stdin_is_terminal():
        raise UsageError(f"no {what}: pass them as arguments or one per line on stdin")
    if sys.stdin is None:
        raise UsageError(f"no {what}: standard input is closed")
    lines = _nonblank_lines(what)
    first = next(lines, None)
    if first is None:
        raise UsageError(f"no {what} on stdin")
    return chain([first], lines)


def _nonblank_lines(what: str) -> Iterator[str]:
    """Stripped non-blank lines of stdin (split as str.splitlines splits), read one by one."""
    stream = sys.stdin
    start = True
    while True:
        try:
            line = stream.readline(MAX_LINE)
            rest = line
            while len(rest) == MAX_LINE and not rest.endswith("\n"):
                rest = stream.readline(MAX_LINE)  # the end of an overlong line, dropped
            line.encode("utf-8")  # lone surrogates: see read_stdin
        except UnicodeError:
            raise UsageError(
                f"{what} on standard input is not valid UTF-8: convert it first "
                "(iconv -f CP1252 -t UTF-8, say)"
            ) from None
        if not line:
            return
        if start:
            line, start = line.removeprefix("\ufeff"), False  # a BOM from Windows editors
        for part in line.splitlines():
            if part.strip():
                yield part.strip()


def raise_if_nothing_answered(report: "Report") -> None:
    """A failure before any answer is just an error line, as for every other command."""
    if report.failure is not None and report.answered == 0:
        raise report.failure


def finish(failure: Optional[Exception], code: ExitCode) -> NoReturn:  # noqa: UP045
    """After the rows: a failure prints its one line and exit code at the boundary."""
    if failure is not None:
        raise failure
    raise typer.Exit(code)
