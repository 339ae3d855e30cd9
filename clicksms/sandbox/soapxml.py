"""The Document/Literal envelope codec: a SOAP 1.1 request in, the operation and its fields
out; ``<return>`` strings or a fault in, an answer envelope out (``server.Codec``). The
RPC/Encoded codec (``rpcxml``) reuses ``SoapRequest``, ``SoapFault``, the envelope checks and
``build_fault`` and gives the operations the same fields, so they never learn which style
carried them.

Parsing is lenient where API.md says the real server was (child order, qualified or
unqualified children, SOAPAction ignored) and strict where being lenient would be unsafe or
untrue: the wrapper must be in the WSDL's namespace, as PHP's SoapServer requires of a
Document/Literal request (an RPC envelope sent here is "not present"), and a DOCTYPE is
refused outright, so no entity is ever expanded. Both styles answer a header the sender
marked ``mustUnderstand`` with a MustUnderstand fault, as SOAP 1.1 §4.2.3 requires of a
server that understands no header.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib import resources

from clicksms.sandbox import wsdl
from clicksms.sandbox.xmltree import SoapFault, parse_xml, split_tag

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SERVICE_NS = "http://api.clickatell.com/soap/document_literal/webservice"

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass
class SoapRequest:
    """The Body's operation element: its name (as ``spec.OPERATIONS`` spells it) and its
    children as sent, in order. ``fractional``: the fields this operation's WSDL types
    xsd:float, so a value such as 1.5 is legal there (API.md §2.3: RPC's max_credits)."""

    op: str
    fields: list[tuple[str, str | None]] = field(default_factory=list)  # None = xsi:nil
    fractional: frozenset[str] = frozenset()


def envelope_body(root: ET.Element) -> ET.Element:
    """The Body of a SOAP 1.1 envelope, once the envelope and its headers are acceptable."""
    ns, local = split_tag(root.tag)
    if local != "Envelope":
        raise SoapFault("Client", "Root element is not a SOAP Envelope")
    if ns != SOAP_ENV_NS:
        raise SoapFault("VersionMismatch", "Only SOAP 1.1 envelopes are supported")
    header = root.find(f"{{{SOAP_ENV_NS}}}Header")
    for entry in () if header is None else header:
        if entry.get(f"{{{SOAP_ENV_NS}}}mustUnderstand", "").strip() in ("1", "true"):
            _, name = split_tag(entry.tag)
            raise SoapFault("MustUnderstand", f"Header '{name}' is not understood")
    body_el = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body_el is None:
        raise SoapFault("Client", "SOAP Envelope has no Body")
    return body_el


def is_nil(element: ET.Element) -> bool:
    return element.get(f"{{{XSI_NS}}}nil", "").strip() in ("true", "1")


def parse_request(body: bytes, soap_action: str | None = None) -> SoapRequest:
    """Parse a SOAP 1.1 request envelope; raise SoapFault for anything not dispatchable.
    ``soap_action`` is ignored: API.md §2.1 reads the real server as dispatching on the body."""
    if not body.strip():
        raise SoapFault("Client", "Empty request body")
    body_el = envelope_body(parse_xml(body))
    op_el = next(iter(body_el), None)
    if op_el is None:
        raise SoapFault("Client", "SOAP Body is empty")
    op_ns, op = split_tag(op_el.tag)
    if op_ns != SERVICE_NS:  # as PHP's SoapServer: no operation of this WSDL by that name
        raise SoapFault("Client", f"Procedure '{op}' not present")
    fields: list[tuple[str, str | None]] = []
    for child in op_el:
        _, name = split_tag(child.tag)
        fields.append((name, None if is_nil(child) else (child.text or "")))
    return SoapRequest(op, fields, _float_elements().get(op, frozenset()))


@functools.cache
def _float_elements() -> dict[str, frozenset[str]]:
    """Per operation, the children the bundled WSDL types xsd:float (none: its max_credits
    is an xsd:int, API.md §2.3), read from the file rather than assumed."""
    data = resources.files("clicksms").joinpath("data", "document_literal.wsdl").read_bytes()
    return wsdl.document_floats(data)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_response(op: str, returns: list[str]) -> bytes:
    """``<ns1:{op}Response>`` with one unqualified ``<return>`` per string (API.md §11)."""
    items = "".join(f"<return>{escape(r)}</return>" for r in returns)
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
        f"<faultcode>SOAP-ENV:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    ).encode()
