"""Reading XML safely for the sandbox: a DOCTYPE is refused outright (so no entity is ever
expanded), and the namespaces in scope at each element are kept for QName-valued attributes.
Both SOAP codecs and the WSDL reader use it; a parse error is a SOAP Client fault."""

from __future__ import annotations

import xml.etree.ElementTree as ET


class SoapFault(Exception):
    """A condition answered with a SOAP Fault (HTTP 500) instead of a ``<return>`` string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "Client", "Server" or "VersionMismatch"
        self.message = message


class _NoDoctypeBuilder(ET.TreeBuilder):
    """Tree builder that aborts at the DOCTYPE, before any entity declaration is read."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise SoapFault("Client", "DOCTYPE is not allowed in SOAP messages")


#: prefix -> namespace URI in scope at an element ("" is the default namespace).
Scope = dict[str, str]


class _ScopedBuilder(_NoDoctypeBuilder):
    """Also records the namespace declarations in scope at each element, which ElementTree
    forgets: QName-valued attributes (``xsi:type="xsd:int"``) need them to mean anything."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[ET.Element, Scope] = {}
        self._stack: list[Scope] = [{"xml": "http://www.w3.org/XML/1998/namespace"}]
        self._declared: Scope = {}

    def start_ns(self, prefix: str, uri: str) -> None:
        self._declared[prefix] = uri

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        scope = self._stack[-1]
        if self._declared:
            scope, self._declared = {**scope, **self._declared}, {}
        self._stack.append(scope)
        self.scopes[element] = scope
        return element

    def end(self, tag: str) -> ET.Element:
        self._stack.pop()
        return super().end(tag)


def split_tag(tag: str) -> tuple[str | None, str]:
    """'{ns}local' -> ('ns', 'local'); 'local' -> (None, 'local')."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def parse_xml(body: bytes) -> ET.Element:
    return _parse(body, _NoDoctypeBuilder())


def parse_scoped(body: bytes) -> tuple[ET.Element, dict[ET.Element, Scope]]:
    """The document, and the namespaces in scope at each of its elements."""
    builder = _ScopedBuilder()
    return _parse(body, builder), builder.scopes


def _parse(body: bytes, builder: ET.TreeBuilder) -> ET.Element:
    parser = ET.XMLParser(target=builder)
    try:
        parser.feed(body)
        return parser.close()
    except ET.ParseError as exc:
        raise SoapFault("Client", f"Malformed XML: {exc}") from None
