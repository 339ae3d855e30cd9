"""How parameters read, in ``--help`` and in their errors: clicksms's words, not the library's.

Typer derives a metavar from each type (``<str>``, ``<int range>``, ``{NUMBER}``) and click
words a bad value its own way (``'yaml' is not one of 'table', 'json', 'csv'.``). Once the
app's commands are built, :func:`speak_plainly` walks every parameter: a metavar says what to
type (``TEXT``, ``N``, ``table|json|jsonl|csv``, ``NUMBER...``), and a bad value is one
sentence naming the flag, what was given and what to give instead::

    --output yaml: use table, json, jsonl or csv
    --port 99999: use a whole number from 0 to 65535
"""

from __future__ import annotations

import copy
import re
import shlex
from typing import Any

import typer
from typer.core import TyperArgument, TyperOption

#: Metavars by the type's name, for options declared without one.
_METAVARS = {
    "str": "TEXT",
    "text": "TEXT",
    "int": "N",
    "int range": "N",
    "integer": "N",
    "integer range": "N",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
}


class PlainBadParameter(typer.BadParameter):
    """A bad value, said as a whole sentence (no "Invalid value for …:" in front)."""

    def format_message(self) -> str:
        return self.message


def speak_plainly(command: Any) -> None:
    """Give ``command``'s parameters, and its subcommands', clicksms's metavars and errors."""
    for param in command.params:
        _plain_param(param)
    for sub in getattr(command, "commands", {}).values():
        speak_plainly(sub)


def flag_of(param: Any) -> str:
    """How the user names a parameter: its long option, or an argument's metavar."""
    opts = getattr(param, "opts", None) or []
    if param.param_type_name == "argument" or not opts:
        return param.metavar or (param.name or "").upper()
    return max(opts, key=len)


def _plain_param(param: Any) -> None:
    if isinstance(param, TyperArgument):
        param.__class__ = _ListedArgument
    elif isinstance(param, TyperOption):
        param.__class__ = _WordedOption
    if param.param_type_name == "argument":
        pass
    elif param.metavar is None and not getattr(param, "is_flag", False):
        choices = getattr(param.type, "choices", None)
        param.metavar = "|".join(choices) if choices else _METAVARS.get(param.type.name)
    expected = _expected(param.type)
    if expected is None:
        return
    param.type = copy.copy(param.type)  # click shares some type instances between parameters
    param.type.convert = _convert_with(param.type.convert, expected)


def _convert_with(convert: Any, expected: str) -> Any:
    def plain_convert(value: Any, param: Any, ctx: Any) -> Any:
        try:
            return convert(value, param, ctx)
        except typer.BadParameter:
            given = shlex.quote(str(value))
            raise PlainBadParameter(f"{flag_of(param)} {given}: {expected}", ctx, param) from None

    return plain_convert


def _expected(kind: Any) -> str | None:
    """What a parameter of this type takes, as the second half of its error sentence."""
    choices = getattr(kind, "choices", None)
    if choices:
        names = [str(c) for c in choices]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"use {listed}"
    what = {"integer": "a whole number", "int": "a whole number", "float": "a number"}.get(
        kind.name.split()[0]
    )
    if what is None:
        return None
    low, high = getattr(kind, "min", None), getattr(kind, "max", None)
    if low is not None and high is not None:
        return f"use {what} from {low:g} to {high:g}"
    if low is not None:
        return f"use {what} of at least {low:g}"
    if high is not None:
        return f"use {what} of at most {high:g}"
    return f"use {what}"


class _WordedOption(TyperOption):
    """An option whose help says its range and default in words: ``[default: 8; 1 to 64]``,
    not ``[default: 8; 1<=x<=64]``, and ``1000`` rather than ``1000.0``."""

    def get_help_record(self, ctx: Any) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        names, text = record
        text = _QUOTED_DEFAULT.sub(r"default: \1", _FLOAT_DEFAULT.sub(r"\1", text))
        return names, _RANGE.sub(_range_in_words, text)


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_RANGE = re.compile(rf"{_NUMBER}<=?x<=?{_NUMBER}|x>=?{_NUMBER}|x<=?{_NUMBER}")
_FLOAT_DEFAULT = re.compile(r"(default: -?\d+)\.0(?=[;\]])")
_QUOTED_DEFAULT = re.compile(r"default: \(([^()]*)\)")  # click's way with show_default="3"


def _range_in_words(match: re.Match[str]) -> str:
    low, high, only_low, only_high = (_whole(g) for g in match.groups())
    if low is not None:
        return f"{low} to {high}"
    return f"at least {only_low}" if only_low is not None else f"at most {only_high}"


def _whole(number: str | None) -> str | None:
    return None if number is None else f"{float(number):g}"


class _ListedArgument(TyperArgument):
    """``NUMBER...`` for an argument that takes several, ``[FILE.csv]`` when it may be left
    out (Typer writes ``{NUMBER}`` and ``NUMBER:<list[str]>``)."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:
        var = self.metavar or (self.name or "").upper()
        if self.nargs != 1:
            var += "..."
        return f"[{var}]" if usage and not self.required else var
