"""``clicksms validate-number``: offline number checks."""

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import (
    CountryOption,
    NumbersArgument,
    OutputOption,
    QuietOption,
    stdin_lines,
)
from clicksms.cli.render import Column, OutputFormat, emit


def validate_number(
    ctx: typer.Context,
    numbers: NumbersArgument = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """Check numbers offline and show them in Clickatell's form (no gateway call).

    \b
        clicksms validate-number "+27 82 123 4567" "082 123 4567" --country ZA
    """
    from dataclasses import asdict

    from clicksms.errors import outcome_exit_code
    from clicksms.message.numbers import check_number

    rt: Invocation = ctx.obj
    region = rt.country(country)
    inputs = list(numbers or [])
    if not inputs:
        inputs = stdin_lines("numbers")
    checks = [check_number(n, region) for n in inputs]
    rows = [asdict(c) for c in checks]
    emit(
        rows,
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
    raise typer.Exit(outcome_exit_code(c.valid for c in checks))
