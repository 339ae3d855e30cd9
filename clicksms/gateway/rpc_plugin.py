"""The zeep egress plugin that gives zeep's RPC requests the encoding the RPC WSDL asks for
(:mod:`clicksms.gateway.rpc` tells why). Importing it imports zeep: only a zeep client for the
RPC/Encoded style does.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from zeep import Plugin

from clicksms.gateway.rpc import PREFIXES, SOAP_ENC, STRING_TYPE, XSI, QName, operations
from clicksms.gateway.shapes import SOAP_ENV

_XSI_TYPE = f"{{{XSI}}}type"
_ARRAY_TYPE = f"{{{SOAP_ENC}}}arrayType"
_ENCODING_STYLE = f"{{{SOAP_ENV}}}encodingStyle"


class EncodingPlugin(Plugin):
    """Adds to zeep's RPC request what SOAP 1.1 section 5 encoding asks for.

    On the operation element ``SOAP-ENV:encodingStyle``; on each part an ``xsi:type`` from the
    WSDL; each array part becomes ``xsi:type="tns:ArrayOfString"`` with
    ``SOAP-ENC:arrayType="xsd:string[N]"`` and ``xsi:type="xsd:string"`` items. The prefixes
    of those QName values are declared on the Envelope, which is rebuilt for that, as lxml
    cannot add a declaration to an existing element.
    """

    def egress(
        self, envelope: Any, http_headers: dict[str, str], operation: Any, binding_options: Any
    ) -> tuple[Any, dict[str, str]]:
        op = operations().get(operation.name.lower())
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if op is None or body is None or len(body) != 1:
            return envelope, http_headers
        nsmap = {**envelope.nsmap, **{prefix: ns for ns, prefix in PREFIXES.items()}}
        encoded = etree.Element(envelope.tag, envelope.attrib, nsmap=nsmap)
        encoded.text = envelope.text
        encoded.extend(list(envelope))  # moves Header and Body
        call = body[0]
        call.set(_ENCODING_STYLE, SOAP_ENC)
        for part in call:
            kind = op.parts.get(part.tag if isinstance(part.tag, str) else "")
            if kind is None:
                continue
            if part.tag in op.array_parts:
                _encode_array(part, kind)
            else:
                part.set(_XSI_TYPE, _prefixed(kind))
        return encoded, http_headers


def _encode_array(part: Any, kind: QName) -> None:
    """``part``'s items as a SOAP-encoded array of strings (zeep's own items replaced)."""
    values = [item.text for item in part]
    tail = part.tail
    part.clear()  # zeep's items carry their own xs/xsi declarations: start afresh
    part.tail = tail
    part.set(_XSI_TYPE, _prefixed(kind))
    part.set(_ARRAY_TYPE, f"{_prefixed(STRING_TYPE)}[{len(values)}]")
    for value in values:
        item = etree.SubElement(part, "item", {_XSI_TYPE: _prefixed(STRING_TYPE)})
        item.text = value


def _prefixed(kind: QName) -> str:
    return f"{PREFIXES[kind[0]]}:{kind[1]}"
