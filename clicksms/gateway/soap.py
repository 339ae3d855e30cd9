"""The only module that talks SOAP: zeep over the bundled Document/Literal WSDL.

It turns every SOAP-level failure (HTTP error pages, broken XML, SOAP faults) into one-line
:mod:`clicksms.errors` — the transport (:mod:`clicksms.gateway.transport`) has already done so for
connection, timeout and TLS trouble — and every answer into a list of ``<return>`` strings for
:mod:`clicksms.gateway.responses` to parse. zeep and lxml are imported here, on first use, never at
start-up.

zeep stays the SOAP layer: it builds every envelope from the WSDL and deserialises every reply.
What it costs per call is cut where bulk sends feel it: the envelope zeep built for the first
call of a given shape (operation, field names, list lengths) is kept, and later calls of that
shape get a copy with the new leaf values set — checked once against zeep's own output.

Replies are the mirror image. Every reply is parsed as zeep's loader parses it, with our
forbid-DTD/entities/external settings (the XML safety net stays), on a parser kept per thread
rather than built per reply; whatever it refuses goes to zeep. The first plain HTTP 200 reply
of an operation is deserialised by zeep, and from it the client learns the reply's structure —
the Body's one element and its ``<return>`` children, checked against zeep's result and the WSDL's
cardinality. Later replies with exactly that structure (no attributes such as ``xsi:nil``, no
nested elements, no other element, no other namespace) are read straight from the parsed tree,
which gives what zeep would; anything else — a fault, an error status, broken XML, any
deviation — goes to zeep, so its results and errors stay exactly what they were.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from importlib import resources
from typing import Any

from clicksms import __version__
from clicksms.errors import ClickSmsError, ProtocolError
from clicksms.gateway.responses import clip, mask

BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"
WSDL_RESOURCE = "data/document_literal.wsdl"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: Envelope templates kept; a bulk run uses a handful of shapes (one per chunk size, mostly).
TEMPLATE_SHAPES = 64


class SoapClient:
    """A keep-alive zeep service bound to ``endpoint``; every call has connect/exchange timeouts.

    Safe to call from several threads at once: each thread has its own HTTP connection.
    """

    def __init__(self, endpoint: str, timeout: float, connect_timeout: float | None = None) -> None:
        """``timeout`` bounds each whole exchange, ``connect_timeout`` (default ``timeout``)
        the opening of each connection."""
        from lxml.etree import fromstring
        from zeep import Client, Settings
        from zeep.wsdl.utils import etree_to_string

        from clicksms.gateway.transport import SoapTransport

        self.endpoint = endpoint
        self._transport = SoapTransport(
            endpoint,
            timeout,
            user_agent=f"clicksms/{__version__}",
            connect_timeout=connect_timeout,
        )
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
        # Learned reply shapes by operation name: at most one per operation of the binding.
        self._reply_shapes: dict[str, _ReplyShape | object] = {}
        self._reply_lock = threading.Lock()
        #: Replies deserialised by zeep itself; the others were read through a learned shape.
        self.zeep_replies = 0
        self._fromstring = fromstring
        self._parsers = threading.local()  # each thread's reply parser (see _parse)
        self._to_bytes = etree_to_string  # what zeep's Transport.post_xml serialises with

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Invoke ``operation`` and return its ``<return>`` strings (always a list)."""
        operation_obj = self._binding.all().get(operation)
        if operation_obj is None:  # what zeep's service proxy raises for a typo
            raise AttributeError(f"Service has no operation {operation!r}")
        response: Any = None
        secrets = _secrets(fields)
        try:
            envelope, headers = self._envelope(operation, fields)
            body = self._to_bytes(envelope)
            response = self._transport.post(self._options["address"], body, headers)
            result = self._reply(operation_obj, response)
        except Exception as exc:
            ours = self._translate(exc, response, secrets)
            if ours is None:
                raise
            # Not chained: zeep's messages can quote the server's answer, which may echo the
            # request (password, session ID) and would show up in a --debug traceback.
            ours.args = tuple(mask(str(arg), secrets) for arg in ours.args)
            raise ours from None
        items = result if isinstance(result, list) else [result]
        if not items or any(item is None for item in items):
            raise ProtocolError(f"{self._host} sent an empty {operation} response")
        return [mask(str(item), secrets) for item in items]

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
        """zeep's deserialisation of the reply: read through the learned shape when it fits.

        A plain 200 that does not fit the shape goes to the operation's own deserialiser,
        skipping only the parts of zeep's full ``process_reply`` that are no-ops for this client
        (no plugins, no WS-Security, no multipart); any other deviation — a fault, a status
        other than 200, XML that does not parse — goes to that full ``process_reply``.
        """
        content_type = response.headers.get("Content-Type", "text/xml")
        if response.status_code == 200 and "multipart" not in content_type.lower():
            try:
                doc = self._parse(response.content)
            except Exception:
                doc = None  # zeep's process_reply below raises its own error for it
            if doc is not None:
                shape = self._reply_shapes.get(operation_obj.name)
                if type(shape) is _ReplyShape:
                    result = shape.read(doc)
                    if result is not _MISS:
                        return result
                body = doc.find(_BODY)
                if body is not None and body.find(_FAULT) is None:
                    self._count_zeep_reply()
                    result = operation_obj.process_reply(doc)
                    if shape is None:
                        self._learn(operation_obj, doc, result)
                    return result
        self._count_zeep_reply()
        return self._binding.process_reply(self._client, operation_obj, response)

    def _parse(self, content: bytes) -> Any:
        """The reply's root element, parsed as zeep's ``loader.parse_xml`` parses it.

        zeep builds an lxml parser (and a resolver) for every reply; this thread's parser,
        built once with the same options, costs a fraction. lxml parsers may be reused, just
        not by two threads at once. With ``forbid_dtd`` any DTD is refused, and with it every
        entity declaration: the caller then lets zeep raise its own error for the reply.
        """
        parser = getattr(self._parsers, "parser", None)
        if parser is None:
            parser = self._parsers.parser = self._new_parser()
        doc = self._fromstring(content, parser=parser)
        if doc.getroottree().docinfo.doctype:
            raise ValueError("a DTD in the reply")
        return doc

    def _new_parser(self) -> Any:
        """What ``zeep.loader.parse_xml`` builds for each document, for our settings."""
        from lxml.etree import XMLParser
        from zeep.loader import ImportResolver

        assert self._settings.forbid_dtd  # _parse's check relies on it
        parser = XMLParser(
            remove_comments=True,
            resolve_entities=False,
            recover=not self._settings.strict,
            huge_tree=self._settings.xml_huge_tree,
        )
        parser.resolvers.add(ImportResolver(self._transport, self._settings))
        return parser

    def _count_zeep_reply(self) -> None:
        with self._reply_lock:  # rare (learning, errors): the lock costs nothing that matters
            self.zeep_replies += 1

    def _learn(self, operation_obj: Any, doc: Any, result: Any) -> None:
        """Keep the verdict on this reply's shape, unless another thread got there first."""
        verdict = _ReplyShape.learn(operation_obj, doc, result)
        if verdict is not None:
            with self._reply_lock:
                self._reply_shapes.setdefault(operation_obj.name, verdict)

    def _translate(
        self, exc: Exception, response: Any, secrets: dict[str, str]
    ) -> Exception | None:
        """Map zeep and lxml exceptions to our one-line errors (never echoing request fields).

        ``response`` is the HTTP reply, None when nothing was received. A fault's text is
        masked before it is clipped, so a secret it echoes cannot straddle the cut.
        """
        from lxml.etree import XMLSyntaxError
        from zeep import exceptions as zeep_errors

        host = self._host
        if isinstance(exc, ClickSmsError):  # the transport's: already one line, already ours
            return exc
        if isinstance(exc, zeep_errors.Fault) and exc.code is not None:
            text = clip(mask(str(exc.message), secrets))
            return ProtocolError(f"{host} answered with a SOAP fault: {text}")
        status = None if response is None else response.status_code
        if (
            status is not None
            and status != 200
            and isinstance(exc, (zeep_errors.Fault, zeep_errors.TransportError))
        ):
            return _http_error(host, status, response.headers.get("Retry-After"))
        # libxml2 stops an entity bomb itself ("entity amplification"): the same refusal.
        forbidden = (zeep_errors.DTDForbidden, zeep_errors.EntitiesForbidden)
        # Only libxml2's own guards: an undefined entity (&nbsp; in an HTML page) is merely
        # malformed, and worth asking again for calls that may be repeated.
        unparsed = (XMLSyntaxError, zeep_errors.XMLSyntaxError, zeep_errors.TransportError)
        entity_bomb = isinstance(exc, unparsed) and any(
            guard in str(exc) for guard in ("entity amplification", "entity reference loop")
        )
        if entity_bomb or isinstance(exc, forbidden):
            return ProtocolError(
                f"{host} sent XML with a DTD or entities; refused for safety", permanent=True
            )
        if isinstance(exc, (XMLSyntaxError, zeep_errors.TransportError)):
            return ProtocolError(f"{host} sent a malformed response (not XML)")
        if isinstance(exc, zeep_errors.Error):
            return ProtocolError(f"{host} sent a malformed response (not a Clickatell SOAP answer)")
        return None


#: 4xx answers that may pass: the server timed out waiting for us, or wants us slower.
_TEMPORARY_4XX = frozenset({408, 429})
#: Retry-After in its delay-seconds form (RFC 9110 §10.2.3); an HTTP date is ignored.
_SECONDS = re.compile(r"\s*(\d{1,9})\s*")


def _http_error(host: str, status: int, retry_after: str | None) -> ProtocolError:
    """An HTTP error page instead of SOAP: a 4xx will answer the same again (``permanent``,
    so it is not retried), a 5xx may pass; 503 and 429 may say when to ask again."""
    wait = _SECONDS.fullmatch(retry_after or "")
    return ProtocolError(
        f"{host} answered HTTP {status} instead of a SOAP response",
        permanent=400 <= status < 500 and status not in _TEMPORARY_4XX,
        retry_after=float(wait[1]) if wait and status in (429, 503) else None,
    )


#: Request fields a server's answer must never carry into our output, even if it echoes them.
_SECRET_FIELDS = ("password", "session_id")


def _secrets(fields: dict[str, Any]) -> dict[str, str]:
    """This call's secrets by the name they are shown as: ``<password hidden>``."""
    return {
        name.replace("_", " "): value
        for name in _SECRET_FIELDS
        if isinstance(value := fields.get(name), str) and value
    }


_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_HEADER = f"{{{SOAP_ENV}}}Header"
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


_MISS = object()


class _ReplyShape:
    """The structure of an operation's replies that zeep deserialised: how to read them again.

    ``response`` is the tag of the Body's one element, ``item`` that of each of its children,
    whose texts zeep returned: a list of them when ``many`` (the WSDL's maxOccurs="unbounded"),
    else the one text. Read-only once built, so threads share it freely.
    """

    __slots__ = ("item", "many", "response")

    def __init__(self, response: str, item: str, many: bool) -> None:
        self.response = response
        self.item = item
        self.many = many

    @classmethod
    def learn(cls, operation_obj: Any, doc: Any, result: Any) -> _ReplyShape | object | None:
        """A shape when reading ``doc`` through it gives zeep's ``result``.

        The WSDL must declare the plain reply this client reads (one xsd:string element, maxOccurs
        1 or unbounded, no attributes), or the operation is never learned (``_NOT_CACHEABLE``).
        None means this reply does not show the plain structure (an ``xsi:nil``, an error
        answer, ...): the next one may. A reply that does but disagrees with zeep means the
        shortcut misreads this operation, so zeep keeps every reply of it.
        """
        from zeep.xsd.types.builtins import String

        try:
            element = operation_obj.output.body
            declared = element.type.elements
            attributes = element.type.attributes
        except AttributeError:
            return _NOT_CACHEABLE
        if len(declared) != 1 or attributes:
            return _NOT_CACHEABLE
        item_element = declared[0][1]
        if type(getattr(item_element, "type", None)) is not String:
            return _NOT_CACHEABLE
        if item_element.max_occurs not in (1, "unbounded"):
            return _NOT_CACHEABLE
        body = doc.find(_BODY)
        if body is None or len(body) != 1 or len(body[0]) == 0:
            return None
        response = body[0]
        if not isinstance(response.tag, str) or not isinstance(response[0].tag, str):
            return None  # a processing instruction: zeep's business
        shape = cls(response.tag, response[0].tag, item_element.max_occurs == "unbounded")
        ours = shape.read(doc)
        if ours is _MISS:
            return None
        if type(ours) is not type(result) or ours != result:
            return _NOT_CACHEABLE
        return shape

    def read(self, doc: Any) -> Any:
        """What zeep returns for ``doc`` if it has exactly this structure, else ``_MISS``.

        Only whitespace may sit between elements; the root must be the SOAP Envelope holding
        an optional empty Header and the Body; the Body holds the response element only; that
        element and its children carry no attributes (``xsi:nil``, ``xsi:type``, ``href``
        change what zeep returns) and the children no elements. zeep's loader has already
        removed comments and refused DTDs, so an item's ``.text`` is the whole of its value:
        None for ``<return/>`` and ``<return></return>``, as zeep gives.
        """
        if doc.tag != _ENVELOPE:
            return _MISS
        count = len(doc)
        if count == 1:
            body = doc[0]
        elif count == 2:
            header, body = doc
            if header.tag != _HEADER or len(header):
                return _MISS
        else:
            return _MISS
        if body.tag != _BODY or len(body) != 1:
            return _MISS
        response = body[0]
        if response.tag != self.response or len(response.attrib) or _text(response.text):
            return _MISS
        tag = self.item
        items = []
        for item in response:
            if item.tag != tag or len(item) or len(item.attrib) or _text(item.tail):
                return _MISS
            items.append(item.text)
        if self.many:
            return items if items else _MISS
        return items[0] if len(items) == 1 else _MISS


def _text(text: str | None) -> bool:
    """Whether ``text`` (between elements) holds more than whitespace."""
    return bool(text and not text.isspace())
