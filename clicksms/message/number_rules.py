"""libphonenumber's validity rules for one calling code, compiled once, for bulk's hot loop.

``phonenumbers.is_valid_number`` finds the region, then tries a number against up to eleven
descriptions (general, premium rate, toll free, ..., mobile), compiling (from re's cache)
each pattern on every call. A file of 10 000 numbers spends most of its planning there. The
rules below are read from the same metadata and give the same verdict: a number is valid
when it fits its region's general description and at least one type's (libphonenumber's
type is not UNKNOWN; the order it tries them in only decides which type, and a region whose
mobile and fixed-line patterns are the same is tried without mobile, as it does). Only bulk's
shortcut (:func:`clicksms.message.numbers.normalise_number`) uses it, for a *valid* answer;
``tests/test_validate.py`` holds it to ``phonenumbers`` on every example number and on
numbers one digit away from them.

phonenumbers is imported inside, like everywhere else, so ``clicksms --help`` does not load it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Every PhoneNumberDesc of a region's metadata that names a number type; mobile first, as
# most numbers a bulk SMS goes to are.
_TYPES = (
    "mobile",
    "fixed_line",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Description:
    """One PhoneNumberDesc: the lengths it allows (empty: any) and its whole-number pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def fits(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.pattern.fullmatch(national) is not None


@dataclass(frozen=True)
class _Region:
    region: str
    leading_digits: re.Pattern[str] | None  # picks the region among those sharing a code
    general: _Description | None
    types: tuple[_Description, ...]

    def knows(self, national: str) -> bool:
        """The number has a type here (libphonenumber's ``_number_type_helper`` != UNKNOWN)."""
        if self.general is None or not self.general.fits(national):
            return False
        return any(kind.fits(national) for kind in self.types)


#: By calling code: whether it is a lone region's, and the rules of its regions.
_compiled: dict[int, tuple[bool, tuple[_Region, ...]]] = {}


def valid_region(code: int, national: str) -> str | None:
    """The region of +``code`` ``national`` when libphonenumber calls it valid, else None.

    ``national`` is the national significant number: digits, no leading zero.
    """
    found = _compiled.get(code)
    if found is None:
        found = _compiled.setdefault(code, _regions(code))
    lone, regions = found
    if lone and regions:  # as region_code_for_number: a lone region is taken unchecked
        chosen = regions[0]
    else:  # as _region_code_for_number_from_list
        for region in regions:
            if region.leading_digits is not None:
                if region.leading_digits.match(national):
                    chosen = region
                    break
            elif region.knows(national):
                chosen = region
                break
        else:
            return None
    return chosen.region if chosen.knows(national) else None


def _regions(code: int) -> tuple[bool, tuple[_Region, ...]]:
    """Whether ``code`` is one region's, and the rules of each region sharing it (those
    with metadata), in libphonenumber's order."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    listed = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    found = []
    for region in listed:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            continue
        leading = metadata.leading_digits
        names = _TYPES
        if metadata.same_mobile_and_fixed_line_pattern:  # as _number_type_helper: no mobile
            names = tuple(name for name in _TYPES if name != "mobile")
        kinds = (_description(getattr(metadata, name)) for name in names)
        found.append(
            _Region(
                region=region,
                leading_digits=re.compile(leading) if leading is not None else None,
                general=_description(metadata.general_desc),
                types=tuple(kind for kind in kinds if kind is not None),
            )
        )
    return len(listed) == 1, tuple(found)


def _description(desc: Any) -> _Description | None:
    """A PhoneNumberDesc that can match a number; None for one that never does."""
    if desc is None or not desc.national_number_pattern:
        return None
    pattern = re.compile(desc.national_number_pattern)
    return _Description(frozenset(desc.possible_length or ()), pattern)
