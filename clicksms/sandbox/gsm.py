"""Message length rules: GSM 03.38 septets, UCS-2 code units and 8-bit octets.

This is deliberately independent of the client's own counting (clicksms.message.text), so a
counting bug in the client shows up as a disagreement with the sandbox (API.md §6):

* GSM 7-bit: 160 septets in one SMS, 153 per part when concatenated; extension-table
  characters (form feed and ``^{}\\[~]|€``) take two septets. Characters outside GSM 03.38
  in a non-unicode text count one septet each and reach the handset as ``?``.
* UCS-2 (``unicode=1``): the text is hex of big-endian UTF-16 code units; 70 units in one
  SMS, 67 per part.
* A part never ends between an escape and its character, or between the two halves of a
  surrogate pair: a handset could not rebuild either. This is the strict reading, so a
  client that counts with plain division gets ERR 113 here rather than in the field.
* 8-bit (``data``): 140 octets in one SMS, 134 per part (6-octet concatenation header).
"""

from __future__ import annotations

import re

# GSM 03.38 default alphabet, code points 0x00-0x7F in order; 0x1B (ESC) is only an escape
# prefix, never a character on its own, so it is left out.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table (reached through ESC): two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[]~|€")

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
OCTET_SINGLE, OCTET_MULTI = 140, 134

_HEX = re.compile(r"[0-9A-Fa-f]*")


def parts_for(length: int, single: int, multi: int) -> int:
    """Parts needed for ``length`` units: one if it fits ``single``, else ceil(length/multi)."""
    if length <= single:
        return 1
    return -(-length // multi)


def packed_parts(widths: list[int], single: int, multi: int) -> int:
    """Parts needed when no unit of ``widths`` (an escape pair, a surrogate pair) is split."""
    if sum(widths) <= single:
        return 1
    parts, room = 1, multi
    for width in widths:
        if width > room:
            parts, room = parts + 1, multi
        room -= width
    return parts


def septet_count(text: str) -> int:
    """Septets a plain text occupies; unrepresentable characters count as one ('?')."""
    return sum(_septet_widths(text))


def _septet_widths(text: str) -> list[int]:
    return [2 if ch in GSM_EXTENSION else 1 for ch in text]


def gsm_parts(text: str) -> int:
    return packed_parts(_septet_widths(text), GSM_SINGLE, GSM_MULTI)


def handset_text(text: str) -> str:
    """What a handset shows for a plain text: non-GSM characters become '?'."""
    return "".join(ch if ch in GSM_BASIC or ch in GSM_EXTENSION else "?" for ch in text)


def is_hex(value: str) -> bool:
    return _HEX.fullmatch(value) is not None


def is_ucs2_hex(value: str) -> bool:
    """True for a non-empty run of 4-hex-digit code units (no separators, no 0x), big-endian
    without a byte order mark: one in either order is the classic mistake that earns ERR 116
    (API.md §6)."""
    bom = value[:4].upper() in ("FEFF", "FFFE")
    return bool(value) and len(value) % 4 == 0 and is_hex(value) and not bom


def ucs2_parts(hex_text: str) -> int:
    units = [int(hex_text[i : i + 4], 16) for i in range(0, len(hex_text), 4)]
    widths: list[int] = []
    for unit in units:
        if 0xDC00 <= unit <= 0xDFFF and widths and widths[-1] == -1:
            widths[-1] = 2  # low surrogate completes the pair started before it
        else:
            widths.append(-1 if 0xD800 <= unit <= 0xDBFF else 1)
    return packed_parts([abs(w) for w in widths], UCS2_SINGLE, UCS2_MULTI)


def decode_ucs2(hex_text: str) -> str:
    """Decode UTF-16BE hex; lone surrogates become U+FFFD so the ledger stays valid UTF-8."""
    return bytes.fromhex(hex_text).decode("utf-16-be", errors="replace")


def is_octet_hex(value: str) -> bool:
    return len(value) % 2 == 0 and is_hex(value)


def octet_parts(octets: int) -> int:
    return parts_for(octets, OCTET_SINGLE, OCTET_MULTI)
