"""RPC/Encoded, Clickatell's second SOAP server (``webservice_vs.php``), as zeep is set up for it.

zeep builds RPC requests from the WSDL, but ignores ``use="encoded"`` (API.md §10.2): no
``encodingStyle``, no ``xsi:type`` on the parts, and ``to`` without the SOAP-encoded array's
type and ``arrayType``. Lenient servers (PHP's) cope; the strictest of that era (Apache SOAP,
SOAP::Lite, JAX-RPC) refuse. :class:`~clicksms.gateway.rpc_plugin.EncodingPlugin`, a zeep
egress plugin, adds all of it, with the type of each part read from the bundled WSDL and every
prefix those types use declared on the Envelope (lxml cannot know that an attribute value is a
QName).

:data:`RPC_ENCODED` is the :class:`~clicksms.gateway.soap.SoapStyle`. It also speaks the WSDL's
dialect for the rest of the client, which uses the Document/Literal names: ``routecoverage``
is ``routeCoverage`` here and ``climsgid`` is ``cliMsgId`` in the send operations; each value
takes the type of its part (``delmsg.api_id`` is an ``xsd:string``, ``max_credits`` an
``xsd:float``); and a part the caller does not set is left out (zeep's ``SkipValue``), never
sent as 0 or "" (API.md §10.2, last bullet).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lxml import etree

from clicksms.gateway.soap import SoapStyle

WSDL_RESOURCE = "data/rpc_encoded_webservice_vs.wsdl"
TNS = "http://api.clickatell.com/soap/webservice"
BINDING = f"{{{TNS}}}PushServerWSBinding"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
#: The schemas the WSDL imports without a location, bundled so that nothing is fetched.
SCHEMAS = {SOAP_ENC: "data/soap-encoding.xsd"}

#: The prefix each type namespace is written with; all are declared on the Envelope.
PREFIXES = {XSD: "xsd", XSI: "xsi", SOAP_ENC: "SOAP-ENC", TNS: "tns"}
STRING_TYPE = (XSD, "string")

QName = tuple[str, str]


@dataclass(frozen=True)
class Operation:
    """One operation of the RPC WSDL: its name as spelled there, and its parts in order."""

    name: str
    parts: Mapping[str, QName]  # part name -> its type (namespace, local name)
    array_parts: frozenset[str]  # the parts typed as an array of strings

    def part(self, name: str) -> str:
        """The WSDL's spelling of a part the client names (``climsgid`` -> ``cliMsgId``)."""
        if name in self.parts:
            return name
        return next((p for p in self.parts if p.lower() == name.lower()), name)


@functools.lru_cache(maxsize=1)
def operations() -> dict[str, Operation]:
    """The bundled WSDL's operations by lower-cased name, read once."""
    wsdl = resources.files("clicksms").joinpath(WSDL_RESOURCE).read_bytes()
    root = etree.fromstring(wsdl, etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"wsdl": WSDL_NS, "xsd": XSD}
    arrays = {  # complex types restricting SOAP-ENC:Array
        (TNS, kind.get("name"))
        for kind in root.iterfind(".//xsd:complexType", ns)
        if kind.find(".//xsd:restriction", ns) is not None
        and _qname(kind.find(".//xsd:restriction", ns).get("base"), kind) == (SOAP_ENC, "Array")
    }
    messages = {
        message.get("name"): {
            part.get("name"): _qname(part.get("type"), part)
            for part in message.iterfind("wsdl:part", ns)
        }
        for message in root.iterfind("wsdl:message", ns)
    }
    found = {}
    for op in root.iterfind("wsdl:portType/wsdl:operation", ns):
        message = op.find("wsdl:input", ns).get("message").partition(":")[2]
        parts = messages[message]
        found[op.get("name").lower()] = Operation(
            op.get("name"), parts, frozenset(p for p, kind in parts.items() if kind in arrays)
        )
    return found


def _qname(value: str | None, where: Any) -> QName:
    """A ``prefix:name`` attribute value resolved where it is written."""
    prefix, _, local = (value or "").rpartition(":")
    return where.nsmap.get(prefix or None, ""), local


def _typed(value: Any, kind: QName) -> Any:
    """``value`` as its part's type wants it: text for strings, a decimal text for floats.

    A float goes out as its shortest exact decimal (``1.5``), as text so that the envelope
    templates of :mod:`clicksms.gateway.shapes` can carry it.
    """
    if kind == STRING_TYPE and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == (XSD, "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return value


class RpcEncoded(SoapStyle):
    """Clickatell's RPC/Encoded server: the client's names and values in the WSDL's dialect."""

    def plugins(self) -> list[Any]:
        from clicksms.gateway.rpc_plugin import EncodingPlugin

        return [EncodingPlugin()]

    def wire(self, operation: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        op = operations().get(operation.lower())
        if op is None:
            return operation, fields  # zeep names the unknown operation
        wired = {}
        for name, value in fields.items():
            part = op.part(name)
            wired[part] = _typed(value, op.parts[part]) if part in op.parts else value
        return op.name, wired

    def complete(self, operation: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Every part zeep insists on: the ones not set are skipped, never sent empty."""
        from zeep.xsd import SkipValue  # only zeep's own calls are completed: zeep is loaded

        op = operations().get(operation.lower())
        if op is None:
            return fields
        return {**dict.fromkeys(op.parts, SkipValue), **fields}


RPC_ENCODED = RpcEncoded("rpc", WSDL_RESOURCE, BINDING, schemas=SCHEMAS, encoded=True)
