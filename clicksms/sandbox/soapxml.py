"""The Document/Literal envelope codec: a SOAP 1.1 request in, the operation and its fields
out; ``<return>`` strings or a fault in, an answer envelope out (``server.Codec``). A codec for
another style reuses ``SoapRequest``, ``SoapFault`` and ``build_fault`` and gives the
operations the same fields, so they never learn which style carried them.

Parsing is lenient where API.md says the real server was (child order, qualified or
unqualified children, any wrapper namespace, SOAPAction ignored) and strict where being
lenient would be unsafe: a DOCTYPE is refused outright, so no entity is ever expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SERVICE_NS = "http://api.clickatell.com/soap/document_literal/webservice"

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


class SoapFault(Exception):
    """A condition answered with a SOAP Fault (HTTP 500) instead of a ``<return>`` string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "Client", "Server" or "VersionMismatch"
        self.message = message


@dataclass
class SoapRequest:
    """The Body's operation element: its local name and its children as sent, in order."""

    op: str
    namespace: str | None
    fields: list[tuple[str, str | None]] = field(default_factory=list)  # None = xsi:nil


class _NoDoctypeBuilder(ET.TreeBuilder):
    """Tree builder that aborts at the DOCTYPE, before any entity declaration is read."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise SoapFault("Client", "DOCTYPE is not allowed in SOAP messages")


def split_tag(tag: str) -> tuple[str | None, str]:
    """'{ns}local' -> ('ns', 'local'); 'local' -> (None, 'local')."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def parse_xml(body: bytes) -> ET.Element:
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    try:
        parser.feed(body)
        return parser.close()
    except ET.ParseError as exc:
        raise SoapFault("Client", f"Malformed XML: {exc}") from None


def parse_request(body: bytes) -> SoapRequest:
    """Parse a SOAP 1.1 request envelope; raise SoapFault for anything not dispatchable."""
    if not body.strip():
        raise SoapFault("Client", "Empty request body")
    root = parse_xml(body)
    ns, local = split_tag(root.tag)
    if local != "Envelope":
        raise SoapFault("Client", "Root element is not a SOAP Envelope")
    if ns != SOAP_ENV_NS:
        raise SoapFault("VersionMismatch", "Only SOAP 1.1 envelopes are supported")
    body_el = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body_el is None:
        raise SoapFault("Client", "SOAP Envelope has no Body")
    op_el = next(iter(body_el), None)
    if op_el is None:
        raise SoapFault("Client", "SOAP Body is empty")
    op_ns, op = split_tag(op_el.tag)
    fields: list[tuple[str, str | None]] = []
    for child in op_el:
        _, name = split_tag(child.tag)
        nil = child.get(f"{{{XSI_NS}}}nil", "").strip() in ("true", "1")
        fields.append((name, None if nil else (child.text or "")))
    return SoapRequest(op=op, namespace=op_ns, fields=fields)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_response(op: str, returns: list[str]) -> bytes:
    """``<ns1:{op}Response>`` with one unqualified ``<return>`` per string (API.md §11)."""
    items = "".join(f"<return>{_escape(r)}</return>" for r in returns)
    return (
        f"{_XML_DECL}"
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV_NS}" xmlns:ns1="{SERVICE_NS}">'
        f"<SOAP-ENV:Body><ns1:{op}Response>{items}</ns1:{op}Response></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>\n"
    ).encode()


def build_fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault with ``faultcode`` SOAP-ENV:{code}, as PHP's SoapServer sends."""
    return (
        f"{_XML_DECL}"
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV_NS}"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        f"<faultcode>SOAP-ENV:{code}</faultcode><faultstring>{_escape(message)}</faultstring>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    ).encode()
