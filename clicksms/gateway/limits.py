"""Where Clickatell's two WSDLs differ in what a request may carry (API.md §2.3), as facts the
client checks before it builds a request: light, so that a command can refuse what a style
cannot send without loading zeep. tests/test_gateway_limits.py reads both WSDLs to keep these
true.
"""

from __future__ import annotations

#: ``senditem``'s ``field1`` … ``fieldN``: ten over Document/Literal, four over RPC/Encoded.
SENDITEM_FIELDS = {"document": 10, "rpc": 4}

#: Whether ``si_push`` has a ``unicode`` field (Document/Literal's has, RPC/Encoded's not), so
#: whether a WAP push text may be UCS-2.
SI_PUSH_UNICODE = {"document": True, "rpc": False}

STYLE_NAMES = {"document": "Document/Literal", "rpc": "RPC/Encoded"}


def senditem_fields(soap_style: str) -> int:
    """How many template fields a batch item can fill over ``soap_style``."""
    return SENDITEM_FIELDS[soap_style]


def si_push_unicode(soap_style: str) -> bool:
    """Whether a WAP push text may go as UCS-2 over ``soap_style``."""
    return SI_PUSH_UNICODE[soap_style]
