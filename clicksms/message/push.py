"""WAP push (``si_push``) and MMS notification (``ind_push``): their own fields, checked, and
the request fields they go out with (API.md §4, §5.3).

A push carries a URL and a short text (a WAP service indication) or a subject (an MMS
notification) instead of a message body. What can be checked locally is checked here, before
any network call, with the flag's name in the error: an http(s) URL, dates that parse, a known
action or class. Both operations take the delivery options of ``sendmsg``
(:func:`~clicksms.message.options.delivery_fields`) and a sender, but no message type, UDH or
8-bit data. Only Document/Literal's ``si_push`` has ``unicode``: over RPC/Encoded a WAP text
must be GSM.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from clicksms.errors import UsageError
from clicksms.gateway.limits import si_push_unicode
from clicksms.gateway.responses import clip
from clicksms.message.options import SendOptions, route_features
from clicksms.message.options import delivery_fields as _delivery_fields
from clicksms.message.text import EncodedMessage

#: --action → si_action (API.md §5.3); the gateway's default is signal-medium.
SI_ACTIONS = {
    "none": "signal-none",
    "low": "signal-low",
    "medium": "signal-medium",
    "high": "signal-high",
    "delete": "delete",  # withdraws the indication with the same --si-id
}
#: --class → mms_class (API.md §5.3).
MMS_CLASSES = {"personal": "80", "advertisement": "81", "informational": "82", "auto": "83"}
MAX_MMS_EXPIRE = 365 * 24 * 3600  # a year, in seconds
SI_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # API.md §5.3: UTC, a handset drops other forms


@dataclass(frozen=True)
class WapPush:
    """A WAP service indication: the handset shows ``text`` and offers to open ``url``."""

    url: str
    text: EncodedMessage
    si_id: str
    created: str | None = None  # UTC, SI_DATE_FORMAT
    expires: str | None = None
    action: str | None = None  # the wire value, e.g. signal-high


@dataclass(frozen=True)
class MmsPush:
    """An MMS notification: the handset fetches the message at ``url``."""

    url: str
    subject: str
    mms_class: str  # the wire value, 80 to 83
    expire: int  # seconds
    shown_from: str  # mms_from: who the notification says it is from


def check_url(url: str, option: str = "--url") -> str:
    """An absolute http(s) URL with a host: what a handset can open."""
    value = url.strip()
    shown = clip(url, 60)
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} {shown!r} is not an http:// or https:// URL")
    if any(ch.isspace() for ch in value):
        raise UsageError(f"{option} {shown!r} has spaces: encode them as %20")
    return value


def new_si_id() -> str:
    """A service indication ID for a push the user gave none: ``cs`` and 16 random hex."""
    return "cs" + secrets.token_hex(8)


def si_date(text: str, option: str, now: datetime | None = None) -> str:
    """``--created`` or ``--expires`` (as ``--deliver-at`` reads times) in the SI's UTC form."""
    from clicksms.message.schedule import parse_clock_time

    now = now or datetime.now().astimezone()
    at = parse_clock_time(text, now, option)
    return at.astimezone(timezone.utc).strftime(SI_DATE_FORMAT)


def check_si_dates(
    created: str | None, expires: str | None, now: datetime | None = None
) -> tuple[str | None, str | None]:
    """Both dates in the SI form; an expiry in the past, or not after --created, is refused
    (the handset would drop the push without a word)."""
    now = now or datetime.now().astimezone()
    made = None if created is None else si_date(created, "--created", now)
    ends = None if expires is None else si_date(expires, "--expires", now)
    utc_now = now.astimezone(timezone.utc).strftime(SI_DATE_FORMAT)
    if ends is not None and ends <= utc_now:  # the form sorts as time does
        raise UsageError(f"--expires {expires} is in the past: the handset would drop the push")
    if made is not None and ends is not None and ends <= made:
        raise UsageError(f"--expires {expires} is not after --created {created}")
    return made, ends


def mms_expiry(text: str) -> int:
    """``--expire``: seconds in ``3600``, ``90m``, ``12h``, ``7d``, ``1d12h`` (a bare number is
    seconds, as Clickatell's mms_expire is)."""
    from clicksms.message.schedule import duration_seconds

    seconds = duration_seconds(text, 1)
    if seconds is None:
        raise UsageError(
            f"--expire {text!r} is not a duration: use seconds (3600) or units like 90m, 12h, "
            "7d, 1d12h"
        )
    if not 1 <= seconds <= MAX_MMS_EXPIRE:
        raise UsageError(f"--expire {text!r}: use 1 second to 365 days")
    return seconds


def wap_fields(
    push: WapPush, sender: str | None, options: SendOptions, soap_style: str
) -> dict[str, Any]:
    """Every si_push field but the recipients and ``climsgid``."""
    if push.text.unicode and not si_push_unicode(soap_style):
        listed = "".join(dict.fromkeys(ch for _, ch in push.text.non_gsm))[:10]
        raise UsageError(
            f"--text has characters that are not GSM ({listed!r}), and RPC/Encoded's si_push "
            "cannot send UCS-2 (it has no unicode field): use GSM text, or --soap-style document"
        )
    fields: dict[str, Any] = {"si_id": push.si_id, "si_url": push.url, "si_text": push.text.text}
    if push.text.unicode:
        fields["unicode"] = 1
    optional = {"si_created": push.created, "si_expires": push.expires, "si_action": push.action}
    fields.update({name: value for name, value in optional.items() if value is not None})
    return {**fields, **_sending_fields(sender, options)}


def mms_fields(push: MmsPush, sender: str | None, options: SendOptions) -> dict[str, Any]:
    """Every ind_push field but the recipients and ``climsgid``."""
    fields: dict[str, Any] = {
        "mms_subject": push.subject,
        "mms_class": push.mms_class,
        "mms_expire": str(push.expire),
        "mms_from": push.shown_from,
        "mms_url": push.url,
    }
    return {**fields, **_sending_fields(sender, options)}


def _sending_fields(sender: str | None, options: SendOptions) -> dict[str, Any]:
    """The sender and delivery options; ``req_feat`` for what the user asked of the route
    (the sender's kind, a delivery acknowledgement): the content bits of a push, which goes
    out as 8-bit binary, are the gateway's to set."""
    fields: dict[str, Any] = {"from": sender} if sender else {}
    features = route_features(sender, options)
    if features:
        fields["req_feat"] = features
    return {**fields, **_delivery_fields(options)}
