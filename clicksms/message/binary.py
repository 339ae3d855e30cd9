"""8-bit content for ``--udh``/``--data``: hex checked and sized before any network call.

With a User Data Header the gateway sends the message as 8-bit and puts the payload in
``data`` (API.md §5.1, §6). One SMS carries 140 octets including the UDH, and a message with
its own UDH cannot be split by the gateway, so the whole content must fit one part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clicksms.errors import UsageError

MAX_OCTETS = 140  # one 8-bit SMS, UDH included

_HEX = re.compile(r"[0-9A-Fa-f]+")
_SEPARATORS = str.maketrans("", "", " :-")


@dataclass(frozen=True)
class BinaryMessage:
    """The ``udh`` and ``data`` fields (uppercase hex) and their size in octets."""

    udh: str
    data: str

    @property
    def octets(self) -> int:
        return (len(self.udh) + len(self.data)) // 2

    @property
    def parts(self) -> int:
        return 1

    @property
    def encoding(self) -> str:
        return "8-bit"


def parse_hex(value: str, option: str) -> str:
    """Uppercase hex octets; spaces, colons and dashes between octets are allowed."""
    cleaned = value.strip().translate(_SEPARATORS).removeprefix("0x").removeprefix("0X")
    if not cleaned:
        raise UsageError(f"{option} is empty: give hex octets, e.g. 050003CC0201")
    if not _HEX.fullmatch(cleaned):
        bad = next(ch for ch in cleaned if ch not in "0123456789abcdefABCDEF")
        raise UsageError(f"{option} is not hex: {bad!r} is not one of 0-9 and A-F")
    if len(cleaned) % 2:
        raise UsageError(
            f"{option} has {len(cleaned)} hex digits; octets need an even number of them"
        )
    return cleaned.upper()


def prepare_binary(udh: str | None, data: str | None) -> BinaryMessage:
    """Check ``--udh``/``--data`` the way the gateway would (102, 113) and say how to fix it."""
    if data is None:
        raise UsageError("--udh needs --data: the UDH only describes the payload in --data")
    payload = parse_hex(data, "--data")
    header = parse_hex(udh, "--udh") if udh is not None else ""
    if header:
        declared, actual = int(header[:2], 16), len(header) // 2 - 1
        if declared != actual:
            raise UsageError(
                f"--udh length byte says {declared} octets follow but {actual} do: "
                "the first octet (UDHL) counts the octets after it"
            )
    message = BinaryMessage(udh=header, data=payload)
    if message.octets > MAX_OCTETS:
        raise UsageError(
            f"binary message is {message.octets} octets (UDH {len(header) // 2} + data "
            f"{len(payload) // 2}); one SMS carries at most {MAX_OCTETS}"
        )
    return message
