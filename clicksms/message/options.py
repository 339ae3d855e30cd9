"""The sendmsg options behind ``send``'s flags, checked and turned into WSDL fields.

Everything that can be checked locally is checked here, before any network call, with a
message that names the flag. :func:`sendmsg_fields` is the one place that decides what goes
on the wire for a message, including the ``req_feat`` bits (API.md §5.2) that stop a
least-cost route from silently dropping a feature the message relies on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clicksms.errors import UsageError
from clicksms.gateway.responses import clip
from clicksms.message.binary import BinaryMessage
from clicksms.message.text import EncodedMessage

#: msg_type values the gateway accepts, case-sensitive on the wire (API.md §5.1).
MSG_TYPES = (
    "SMS_TEXT",
    "SMS_FLASH",
    "SMS_NOKIA_OLOGO",
    "SMS_NOKIA_GLOGO",
    "SMS_NOKIA_PICTURE",
    "SMS_NOKIA_RINGTONE",
    "SMS_NOKIA_RTTL",
    "SMS_NOKIA_CLEAN",
    "SMS_NOKIA_VCARD",
    "SMS_NOKIA_VCAL",
)

#: Types whose content is a binary payload (logos, ringtones, cards), sent in ``data``.
BINARY_TYPES = frozenset(t for t in MSG_TYPES if t.startswith("SMS_NOKIA_"))

#: --callback levels → msg_callback bits (API.md §8: 1 intermediate, 2 final, 4 error).
CALLBACK_LEVELS = {"none": 0, "intermediate": 1, "final": 2, "error": 4, "all": 7}

# req_feat bits (API.md §5.2).
FEAT_TEXT = 0x0001
FEAT_8BIT = 0x0002
FEAT_UDH = 0x0004
FEAT_UCS2 = 0x0008
FEAT_ALPHA = 0x0010
FEAT_NUMER = 0x0020
FEAT_FLASH = 0x0200
FEAT_DELIVACK = 0x2000
FEAT_CONCAT = 0x4000

CLIENT_ID_MAX = 32
XSD_INT_MAX = 2**31 - 1  # the WSDL types the integer options as xsd:int
MAX_PARTS_CEILING = 35

Content = EncodedMessage | BinaryMessage


@dataclass(frozen=True)
class SendOptions:
    """Optional sendmsg fields; None / False means "leave it to the gateway's default"."""

    msg_type: str | None = None
    deliv_time: int | None = None  # minutes
    validity: int | None = None  # minutes
    client_id: str | None = None
    callback: int | None = None
    delivery_ack: bool = False
    max_credits: int | float | None = None  # a fraction only over RPC/Encoded
    queue: int | None = None
    escalate: bool = False
    mo: bool = False
    max_parts: int | None = None

    @property
    def flash(self) -> bool:
        return self.msg_type == "SMS_FLASH"


def check_msg_type(msg_type: str | None, flash: bool) -> str | None:
    """``--msg-type`` (any case) and ``--flash`` as the wire's case-sensitive value."""
    chosen = None
    if msg_type is not None:
        chosen = msg_type.strip().upper()
        if chosen not in MSG_TYPES:
            raise UsageError(f"--msg-type {msg_type!r} is not one of: {', '.join(MSG_TYPES)}")
    if flash:
        if chosen not in (None, "SMS_FLASH"):
            raise UsageError(f"--flash sends SMS_FLASH; it cannot be combined with {chosen}")
        chosen = "SMS_FLASH"
    return chosen


def check_client_id(client_id: str | None, label: str = "--client-id") -> str | None:
    """``climsgid``: 1–32 ASCII letters and digits, no spaces (API.md §5.1)."""
    if client_id is None:
        return None
    if not client_id:
        raise UsageError(f"{label} is empty: give 1 to {CLIENT_ID_MAX} letters and digits")
    shown = clip(client_id, 40)
    if len(client_id) > CLIENT_ID_MAX:
        raise UsageError(
            f"{label} {shown!r} is {len(client_id)} characters; "
            f"Clickatell allows at most {CLIENT_ID_MAX}"
        )
    if not (client_id.isascii() and client_id.isalnum()):
        raise UsageError(f"{label} {shown!r} may contain only letters A-Z, a-z and digits 0-9")
    return client_id


def parse_callback(level: str | None) -> int | None:
    """``--callback final`` or a combination such as ``intermediate,error`` → msg_callback."""
    if level is None:
        return None
    names = [part.strip().lower() for part in level.split(",")]
    for name in names:
        if name not in CALLBACK_LEVELS:
            raise UsageError(
                f"--callback {level!r}: use {', '.join(CALLBACK_LEVELS)} "
                "(or several joined by commas)"
            )
    if len(names) > 1 and "none" in names:
        raise UsageError(f"--callback {level!r}: 'none' cannot be combined with other levels")
    value = 0
    for name in names:
        value |= CALLBACK_LEVELS[name]
    return value


def parse_max_credits(value: str | None, soap_style: str = "document") -> int | float | None:
    """The most credits a message may cost, as the SOAP style's WSDL types max_credits.

    Document/Literal declares it ``xsd:int``: whole credits only. RPC/Encoded declares it
    ``xsd:float``, so fractions such as Clickatell's documented 0.8 and 1.5 work there.
    """
    if value is None:
        return None
    text = value.strip()
    decimal = _DECIMAL.fullmatch(text) if text.isascii() else None
    amount = float(text) if decimal else 0.0
    if decimal and amount.is_integer() and 1 <= amount <= XSD_INT_MAX:
        return int(amount)
    if soap_style == "rpc":
        if decimal and 0 < amount <= XSD_INT_MAX:
            return amount
        raise UsageError(
            f"--max-credits {value!r} must be a positive number of credits (0.8, 1.5, 2 …)"
        )
    if decimal and 0 < amount <= XSD_INT_MAX:
        raise UsageError(
            f"--max-credits {value!r}: the Document/Literal server takes whole credits only "
            "(its max_credits is an integer); use --soap-style rpc for fractions"
        )
    raise UsageError(
        f"--max-credits {value!r} must be a whole number of credits (1, 2, 3 …): "
        "the SOAP API's max_credits field is an integer (fractions: --soap-style rpc)"
    )


_DECIMAL = re.compile(r"(\d+)(\.\d+)?")


def check_content(content: Content, options: SendOptions, recipients: int) -> None:
    """Combinations the gateway would refuse or that cannot do what the user asked."""
    if isinstance(content, BinaryMessage):
        if content.udh and options.msg_type is not None:
            raise UsageError(
                f"--msg-type {options.msg_type} cannot be combined with --udh "
                "(Clickatell: do not use both)"
            )
    elif options.msg_type in BINARY_TYPES:
        raise UsageError(
            f"--msg-type {options.msg_type} carries a binary payload: send it with "
            "`clicksms send --data HEX` instead of text"
        )
    elif options.max_parts is not None and content.parts > options.max_parts:
        raise UsageError(
            f"message needs {content.parts} SMS parts ({content.units} "
            f"{'UTF-16 units' if content.unicode else 'septets'}, {content.encoding}) but "
            f"--max-parts is {options.max_parts}: shorten it or raise --max-parts"
        )
    check_one_recipient(options.client_id, recipients)


def check_one_recipient(client_id: str | None, recipients: int) -> None:
    """A client message ID names one message: refused for a send to several numbers."""
    if client_id and recipients > 1:
        raise UsageError(
            f"--client-id names one message, but there are {recipients} recipients: "
            "send to one number per client ID"
        )


def required_features(content: Content, sender: str | None, options: SendOptions) -> int:
    """The req_feat bitmask for what this message depends on (API.md §5.2)."""
    if isinstance(content, BinaryMessage):
        features = FEAT_8BIT | (FEAT_UDH if content.udh else 0)
    else:
        features = FEAT_TEXT | (FEAT_UCS2 if content.unicode else 0)
        features |= FEAT_CONCAT if content.parts > 1 else 0
    return features | route_features(sender, options)


def route_features(sender: str | None, options: SendOptions) -> int:
    """The req_feat bits for what is asked of the route whatever the content: the sender's
    kind, flash, a delivery acknowledgement."""
    features = 0
    if sender:
        features |= FEAT_NUMER if sender.isdigit() else FEAT_ALPHA
    if options.flash:
        features |= FEAT_FLASH
    if options.delivery_ack:
        features |= FEAT_DELIVACK
    return features


def sendmsg_fields(
    content: Content, sender: str | None, options: SendOptions | None = None
) -> dict[str, Any]:
    """Every sendmsg field for one message except the recipients and the session.

    ``req_feat`` is left out only for a plain single-part text, which goes out exactly as the
    gateway's defaults expect; 8-bit content always asks for 8-bit support.
    """
    options = options or SendOptions()
    fields: dict[str, Any] = {}
    if isinstance(content, BinaryMessage):
        if content.udh:
            fields["udh"] = content.udh
        fields["data"] = content.data
        fields["concat"] = 1
    else:
        fields["text"] = content.text
        fields["concat"] = options.max_parts or content.parts
        if content.unicode:
            fields["unicode"] = 1
    if sender:
        fields["from"] = sender
    features = required_features(content, sender, options)
    if features != FEAT_TEXT:  # a plain text needs nothing the gateway would not assume
        fields["req_feat"] = features
    if options.msg_type is not None:
        fields["msg_type"] = options.msg_type
    if options.client_id is not None:
        fields["climsgid"] = options.client_id
    fields.update(delivery_fields(options))
    return fields


def delivery_fields(options: SendOptions) -> dict[str, Any]:
    """The options every sending operation shares (sendmsg, startbatch, si_push, ind_push):
    when and how to deliver, callbacks, cost and priority. Those not set are left out."""
    optional: dict[str, Any] = {
        "deliv_time": options.deliv_time,
        "validity": options.validity,
        "msg_callback": options.callback,
        "max_credits": options.max_credits,
        "queue": options.queue,
        "deliv_ack": 1 if options.delivery_ack else None,
        "escalate": 1 if options.escalate else None,
        "mo": 1 if options.mo else None,
    }
    return {name: value for name, value in optional.items() if value is not None}
