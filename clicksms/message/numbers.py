"""Phone number normalisation to Clickatell's form (country code + national number, digits only).

One set of rules serves ``validate-number``, ``send`` and later ``bulk``, so a number that
validates is exactly the number that gets sent. phonenumbers is imported inside the functions:
it is slow to load and ``clicksms --help`` must not pay for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clicksms.errors import UsageError
from clicksms.message.number_rules import valid_region

_FORMATTING = re.compile(r"[\s\-().\u00a0\ufeff/]")
_SHAPE = re.compile(r"\+?[0-9]+")
_SHAPE_ERROR = "not a phone number: use digits (spaces, dashes, dots, brackets allowed), + first"

_TYPE_NAMES = {
    0: "fixed_line",
    1: "mobile",
    2: "fixed_line_or_mobile",
    3: "toll_free",
    4: "premium_rate",
    5: "shared_cost",
    6: "voip",
    7: "personal_number",
    8: "pager",
    9: "uan",
    10: "voicemail",
}


# Slotted, not frozen: built for every row (see JobRow in clicksms.bulk.journal).
@dataclass(slots=True)
class NumberCheck:
    """The verdict on one input: the Clickatell-form number when valid, else why not."""

    input: str
    valid: bool
    number: str | None = None
    region: str | None = None
    type: str | None = None
    error: str | None = None


def check_country(country: str | None, where: str = "--country or CLICKSMS_COUNTRY") -> str | None:
    """Validate a default region like ``ZA``; None stays None. ``where`` names the setting."""
    if country is None or not country.strip():
        return None
    import phonenumbers

    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise UsageError(
            f"unknown country {country!r} ({where}): "
            f"use a two-letter region code such as ZA or GB{hint}"
        )
    return code


def check_number(raw: str, country: str | None = None) -> NumberCheck:
    """Normalise ``raw``; ``country`` (already checked) is the region for national numbers.

    ``+27…`` and ``0027…`` are international. A digits-only number that starts with the default
    country's calling code, or any digits-only number when no country is set, is read as
    Clickatell's own form (``27821234567``). Otherwise a default country reads it as national.
    """
    import phonenumbers

    text = raw.strip()
    compact = _FORMATTING.sub("", text)
    if not compact:
        return NumberCheck(input=raw, valid=False, error="empty number")
    if compact.startswith("00"):
        compact = "+" + compact[2:]

    if not _SHAPE.fullmatch(compact):
        return NumberCheck(input=raw, valid=False, error=_SHAPE_ERROR)

    candidates: list[tuple[str, str | None]] = []
    if compact.startswith("+"):
        candidates.append((compact, None))
    elif compact.startswith("0"):
        if country is None:
            return NumberCheck(
                input=raw,
                valid=False,
                error="national number without a country: use +<country code> or --country",
            )
        candidates.append((compact, country))
    else:
        international = ("+" + compact, None)
        if country is None:
            candidates.append(international)
        else:
            calling_code = str(phonenumbers.country_code_for_region(country))
            national = (compact, country)
            if compact.startswith(calling_code):
                candidates += [international, national]
            else:
                candidates += [national, international]

    first_error = None
    for text_to_parse, region in candidates:
        verdict = _parse(raw, text_to_parse, region)
        if verdict.valid:
            return verdict
        first_error = first_error or verdict
    assert first_error is not None
    return first_error


def _parse(raw: str, text: str, region: str | None) -> NumberCheck:
    """Ask libphonenumber about one reading of the input."""
    import phonenumbers
    from phonenumbers import NumberParseException

    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return NumberCheck(input=raw, valid=False, error=_parse_error(exc))
    region_code = phonenumbers.region_code_for_number(parsed)
    if not phonenumbers.is_valid_number(parsed):
        return NumberCheck(
            input=raw, valid=False, region=region_code, error=_invalid_reason(parsed, region_code)
        )
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    kind = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown")
    return NumberCheck(input=raw, valid=True, number=number, region=region_code, type=kind)


def _parse_error(exc: Exception) -> str:
    from phonenumbers import NumberParseException

    reasons = {
        NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
        NumberParseException.NOT_A_NUMBER: "not a phone number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(getattr(exc, "error_type", None), "not a phone number")


def _invalid_reason(parsed: object, region: str | None) -> str:
    import phonenumbers
    from phonenumbers import ValidationResult

    reason = phonenumbers.is_possible_number_with_reason(parsed)
    where = f" for {region}" if region and region != "001" else ""
    reasons = {
        ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
        ValidationResult.TOO_SHORT: f"too short{where}",
        ValidationResult.TOO_LONG: f"too long{where}",
        ValidationResult.INVALID_LENGTH: f"wrong length{where}",
    }
    if reason in reasons:
        return reasons[reason]
    code = getattr(parsed, "country_code", None)
    if region in (None, "ZZ") and code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return "unknown country calling code"
    return f"not a valid number{where or f' for +{code}'}"


def normalise_number(raw: str, country: str | None = None) -> NumberCheck:
    """:func:`check_number` for bulk: the same verdict, many times faster when valid.

    Most bulk rows are international numbers. Splitting the calling code off the digits and
    trying libphonenumber's rules on them (compiled once: :mod:`.number_rules`) skips its
    general-purpose parser and its per-call pattern lookups, the costliest steps. Only a
    *valid* answer is taken from this shortcut (without the number type, which bulk does not
    use); anything else goes the full way, so invalid rows get the same reasons as in
    ``validate-number``.
    """
    import phonenumbers

    compact = _FORMATTING.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    international = compact.startswith("+") or (
        not compact.startswith("0")
        and (
            country is None or digits.startswith(str(phonenumbers.country_code_for_region(country)))
        )
    )
    if international and digits.isdigit() and digits.isascii():
        found = _valid_international(digits)
        if found is not None:
            return NumberCheck(input=raw, valid=True, number=digits, region=found)
    return check_number(raw, country)


def _valid_international(digits: str) -> str | None:
    """The region of ``digits`` (calling code + national number) when valid as written."""
    import phonenumbers

    for size in (1, 2, 3):  # calling codes are 1-3 digits and prefix-free
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national.startswith("0"):
                return None  # leading zeros need the full parser (e.g. Italy)
            return valid_region(code, national)
    return None
