"""``clicksms validate-number``: offline number checks."""

from collections.abc import Iterator
from typing import Any

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import (
    CountryOption,
    NumbersArgument,
    OutputOption,
    QuietOption,
    stream_stdin_lines,
)
from clicksms.cli.render import Column, OutputFormat, emit_stream


def validate_number(
    ctx: typer.Context,
    numbers: NumbersArgument = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Check numbers offline and show them in Clickatell's form (no gateway call).

    Numbers on stdin are answered as they come, so the input may be any length.

    \b
        clicksms validate-number "+27 82 123 4567" "082 123 4567" --country ZA
    """
    from clicksms.errors import counts_exit_code
    from clicksms.message.numbers import check_number

    invocation: Invocation = ctx.obj
    region = invocation.country(country)
    inputs = numbers or stream_stdin_lines("numbers")
    tally = {True: 0, False: 0}

    def rows() -> Iterator[dict[str, Any]]:
        for raw in inputs:  # one at a time: stdin may hold millions of lines
            check = check_number(raw, region)
            tally[check.valid] += 1
            yield {
                "input": check.input,
                "valid": check.valid,
                "number": check.number,
                "region": check.region,
                "type": check.type,
                "error": check.error,
            }

    checked = rows()
    emit_stream(
        checked,
        [
            Column("input", "Input"),
            Column("valid", "Valid", lambda ok: "green" if ok else "red"),
            Column("number", "Number"),
            Column("region", "Region"),
            Column("type", "Type"),
            Column("error", "Error", wrap=True),
        ],
        output,
    )
    for _ in checked:  # the reader left early (| head): every line still counts
        pass
    raise typer.Exit(counts_exit_code(tally[True], tally[False]))
