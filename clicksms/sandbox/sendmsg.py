"""sendmsg's checks in the gateway's order, then acceptance (API.md §11.5).

1. authentication, 2. command parameters (101), 3. each recipient (105, 121, 122, 128, 114),
4. content (107, 112, 102, 116, 113, 120, 106), 5. credit (err-130 and no-credit faults act
here, then 301 per recipient), then each recipient still standing is charged and kept. A stage
that leaves nobody standing ends the request. The stages are functions of the request and the
configuration; what they need from the account's state is the ``Account`` protocol. The batch
and push operations (``batch``, ``push``) run their own first two stages, then ``deliver``:
stages 3 to 5 and acceptance, with a content check of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from clicksms.sandbox import gsm, ledger, spec
from clicksms.sandbox.fields import Fields
from clicksms.sandbox.messages import Message
from clicksms.sandbox.spec import err

if TYPE_CHECKING:
    from clicksms.sandbox.batch import Batches
    from clicksms.sandbox.config import SandboxConfig


class Account(Protocol):
    """The account state the stages act on (``gateway.Gateway``, its lock held)."""

    config: SandboxConfig
    batches: Batches

    def now(self) -> float: ...

    def authenticate(self, request: Fields) -> str | None:
        """None, or the ``ERR:`` answer that ends the request."""
        ...

    def credit_fault(self, op: str) -> str | None:
        """Act out an injected credit-stage fault; the answer it gives each recipient, if any."""
        ...

    def debit(self, credits: float) -> bool:
        """Take ``credits`` from the balance; False (nothing taken) when it is short."""
        ...

    def keep(self, message: Message, record: dict[str, Any]) -> None:
        """Remember an accepted message and append its ledger record."""
        ...


@dataclass
class Content:
    """What the content stage found: the text as a handset shows it, and the parts."""

    shown: str  # ledger text
    unicode: int
    parts: int
    concat: int


def run(account: Account, f: Fields) -> list[str]:
    """One sendmsg request: its ``<return>`` strings, one per recipient in request order."""
    # 1. authentication
    problem = account.authenticate(f)
    if problem:
        return [problem]
    # 2. command parameters
    recipients = f.all("to")
    options = parse_options(f)
    if not recipients_fit(recipients) or options is None:
        return [err(101)]
    return deliver(account, "sendmsg", f, recipients, options, check_content)


def deliver(
    account: Account,
    op: str,
    f: Fields,
    recipients: list[str],
    options: dict[str, int],
    check: Callable[[Fields, dict[str, int], int], Content | str],
) -> list[str]:
    """Stages 3-5 and acceptance for a request whose parameters passed: one answer per
    recipient, ``To:`` added when there are several. ``check`` is the content stage."""
    multi = len(recipients) > 1

    def item(text: str, to: str) -> str:
        return f"{text} To: {to}" if multi else text

    # 3. per recipient
    verdicts = [check_recipient(to, account.config) for to in recipients]
    if all(verdicts):
        return [item(v or "", to) for v, to in zip(verdicts, recipients, strict=True)]
    # 4. content (whole request)
    content = check(f, options, account.config.default_concat)
    if isinstance(content, str):
        return [content]
    # 5. credit, then acceptance
    limit = account.credit_fault(op)
    return [
        item(verdict or limit or accept(account, op, f, options, content, to), to)
        for verdict, to in zip(verdicts, recipients, strict=True)
    ]


def recipients_fit(recipients: list[str]) -> bool:
    """1 to 300 destination numbers (API.md §1, §5.1)."""
    return 1 <= len(recipients) <= spec.MAX_RECIPIENTS


# -------------------------------------------------------------------- 2. parameters
def parse_options(f: Fields) -> dict[str, int] | None:
    """Integer options (0/"" = default, as RPC clients send); None = 101."""
    options: dict[str, int] = {}
    for name in spec.INT_OPTIONS:
        raw = f.first(name)
        if raw is None or raw.strip() == "":
            options[name] = 0
            continue
        value = spec.parse_int(raw)
        if value is None:
            return None
        options[name] = value
    if options["concat"] < 0:
        return None
    if any(options[name] not in allowed for name, allowed in spec.OPTION_RANGES.items()):
        return None
    # Documented values are decimals (0.8, 1.5), but only the RPC WSDL types max_credits
    # xsd:float; the doc/literal one says xsd:int, so a fraction there is 101 (API.md §2.3).
    raw_max = (f.first("max_credits") or "").strip()
    if raw_max:
        if "max_credits" in f.fractional:
            try:
                max_credits = float(raw_max)
            except ValueError:
                return None
        else:
            whole = spec.parse_int(raw_max)
            if whole is None:
                return None
            max_credits = float(whole)
        if not 0 <= max_credits < math.inf:  # also rejects nan
            return None
        options["max_credits_milli"] = round(max_credits * 1000)
    climsgid = f.first("climsgid") or ""
    if climsgid and not spec.CLIMSGID.fullmatch(climsgid):
        return None
    return options


# -------------------------------------------------------------------- 3. recipients
def check_recipient(to: str, config: SandboxConfig) -> str | None:
    """Number format, magic failures, then the coverage table (no route = 114)."""
    if not spec.MSISDN.fullmatch(to):
        return err(105)
    code = spec.RECIPIENT_ERRORS.get(to)
    if code is not None:
        return err(code)
    if config.price_for(to) is None:
        return err(114)
    return None


# ----------------------------------------------------------------------- 4. content
def check_content(f: Fields, options: dict[str, int], default_concat: int) -> Content | str:
    """API.md §11.5 content order: 107, 112, 102, 116, 113, 120, 106."""
    text = f.first("text") or ""
    data = f.first("data") or ""
    udh = f.first("udh") or ""
    msg_type = f.first("msg_type") or "SMS_TEXT"
    if not text and not data:
        return err(107)
    if msg_type not in spec.MSG_TYPES:
        return err(112)
    if udh and not valid_udh(udh):
        return err(102)
    if text and options["unicode"] == 1:
        if not gsm.is_ucs2_hex(text):
            return err(116)
        shown, unicode, parts = gsm.decode_ucs2(text), 1, gsm.ucs2_parts(text)
    elif text:
        shown, unicode, parts = gsm.handset_text(text), 0, gsm.gsm_parts(text)
    else:  # 8-bit payload in `data` (with optional udh)
        if not gsm.is_octet_hex(data):
            return err(101)
        octets = len(data) // 2 + len(udh) // 2
        if udh:  # a user header rules out gateway concatenation
            parts = 1 if octets <= gsm.OCTET_SINGLE else spec.MAX_PARTS + 1
        else:
            parts = gsm.octet_parts(octets)
        shown, unicode = data, 0
    concat = options["concat"] or default_concat
    if parts > concat or parts > spec.MAX_PARTS:
        return err(113)
    return check_timing_and_sender(f, options) or Content(shown, unicode, parts, concat)


def check_timing_and_sender(f: Fields, options: dict[str, int]) -> str | None:
    """The content stage's last two checks, which any kind of message has: 120 and 106."""
    if not 0 <= options["deliv_time"] <= spec.MAX_DELIV_TIME:
        return err(120)
    sender = f.first("from") or ""
    if sender and not (
        spec.NUMERIC_SENDER.fullmatch(sender) or spec.ALPHA_SENDER.fullmatch(sender)
    ):
        return err(106)
    return None


def valid_udh(udh: str) -> bool:
    """Even-length hex whose first octet (UDHL) counts the octets after it."""
    if not udh or not gsm.is_octet_hex(udh):
        return False
    return int(udh[:2], 16) == len(udh) // 2 - 1


# ------------------------------------------------------------- 5. credit, acceptance
def over_max_credits(price: float, options: dict[str, int]) -> bool:
    """max_credits below the price of one part: an ID, then 009, uncharged (API.md §5.1).

    Comparing with one part rather than the whole message is the sandbox's reading
    (UNVERIFIED: API.md only says max_credits "overrides max charge")."""
    max_milli = options.get("max_credits_milli")
    return bool(max_milli) and round(price * 1000, 6) > (max_milli or 0)


def accept(
    account: Account, op: str, f: Fields, options: dict[str, int], content: Content, to: str
) -> str:
    """Charge and keep one recipient's message; ``ERR: 301`` when credit is short."""
    price = account.config.price_for(to)
    if price is None:  # check_recipient already turned these away; kept for the type
        return err(114)
    unroutable = over_max_credits(price, options)
    cost = 0.0 if unroutable else round(content.parts * price, 9)
    if to == spec.NO_CREDIT_NUMBER or not account.debit(cost):
        return err(301)
    message = Message.accepted(
        apimsgid=spec.new_id(),
        climsgid=f.first("climsgid") or None,
        to=to,
        parts=content.parts,
        charge=cost,
        at=account.now(),
        deliv_time=options["deliv_time"],
        validity=options["validity"],
        unroutable=unroutable,
    )
    record = ledger.record_of(
        message,
        op=op,
        text=content.shown,
        unicode=content.unicode,
        concat=content.concat,
        sender=f.first("from") or None,
        fields=f.logged(),
    )
    account.keep(message, record)
    return f"ID: {message.apimsgid}"


def reaccepted(record: dict[str, Any], config: SandboxConfig) -> Message:
    """The message a ledger record (``ledger.record_of``) stands for, as ``accept`` made it.

    Whether a message of charge 0 was a 009 is decided again with the route prices of
    ``config``: the record keeps max_credits but not the price it was compared with.
    ValueError when the record's fields are not options ``parse_options`` accepts."""
    # Read as the more lenient WSDL would: the record was accepted through one of them.
    options = parse_options(Fields.from_logged(record["fields"], frozenset({"max_credits"})))
    if options is None:
        raise ValueError("its fields are not sendmsg options the sandbox accepts")
    price = config.price_for(record["to"]) if record["charge"] == 0 else None
    unroutable = price is not None and over_max_credits(price, options)
    return Message.accepted(
        apimsgid=record["apimsgid"],
        climsgid=record["climsgid"],
        to=record["to"],
        parts=record["parts"],
        charge=float(record["charge"]),
        at=float(record["time"]),
        deliv_time=options["deliv_time"],
        validity=options["validity"],
        unroutable=unroutable,
    )
