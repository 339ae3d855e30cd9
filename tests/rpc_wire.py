"""An RPC/Encoded request read as the strictest SOAP 1.1 servers of its era read one.

:func:`check_encoded` holds a request to what Apache SOAP, SOAP::Lite and JAX-RPC each
insisted on (API.md §10.2), with the rules taken from the bundled WSDL itself, read here with
the standard library (not with clicksms's own reader, whose mistakes it must be able to see):
the operation element named as the WSDL spells it, in the soap:body namespace;
``encodingStyle`` in scope; an ``xsi:type`` on every part that resolves (through the
namespaces declared where it is written) to the WSDL's part type; every array part a
SOAP-encoded array whose ``arrayType`` counts its ``xsd:string`` items; the WSDL's
SOAPAction. It returns the parts as values, so tests can also check what was sent.
"""

from __future__ import annotations

import functools
import io
import xml.etree.ElementTree as ET
from importlib import resources

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
TNS = "http://api.clickatell.com/soap/webservice"
ARRAY_OF_STRING = (TNS, "ArrayOfString")


@functools.lru_cache(maxsize=1)
def rpc_wsdl() -> dict[str, tuple[dict[str, tuple[str, str]], str]]:
    """Each operation of the bundled RPC WSDL: its parts' types and its SOAPAction."""
    data = resources.files("clicksms").joinpath("data/rpc_encoded_webservice_vs.wsdl").read_bytes()
    root, scopes = _parse(data)
    messages = {
        m.get("name"): {
            p.get("name"): _resolve(p.get("type"), scopes[p]) for p in m.iter(f"{{{WSDL}}}part")
        }
        for m in root.iter(f"{{{WSDL}}}message")
    }
    actions = {
        op.get("name"): op.find(f"{{{WSDL_SOAP}}}operation").get("soapAction")
        for op in root.find(f"{{{WSDL}}}binding").iter(f"{{{WSDL}}}operation")
    }
    operations = {}
    for op in root.find(f"{{{WSDL}}}portType").iter(f"{{{WSDL}}}operation"):
        message = op.find(f"{{{WSDL}}}input").get("message").split(":")[1]
        operations[op.get("name")] = (messages[message], actions[op.get("name")])
    return operations


def check_encoded(body: bytes, soap_action: str | None) -> tuple[str, dict[str, object]]:
    """The operation and its parts (a list for an array), once every strict rule holds."""
    root, scopes = _parse(body)
    assert root.tag == f"{{{ENV}}}Envelope", root.tag
    children = list(root.find(f"{{{ENV}}}Body"))
    assert len(children) == 1, "one call in the Body, nothing else"
    call = children[0]
    namespace, name = call.tag[1:].split("}")
    operations = rpc_wsdl()
    assert name in operations, f"{name} is not spelled as the WSDL spells it"
    assert namespace == TNS, namespace
    parts, action = operations[name]
    assert soap_action is not None and soap_action.strip('"') == action, soap_action
    style = call.get(f"{{{ENV}}}encodingStyle") or root.get(f"{{{ENV}}}encodingStyle")
    assert style == ENC, f"encodingStyle {style!r}"
    values: dict[str, object] = {}
    for part in call:
        assert "}" not in part.tag, f"part {part.tag} must be unqualified"
        assert part.tag in parts, f"{name} has no part {part.tag}"
        assert part.tag not in values, f"{part.tag} twice"
        typed = part.get(f"{{{XSI}}}type")
        assert typed is not None, f"{part.tag} has no xsi:type"
        kind = _resolve(typed, scopes[part])
        assert kind == parts[part.tag], f"{part.tag} is {kind}, the WSDL says {parts[part.tag]}"
        if kind == ARRAY_OF_STRING:
            values[part.tag] = _array(part, scopes)
        else:
            assert len(part) == 0, f"{part.tag} must be simple"
            values[part.tag] = part.text or ""
    return name, values


def _array(part: ET.Element, scopes: dict[ET.Element, dict[str, str]]) -> list[str]:
    declared = part.get(f"{{{ENC}}}arrayType")
    assert declared is not None, f"{part.tag} has no SOAP-ENC:arrayType"
    kind, _, count = declared.partition("[")
    assert _resolve(kind, scopes[part]) == (XSD, "string"), declared
    assert count == f"{len(part)}]", f"arrayType {declared} for {len(part)} items"
    items = []
    for item in part:
        typed = item.get(f"{{{XSI}}}type")
        assert typed is not None and _resolve(typed, scopes[item]) == (XSD, "string"), typed
        items.append(item.text or "")
    return items


def _parse(data: bytes) -> tuple[ET.Element, dict[ET.Element, dict[str, str]]]:
    """The document and, for each element, the prefixes in scope where it is written."""
    scopes: dict[ET.Element, dict[str, str]] = {}
    stack: list[dict[str, str]] = [{}]
    pending: dict[str, str] = {}
    root = None
    for event, item in ET.iterparse(io.BytesIO(data), events=("start-ns", "start", "end")):
        if event == "start-ns":
            prefix, uri = item
            pending[prefix] = uri
        elif event == "start":
            scope = {**stack[-1], **pending}
            pending = {}
            stack.append(scope)
            scopes[item] = scope
            root = item if root is None else root
        else:
            stack.pop()
    assert root is not None
    return root, scopes


def _resolve(qname: str, scope: dict[str, str]) -> tuple[str, str]:
    prefix, _, local = qname.strip().rpartition(":")
    assert prefix in scope, f"prefix {prefix!r} of {qname!r} is not declared"
    return scope[prefix], local
