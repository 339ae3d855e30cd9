"""The RPC/Encoded envelope codec (``server.Codec``) of ``/soap/webservice_vs.php``.

It reads requests as strictly as the strictest SOAP stacks of that era did (API.md §10.2:
Apache/IBM SOAP, SOAP::Lite, JAX-RPC), against the operations its WSDL declares (``wsdl``),
and answers what none of them could deserialise with a Client fault that says what was wrong:

* a SOAPAction header (SOAP 1.1 §6.1.1); when not empty, the WSDL's action for the operation;
* the operation element named as the WSDL spells it (``routeCoverage``) in the soap:body
  namespace; its parts unqualified, each one a part of that operation (``cliMsgId`` in the
  send operations, ``climsgid`` in querymsg/delmsg, ``field1``..``field4``), none twice;
* ``SOAP-ENV:encodingStyle`` naming SOAP encoding in scope at the operation element;
* an ``xsi:type`` on every part that carries a value, agreeing with the WSDL's part type (an
  ``xsd:`` or ``SOAP-ENC:`` name of it), and a value of that type's lexical form (empty reads
  as not set, as API.md §5.1 asks for the parts generated clients fill with "");
* an array part typed ``tns:ArrayOfString`` or ``SOAP-ENC:Array`` with
  ``SOAP-ENC:arrayType="xsd:string[N]"``, N its number of items, items typed xsd:string if
  typed at all; no sparse or partial arrays (``offset``, ``position``).

An ``xsi:nil`` part carries no value and needs no type; multi-reference values (``href="#id"``
to an independent element of the Body, as Axis sends) are followed. The operations see the
same fields as over Document/Literal: the operation's ``spec`` name and its parts as
``(name, value)`` pairs, one ``to`` pair per array item.

Answers follow the RPC WSDL (API.md §2.3): an ``ArrayOfString`` return is a SOAP-encoded array
of xsi-typed strings, inline or, with ``arrays="multiref"``, an independent ``multiRef``
element the return points at (both exist in the wild); a string return is one xsi-typed string.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from clicksms.sandbox import spec, wsdl
from clicksms.sandbox.config import RPC_ARRAY_STYLES
from clicksms.sandbox.soapxml import (
    SOAP_ENV_NS,
    XSI_NS,
    SoapRequest,
    build_fault,
    envelope_body,
    escape,
    is_nil,
)
from clicksms.sandbox.wsdl import SOAP_ENC_NS, XSD_NS, QName
from clicksms.sandbox.xmltree import Scope, SoapFault, parse_scoped, split_tag

_XSI_TYPE = f"{{{XSI_NS}}}type"
_ARRAY_TYPE = f"{{{SOAP_ENC_NS}}}arrayType"
_SPARSE = (f"{{{SOAP_ENC_NS}}}offset", f"{{{SOAP_ENC_NS}}}position")
_ENCODING_STYLE = f"{{{SOAP_ENV_NS}}}encodingStyle"
_SIZED_ARRAY = re.compile(r"\s*([^\s\[\]]+)\[([0-9]+)\]\s*")
_XSD_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|-?INF|NaN")
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _lexical_ok(kind: QName, value: str) -> bool:
    """Whether ``value`` is in the lexical space of the simple type ``kind`` ("" always is)."""
    value = value.strip()
    if not value or kind[1] == "string":
        return True
    if kind[1] == "int":
        return spec.parse_int(value) is not None
    return bool(_XSD_FLOAT.fullmatch(value))


class RpcCodec:
    """Requests and answers of one RPC/encoded WSDL; ``arrays``: how array returns are sent."""

    def __init__(self, wsdl_bytes: bytes, arrays: str = "inline") -> None:
        if arrays not in RPC_ARRAY_STYLES:
            raise ValueError(f"arrays must be one of {', '.join(RPC_ARRAY_STYLES)}")
        self.arrays = arrays
        self.operations = wsdl.rpc_operations(wsdl_bytes)
        #: WSDL spelling -> spec spelling, and back (routeCoverage <-> routecoverage).
        self.spec_names = {name: spec.operation_named(name) or name for name in self.operations}
        self.wsdl_names = {op: name for name, op in self.spec_names.items()}
        # How fault messages write a type: as the WSDL does (xsd:int, tns:ArrayOfString).
        own = {op.array_type[0] for op in self.operations.values() if op.array_type}
        self._prefixes = {XSD_NS: "xsd", SOAP_ENC_NS: "SOAP-ENC", **dict.fromkeys(own, "tns")}

    # ------------------------------------------------------------------- requests
    def parse_request(self, body: bytes, soap_action: str | None = None) -> SoapRequest:
        if not body.strip():
            raise SoapFault("Client", "Empty request body")
        root, scopes = parse_scoped(body)
        body_el = envelope_body(root)
        children = list(body_el)
        if not children:
            raise SoapFault("Client", "SOAP Body is empty")
        op_el, independent = children[0], children[1:]
        operation = self._operation(op_el)
        self._check_action(operation, soap_action)
        _check_encoding(op_el, [body_el, root])
        refs: dict[str, ET.Element] = {}
        for element in independent:
            ref_id = element.get("id")
            if not ref_id:
                _, name = split_tag(element.tag)
                raise SoapFault("Client", f"Body element '{name}' after the call has no id")
            refs[ref_id] = element
        fields: list[tuple[str, str | None]] = []
        seen: set[str] = set()
        for part in op_el:
            name = self._part_name(operation, part, seen)
            _check_encoding(part, [])
            value = _dereference(part, refs)
            if is_nil(value):
                fields.append((name, None))  # a null: "not set"
                continue
            declared = operation.parts[name]
            given = self._xsi_type(value, part, scopes, name, declared)
            if declared == operation.array_type:
                if given not in (declared, wsdl.SOAP_ENC_ARRAY):
                    raise self._contradiction(name, given, declared)
                fields.extend((name, item) for item in _array_items(value, name, scopes, refs))
            else:
                if given not in ((XSD_NS, declared[1]), (SOAP_ENC_NS, declared[1])):
                    raise self._contradiction(name, given, declared)
                fields.append((name, self._simple_value(value, name, declared)))
        op = self.spec_names[operation.name]
        return SoapRequest(op, fields, operation.fractional)

    def _operation(self, op_el: ET.Element) -> wsdl.RpcOperation:
        ns, name = split_tag(op_el.tag)
        operation = self.operations.get(name)
        if operation is None:
            spelled = next((n for n in self.operations if n.lower() == name.lower()), None)
            hint = f" (this server spells it '{spelled}')" if spelled else ""
            raise SoapFault("Client", f"Procedure '{name}' not present{hint}")
        if ns != operation.namespace:
            where = f"namespace {ns}" if ns else "no namespace"
            raise SoapFault(
                "Client", f"Operation '{name}' must be in {operation.namespace}, not {where}"
            )
        return operation

    @staticmethod
    def _check_action(operation: wsdl.RpcOperation, soap_action: str | None) -> None:
        if soap_action is None:
            raise SoapFault("Client", "SOAPAction HTTP header is missing (SOAP 1.1 §6.1.1)")
        action = soap_action.strip()
        if len(action) >= 2 and action[0] == action[-1] == '"':
            action = action[1:-1]
        if action and action != operation.action:
            raise SoapFault(
                "Client",
                f"SOAPAction {action!r} does not match operation '{operation.name}' "
                f"({operation.action})",
            )

    @staticmethod
    def _part_name(operation: wsdl.RpcOperation, part: ET.Element, seen: set[str]) -> str:
        ns, name = split_tag(part.tag)
        if ns is not None:
            raise SoapFault("Client", f"Part '{name}' must be unqualified, not in namespace {ns}")
        if name not in operation.parts:
            raise SoapFault(
                "Client",
                f"Operation '{operation.name}' has no part '{name}' "
                f"(its parts: {', '.join(operation.parts)})",
            )
        if name in seen:
            raise SoapFault("Client", f"Part '{name}' is given more than once")
        seen.add(name)
        return name

    def _xsi_type(
        self,
        value: ET.Element,
        accessor: ET.Element,
        scopes: dict[ET.Element, Scope],
        name: str,
        declared: QName,
    ) -> QName:
        """A part's resolved xsi:type (on the value, else on its accessor when referenced)."""
        carrier = value if value.get(_XSI_TYPE) is not None else accessor
        raw = carrier.get(_XSI_TYPE)
        if raw is None:
            raise SoapFault(
                "Client",
                f"Part '{name}' has no xsi:type (the WSDL types it {self._show(declared)})",
            )
        given = wsdl.resolve(raw, scopes[carrier])
        if given is None:
            raise SoapFault("Client", f"Part '{name}': xsi:type {raw!r} uses an undeclared prefix")
        return given

    def _contradiction(self, name: str, given: QName, declared: QName) -> SoapFault:
        return SoapFault(
            "Client",
            f"Part '{name}' is xsi:type {self._show(given)} "
            f"but the WSDL types it {self._show(declared)}",
        )

    def _simple_value(self, value: ET.Element, name: str, declared: QName) -> str:
        if len(value):
            raise SoapFault("Client", f"Part '{name}' must be a simple {self._show(declared)}")
        text = value.text or ""
        if not _lexical_ok(declared, text):
            raise SoapFault("Client", f"Part '{name}': {text!r} is not an {self._show(declared)}")
        return text

    def _show(self, qname: QName) -> str:
        """A resolved type as the WSDL writes it."""
        prefix = self._prefixes.get(qname[0])
        return f"{prefix}:{qname[1]}" if prefix else f"{{{qname[0]}}}{qname[1]}"

    # -------------------------------------------------------------------- answers
    def build_response(self, op: str, returns: list[str]) -> bytes:
        operation = self.operations[self.wsdl_names[op]]
        name = operation.name
        independent = ""
        if operation.returns == operation.array_type:
            items = "".join(f'<item xsi:type="xsd:string">{escape(r)}</item>' for r in returns)
            array = f'xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[{len(returns)}]"'
            if self.arrays == "multiref":
                value = '<return href="#id1"/>'
                independent = f'<multiRef id="id1" SOAP-ENC:root="0" {array}>{items}</multiRef>'
            else:
                value = f"<return {array}>{items}</return>"
        else:  # one string: the gateway gives these operations exactly one
            value = f'<return xsi:type="xsd:string">{escape("".join(returns))}</return>'
        return (
            f"{_XML_DECL}"
            f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV_NS}" xmlns:ns1="{operation.namespace}"'
            f' xmlns:xsd="{XSD_NS}" xmlns:xsi="{XSI_NS}" xmlns:SOAP-ENC="{SOAP_ENC_NS}"'
            f' SOAP-ENV:encodingStyle="{SOAP_ENC_NS}">'
            f"<SOAP-ENV:Body><ns1:{name}Response>{value}</ns1:{name}Response>{independent}"
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
        ).encode()

    @staticmethod
    def build_fault(code: str, message: str) -> bytes:
        return build_fault(code, message)


# --------------------------------------------------------------------- part checks
def _check_encoding(element: ET.Element, ancestors: list[ET.Element]) -> None:
    """SOAP encoding must be the encodingStyle in force at ``element`` (SOAP 1.1 §4.1.1: the
    nearest attribute on it or its ancestors; a list of URIs, most specific first)."""
    for node in [element, *ancestors]:
        style = node.get(_ENCODING_STYLE)
        if style is not None:
            if SOAP_ENC_NS not in style.split():
                _, name = split_tag(element.tag)
                raise SoapFault(
                    "Client", f"'{name}' is not SOAP-encoded (SOAP-ENV:encodingStyle={style!r})"
                )
            return
    if ancestors:  # the operation element; a part inherits what was found there
        raise SoapFault(
            "Client", f"SOAP-ENV:encodingStyle is missing: this server wants {SOAP_ENC_NS}"
        )


def _dereference(element: ET.Element, refs: dict[str, ET.Element]) -> ET.Element:
    """The element carrying the value: ``element`` itself, or what its ``href`` points at."""
    href = element.get("href")
    if href is None:
        return element
    _, name = split_tag(element.tag)
    if len(element) or (element.text or "").strip():
        raise SoapFault("Client", f"'{name}' has an href and a value of its own")
    target = refs.get(href[1:]) if href.startswith("#") else None
    if target is None:
        raise SoapFault("Client", f"'{name}' refers to {href!r}, which the Body does not hold")
    return target


def _array_items(
    array: ET.Element, name: str, scopes: dict[ET.Element, Scope], refs: dict[str, ET.Element]
) -> list[str]:
    """The strings of a SOAP-encoded string array, once its arrayType matches its items."""
    raw = array.get(_ARRAY_TYPE)
    if raw is None:
        raise SoapFault("Client", f"Array '{name}' has no SOAP-ENC:arrayType (xsd:string[N])")
    sized = _SIZED_ARRAY.fullmatch(raw)
    kind = None if sized is None else wsdl.resolve(sized.group(1), scopes[array])
    if sized is None or kind != wsdl.XSD_STRING:
        raise SoapFault(
            "Client", f"Array '{name}': SOAP-ENC:arrayType {raw!r} is not xsd:string[N]"
        )
    if any(array.get(attribute) is not None for attribute in _SPARSE):
        raise SoapFault("Client", f"Array '{name}': partial or sparse arrays are not supported")
    members = list(array)
    if int(sized.group(2)) != len(members):
        raise SoapFault(
            "Client",
            f"Array '{name}': SOAP-ENC:arrayType says {sized.group(2)} item(s), "
            f"it holds {len(members)}",
        )
    items = []
    for member in members:
        item = _dereference(member, refs)
        typed = item.get(_XSI_TYPE)
        if typed is not None:
            given = wsdl.resolve(typed, scopes[item])
            if given is None:
                raise SoapFault(
                    "Client", f"Array '{name}': item xsi:type {typed!r} uses an undeclared prefix"
                )
            if given not in (wsdl.XSD_STRING, (SOAP_ENC_NS, "string")):
                raise SoapFault(
                    "Client", f"Array '{name}': an item is xsi:type {typed!r}, not xsd:string"
                )
        if len(item):
            raise SoapFault("Client", f"Array '{name}': an item must be a string")
        items.append("" if is_nil(item) else (item.text or ""))
    return items
