"""The only module that talks SOAP: zeep over a bundled WSDL, through zeep's public API only.

It turns every SOAP-level failure (HTTP error pages, broken XML, SOAP faults) into one-line
:mod:`clicksms.errors` — the transport (:mod:`clicksms.gateway.transport`) has already done so for
connection, timeout and TLS trouble — and every answer into a list of ``<return>`` strings for
:mod:`clicksms.gateway.responses` to parse. Importing it imports zeep and lxml: only
:mod:`clicksms.gateway.client` does, when a call is about to be made, never at start-up.

zeep stays the SOAP layer. The first call of each shape (operation, field names and types, list
lengths) is zeep's own service call: zeep builds the envelope from the WSDL, the transport below
posts it, zeep reads the reply. From that call the client keeps two things, each checked against
what zeep produced, which bulk sends feel the cost of:

* the envelope zeep built, as a template: later calls of the same shape post a copy with the
  new leaf values set (the tests compare such copies byte for byte with ``create_message``);
* the structure of the reply — the Body's one element and its ``<return>`` children, as the
  WSDL declares them: later replies with exactly that structure (no attributes such as
  ``xsi:nil``, no nested elements, no other element, no other namespace), parsed as zeep's
  loader parses them (no DTDs, no entities), are read straight from the tree.

Anything else — a SOAP fault, an HTTP error status, XML that does not parse, any deviation from
the learned structure — goes to zeep after all: a zeep service call of the same operation and
fields is made whose transport hands back the reply already received instead of posting again,
so zeep's results and errors stay exactly what they are, and nothing is ever sent twice.

Each of Clickatell's SOAP servers is a :class:`SoapStyle`: Document/Literal here, RPC/Encoded
in :mod:`clicksms.gateway.rpc` (its WSDL and binding, the bundled schema its WSDL imports, the
zeep egress plugin adding the encoding zeep leaves out, and the WSDL's own names and types for
the client's fields). Templates copy what plugins produced, encoded arrays included. RPC
replies, typed with ``xsi:type``, have a learned shape of their own (:class:`_EncodedReplyShape`:
string returns and inline arrays, checked against zeep like the other); multi-reference
(``href``) replies always stay zeep's.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from lxml.etree import XMLParser, XMLSyntaxError, fromstring, iselement, tostring
from zeep import Client, Settings
from zeep import exceptions as zeep_errors
from zeep.cache import Base as Cache
from zeep.transports import Transport
from zeep.xsd import String

from clicksms import __version__
from clicksms.errors import ClickSmsError, ConfigError, ProtocolError
from clicksms.gateway.responses import clip, mask
from clicksms.gateway.transport import HttpTransport, Response

BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"
WSDL_RESOURCE = "data/document_literal.wsdl"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: Envelope templates kept; a bulk run uses a handful of shapes (one per chunk size, mostly).
TEMPLATE_SHAPES = 64


@dataclass(frozen=True)
class SoapStyle:
    """One of Clickatell's SOAP servers, as zeep is set up for it.

    The client names operations and fields as the Document/Literal WSDL does; a style whose
    WSDL spells or types them otherwise says so in :meth:`wire`.
    """

    name: str
    wsdl: str  # the bundled WSDL, a resource of the clicksms package
    binding: str  # the qualified name of its binding
    #: Schemas the WSDL imports by namespace alone, by URL: bundled resources zeep's loader
    #: is seeded with, as nothing is ever fetched.
    schemas: Mapping[str, str] = field(default_factory=dict)
    #: SOAP-encoded replies (RPC/Encoded): typed, and arrays of items (see _EncodedReplyShape).
    encoded: bool = False

    def plugins(self) -> list[Any]:
        """zeep plugins, made afresh for each client."""
        return []

    def wire(self, operation: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The operation and fields as this style's WSDL names and types them."""
        return operation, fields

    def complete(self, operation: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` plus whatever zeep needs for the parts not set."""
        return fields


DOCUMENT_LITERAL = SoapStyle("document", WSDL_RESOURCE, BINDING)


def soap_style(name: str) -> SoapStyle:
    """The style called ``name`` in the settings: "document" or "rpc"."""
    if name == "rpc":
        from clicksms.gateway.rpc import RPC_ENCODED

        return RPC_ENCODED
    return DOCUMENT_LITERAL


class SoapClient:
    """A keep-alive zeep service bound to ``endpoint``; every call has connect/exchange timeouts.

    Safe to call from several threads at once: they share a pool of HTTP connections.
    """

    def __init__(
        self,
        endpoint: str,
        timeout: float,
        connect_timeout: float | None = None,
        style: SoapStyle = DOCUMENT_LITERAL,
    ) -> None:
        """``timeout`` bounds each whole exchange, ``connect_timeout`` (default ``timeout``)
        the opening of each connection."""
        self.endpoint = endpoint
        self.style = style
        self._http = HttpTransport(
            endpoint,
            timeout,
            user_agent=f"clicksms/{__version__}",
            connect_timeout=connect_timeout,
        )
        self._host = self._http.host
        # forbid_external stops zeep's loader before any cache: a WSDL importing a schema
        # it does not bundle is loaded with the transport alone on guard (it fetches nothing).
        self._settings = Settings(
            strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=not style.schemas
        )
        self._transport = _ZeepTransport(self._http, _BundledSchemas(style.schemas))
        wsdl = resources.files("clicksms").joinpath(style.wsdl)
        with resources.as_file(wsdl) as wsdl_path:
            self._client = Client(
                str(wsdl_path),
                transport=self._transport,
                settings=self._settings,
                plugins=style.plugins(),
            )
        self._settings.forbid_external = True  # every schema is loaded: replies import none
        self._service = self._client.create_service(style.binding, endpoint)
        self._templates = _Templates(TEMPLATE_SHAPES)
        # Learned reply shapes by operation name: at most one per operation of the binding.
        self._reply_shapes: dict[str, _ReplyShape | _EncodedReplyShape | object] = {}
        self._reply_lock = threading.Lock()
        #: Replies deserialised by zeep itself; the others were read through a learned shape.
        self.zeep_replies = 0
        self._parsers = threading.local()  # each thread's reply parser (see _parse)

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Invoke ``operation`` and return its ``<return>`` strings (always a list)."""
        exchange = _Exchange()
        secrets = _secrets(fields)
        operation, fields = self.style.wire(operation, fields)
        try:
            result = self._invoke(operation, fields, exchange)
        except Exception as exc:
            ours = self._translate(exc, exchange.reply, secrets)
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
        """Close every connection, interrupting calls in progress."""
        self._http.close()

    # ------------------------------------------------------------------------ the calls
    def _invoke(self, operation: str, fields: dict[str, Any], exchange: _Exchange) -> Any:
        """zeep's result for the call: through a template and a learned shape when they fit."""
        key = _shape(operation, fields)
        template = None if key is None else self._templates.get(key)
        if type(template) is not _Template:
            learn = key if template is None else None
            return self._through_zeep(operation, fields, exchange, learn)
        envelope = template.fill(fields, self._templates.lock)
        exchange.reply = self._http.post(_serialise(envelope), template.headers)
        result = self._read(operation, exchange.reply)
        if result is _MISS:  # zeep reads this reply (it is not sent again)
            return self._through_zeep(operation, fields, exchange)
        return result

    def _through_zeep(
        self,
        operation: str,
        fields: dict[str, Any],
        exchange: _Exchange,
        template_key: Hashable | None = None,
    ) -> Any:
        """zeep's own service call; it reads ``exchange.reply`` instead of posting if one came.

        With ``template_key``, the envelope zeep built is kept as that shape's template (or
        the verdict that the shape has none), whatever the answer.
        """
        proxy = getattr(self._service, operation)  # AttributeError for a typo, as zeep raises
        try:
            with self._transport.carrying(exchange):
                result = proxy(**self.style.complete(operation, fields))
        finally:
            if template_key is not None and exchange.envelope is not None:
                template = _Template.learn(exchange.envelope, exchange.headers, fields)
                self._templates.put(template_key, template)
            if exchange.reply is not None:
                with self._reply_lock:  # rare (learning, errors): the lock costs nothing
                    self.zeep_replies += 1
        result = _strings(result)
        if operation not in self._reply_shapes:
            self._learn(operation, exchange.reply, result)
        return result

    # -------------------------------------------------------------------------- replies
    def _read(self, operation: str, response: Response) -> Any:
        """The reply read through the operation's learned shape, or ``_MISS``."""
        shape = self._reply_shapes.get(operation)
        if type(shape) not in (_ReplyShape, _EncodedReplyShape) or not _plain(response):
            return _MISS
        doc = self._parse_quietly(response.content)
        return _MISS if doc is None else shape.read(doc)

    def _learn(self, operation: str, response: Response | None, result: Any) -> None:
        """Keep the verdict on this reply's shape, unless another thread got there first."""
        if response is None or not _plain(response):
            return
        doc = self._parse_quietly(response.content)
        if doc is None:
            return
        if self.style.encoded:
            verdict = _EncodedReplyShape.learn(doc, result)
        else:
            verdict = _ReplyShape.learn(doc, result, self._client.get_element)
        if verdict is not None:
            with self._reply_lock:
                self._reply_shapes.setdefault(operation, verdict)

    def _parse_quietly(self, content: bytes) -> Any:
        """The parsed reply, or None when it does not parse here (zeep then says why)."""
        try:
            return self._parse(content)
        except Exception:
            return None

    def _parse(self, content: bytes) -> Any:
        """The reply's root element, parsed as zeep's ``loader.parse_xml`` parses it.

        zeep builds an lxml parser for every reply; this thread's parser, built once with the
        same options, costs a fraction. lxml parsers may be reused, just not by two threads at
        once. With ``forbid_dtd`` any DTD is refused, and with it every entity declaration.
        """
        parser = getattr(self._parsers, "parser", None)
        if parser is None:
            assert self._settings.forbid_dtd  # the doctype check below relies on it
            parser = self._parsers.parser = XMLParser(
                remove_comments=True,
                resolve_entities=False,
                recover=not self._settings.strict,
                huge_tree=self._settings.xml_huge_tree,
            )
        doc = fromstring(content, parser=parser)
        if doc.getroottree().docinfo.doctype:
            raise ValueError("a DTD in the reply")
        return doc

    def _translate(
        self, exc: Exception, response: Response | None, secrets: dict[str, str]
    ) -> Exception | None:
        """Map zeep and lxml exceptions to our one-line errors (never echoing request fields).

        ``response`` is the HTTP reply, None when nothing was received. A fault's text is
        masked before it is clipped, so a secret it echoes cannot straddle the cut.
        """
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


class _Exchange:
    """One call's request as zeep built it and the reply as it came (None until they exist)."""

    __slots__ = ("envelope", "headers", "reply")

    def __init__(self) -> None:
        self.envelope: Any = None
        self.headers: dict[str, str] | None = None
        self.reply: Response | None = None


class _ZeepTransport(Transport):
    """zeep's transport, posting through :class:`HttpTransport`.

    Inside :meth:`carrying`, what zeep posts is recorded in the exchange, and a reply the
    exchange already holds is handed back to zeep instead of posting again.
    """

    def __init__(self, http: HttpTransport, schemas: _BundledSchemas) -> None:
        super().__init__(timeout=http.timeout, operation_timeout=http.timeout, cache=schemas)
        self.http = http
        self._exchanges = threading.local()

    @contextmanager
    def carrying(self, exchange: _Exchange) -> Iterator[None]:
        self._exchanges.current = exchange
        try:
            yield
        finally:
            self._exchanges.current = None

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> Response:
        exchange = getattr(self._exchanges, "current", None) or _Exchange()
        exchange.envelope, exchange.headers = envelope, headers
        if exchange.reply is None:
            exchange.reply = self.http.post(_serialise(envelope), headers)
        return exchange.reply

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Response:
        return self.http.post(message, headers)

    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise NotImplementedError("clicksms only POSTs SOAP requests")

    def load(self, url: str) -> bytes:
        """The bundled WSDL and the schemas bundled with it: nothing is fetched, ever."""
        if urlsplit(url).scheme in ("http", "https") and self.cache.get(url) is None:
            raise ConfigError(f"refusing to fetch {clip(url)}: the bundled WSDL needs no downloads")
        return super().load(url)  # zeep's loader: from the cache, or a local file


class _BundledSchemas(Cache):
    """zeep's cache, seeded with the schemas a WSDL imports, read from the package's data.

    zeep's loader asks its transport's cache before it would download: this one always has
    the answer, and takes nothing else in.
    """

    def __init__(self, schemas: Mapping[str, str]) -> None:
        self._resources = dict(schemas)

    def get(self, url: str) -> bytes | None:
        resource = self._resources.get(url)
        if resource is None:
            return None
        return resources.files("clicksms").joinpath(resource).read_bytes()

    def add(self, url: str, content: bytes) -> None:
        pass


def _strings(result: Any) -> Any:
    """zeep's result with what it could not type read as text.

    An item of a SOAP-encoded array without an ``xsi:type`` comes back from zeep as the
    element itself (the WSDL's ArrayOfString does not type its items): its text is the
    string. An element with elements inside is no string, and stays as it is (the parsers
    of :mod:`clicksms.gateway.responses` refuse it).
    """
    if isinstance(result, list):
        return [_strings(item) for item in result]
    if iselement(result) and not len(result):
        return result.text
    return result


def _serialise(envelope: Any) -> bytes:
    """The envelope as zeep's transport posts it: UTF-8, with an XML declaration."""
    return tostring(envelope, xml_declaration=True, encoding="utf-8")


def _plain(response: Response) -> bool:
    """An HTTP 200 with one XML document (not multipart): a reply a shape may read."""
    content_type = response.headers.get("Content-Type", "text/xml")
    return response.status_code == 200 and "multipart" not in content_type.lower()


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

    ``slots`` are (child index, item index or None, field name, list index or None) under the
    operation element, which is the only child of the envelope's child number ``body``: an
    item index for the items of an encoded array (RPC), None for a value that is a child.
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
        """A template when zeep put every value, verbatim, in a leaf element of its own.

        A leaf is a child of the operation element named after its field (a list repeats
        it, as Document/Literal does), or an item of a child holding one item per value of a
        list (an encoded array, as RPC does). Attributes are kept as they are: they depend on
        the WSDL and the shape (an array's length), which the template's key fixes. Anything
        else (deeper nesting, a value rendered differently, a field left out) makes the shape
        uncacheable, and zeep keeps building it.
        """
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if body is None or len(body) != 1 or body[0].text:
            return _NOT_CACHEABLE
        slots: list[tuple[int, int | None, str, int | None]] = []
        seen: dict[str, int] = {}
        for index, child in enumerate(body[0]):
            name = child.tag
            if not isinstance(name, str) or name not in fields or child.tail:
                return _NOT_CACHEABLE
            value = fields[name]
            position = seen.get(name, 0)
            if len(child):  # an encoded array: one item per value, in order
                if type(value) is not list or position or len(child) != len(value) or child.text:
                    return _NOT_CACHEABLE
                for number, item in enumerate(child):
                    if len(item) or item.tail or (item.text or "") != value[number]:
                        return _NOT_CACHEABLE
                    slots.append((index, number, name, number))
                seen[name] = len(value)
                continue
            seen[name] = position + 1
            if isinstance(value, list):
                if position >= len(value):
                    return _NOT_CACHEABLE
                expected, slot = value[position], (index, None, name, position)
            else:
                if position:
                    return _NOT_CACHEABLE
                expected, slot = str(value), (index, None, name, None)
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
        for index, item, name, position in self.slots:
            value = fields[name] if position is None else fields[name][position]
            leaf = children[index] if item is None else children[index][item]
            leaf.text = value if type(value) is str else str(value)
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
    def learn(
        cls, doc: Any, result: Any, element_of: Callable[[str], Any]
    ) -> _ReplyShape | object | None:
        """A shape when reading ``doc`` through it gives zeep's ``result``.

        ``element_of`` is zeep's ``Client.get_element``: the WSDL must declare the reply's
        element as the plain one this client reads (one xsd:string element, maxOccurs 1 or
        unbounded, no attributes), or the operation is never learned (``_NOT_CACHEABLE``).
        None means this reply does not show the plain structure (an ``xsi:nil``, an error
        answer, ...): the next one may. A reply that does but disagrees with zeep means the
        shortcut misreads this operation, so zeep keeps every reply of it.
        """
        body = doc.find(_BODY)
        if body is None or len(body) != 1 or len(body[0]) == 0:
            return None
        response = body[0]
        if not isinstance(response.tag, str) or not isinstance(response[0].tag, str):
            return None  # a processing instruction: zeep's business
        try:
            element = element_of(response.tag)
            declared = element.type.elements
            attributes = element.type.attributes
        except (AttributeError, LookupError, ValueError, zeep_errors.Error):
            return _NOT_CACHEABLE
        if len(declared) != 1 or attributes:
            return _NOT_CACHEABLE
        item_element = declared[0][1]
        if type(getattr(item_element, "type", None)) is not String:
            return _NOT_CACHEABLE
        if item_element.max_occurs not in (1, "unbounded"):
            return _NOT_CACHEABLE
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


class _EncodedReplyShape:
    """The structure of an RPC/Encoded operation's replies that zeep deserialised.

    The Body's one element (``response``, no attributes) holds one ``<return>``: a string
    (``items`` None), or a SOAP-encoded array of strings, inline, with items all alike
    (``items``: their tag and attributes). The return's attributes are kept as learned,
    except the length in an array's ``SOAP-ENC:arrayType``, which must count its items.
    Those attribute values are QNames (``xsd:string``), so the namespaces in scope must be
    the ones learned, on the return and on every item. A multi-reference reply (``href``,
    more than one element in the Body) is never learned: zeep reads it.
    """

    __slots__ = ("array_type", "attrib", "items", "nsmap", "response", "tag")

    def __init__(
        self,
        response: str,
        tag: str,
        attrib: dict[str, str],
        array_type: str | None,
        items: tuple[str, dict[str, str]] | None,
        nsmap: dict[str | None, str],
    ) -> None:
        self.response = response
        self.tag = tag
        self.attrib = attrib  # the return's attributes but its arrayType
        self.array_type = array_type  # arrayType without the length: "xsd:string"
        self.items = items
        self.nsmap = nsmap

    @classmethod
    def learn(cls, doc: Any, result: Any) -> _EncodedReplyShape | object | None:
        """A shape when reading ``doc`` through it gives zeep's ``result`` (None: this reply
        shows no shape to learn, as a multi-reference one; the next one may)."""
        body = doc.find(_BODY)
        if body is None or len(body) != 1 or len(body[0]) != 1:
            return None
        response, returned = body[0], body[0][0]
        if not isinstance(response.tag, str) or not isinstance(returned.tag, str):
            return None
        attrib = dict(returned.attrib)
        array_type = None
        items = None
        if len(returned):
            first = returned[0]
            sized = _SIZED.fullmatch(attrib.pop(_ARRAY_TYPE, ""))
            if not isinstance(first.tag, str) or sized is None:
                return None
            array_type = sized[1]
            items = (first.tag, dict(first.attrib))
        elif _ARRAY_TYPE in attrib:
            return None  # an empty array: nothing to learn the items from
        shape = cls(response.tag, returned.tag, attrib, array_type, items, dict(returned.nsmap))
        ours = shape.read(doc)
        if ours is _MISS:
            return None
        if isinstance(result, list):  # zeep's ArrayOfString is a list of its own kind
            result = list(result)
        if type(ours) is not type(result) or ours != result:
            return _NOT_CACHEABLE
        if isinstance(ours, list) and len(set(ours)) != len(ours):
            return None  # learn from distinct items: their order is then certain
        return shape

    def read(self, doc: Any) -> Any:
        """What zeep returns for ``doc`` if it has exactly this structure, else ``_MISS``."""
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
        if response.tag != self.response or len(response.attrib) or len(response) != 1:
            return _MISS
        returned = response[0]
        if returned.tag != self.tag or _text(response.text) or _text(returned.tail):
            return _MISS
        attrib = dict(returned.attrib)
        if self.items is None:
            if len(returned) or attrib != self.attrib or returned.nsmap != self.nsmap:
                return _MISS
            return returned.text
        sized = _SIZED.fullmatch(attrib.pop(_ARRAY_TYPE, ""))
        if sized is None or sized[1] != self.array_type or int(sized[2]) != len(returned):
            return _MISS
        if not len(returned) or attrib != self.attrib or _text(returned.text):
            return _MISS
        if returned.nsmap != self.nsmap:
            return _MISS
        tag, item_attrib = self.items
        texts = []
        for item in returned:
            if item.tag != tag or len(item) or _text(item.tail) or item.attrib != item_attrib:
                return _MISS
            if item_attrib and item.nsmap != self.nsmap:
                return _MISS
            texts.append(item.text)
        return texts


_ARRAY_TYPE = "{http://schemas.xmlsoap.org/soap/encoding/}arrayType"
_SIZED = re.compile(r"(.+)\[([0-9]+)\]")


def _text(text: str | None) -> bool:
    """Whether ``text`` (between elements) holds more than whitespace."""
    return bool(text and not text.isspace())
