"""The app's commands, each imported and built only when something asks for it.

Building a Typer command reads its function's signature and makes a click parameter of each
option; doing that for every command costs a one-shot ``clicksms send`` more than the send
itself needs. :class:`LazyCommands` is the root group's ``commands`` mapping: its names are
known from the table in :mod:`clicksms.cli.app`, and a command's module is imported and the
command built (through Typer's public ``typer.main.get_command``, as Typer builds the whole
app) the first time its value is read. Running a command builds that command alone;
``clicksms --help`` and ``clicksms <TAB>``, which show every command's short help, build
them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer

from clicksms.cli.wording import speak_plainly


class LazyCommands(MutableMapping[str, Any]):
    """Commands by name, in the table's order; each value is built on first read.

    ``table`` maps a command's name to ``"module:name"`` in :mod:`clicksms.cli`. Knowing
    whether a name is a command (``in``, iteration, ``len``) builds nothing.
    """

    def __init__(self, table: Mapping[str, str]) -> None:
        self._entries: dict[str, Any] = dict(table)  # "module:name" until built

    def __getitem__(self, name: str) -> Any:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = build_command(name, entry)
        return entry

    def __setitem__(self, name: str, command: Any) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def build_command(name: str, target: str) -> Any:
    """The click command ``name`` for ``target`` (``"module:name"``), as the whole app would
    have built it, in clicksms's wording (:mod:`clicksms.cli.wording`).

    ``target`` names a function, made a command as ``app.command(name)`` would, or a
    ``typer.Typer`` of subcommands, made a group as ``app.add_typer(..., name=name)`` would.
    """
    module, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(f"clicksms.cli.{module}"), attribute)
    alone = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    if isinstance(found, typer.Typer):
        alone.add_typer(found, name=name)
        command = typer.main.get_command(alone).commands[name]  # type: ignore[attr-defined]
    else:
        alone.command(name)(found)
        command = typer.main.get_command(alone)
    speak_plainly(command)
    return command
