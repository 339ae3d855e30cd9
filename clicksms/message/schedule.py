"""Durations and clock times for ``--deliver-in``, ``--deliver-at`` and ``--validity``.

The gateway takes ``deliv_time`` (the delay after it receives the message) and ``validity``
(how long the message may wait on the gateway) in whole minutes (API.md §5.1), so everything
here ends as a number of minutes, checked against the documented bounds before any network
call.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from clicksms.errors import UsageError

MAX_DELIVERY_DELAY = 7 * 24 * 60  # deliv_time ceiling: 10080 minutes (API.md §5.1)
MAX_VALIDITY = 24 * 60  # validity ceiling in the 2009 spec: 1440 minutes

#: Days, hours, minutes and seconds, each optional, in that order: 1d12h, 90m, 30s.
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?")
_UNIT_SECONDS = (24 * 3600, 3600, 60, 1)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
#: datetime's own words for a field out of range ("day is out of range for month", …).
_OUT_OF_RANGE = re.compile(r"(?:year|month|day|hour|minute|second)\b[^(]*$")


def duration_seconds(text: str, bare: int) -> int | None:
    """Seconds in ``90m``, ``1d12h``, ``30s`` (a bare number counts ``bare`` seconds each);
    None when ``text`` is no duration."""
    value = text.strip().lower().replace(" ", "")
    if value.isdigit():
        return int(value) * bare
    match = _DURATION.fullmatch(value)
    if not value or not match or not any(match.groups()):
        return None
    return sum(int(n or 0) * unit for n, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))


def parse_duration(text: str, option: str) -> int:
    """Minutes in ``90``, ``90m``, ``2h``, ``1d``, ``1h30m`` (a bare number means minutes)."""
    seconds = duration_seconds(text, 60)
    if seconds is None or seconds % 60:
        raise UsageError(
            f"{option} {text!r} is not a duration: use minutes (90) or units like 90m, 2h, "
            "1d, 1h30m"
        )
    if seconds < 60:
        raise UsageError(f"{option} must be at least one minute, got {text!r}")
    return seconds // 60


def parse_clock_time(text: str, now: datetime, option: str = "--deliver-at") -> datetime:
    """An aware datetime for ISO 8601 (``2026-11-26T09:00``, ``…Z``, ``…+02:00``) or ``HH:MM``.

    Times without a zone are local. A bare ``HH:MM`` is its next occurrence, today or tomorrow,
    which is what someone typing ``--deliver-at 09:00`` in the evening means. ``option``
    names the flag in errors.
    """
    value = text.strip()
    local = now.astimezone()
    clock = _CLOCK.fullmatch(value)
    if clock:
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            raise UsageError(f"{option} {text!r} is not a time of day")
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return at if at > local else at + timedelta(days=1)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        if _OUT_OF_RANGE.match(str(exc)):  # the right shape, a day or hour that does not exist
            raise UsageError(f"{option} {text!r} does not exist: {exc}") from None
        raise UsageError(
            f"{option} {text!r} is not a time: use 2026-11-26T09:00 (local), "
            "2026-11-26T07:00Z, or 09:00"
        ) from None
    if "T" not in value.upper() and " " not in value:
        raise UsageError(f"{option} {text!r} has no time of day: add one, e.g. {value}T09:00")
    return at if at.tzinfo else at.astimezone()  # naive = local time


def delivery_delay(
    deliver_in: str | None, deliver_at: str | None, now: datetime | None = None
) -> int | None:
    """``deliv_time`` minutes for the two mutually exclusive flags (None when neither is set)."""
    if deliver_in is not None and deliver_at is not None:
        raise UsageError("use either --deliver-in or --deliver-at, not both")
    if deliver_in is not None:
        minutes = parse_duration(deliver_in, "--deliver-in")
        where = f"--deliver-in {deliver_in}"
    elif deliver_at is not None:
        now = now or datetime.now().astimezone()
        at = parse_clock_time(deliver_at, now)
        seconds = (at - now).total_seconds()
        if seconds <= 0:
            raise UsageError(f"--deliver-at {deliver_at} is in the past")
        minutes = max(1, round(seconds / 60))
        where = f"--deliver-at {deliver_at}"
    else:
        return None
    if minutes > MAX_DELIVERY_DELAY:
        raise UsageError(f"{where} is more than 7 days ahead; Clickatell schedules up to 7 days")
    return minutes


def validity_minutes(validity: str | None) -> int | None:
    """``validity`` minutes: 1 minute to 24 hours, the range the 2009 spec allows."""
    if validity is None:
        return None
    minutes = parse_duration(validity, "--validity")
    if minutes > MAX_VALIDITY:
        raise UsageError(f"--validity {validity} is longer than Clickatell's 24 hours (1440 min)")
    return minutes


def describe_delay(minutes: int, now: datetime | None = None) -> str:
    """``in 2h30m, around Thu 26 Nov 09:00 (local time)``, for the note a scheduled send prints."""
    now = now or datetime.now().astimezone()
    at = now + timedelta(minutes=minutes, seconds=30)  # shown to the nearest minute
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    span = "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n)
    return f"in {span}, around {at:%a %d %b %H:%M} (local time)"
