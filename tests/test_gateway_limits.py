"""clicksms.gateway.limits says what each bundled WSDL says: read from the WSDLs themselves."""

from __future__ import annotations

import re
from importlib import resources

from clicksms.gateway.limits import SENDITEM_FIELDS, SI_PUSH_UNICODE

WSDLS = {"document": "document_literal.wsdl", "rpc": "rpc_encoded_webservice_vs.wsdl"}


def request_parts(style: str, operation: str) -> set[str]:
    """The names of an operation's request parts (RPC) or elements (Document/Literal)."""
    text = resources.files("clicksms").joinpath("data", WSDLS[style]).read_text()
    if style == "rpc":
        block = re.search(
            rf'<wsdl:message name="{operation}Input">(.*?)</wsdl:message>', text, re.S
        )
    else:
        block = re.search(
            rf'<xsd:element name="{operation}">(.*?)</xsd:element>\s*<xsd:element', text, re.S
        )
    assert block, (style, operation)
    return set(re.findall(r'name="(\w+)"', block.group(1)))


def test_senditem_fields_are_the_wsdls() -> None:
    for style, count in SENDITEM_FIELDS.items():
        fields = {p for p in request_parts(style, "senditem") if p.startswith("field")}
        assert fields == {f"field{n}" for n in range(1, count + 1)}, style


def test_si_push_unicode_is_the_wsdls() -> None:
    for style, has_it in SI_PUSH_UNICODE.items():
        assert ("unicode" in request_parts(style, "si_push")) is has_it, style
