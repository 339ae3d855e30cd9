"""Option types and stdin helpers shared by several commands."""

import sys
from typing import Annotated, Optional

import typer

from clicksms.errors import UsageError
from clicksms.render import OutputFormat

OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table for people, json or csv for scripts."),
]
CountryOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--country",
        "-c",
        help="Region for numbers written without a country code, e.g. ZA (env CLICKSMS_COUNTRY).",
    ),
]


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def read_stdin(what: str) -> str:
    """All of stdin as text, with a clear error for a closed stdin or bytes that are not UTF-8."""
    if sys.stdin is None:
        raise UsageError(f"no {what}: standard input is closed")
    try:
        return sys.stdin.read().removeprefix("\ufeff")  # a BOM from Windows editors
    except UnicodeDecodeError:
        raise UsageError(f"{what} on standard input is not valid UTF-8") from None


def stdin_lines(what: str) -> list[str]:
    """Non-blank stripped lines of stdin; a usage error on a terminal or when there are none."""
    if stdin_is_terminal():
        raise UsageError(f"no {what}: pass them as arguments or one per line on stdin")
    lines = [line.strip() for line in read_stdin(what).splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"no {what} on stdin")
    return lines
