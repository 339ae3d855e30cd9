"""Help and validation read like clicksms, not like its libraries.

Walks every command's ``--help`` and gives every option that takes a typed value a bad one:
each error is one line that names the flag, what was given and what to give instead.
"""

from __future__ import annotations

import re

import pytest
import typer

from clicksms.cli import app

LIBRARY_WORDING = ("Invalid value", "Input should", "Value error", "is not one of", "<=x", "x>=")


def walk(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(app)))


def typed_options():
    """(command path, option, a bad value, the option's flag) for every typed option."""
    for path, command in COMMANDS:
        for param in command.params:
            if param.param_type_name != "option" or getattr(param, "is_flag", False):
                continue
            kind = param.type
            flag = max(param.opts, key=len)
            if getattr(kind, "choices", None):
                yield path, flag, "bogus-value"
            elif kind.name.split()[0] in ("int", "float"):
                yield path, flag, "not-a-number"
                low, high = getattr(kind, "min", None), getattr(kind, "max", None)
                if high is not None:
                    yield path, flag, str(high + 1)
                elif low is not None:
                    yield path, flag, str(low - 1)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "root")
def test_help_reads_like_the_tool(cli, path) -> None:
    run = cli(*path, "--help")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    for bad in ("{NUMBER", "{ID", "list[", *LIBRARY_WORDING):
        assert bad not in text, f"{bad!r} in `clicksms {' '.join(path)} --help`"
    assert not re.search(r"<[a-z][a-z |\[\]]*>", text), text  # <str>, <int range>, …
    # Defaults are written one way: [default: X].
    assert not re.search(r"\(default|(?<!\[)default:", text), text


def test_lists_of_arguments_read_as_such(cli) -> None:
    assert cli("send", "--help").stdout.startswith("Usage: clicksms send [OPTIONS] NUMBER...\n")
    assert "Usage: clicksms status [OPTIONS] [ID...]" in cli("status", "--help").stdout
    assert "[FILE.csv]" in cli("bulk", "--help").stdout


def test_help_says_nothing_that_is_not_there(cli) -> None:
    sandbox = " ".join(cli("sandbox", "--help").stdout.split())
    assert "kinds are above" in sandbox and "below" not in sandbox
    bulk = " ".join(cli("bulk", "--help").stdout.split())
    assert "--data" not in bulk  # bulk sends text only


@pytest.mark.parametrize(
    ("path", "flag", "value"), list(typed_options()), ids=lambda v: str(v) if v else "root"
)
def test_every_bad_value_is_named_in_our_words(cli, creds, path, flag, value) -> None:
    args = [flag, value, "ping"] if not path else [*path, flag, value]
    run = cli(*args)
    assert run.exit_code == 2, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"Error: {flag} {value}: use "), line
    assert not any(words in line for words in LIBRARY_WORDING), line
    assert creds.requests == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["send", "27821234567", "-t"], "Error: -t needs a value"),
        (["send", "27821234567", "--flash=yes"], "Error: --flash takes no value"),
        (["send", "-t", "x"], "Error: NUMBER is required (see `clicksms send --help`)"),
        (["completion", "tcsh"], "Error: SHELL tcsh: use bash, zsh or fish "),
    ],
)
def test_usage_slips_in_our_words(cli, args, line) -> None:
    run = cli(*args)
    assert run.exit_code == 2
    assert run.stderr.startswith(line), run.stderr
