"""WAP push (``si_push``, a service indication) and MMS notification (``ind_push``), API.md §4
and §5.3: a URL and a text (or subject) pushed to handsets, with the send options that apply.

Both take sendmsg's stages: authentication; then their own parameters (101); then each
recipient, content, credit and acceptance through ``sendmsg.deliver``, so a push is charged,
queryable and in the ledger (op ``si_push``/``ind_push``, ``text`` = si_text or the MMS
subject, ``fields`` = every push field as sent). Sandbox readings where API.md is silent
(README states them): a push costs one part at the route's price, and the checks below turn
away what API.md says a handset would drop or what it says is required, as 101:

* si_push: ``si_id``, an http(s) ``si_url``; ``si_created``/``si_expires`` as
  ``YYYY-MM-DDTHH:MM:SSZ`` (a real date; expires after created); ``si_action`` one of
  ``signal-none``, ``signal-low``, ``signal-medium`` (the default), ``signal-high``,
  ``delete``. An empty ``si_text`` is 107; with ``unicode=1`` (doc/literal only) it is hex
  UCS-2, else 116.
* ind_push: every MMS part set: ``mms_subject``, ``mms_from``, an http(s) ``mms_url``,
  ``mms_class`` 80 (personal) to 83 (auto), ``mms_expire`` a whole number of seconds > 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from clicksms.sandbox import gsm, sendmsg
from clicksms.sandbox.fields import Fields
from clicksms.sandbox.sendmsg import Content
from clicksms.sandbox.spec import err, parse_int

if TYPE_CHECKING:
    from clicksms.sandbox.sendmsg import Account

SI_ACTIONS = frozenset({"signal-none", "signal-low", "signal-medium", "signal-high", "delete"})
MMS_CLASSES = frozenset({"80", "81", "82", "83"})
SI_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
PUSH_PARTS = 1  # what a push costs, in parts of the route's price (the sandbox's reading)


def si_push(account: Account, f: Fields) -> list[str]:
    return _push(account, "si_push", f, _si_parameters_ok, _si_content)


def ind_push(account: Account, f: Fields) -> list[str]:
    return _push(account, "ind_push", f, _mms_parameters_ok, _mms_content)


def _push(
    account: Account,
    op: str,
    f: Fields,
    parameters_ok: Callable[[Fields], bool],
    content: Callable[[Fields, dict[str, int], int], Content | str],
) -> list[str]:
    problem = account.authenticate(f)
    if problem:
        return [problem]
    recipients = f.all("to")
    options = sendmsg.parse_options(f)
    if not sendmsg.recipients_fit(recipients) or options is None or not parameters_ok(f):
        return [err(101)]
    return sendmsg.deliver(account, op, f, recipients, options, content)


# ------------------------------------------------------------------------- si_push
def _si_parameters_ok(f: Fields) -> bool:
    return (
        bool(f.first("si_id"))
        and is_web_url(f.first("si_url"))
        and _si_dates_ok(f.first("si_created"), f.first("si_expires"))
        and (f.first("si_action") or "signal-medium") in SI_ACTIONS
    )


def _si_dates_ok(created: str | None, expires: str | None) -> bool:
    """Each one not set or a real UTC date in the SI format; expires after created."""
    dates = []
    for value in (created, expires):
        if not value:
            continue
        if not SI_DATE.fullmatch(value):
            return False
        try:
            dates.append(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:  # 2026-02-30T…
            return False
    return len(dates) < 2 or dates[0] < dates[1]


def _si_content(f: Fields, options: dict[str, int], default_concat: int) -> Content | str:
    text = f.first("si_text") or ""
    if not text:
        return err(107)
    if options["unicode"] == 1:
        if not gsm.is_ucs2_hex(text):
            return err(116)
        text = gsm.decode_ucs2(text)
    return _content(f, options, default_concat, text, options["unicode"])


# ------------------------------------------------------------------------ ind_push
def _mms_parameters_ok(f: Fields) -> bool:
    expire = parse_int(f.first("mms_expire"))
    return (
        bool(f.first("mms_subject"))
        and bool(f.first("mms_from"))
        and is_web_url(f.first("mms_url"))
        and (f.first("mms_class") or "").strip() in MMS_CLASSES
        and expire is not None
        and expire > 0
    )


def _mms_content(f: Fields, options: dict[str, int], default_concat: int) -> Content | str:
    return _content(f, options, default_concat, f.first("mms_subject") or "", 0)


# -------------------------------------------------------------------------- shared
def is_web_url(value: str | None) -> bool:
    """An absolute http(s) URL with a host and no whitespace."""
    if not value or any(c.isspace() for c in value):
        return False
    try:
        url = urlsplit(value)
    except ValueError:
        return False
    return url.scheme.lower() in ("http", "https") and bool(url.hostname)


def _content(
    f: Fields, options: dict[str, int], default_concat: int, shown: str, unicode: int
) -> Content | str:
    concat = options["concat"] or default_concat
    return sendmsg.check_timing_and_sender(f, options) or Content(
        shown, unicode, PUSH_PARTS, concat
    )
