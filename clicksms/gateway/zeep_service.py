"""zeep as the SOAP client uses it: a ``Client`` over a style's bundled WSDL, posting through
:class:`~clicksms.gateway.transport.HttpTransport`, and zeep's errors in clicksms's words.

Importing this module imports zeep (and with it requests), and building a
:class:`ZeepService` parses the WSDL: :mod:`clicksms.gateway.soap` does both only for a call
it cannot make from what it learned (:mod:`clicksms.gateway.shapes`), or for a reply only zeep
may read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from lxml.etree import XMLSyntaxError, iselement
from zeep import Client, Settings, Transport
from zeep import exceptions as zeep_errors

from clicksms.errors import ConfigError, ProtocolError
from clicksms.gateway.responses import clip, mask
from clicksms.gateway.shapes import serialise
from clicksms.gateway.soap import (
    REPLY_PARSING,
    Exchange,
    SoapStyle,
    http_error,
)
from clicksms.gateway.transport import HttpTransport, Response


class ZeepService:
    """zeep's service for ``style``'s binding at ``endpoint``; nothing is ever fetched."""

    def __init__(self, style: SoapStyle, http: HttpTransport, endpoint: str) -> None:
        # forbid_external stops zeep's loader before any cache: a WSDL importing a schema
        # it does not bundle is loaded with the transport alone on guard (it fetches nothing).
        self.settings = Settings(
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=not style.schemas,
            strict=not REPLY_PARSING["recover"],
            xml_huge_tree=REPLY_PARSING["huge_tree"],
        )
        self.transport = _ZeepTransport(http, _BundledSchemas(style.schemas))
        wsdl = resources.files("clicksms").joinpath(style.wsdl)
        with resources.as_file(wsdl) as wsdl_path:
            self.client = Client(
                str(wsdl_path),
                transport=self.transport,
                settings=self.settings,
                plugins=style.plugins(),
            )
        self.settings.forbid_external = True  # every schema is loaded: replies import none
        self.service = self.client.create_service(style.binding, endpoint)

    def call(self, operation: str, fields: dict[str, Any], exchange: Exchange) -> Any:
        """zeep's own service call; it reads ``exchange.reply`` instead of posting if one came,
        and leaves what it posted in ``exchange``."""
        proxy = getattr(self.service, operation)  # AttributeError for a typo, as zeep raises
        with self.transport.carrying(exchange):
            return _strings(proxy(**fields))

    def translate(
        self, exc: Exception, response: Response | None, host: str, secrets: dict[str, str]
    ) -> Exception | None:
        """zeep's and lxml's exceptions as our one-line errors (never echoing request fields).

        ``response`` is the HTTP reply, None when nothing was received. A fault's text is
        masked before it is clipped, so a secret it echoes cannot straddle the cut.
        """
        if isinstance(exc, zeep_errors.Fault) and exc.code is not None:
            text = clip(mask(str(exc.message), secrets))
            # A Client fault is the SOAP layer turning the request away before any operation
            # ran (SOAP 1.1 §4.4.1; Clickatell's own errors come as ERR strings, API.md §4):
            # nothing was done, and the same request would be turned away again.
            refused = str(exc.code).rpartition(":")[2] == "Client"
            return ProtocolError(
                f"{host} answered with a SOAP fault: {text}",
                permanent=refused,
                may_have_arrived=not refused,
            )
        status = None if response is None else response.status_code
        if (
            status is not None
            and status != 200
            and isinstance(exc, (zeep_errors.Fault, zeep_errors.TransportError))
        ):
            return http_error(host, status, response.headers.get("Retry-After"))
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
    def carrying(self, exchange: Exchange) -> Iterator[None]:
        self._exchanges.current = exchange
        try:
            yield
        finally:
            self._exchanges.current = None

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> Response:
        exchange = getattr(self._exchanges, "current", None) or Exchange()
        exchange.envelope, exchange.headers = envelope, headers
        if exchange.reply is None:
            exchange.reply = self.http.post(serialise(envelope), headers)
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


class _BundledSchemas:
    """The cache zeep's loader asks before it would download (its ``get`` and ``add``),
    seeded with the schemas a WSDL imports, read from the package's data: it always has the
    answer, and takes nothing else in. (zeep.cache's own classes would bring sqlite3 and
    platformdirs along for nothing.)
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
