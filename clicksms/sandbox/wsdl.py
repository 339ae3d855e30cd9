"""What the bundled WSDLs declare, read from the files themselves: the RPC server's operations
(spelling, SOAPAction, body namespace, each part's name and type, the return's type) and the
document/literal elements typed xsd:float. The codecs check requests against these tables, so
the sandbox follows the WSDLs by construction instead of by a copy that could drift.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from clicksms.sandbox.xmltree import Scope, parse_scoped

XSD_NS = "http://www.w3.org/2001/XMLSchema"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"

#: A resolved QName: (namespace URI, local name).
QName = tuple[str, str]
XSD_STRING: QName = (XSD_NS, "string")
XSD_FLOAT: QName = (XSD_NS, "float")
SOAP_ENC_ARRAY: QName = (SOAP_ENC_NS, "Array")


class WsdlError(ValueError):
    """The bundled WSDL does not say what the sandbox needs (a packaging bug, not a request's)."""


def resolve(qname: str, scope: Scope) -> QName | None:
    """``xsd:int`` with its prefix looked up in ``scope``; None when the prefix is unbound."""
    prefix, _, local = qname.strip().rpartition(":")
    uri = scope.get(prefix)
    if uri is None or not local:
        return None
    return uri, local


@dataclass(frozen=True)
class RpcOperation:
    """One operation of an RPC/encoded binding, as its WSDL spells and types it."""

    name: str  # e.g. routeCoverage
    action: str  # the binding's soapAction
    namespace: str  # the soap:body namespace of the input (and of the output)
    parts: dict[str, QName]  # input parts in WSDL order: name -> type
    returns: QName  # the type of the output's one part
    array_type: QName | None  # the type name of tns:ArrayOfString, when a part or return is one

    @functools.cached_property
    def fractional(self) -> frozenset[str]:
        """The parts typed xsd:float, whose values may have a fraction (max_credits)."""
        return frozenset(name for name, kind in self.parts.items() if kind == XSD_FLOAT)


def rpc_operations(data: bytes) -> dict[str, RpcOperation]:
    """Every operation of the WSDL's RPC binding, by its WSDL name."""
    root, scopes = parse_scoped(data)
    arrays = _array_types(root, scopes)
    messages = {
        message.get("name"): [
            (part.get("name") or "", _resolved(part, "type", scopes)) for part in message
        ]
        for message in root.iter(f"{{{WSDL_NS}}}message")
    }
    port_type = root.find(f"{{{WSDL_NS}}}portType")
    binding = root.find(f"{{{WSDL_NS}}}binding")
    if port_type is None or binding is None:
        raise WsdlError("the WSDL has no portType or binding")
    bound = {op.get("name"): op for op in binding.iter(f"{{{WSDL_NS}}}operation")}
    operations: dict[str, RpcOperation] = {}
    for op in port_type.iter(f"{{{WSDL_NS}}}operation"):
        name = op.get("name") or ""
        in_parts = messages[_message_name(op, "input")]
        (out_part,) = messages[_message_name(op, "output")]
        soap_op = bound[name].find(f"{{{WSDL_SOAP_NS}}}operation")
        body = bound[name].find(f"{{{WSDL_NS}}}input/{{{WSDL_SOAP_NS}}}body")
        if soap_op is None or body is None or body.get("use") != "encoded":
            raise WsdlError(f"operation {name} is not bound as rpc/encoded")
        types = {kind for _, kind in in_parts} | {out_part[1]}
        operations[name] = RpcOperation(
            name=name,
            action=soap_op.get("soapAction") or "",
            namespace=body.get("namespace") or "",
            parts=dict(in_parts),
            returns=out_part[1],
            array_type=next((kind for kind in types if kind in arrays), None),
        )
    return operations


def document_floats(data: bytes) -> dict[str, frozenset[str]]:
    """Per global element (an operation's wrapper), its child elements typed xsd:float."""
    root, scopes = parse_scoped(data)
    floats: dict[str, frozenset[str]] = {}
    for schema in root.iter(f"{{{XSD_NS}}}schema"):
        for element in schema.findall(f"{{{XSD_NS}}}element"):
            floats[element.get("name") or ""] = frozenset(
                child.get("name") or ""
                for child in element.iter(f"{{{XSD_NS}}}element")
                if child is not element and _resolved(child, "type", scopes) == XSD_FLOAT
            )
    return floats


def _array_types(root: ET.Element, scopes: dict[ET.Element, Scope]) -> frozenset[QName]:
    """The schema's complex types restricting SOAP-ENC:Array (tns:ArrayOfString)."""
    found = set()
    for schema in root.iter(f"{{{XSD_NS}}}schema"):
        tns = schema.get("targetNamespace") or ""
        for kind in schema.findall(f"{{{XSD_NS}}}complexType"):
            restriction = kind.find(f".//{{{XSD_NS}}}restriction")
            if restriction is not None and _resolved(restriction, "base", scopes) == SOAP_ENC_ARRAY:
                found.add((tns, kind.get("name") or ""))
    return frozenset(found)


def _resolved(element: ET.Element, attribute: str, scopes: dict[ET.Element, Scope]) -> QName:
    qname = resolve(element.get(attribute) or "", scopes[element])
    if qname is None:
        raise WsdlError(f"{attribute}={element.get(attribute)!r} does not resolve")
    return qname


def _message_name(op: ET.Element, direction: str) -> str | None:
    child = op.find(f"{{{WSDL_NS}}}{direction}")
    return None if child is None else (child.get("message") or "").rpartition(":")[2]
