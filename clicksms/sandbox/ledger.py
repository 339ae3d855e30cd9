"""The ledger: one JSON line per accepted message, appended per request and read back at start.

It is what the sandbox remembers across a restart, as the real gateway does not forget. A
request's records go out in one append, so a kill can only cut the last line short; reading
drops such a line (and cuts it off the file, or the next record would be glued to it). Any
other line that is not a record is an error, not something to skip silently.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clicksms.sandbox.messages import Message


class LedgerError(ValueError):
    """The ledger holds a line that is not a message record (not a torn last line)."""


@dataclass
class Loaded:
    """What reading a ledger found: its records, and the bytes of a torn last line dropped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0


def record_of(
    message: Message,
    *,
    op: str,
    text: str,
    unicode: int,
    concat: int,
    sender: str | None,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """The ledger record of a message just accepted (README lists its keys); ``op`` is the
    operation that sent it (sendmsg, senditem, quicksend, si_push, ind_push)."""
    return {
        "op": op,
        "to": message.to,
        "text": text,
        "unicode": unicode,
        "parts": message.parts,
        "concat": concat,
        "from": sender,
        "apimsgid": message.apimsgid,
        "climsgid": message.climsgid,
        "time": message.accepted_at,
        "charge": message.charge,
        "fields": fields,
    }


# One encoder for every record: json.dumps builds a new one per call when given options.
_encode = json.JSONEncoder(ensure_ascii=False).encode


class Ledger:
    """The records of accepted messages, in memory and (with a path) in the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._unwritten: list[str] = []

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self.path is not None:
            self._unwritten.append(_encode(record) + "\n")

    def flush(self) -> None:
        """Append the records added since the last flush to the file, in one write."""
        if not self._unwritten or self.path is None:
            return
        data = "".join(self._unwritten).encode("utf-8")
        self._unwritten.clear()
        fd = open_for_append(self.path)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def load(self, each: Callable[[dict[str, Any]], None]) -> Loaded:
        """Read the file's records into memory, calling ``each`` on every one in order (to
        rebuild state); a ValueError it raises names the line. No file yet: nothing to read."""
        if self.path is None:
            return Loaded()
        try:
            loaded = _read(self.path, each)
        except FileNotFoundError:
            return Loaded()
        self.records.extend(loaded.records)
        return loaded


def open_for_append(path: Path) -> int:
    """The ledger's file descriptor for appending; a ledger the sandbox creates is 0600, as it
    holds numbers and message texts (an existing file keeps the mode its owner gave it)."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _read(path: Path, each: Callable[[dict[str, Any]], None]) -> Loaded:
    loaded = Loaded()
    end = 0  # offset just past the last complete line
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            complete = line.endswith(b"\n")
            if complete:
                end += len(line)
            if not line.strip():
                continue
            record = _parse(line)
            if record is None and not complete:  # the last line, cut short by a kill
                loaded.dropped = len(line)
                break
            try:
                if record is None:
                    raise ValueError("it is not a message record")
                each(record)
            except ValueError as exc:
                raise LedgerError(f"line {number}: {exc}") from None
            loaded.records.append(record)
    if loaded.dropped:
        os.truncate(path, end)
    elif end < path.stat().st_size:  # a whole record without its newline: end the line
        with path.open("ab") as fh:
            fh.write(b"\n")
    return loaded


_NUMBER = (int, float)


def _parse(line: bytes) -> dict[str, Any] | None:
    """A record with what a restart needs (keys and types), else None."""
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    checks = (
        isinstance(record.get("apimsgid"), str) and record["apimsgid"],
        isinstance(record.get("to"), str),
        record.get("climsgid") is None or isinstance(record.get("climsgid"), str),
        _is_number(record.get("time")),
        _is_number(record.get("charge")) and record["charge"] >= 0,
        isinstance(record.get("parts"), int) and not isinstance(record["parts"], bool),
        isinstance(record.get("fields"), dict),
    )
    return record if all(checks) else None


def _is_number(value: object) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool) and math.isfinite(value)
