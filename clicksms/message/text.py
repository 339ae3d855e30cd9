"""Decide how a message text goes on the wire and how many SMS parts it costs.

Clickatell's ``sendmsg`` takes plain text for the GSM 03.38 alphabet, or, with
``unicode=1``, the UCS-2 big-endian code units as uppercase hex (API.md §5.1).
The gateway splits long messages itself; the client only sets the *maximum*
number of parts (``concat``), so we must predict the split exactly to choose a
sensible ``concat`` and to warn about cost before sending (API.md §6, §13.6).
:func:`prepare` is the entry point for user text: it refuses what cannot or should not be
sent before :func:`encode` decides the wire form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from clicksms.errors import UsageError

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "MAX_PARTS",
    "EncodedMessage",
    "NotGsmError",
    "encode",
    "gsm_parts",
    "prepare",
    "septets",
    "ucs2_hex",
    "ucs2_parts",
]

# GSM 03.38 default alphabet, in table order (0x00-0x7F), with ESC (0x1B) left
# out because it only introduces an extension-table character.
GSM_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Extension table: each is sent as ESC + code, so it costs two septets.
GSM_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

#: Clickatell's documented ceiling for ``concat``; callers enforce it, we only report.
MAX_PARTS = 35

GSM_SINGLE = 160  # septets in an unsplit GSM-7 SMS
GSM_PART = 153  # septets per part once the UDH is added
UCS2_SINGLE = 70  # UTF-16 code units in an unsplit UCS-2 SMS
UCS2_PART = 67  # code units per part once the UDH is added

_MODES: frozenset[str] = frozenset({"auto", "always", "never"})

# XML 1.0 allows only tab, LF and CR below U+0020 (so not even GSM's form feed). These are the
# other C0 controls; C1 (U+007F-U+009F) is allowed. One C-speed search instead of a Python
# call per character: bulk prepares every personalised row's text.
_FORBIDDEN_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class NotGsmError(ValueError):
    """Raised when text must go out as GSM-7 but has characters GSM cannot carry.

    ``offending`` holds ``(index, char)`` pairs so a caller can point at them.
    """

    def __init__(self, offending: tuple[tuple[int, str], ...]) -> None:
        self.offending = tuple(offending)
        listed = ", ".join(f"{ch!r} at position {i + 1}" for i, ch in self.offending[:10])
        if len(self.offending) > 10:
            listed += f" and {len(self.offending) - 10} more"
        super().__init__(f"text has characters that are not in the GSM alphabet: {listed}")

    def __reduce__(self) -> tuple[type[NotGsmError], tuple[tuple[tuple[int, str], ...]]]:
        # Default exception pickling would pass the message back as ``offending``.
        return (type(self), (self.offending,))


@dataclass(frozen=True)
class EncodedMessage:
    """A text ready for ``sendmsg``: the ``text`` and ``unicode`` fields plus its cost."""

    text: str
    unicode: bool
    parts: int
    units: int
    non_gsm: tuple[tuple[int, str], ...]

    @property
    def encoding(self) -> str:
        """Human-readable name of the wire encoding, for CLI output."""
        return "UCS-2" if self.unicode else "GSM-7"


def _non_gsm(text: str) -> tuple[tuple[int, str], ...]:
    """Every ``(index, char)`` that neither GSM table can represent."""
    return tuple(
        (i, ch) for i, ch in enumerate(text) if ch not in GSM_BASIC and ch not in GSM_EXTENSION
    )


def _septet_widths(text: str) -> list[int]:
    """Septets per character; raises NotGsmError so miscounts can't happen silently."""
    bad = _non_gsm(text)
    if bad:
        raise NotGsmError(bad)
    return [2 if ch in GSM_EXTENSION else 1 for ch in text]


def _utf16_widths(text: str) -> list[int]:
    """UTF-16 code units per character: 2 for anything outside the BMP (a surrogate pair)."""
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _count_parts(widths: list[int], single: int, per_part: int) -> int:
    """Pack indivisible units greedily, as the gateway does.

    A 2-unit item (escape pair, surrogate pair) that would straddle a part
    boundary moves whole to the next part, so simple ceil division undercounts.
    """
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for w in widths:
        if used + w > per_part:
            parts += 1
            used = 0
        used += w
    return parts


def septets(text: str) -> int:
    """GSM-7 length in septets; extension characters cost 2. Raises NotGsmError."""
    return sum(_septet_widths(text))


def gsm_parts(text: str) -> int:
    """SMS parts for GSM-7: 1 up to 160 septets, else 153 per part, escapes unsplit."""
    return _count_parts(_septet_widths(text), GSM_SINGLE, GSM_PART)


def ucs2_parts(text: str) -> int:
    """SMS parts for UCS-2: 1 up to 70 code units, else 67 per part, surrogate pairs unsplit."""
    return _count_parts(_utf16_widths(text), UCS2_SINGLE, UCS2_PART)


def ucs2_hex(text: str) -> str:
    """The ``text`` field for ``unicode=1``: UTF-16BE, no BOM, uppercase hex.

    A BOM or little-endian order gets ``ERR: 116`` from the gateway. Lone
    surrogates raise UnicodeEncodeError (a ValueError) rather than send garbage.
    """
    return text.encode("utf-16-be").hex().upper()


def encode(text: str, unicode: str = "auto") -> EncodedMessage:
    """Choose GSM-7 or UCS-2 for ``text`` and compute what it will cost.

    ``unicode``: ``"auto"`` uses GSM-7 when every character fits (twice the
    capacity per part), ``"always"`` forces UCS-2, ``"never"`` forces GSM-7 and
    raises NotGsmError instead of letting the handset show mangled characters.
    ``non_gsm`` lists the characters GSM cannot carry whenever UCS-2 is used.
    Does not enforce MAX_PARTS: the caller knows the ``concat`` limit.
    """
    if unicode not in _MODES:
        raise ValueError(f"unicode must be one of 'auto', 'always', 'never', not {unicode!r}")
    if text == "":
        raise ValueError("message text is empty")
    if unicode != "always" and GSM_BASIC.issuperset(text):
        # The common case, counted in C: one septet per character, so nothing can straddle
        # a part boundary and the greedy packing below is plain ceiling division.
        count = len(text)
        parts = 1 if count <= GSM_SINGLE else -(-count // GSM_PART)
        return EncodedMessage(text=text, unicode=False, parts=parts, units=count, non_gsm=())
    bad = _non_gsm(text)
    if unicode == "never" and bad:
        raise NotGsmError(bad)
    if unicode == "always" or bad:
        return EncodedMessage(
            text=ucs2_hex(text),
            unicode=True,
            parts=ucs2_parts(text),
            units=sum(_utf16_widths(text)),
            non_gsm=bad,
        )
    return EncodedMessage(
        text=text,
        unicode=False,
        parts=gsm_parts(text),
        units=septets(text),
        non_gsm=(),
    )


def prepare(text: str, unicode: str = "auto") -> EncodedMessage:
    """Encode ``text``, refusing what the gateway would reject or what is surely a mistake.

    Text is NFC-normalised first, so an ``e`` + combining accent from a pasted document is the
    single GSM ``é`` it looks like instead of forcing the whole message into UCS-2.
    """
    # A byte order mark pasted along with the text: invisible, and ERR 116 at the gateway.
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UsageError("message text is empty: pass --text or pipe the text on stdin")
    text = unicodedata.normalize("NFC", text)
    controls = [(m.start(), m.group()) for m in _FORBIDDEN_CONTROL.finditer(text)]
    if controls:
        listed = ", ".join(f"U+{ord(ch):04X} at position {i + 1}" for i, ch in controls[:5])
        raise UsageError(
            f"message text has control characters SOAP cannot carry: {listed}; remove them"
        )
    try:
        message = encode(text, unicode)
    except NotGsmError as exc:
        raise UsageError(
            f"--unicode never, but the {exc}; replace them, or drop --unicode never to send "
            "the text as UCS-2"
        ) from None
    except UnicodeError:  # lone surrogates: bytes that were not UTF-8 in argv or stdin
        raise UsageError(
            "message text is not valid UTF-8: check the terminal's or the script's encoding"
        ) from None
    if message.parts > MAX_PARTS:
        raise UsageError(
            f"message needs {message.parts} SMS parts; Clickatell allows at most {MAX_PARTS}"
        )
    return message
