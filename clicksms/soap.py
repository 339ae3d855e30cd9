"""The only module that talks SOAP: zeep over the bundled Document/Literal WSDL.

It turns every SOAP-level failure (HTTP error pages, broken XML, SOAP faults) into one-line
:mod:`clicksms.errors` — the transport (:mod:`clicksms.transport`) has already done so for
connection, timeout and TLS trouble — and every answer into a list of ``<return>`` strings for
:mod:`clicksms.responses` to parse. zeep and lxml are imported here, on first use, never at
start-up.

zeep stays the SOAP layer: it builds every envelope from the WSDL and deserialises every reply.
What it costs per call is cut where bulk sends feel it: the envelope zeep built for the first
call of a given shape (operation, field names, list lengths) is kept, and later calls of that
shape get a copy with the new leaf values set — checked once against zeep's own output; replies
that are a plain HTTP 200 envelope skip zeep's generic checks and go straight to the
operation's deserialiser, while anything unusual (faults, error statuses, broken XML) still
goes through zeep's full ``process_reply`` so its errors stay exactly what they were.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Hashable
from importlib import resources
from typing import Any

from clicksms import __version__
from clicksms.errors import ClickSmsError, ProtocolError
from clicksms.responses import clip

BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"
WSDL_RESOURCE = "data/document_literal.wsdl"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: Envelope templates kept; a bulk run uses a handful of shapes (one per chunk size, mostly).
TEMPLATE_SHAPES = 64


class SoapClient:
    """A keep-alive zeep service bound to ``endpoint``; every call has connect/read timeouts.

    Safe to call from several threads at once: each thread has its own HTTP connection.
    """

    def __init__(self, endpoint: str, timeout: float) -> None:
        from zeep import Client, Settings
        from zeep.loader import parse_xml
        from zeep.wsdl.utils import etree_to_string

        from clicksms.transport import SoapTransport

        self.endpoint = endpoint
        self._transport = SoapTransport(endpoint, timeout, user_agent=f"clicksms/{__version__}")
        self._host = self._transport.host
        self._settings = Settings(
            strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        wsdl = resources.files("clicksms").joinpath(WSDL_RESOURCE)
        with resources.as_file(wsdl) as wsdl_path:
            client = Client(str(wsdl_path), transport=self._transport, settings=self._settings)
        self._client = client
        self._service = client.create_service(BINDING, endpoint)
        self._binding = self._service._binding
        self._options = self._service._binding_options
        self._templates = _Templates(TEMPLATE_SHAPES)
        self._parse_xml = parse_xml
        self._to_bytes = etree_to_string  # what zeep's Transport.post_xml serialises with

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Invoke ``operation`` and return its ``<return>`` strings (always a list)."""
        operation_obj = self._binding.all().get(operation)
        if operation_obj is None:  # what zeep's service proxy raises for a typo
            raise AttributeError(f"Service has no operation {operation!r}")
        status: int | None = None
        try:
            envelope, headers = self._envelope(operation, fields)
            body = self._to_bytes(envelope)
            response = self._transport.post(self._options["address"], body, headers)
            status = response.status_code
            result = self._reply(operation_obj, response)
        except Exception as exc:
            ours = self._translate(exc, status)
            if ours is None:
                raise
            # Not chained: zeep's messages can quote the server's answer, which may echo the
            # request (password, session ID) and would show up in a --debug traceback.
            raise ours from None
        items = result if isinstance(result, list) else [result]
        if not items or any(item is None for item in items):
            raise ProtocolError(f"{self._host} sent an empty {operation} response")
        return [str(item) for item in items]

    def close(self) -> None:
        """Close every thread's connection."""
        self._transport.close()

    # ------------------------------------------------------------------------ envelopes
    def _envelope(self, operation: str, fields: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """The request envelope and HTTP headers: from a template when the shape allows."""
        key = _shape(operation, fields)
        if key is None:
            return self._zeep_envelope(operation, fields)
        template = self._templates.get(key)
        if template is None:
            envelope, headers = self._zeep_envelope(operation, fields)
            self._templates.put(key, _Template.learn(envelope, headers, fields))
            return envelope, headers
        if template is _NOT_CACHEABLE:
            return self._zeep_envelope(operation, fields)
        return template.fill(fields, self._templates.lock), template.headers

    def _zeep_envelope(self, operation: str, fields: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """What zeep's ``binding.send`` builds (envelope, plugins, WSSE, headers), unsent."""
        return self._binding._create(
            operation, (), fields, client=self._client, options=self._options
        )

    # -------------------------------------------------------------------------- replies
    def _reply(self, operation_obj: Any, response: Any) -> Any:
        """zeep's deserialisation of the reply; its full ``process_reply`` unless plain 200.

        The shortcut does what ``process_reply`` does for that case minus the parts that are
        no-ops for this client (no plugins, no WS-Security, no multipart), and any deviation
        — a fault, a status other than 200, XML that does not parse — goes back to zeep.
        """
        content_type = response.headers.get("Content-Type", "text/xml")
        if response.status_code == 200 and "multipart" not in content_type.lower():
            try:
                doc = self._parse_xml(response.content, self._transport, settings=self._settings)
            except Exception:
                doc = None  # zeep's process_reply below raises its own error for it
            body = doc.find(_BODY) if doc is not None else None
            if body is not None and body.find(_FAULT) is None:
                return operation_obj.process_reply(doc)
        return self._binding.process_reply(self._client, operation_obj, response)

    def _translate(self, exc: Exception, status: int | None) -> Exception | None:
        """Map zeep and lxml exceptions to our one-line errors (never echoing request fields).

        ``status`` is the HTTP status of the reply, None when nothing was received.
        """
        from lxml.etree import XMLSyntaxError
        from zeep import exceptions as zeep_errors

        host = self._host
        if isinstance(exc, ClickSmsError):  # the transport's: already one line, already ours
            return exc
        if isinstance(exc, zeep_errors.Fault) and exc.code is not None:
            return ProtocolError(f"{host} answered with a SOAP fault: {clip(exc.message)}")
        if (
            status is not None
            and status != 200
            and isinstance(exc, (zeep_errors.Fault, zeep_errors.TransportError))
        ):
            return ProtocolError(f"{host} answered HTTP {status} instead of a SOAP response")
        if isinstance(exc, (zeep_errors.DTDForbidden, zeep_errors.EntitiesForbidden)):
            return ProtocolError(f"{host} sent XML with a DTD or entities; refused for safety")
        if isinstance(exc, (XMLSyntaxError, zeep_errors.TransportError)):
            return ProtocolError(f"{host} sent a malformed response (not XML)")
        if isinstance(exc, zeep_errors.Error):
            return ProtocolError(f"{host} sent a malformed response (not a Clickatell SOAP answer)")
        return None


_BODY = f"{{{SOAP_ENV}}}Body"
_FAULT = f"{{{SOAP_ENV}}}Fault"  # zeep looks for soap-env:Body/soap-env:Fault too


def _shape(operation: str, fields: dict[str, Any]) -> Hashable | None:
    """The template key for a call, or None when a value is not a str, an int or a str list.

    Values of other types (None, bool, floats, zeep objects) may render differently from call
    to call, so those calls are always built by zeep.
    """
    parts = []
    for name, value in fields.items():
        kind = type(value)
        if kind is str or kind is int:
            parts.append((name, kind.__name__))
        elif kind is list and all(type(item) is str for item in value):
            parts.append((name, len(value)))
        else:
            return None
    return operation, tuple(sorted(parts))


class _Template:
    """An envelope zeep built, and where each field's value sits in it.

    ``slots`` are (child index, field name, list index or None) under the operation element,
    which is the only child of the envelope's child number ``body``.
    """

    __slots__ = ("body", "envelope", "headers", "slots")

    def __init__(self, envelope: Any, body: int, headers: dict[str, str], slots: list[Any]) -> None:
        self.envelope = envelope
        self.body = body
        self.headers = headers
        self.slots = slots

    @classmethod
    def learn(
        cls, envelope: Any, headers: dict[str, str], fields: dict[str, Any]
    ) -> _Template | object:
        """A template when zeep put every value, verbatim, in one flat child element each.

        Anything else (nesting, attributes, a value rendered differently, a field left out)
        makes the shape uncacheable, and zeep keeps building it.
        """
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if body is None or len(body) != 1 or body[0].text:
            return _NOT_CACHEABLE
        slots: list[tuple[int, str, int | None]] = []
        seen: dict[str, int] = {}
        for index, child in enumerate(body[0]):
            name = child.tag
            if not isinstance(name, str) or name not in fields:
                return _NOT_CACHEABLE
            if len(child) or child.attrib or child.tail:
                return _NOT_CACHEABLE
            value = fields[name]
            position = seen.get(name, 0)
            seen[name] = position + 1
            if isinstance(value, list):
                if position >= len(value):
                    return _NOT_CACHEABLE
                expected, slot = value[position], (index, name, position)
            else:
                if position:
                    return _NOT_CACHEABLE
                expected, slot = str(value), (index, name, None)
            if (child.text or "") != expected:
                return _NOT_CACHEABLE
            slots.append(slot)
        for name, value in fields.items():
            if seen.get(name, 0) != (len(value) if isinstance(value, list) else 1):
                return _NOT_CACHEABLE
        return cls(envelope, list(envelope).index(body), dict(headers), slots)

    def fill(self, fields: dict[str, Any], lock: threading.Lock) -> Any:
        """A copy of the envelope carrying ``fields``; lxml rejects what XML cannot carry.

        Setting ``.text`` is what zeep itself does for these leaves, so a NUL, a control
        character or a lone surrogate raises the same ValueError/UnicodeEncodeError as zeep.
        """
        with lock:  # lxml promises nothing about two threads copying one tree at once
            envelope = copy.deepcopy(self.envelope)
        children = list(envelope[self.body][0])
        for index, name, position in self.slots:
            value = fields[name] if position is None else fields[name][position]
            children[index].text = value if type(value) is str else str(value)
        return envelope


_NOT_CACHEABLE = object()


class _Templates:
    """A thread-safe LRU of templates by shape."""

    def __init__(self, size: int) -> None:
        self.lock = threading.Lock()
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        with self.lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: Hashable, item: Any) -> None:
        with self.lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
