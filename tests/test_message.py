"""Tests for clicksms.message.text: encoding choice, septet/unit counts and part splitting."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from clicksms.errors import UsageError
from clicksms.message.text import (
    GSM_BASIC,
    GSM_EXTENSION,
    MAX_PARTS,
    EncodedMessage,
    NotGsmError,
    encode,
    gsm_parts,
    prepare,
    septets,
    ucs2_hex,
    ucs2_parts,
)

EMOJI = "😀"  # U+1F600, outside the BMP: UTF-16 surrogate pair D83D DE00


# --- alphabet tables --------------------------------------------------------


def test_gsm_basic_has_127_characters_without_esc() -> None:
    # 128 code points in the default table minus ESC (0x1B).
    assert len(GSM_BASIC) == 127
    assert "\x1b" not in GSM_BASIC
    assert GSM_BASIC.isdisjoint(GSM_EXTENSION)


@pytest.mark.parametrize("ch", list("\n\rßÆÉÑÜ¡¿ΔΦΓΛΩΠΨΣΘΞ @£$¥èéùìòÇØøÅåäöñüàÄÖ§¤_"))
def test_in_gsm_basic(ch: str) -> None:
    assert ch in GSM_BASIC


@pytest.mark.parametrize(
    "ch",
    # Look-alikes that are NOT in GSM 03.38: lowercase ç, accented vowels other than
    # the table's, backtick, tab, curly quotes, Greek lowercase, ESC itself.
    list("çïáêâíóúÁÈ`\t\u2019\u201c\u03b1\u03c9\x1b€^{}\\[~]|\f"),
)
def test_not_in_gsm_basic(ch: str) -> None:
    assert ch not in GSM_BASIC


def test_gsm_extension_exact() -> None:
    assert frozenset("^{}\\[~]|€\f") == GSM_EXTENSION


# --- septets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        (" ", 1),
        ("\n", 1),
        ("\r", 1),
        ("\r\n", 2),
        ("€", 2),
        ("\f", 2),
        ("[]", 4),
        ("a^b", 4),
        ("Hello @£$¥", 10),
        ("{x}" * 10, 50),
    ],
)
def test_septets(text: str, expected: int) -> None:
    assert septets(text) == expected


def test_septets_rejects_non_gsm() -> None:
    with pytest.raises(NotGsmError) as exc:
        septets("aï")
    assert exc.value.offending == ((1, "ï"),)


# --- GSM part counting ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),  # 160 septets exactly
        ("€" * 81, 2),  # 162 septets; 76 € (152 septets) per part -> 76 + 5
        ("€" * 80 + "a", 2),  # 161 septets
        # 152 'a' then '€' would occupy septets 153-154, straddling the 153 boundary,
        # so the whole escape pair moves to part 2: part 1 = 152 septets,
        # part 2 = € (2) + 151 'a' = 153, part 3 = the last 'a'. 306 septets total,
        # which naive ceil(306 / 153) would wrongly call 2 parts.
        ("a" * 152 + "€" + "a" * 152, 3),
        # Same but one 'a' shorter: part 1 = 152, part 2 = 2 + 151 = 153 -> 2 parts.
        ("a" * 152 + "€" + "a" * 151, 2),
        # 151 'a' + '€' fills part 1 exactly (septets 152-153): nothing moves,
        # part 2 = 153 'a' -> 2 parts for 306 septets.
        ("a" * 151 + "€" + "a" * 153, 2),
        # 153 '€' = 306 septets; only 76 fit per part (152 septets) -> 76 + 76 + 1 = 3.
        ("€" * 153, 3),
        ("a" * (153 * MAX_PARTS), MAX_PARTS),
        ("a" * (153 * MAX_PARTS + 1), MAX_PARTS + 1),
    ],
)
def test_gsm_parts(text: str, expected: int) -> None:
    assert gsm_parts(text) == expected


def test_gsm_parts_rejects_non_gsm() -> None:
    with pytest.raises(NotGsmError):
        gsm_parts("ж")


# --- UCS-2 part counting ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ж", 1),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("ж" * 201, 3),
        ("ж" * 202, 4),
        (EMOJI * 35, 1),  # 70 code units exactly
        (EMOJI * 36, 2),  # 72 units; 33 pairs (66 units) per part -> 33 + 3
        # 66 'ж' then the emoji's pair would take units 67-68, straddling the 67
        # boundary, so it moves whole to part 2: part 1 = 66, part 2 = 2 + 65 = 67,
        # part 3 = the last 'ж'. 134 units total, naive ceil(134 / 67) says 2.
        ("ж" * 66 + EMOJI + "ж" * 66, 3),
        # 65 'ж' + emoji fills part 1 exactly (units 66-67): 67 + 67 -> 2 parts.
        ("ж" * 65 + EMOJI + "ж" * 67, 2),
        ("a", 1),  # ASCII under unicode=always still counts 1 unit per char
    ],
)
def test_ucs2_parts(text: str, expected: int) -> None:
    assert ucs2_parts(text) == expected


# --- hex --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ΩΨΘ", "03A903A80398"),
        (EMOJI, "D83DDE00"),
        ("A", "0041"),
        ("ж", "0436"),
        ("é\n", "00E9000A"),
        ("", ""),
    ],
)
def test_ucs2_hex(text: str, expected: str) -> None:
    assert ucs2_hex(text) == expected


def test_ucs2_hex_rejects_lone_surrogate() -> None:
    with pytest.raises(ValueError):
        ucs2_hex("\ud83d")


# --- encode -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("Hello @£$¥", "auto", EncodedMessage("Hello @£$¥", False, 1, 10, ())),
        ("€", "auto", EncodedMessage("€", False, 1, 2, ())),
        ("a\r\nb", "auto", EncodedMessage("a\r\nb", False, 1, 4, ())),
        (" ", "auto", EncodedMessage(" ", False, 1, 1, ())),  # whitespace is not "empty" here
        ("a" * 161, "never", EncodedMessage("a" * 161, False, 2, 161, ())),
        (
            "naïve",
            "auto",
            EncodedMessage("006E006100EF00760065", True, 1, 5, ((2, "ï"),)),
        ),
        # Greek capitals are in the GSM table, so API.md's UCS-2 example stays GSM in auto.
        ("ΩΨΘ", "auto", EncodedMessage("ΩΨΘ", False, 1, 3, ())),
        ("ΩΨΘ", "always", EncodedMessage("03A903A80398", True, 1, 3, ())),
        (
            "ж" * 71,
            "auto",
            EncodedMessage("0436" * 71, True, 2, 71, tuple((i, "ж") for i in range(71))),
        ),
        ("Hi", "always", EncodedMessage("00480069", True, 1, 2, ())),
        (
            "a" + EMOJI,
            "auto",
            EncodedMessage("0061D83DDE00", True, 1, 3, ((1, EMOJI),)),
        ),
        (
            "naïve",
            "always",
            EncodedMessage("006E006100EF00760065", True, 1, 5, ((2, "ï"),)),
        ),
    ],
)
def test_encode(text: str, mode: str, expected: EncodedMessage) -> None:
    assert encode(text, mode) == expected


def test_encode_default_mode_is_auto() -> None:
    assert encode("naïve") == encode("naïve", "auto")
    assert encode("plain") == encode("plain", "auto")


@pytest.mark.parametrize(("text", "expected"), [("a", "GSM-7"), ("ï", "UCS-2")])
def test_encoding_property(text: str, expected: str) -> None:
    assert encode(text).encoding == expected


def test_encoding_property_always() -> None:
    assert encode("a", "always").encoding == "UCS-2"


def test_encode_never_error_names_chars_and_positions() -> None:
    # ü and ß ARE in the GSM table (0x7E, 0x1E); ï (index 8) and the emoji (index 12) are not.
    with pytest.raises(NotGsmError) as exc:
        encode("Grüße naïve 😀", "never")
    assert exc.value.offending == ((8, "ï"), (12, EMOJI))
    assert str(exc.value) == (
        "text has characters that are not in the GSM alphabet: "
        "'ï' at position 9, '😀' at position 13"
    )
    assert isinstance(exc.value, ValueError)


def test_not_gsm_error_shows_invisible_chars_escaped() -> None:
    with pytest.raises(NotGsmError, match=r"'\\t' at position 2"):
        encode("a\tb", "never")


def test_not_gsm_error_pickles() -> None:
    err = NotGsmError(((3, "ü"),))
    again = pickle.loads(pickle.dumps(err))
    assert again.offending == ((3, "ü"),)
    assert str(again) == str(err)


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
def test_encode_empty_raises(mode: str) -> None:
    with pytest.raises(ValueError, match=r"^message text is empty$"):
        encode("", mode)


@pytest.mark.parametrize("mode", ["", "yes", "AUTO", "true"])
def test_encode_rejects_unknown_mode(mode: str) -> None:
    with pytest.raises(ValueError, match="unicode must be one of"):
        encode("a", mode)


def test_encoded_message_is_frozen() -> None:
    msg = encode("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.parts = 2  # type: ignore[misc]


def test_encode_parts_match_helpers_at_boundary() -> None:
    text = "a" * 152 + "€" + "a" * 152
    msg = encode(text)
    assert (msg.unicode, msg.units, msg.parts) == (False, 306, 3)


@pytest.mark.parametrize("length", [1, 159, 160, 161, 305, 306, 307, 459, 460])
@pytest.mark.parametrize("mode", ["auto", "never"])
def test_encode_basic_alphabet_agrees_with_helpers(length: int, mode: str) -> None:
    # Texts of the basic table only take a shortcut; it must count as the general rules do.
    alphabet = "".join(sorted(GSM_BASIC))
    text = (alphabet * (length // len(alphabet) + 1))[:length]
    msg = encode(text, mode)
    assert (msg.text, msg.unicode, msg.non_gsm) == (text, False, ())
    assert (msg.units, msg.parts) == (septets(text), gsm_parts(text))


def test_prepare_names_every_control_character_xml_cannot_carry() -> None:
    allowed = "\t\n\r\x7f\x85\x9f"  # XML 1.0 carries these; only C0 controls are refused
    assert prepare(f"a{allowed}b", "always").text == ucs2_hex(f"a{allowed}b")
    with pytest.raises(UsageError) as caught:
        prepare("a\x00b\x0bc\x0c\x1f", "always")
    assert "U+0000 at position 2, U+000B at position 4, U+000C at position 6, U+001F at" in str(
        caught.value
    )
