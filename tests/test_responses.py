"""The gateway's answer strings (API.md §4.1) and error codes (§7), parsed and explained.

Most parsing is exercised end to end against the sandbox and the impostor server; these cases
pin the liberal forms the sandbox itself never sends.
"""

from __future__ import annotations

import pytest

from clicksms.errors import AuthError, GatewayError, ProtocolError, SessionExpired
from clicksms.gateway.codes import ERROR_MESSAGES, describe_error
from clicksms.gateway.responses import (
    clip,
    mask,
    mask_each,
    parse_error,
    parse_send_item,
    parse_session_id,
    session_expired,
)

#: Every code in API.md §7.
DOCUMENTED_CODES = [
    "001",
    "002",
    "003",
    "004",
    "005",
    "007",
    "100",
    "101",
    "102",
    "103",
    "104",
    "105",
    "106",
    "107",
    "108",
    "109",
    "110",
    "111",
    "112",
    "113",
    "114",
    "115",
    "116",
    "120",
    "121",
    "122",
    "123",
    "128",
    "130",
    "201",
    "202",
    "301",
    "302",
    "901",
]


def test_every_documented_code_has_our_own_sentence() -> None:
    assert sorted(ERROR_MESSAGES) == sorted(DOCUMENTED_CODES)
    assert all(ERROR_MESSAGES[c].strip() for c in DOCUMENTED_CODES)


def test_unknown_codes_keep_the_gateways_words() -> None:
    assert describe_error("999", "Something new") == "Something new"
    assert describe_error("999") == "gateway error 999"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("ID: 5a8f", (None, "5a8f", None)),
        ("ID:5a8f", (None, "5a8f", None)),
        ("ID: 5a8f To: 27821234567", ("27821234567", "5a8f", None)),
        ("ID: 5a8f  To:27821234567 ", ("27821234567", "5a8f", None)),
        ("ERR: 105, Invalid Destination Address", (None, None, "105")),
        ("ERR: 105, Invalid Destination Address To: 27821234567", ("27821234567", None, "105")),
        ("ERR:114,Cannot route message", (None, None, "114")),
    ],
)
def test_send_item_forms(reply: str, expected: tuple) -> None:
    item = parse_send_item(reply)
    code = item.error.code if item.error else None
    assert (item.to, item.message_id, code) == expected


@pytest.mark.parametrize("reply", ["", "OK", "Welcome", "ID:", "ERR: This prefix is not supported"])
def test_send_item_garbage(reply: str) -> None:
    with pytest.raises(ProtocolError):
        parse_send_item(reply)


def test_error_text_keeps_commas() -> None:
    err = parse_error("ERR: 130, Maximum MT limit exceeded until 1764100000, sorry")
    assert err is not None
    assert (err.code, err.text) == ("130", "Maximum MT limit exceeded until 1764100000, sorry")


def test_session_id_and_auth_errors() -> None:
    assert parse_session_id("OK: af25a6386301960c862278b980b02b29") == (
        "af25a6386301960c862278b980b02b29"
    )
    with pytest.raises(SessionExpired):
        parse_session_id("ERR: 003, Session ID expired")
    with pytest.raises(AuthError, match=r"\(ERR 001\)$"):
        parse_session_id("ERR: 001, Authentication failed")
    with pytest.raises(GatewayError) as info:
        parse_session_id("ERR: 901, Internal error")
    assert info.value.code == "901"


def test_session_expired_only_for_a_lone_003() -> None:
    assert session_expired(["ERR: 003, Session ID expired"])
    assert not session_expired(["ERR: 003, Session ID expired", "ID: 1 To: 2"])
    assert not session_expired(["ERR: 001, Authentication failed"])


# -- secrets a server echoes ----------------------------------------------------------------

SESSION = "5f3ac0de" * 4
SECRETS = {"password": "S3cret&PW<x>  y\tz", "session id": SESSION}


MASK_CASES = [
    ("bad S3cret&PW<x>  y\tz!", "bad <password hidden>!"),
    ("bad S3cret&amp;PW&lt;x&gt; y z!", "bad <password hidden>!"),  # escaped, collapsed
    ("bad S3cret&PW<x>\ny   z!", "bad <password hidden>!"),  # other whitespace
    ("bad S3cret&#38;PW&#060;x&#x3E; y z!", "bad <password hidden>!"),  # numeric references
    ("bad S3cret&#X26;PW&#x3c;x> y z!", "bad <password hidden>!"),  # hex in either case
    ("bad &#83;3cret&PW<x> y z!", "bad <password hidden>!"),  # any character may be one
    ("bad S3cret&PW<x>y z", "bad S3cret&PW<x>y z"),  # not the password: a gap missing
    ("cut: S3cret&P", "cut: <password hidden>"),
    ("cut: S3cret&amp;PW<…", "cut: <password hidden>…"),
    ("cut: S3cr... and more", "cut: <password hidden>... and more"),
    ("too short to tell: S3c", "too short to tell: S3c"),
    ("not a word's start: xS3cret&P", "not a word's start: xS3cret&P"),
    (f"ERR: 003, session {SESSION} expired", "ERR: 003, session <session id hidden> expired"),
    (f"ERR: 003, session {SESSION[:12]}", "ERR: 003, session <session id hidden>"),
]


@pytest.mark.parametrize(("text", "masked"), MASK_CASES)
def test_mask_finds_the_shapes_an_echo_takes(text: str, masked: str) -> None:
    assert mask(text, SECRETS) == masked


def test_mask_each_masks_every_text_as_mask_does() -> None:
    """The whole answer's shapes at once, each among texts that echo nothing."""
    plain = [f"ID: {n:032x} To: 2782{n:07d}" for n in range(300)]
    cases = [text for text, _ in MASK_CASES]
    texts = plain[:100] + cases + plain[100:]
    assert mask_each(texts, SECRETS) == [mask(text, SECRETS) for text in texts]
    for text, masked in MASK_CASES:
        assert mask_each([*plain[:3], text], SECRETS) == [*plain[:3], masked]
    assert mask_each(plain, SECRETS) == plain
    # A secret cut short at the end of one text that is not the last one.
    cut = ["ID: 1 To: 2", "ERR: 105, bad S3cret&P", "ID: 3 To: 4"]
    assert mask_each(cut, SECRETS) == ["ID: 1 To: 2", "ERR: 105, bad <password hidden>", cut[2]]


def test_mask_leaves_message_ids_that_merely_end_like_the_session() -> None:
    """A message ID whose last characters begin the session ID is no echo of it."""
    reply = f"ID: {'9' * 24}{SESSION[:8]} To: 27821234567"
    assert mask(reply, SECRETS) == reply
    assert mask(f"ID: {'9' * 24}{SESSION[:8]}", SECRETS) == f"ID: {'9' * 24}{SESSION[:8]}"


def test_masking_before_clipping_leaves_no_part_of_a_secret() -> None:
    text = "x" * 90 + " S3cret&PW<x>  y\tz and the rest"
    assert "S3cr" in clip(text), "clipping alone would show its start"
    assert clip(mask(text, SECRETS)) == "x" * 90 + " <password…"
