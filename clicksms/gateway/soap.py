"""The only module that talks SOAP: zeep over a bundled WSDL, through zeep's public API only.

It turns every SOAP-level failure (HTTP error pages, broken XML, SOAP faults) into one-line
:mod:`clicksms.errors` — the transport (:mod:`clicksms.gateway.transport`) has already done so for
connection, timeout and TLS trouble — and every answer into a list of ``<return>`` strings for
:mod:`clicksms.gateway.responses` to parse. Importing it imports lxml, not zeep: zeep
(:mod:`clicksms.gateway.zeep_service`) is loaded, and the WSDL parsed, by the first call that
needs it.

zeep stays the SOAP layer. The first call of each shape (operation, field names and types, list
lengths) is zeep's own service call: zeep builds the envelope from the WSDL, the transport below
posts it, zeep reads the reply. From that call the client learns two things
(:mod:`clicksms.gateway.shapes`), each checked against what zeep produced, which bulk sends
feel the cost of:

* the envelope zeep built, as a template: later calls of the same shape post a copy with the
  new leaf values set (each thread keeps one copy and fills it in place), and Document/Literal
  calls whose lists only hold other numbers of items a stretched copy (the tests compare such
  copies byte for byte with ``create_message``);
* the structure of the reply — the Body's one element and its ``<return>`` children, as the
  WSDL declares them: later replies with exactly that structure (no attributes such as
  ``xsi:nil``, no nested elements, no other element, no other namespace), parsed as zeep's
  loader parses them (no DTDs, no entities), are read straight from the tree.

Given a :class:`~clicksms.gateway.learned.LearnedFile`, the client also keeps what it learned
for the next run, and starts from what earlier runs learned: a one-shot command whose shapes
are known loads neither zeep nor the WSDL.

Anything else — a SOAP fault, an HTTP error status, XML that does not parse, any deviation from
the learned structure — goes to zeep after all: a zeep service call of the same operation and
fields is made whose transport hands back the reply already received instead of posting again,
so zeep's results and errors stay exactly what they are, and nothing is ever sent twice.

Each of Clickatell's SOAP servers is a :class:`SoapStyle`: Document/Literal here, RPC/Encoded
in :mod:`clicksms.gateway.rpc` (its WSDL and binding, the bundled schema its WSDL imports, the
zeep egress plugin adding the encoding zeep leaves out, and the WSDL's own names and types for
the client's fields). Templates copy what plugins produced, encoded arrays included. RPC
replies, typed with ``xsi:type``, have a learned shape of their own (:class:`EncodedReplyShape`:
string returns and inline arrays, checked against zeep like the other); multi-reference
(``href``) replies always stay zeep's.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml.etree import XMLParser, fromstring

from clicksms import __version__
from clicksms.errors import ClickSmsError, ProtocolError
from clicksms.gateway.responses import mask, mask_each
from clicksms.gateway.shapes import (
    MISS,
    NOT_CACHEABLE,
    EncodedReplyShape,
    ReplyShape,
    Template,
    Templates,
    call_shape,
)
from clicksms.gateway.transport import HttpTransport, Response

if TYPE_CHECKING:
    from clicksms.gateway.learned import LearnedFile
    from clicksms.gateway.zeep_service import ZeepService

BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"
WSDL_RESOURCE = "data/document_literal.wsdl"
#: Envelope templates kept; a bulk run uses a handful of shapes (one per chunk size, mostly).
TEMPLATE_SHAPES = 64
#: How replies are parsed, by zeep's loader (its Settings) and by the learned shapes alike.
REPLY_PARSING = {"recover": False, "huge_tree": False}


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
    #: SOAP-encoded replies (RPC/Encoded): typed, and arrays of items (see EncodedReplyShape).
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
    """A keep-alive SOAP client bound to ``endpoint``; every call has connect/exchange timeouts.

    Safe to call from several threads at once: they share a pool of HTTP connections.
    """

    def __init__(
        self,
        endpoint: str,
        timeout: float,
        connect_timeout: float | None = None,
        style: SoapStyle = DOCUMENT_LITERAL,
        learned: LearnedFile | None = None,
    ) -> None:
        """``timeout`` bounds each whole exchange, ``connect_timeout`` (default ``timeout``)
        the opening of each connection; ``learned`` keeps what is learned between runs."""
        self.endpoint = endpoint
        self.style = style
        self._http = HttpTransport(
            endpoint,
            timeout,
            user_agent=f"clicksms/{__version__}",
            connect_timeout=connect_timeout,
        )
        self._host = self._http.host
        self._zeep: ZeepService | None = None
        self._zeep_lock = threading.Lock()
        self._learned = learned
        self._templates = Templates(TEMPLATE_SHAPES)
        self._loading = threading.Lock()  # one thread at a time reads a template from the file
        # Learned reply shapes by operation name: at most one per operation of the binding.
        self._reply_shapes: dict[str, ReplyShape | EncodedReplyShape | object] = {}
        self._reply_lock = threading.Lock()
        #: Replies deserialised by zeep itself; the others were read through a learned shape.
        self.zeep_replies = 0
        self._parsers = threading.local()  # each thread's reply parser (see _parse)
        self._spare = threading.local()  # each thread's envelope copy (Template.render)

    @property
    def zeep(self) -> ZeepService:
        """zeep's service for this style and endpoint, built on first use (it parses the WSDL)."""
        with self._zeep_lock:
            if self._zeep is None:
                from clicksms.gateway.zeep_service import ZeepService

                self._zeep = ZeepService(self.style, self._http, self.endpoint)
            return self._zeep

    def prepare(self) -> None:
        """Build zeep's service now rather than in the first call that needs it."""
        self.zeep  # noqa: B018 - the property builds it

    def prepare_for(self, operation: str, fields: dict[str, Any]) -> None:
        """Build zeep now unless a call of this shape goes out without it (its envelope was
        learned): bulk asks before a request takes its rate slot, so building zeep never
        holds a slot while the slots after it are handed out."""
        operation, fields = self.style.wire(operation, fields)
        key = call_shape(operation, fields)
        if key is None or type(self._template(key)) is not Template:
            self.prepare()

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Invoke ``operation`` and return its ``<return>`` strings (always a list)."""
        exchange = Exchange()
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
        return mask_each([str(item) for item in items], secrets)

    def close(self) -> None:
        """Close every connection, interrupting calls in progress."""
        self._http.close()

    # ------------------------------------------------------------------------ the calls
    def _invoke(self, operation: str, fields: dict[str, Any], exchange: Exchange) -> Any:
        """zeep's result for the call: through a template and a learned shape when they fit."""
        key = call_shape(operation, fields)
        template = None if key is None else self._template(key)
        if type(template) is not Template:
            learn = key if template is None else None
            return self._through_zeep(operation, fields, exchange, learn)
        body = template.render(fields, self._templates.lock, self._spare)
        exchange.reply = self._http.post(body, template.headers)
        result = self._read(operation, exchange.reply)
        if result is MISS:  # zeep reads this reply (it is not sent again)
            return self._through_zeep(operation, fields, exchange)
        return result

    def _template(self, key: Hashable) -> Any:
        """The template (or verdict) for ``key``: this run's, else one an earlier run kept,
        else one of either for other list lengths, stretched (:meth:`Template.stretched`)."""
        template = self._templates.get(key)
        if template is None:
            with self._loading:  # bulk's workers start together: one of them finds it
                template = self._templates.get(key)
                if template is None:
                    template = self._kept_template(key)
                    if template is not None:
                        self._templates.put(key, template)
        return template

    def _kept_template(self, key: Hashable) -> Template | None:
        if self._learned is not None:
            template = self._learned.template(key)
            if template is not None:
                return template
        for other, template in self._templates_like(key):
            stretched = template.stretched(other, key, self._templates.lock)
            if stretched is not None:
                return stretched
        return None

    def _templates_like(self, key: Hashable) -> Iterator[tuple[Hashable, Template]]:
        """Templates of ``key``'s call for other list lengths: this run's, then (read only if
        none of those stretches) earlier runs'."""
        yield from self._templates.like(key)
        if self._learned is not None:
            yield from self._learned.templates_like(key)

    def _through_zeep(
        self,
        operation: str,
        fields: dict[str, Any],
        exchange: Exchange,
        template_key: Hashable | None = None,
    ) -> Any:
        """zeep's own service call; it reads ``exchange.reply`` instead of posting if one came.

        With ``template_key``, the envelope zeep built is kept as that shape's template (or
        the verdict that the shape has none), whatever the answer.
        """
        zeep = self.zeep
        try:
            result = zeep.call(operation, self.style.complete(operation, fields), exchange)
        finally:
            if template_key is not None and exchange.envelope is not None:
                template = Template.learn(exchange.envelope, exchange.headers, fields)
                self._templates.put(template_key, template)
                if self._learned is not None and type(template) is Template:
                    self._learned.keep_template(template_key, template, self._templates.lock)
            if exchange.reply is not None:
                with self._reply_lock:  # rare (learning, errors): the lock costs nothing
                    self.zeep_replies += 1
        if operation not in self._reply_shapes:
            self._learn(operation, exchange.reply, result)
        return result

    # -------------------------------------------------------------------------- replies
    def _read(self, operation: str, response: Response) -> Any:
        """The reply read through the operation's learned shape, or ``MISS``."""
        shape = self._reply_shapes.get(operation)
        if shape is None and self._learned is not None:
            shape = self._learned.reply_shape(operation)
            if shape is not None:
                with self._reply_lock:
                    shape = self._reply_shapes.setdefault(operation, shape)
        if type(shape) not in (ReplyShape, EncodedReplyShape) or not _plain(response):
            return MISS
        doc = self._parse_quietly(response.content)
        return MISS if doc is None else shape.read(doc)  # type: ignore[union-attr]

    def _learn(self, operation: str, response: Response | None, result: Any) -> None:
        """Keep the verdict on this reply's shape, unless another thread got there first."""
        if response is None or not _plain(response):
            return
        doc = self._parse_quietly(response.content)
        if doc is None:
            return
        if self.style.encoded:
            verdict = EncodedReplyShape.learn(doc, result)
        else:
            verdict = ReplyShape.learn(doc, result, self.zeep.client.get_element)
        if verdict is None:
            return
        with self._reply_lock:
            kept = self._reply_shapes.setdefault(operation, verdict)
        if kept is verdict and self._learned is not None and verdict is not NOT_CACHEABLE:
            self._learned.keep_reply_shape(operation, verdict)

    def _parse_quietly(self, content: bytes) -> Any:
        """The parsed reply, or None when it does not parse here (zeep then says why)."""
        try:
            return self._parse(content)
        except Exception:
            return None

    def _parse(self, content: bytes) -> Any:
        """The reply's root element, parsed as zeep's ``loader.parse_xml`` parses it.

        zeep builds an lxml parser for every reply; this thread's parser, built once with the
        same options (:data:`REPLY_PARSING`), costs a fraction. lxml parsers may be reused,
        just not by two threads at once. zeep forbids DTDs (and so every entity declaration):
        a reply with one is refused here too.
        """
        parser = getattr(self._parsers, "parser", None)
        if parser is None:
            parser = self._parsers.parser = XMLParser(
                remove_comments=True, resolve_entities=False, **REPLY_PARSING
            )
        doc = fromstring(content, parser=parser)
        if doc.getroottree().docinfo.doctype:
            raise ValueError("a DTD in the reply")
        return doc

    def _translate(
        self, exc: Exception, response: Response | None, secrets: dict[str, str]
    ) -> Exception | None:
        """Our one-line error for ``exc``, or None for one that is not the gateway's fault.

        Only zeep (and lxml inside it) raises what needs wording; a call that never loaded
        zeep failed in the transport (already ours) or in this module.
        """
        if isinstance(exc, ClickSmsError):  # the transport's: already one line, already ours
            return exc
        if self._zeep is None:
            return None
        return self._zeep.translate(exc, response, self._host, secrets)


class Exchange:
    """One call's request as zeep built it and the reply as it came (None until they exist)."""

    __slots__ = ("envelope", "headers", "reply")

    def __init__(self) -> None:
        self.envelope: Any = None
        self.headers: dict[str, str] | None = None
        self.reply: Response | None = None


def _plain(response: Response) -> bool:
    """An HTTP 200 with one XML document (not multipart): a reply a shape may read."""
    content_type = response.headers.get("Content-Type", "text/xml")
    return response.status_code == 200 and "multipart" not in content_type.lower()


#: 4xx answers that may pass: the server timed out waiting for us, or wants us slower.
_TEMPORARY_4XX = frozenset({408, 429})
#: Retry-After in its delay-seconds form (RFC 9110 §10.2.3); an HTTP date is ignored.
_SECONDS = re.compile(r"\s*(\d{1,9})\s*")


def http_error(host: str, status: int, retry_after: str | None) -> ProtocolError:
    """An HTTP error page instead of SOAP: a 4xx will answer the same again (``permanent``,
    so it is not retried), a 5xx may pass; 503 and 429 may say when to ask again."""
    wait = _SECONDS.fullmatch(retry_after or "")
    return ProtocolError(
        f"{host} answered HTTP {status} instead of a SOAP response",
        permanent=400 <= status < 500 and status not in _TEMPORARY_4XX,
        retry_after=float(wait[1]) if wait and status in (429, 503) else None,
    )


#: Request fields a server's answer must never carry into our output, even if it echoes them
#: (``token``: a top-up voucher, worth credits to whoever reads it).
_SECRET_FIELDS = ("password", "session_id", "token")


def _secrets(fields: dict[str, Any]) -> dict[str, str]:
    """This call's secrets by the name they are shown as: ``<password hidden>``."""
    return {
        name.replace("_", " "): value
        for name in _SECRET_FIELDS
        if isinstance(value := fields.get(name), str) and value
    }
