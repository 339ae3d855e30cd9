"""The only module that talks SOAP: zeep over the bundled Document/Literal WSDL.

It turns every transport-level failure (refused connection, timeout, TLS, HTTP error pages,
broken XML, SOAP faults) into one-line :mod:`clicksms.errors`, and every answer into a list of
``<return>`` strings for :mod:`clicksms.responses` to parse. zeep, lxml and requests are imported
here, on first use, never at start-up.
"""

from __future__ import annotations

import ssl
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from clicksms import __version__
from clicksms.errors import NetworkError, ProtocolError
from clicksms.responses import clip

BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"
WSDL_RESOURCE = "data/document_literal.wsdl"


class SoapClient:
    """A keep-alive zeep service bound to ``endpoint``; every call has connect/read timeouts."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        import requests
        from zeep import Client, Settings
        from zeep.transports import Transport

        self.endpoint = endpoint
        parts = urlsplit(endpoint)  # never netloc: it may hold a user name and password
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._timeout = timeout
        http = requests.Session()
        http.headers["User-Agent"] = f"clicksms/{__version__}"
        # A redirect would re-post the body, password included, to wherever it points.
        http.max_redirects = 0
        http.hooks["response"].append(self._remember_status)
        self._last_status = 0
        transport = Transport(session=http, timeout=timeout, operation_timeout=timeout)
        settings = Settings(
            strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        wsdl = resources.files("clicksms").joinpath(WSDL_RESOURCE)
        with resources.as_file(wsdl) as wsdl_path:
            client = Client(str(wsdl_path), transport=transport, settings=settings)
        self._client = client
        self._service = client.create_service(BINDING, endpoint)

    def call(self, operation: str, **fields: Any) -> list[str]:
        """Invoke ``operation`` and return its ``<return>`` strings (always a list)."""
        try:
            result = getattr(self._service, operation)(**fields)
        except Exception as exc:
            ours = self._translate(exc)
            if ours is None:
                raise
            # Not chained: zeep's messages can quote the server's answer, which may echo the
            # request (password, session ID) and would show up in a --debug traceback.
            raise ours from None
        items = result if isinstance(result, list) else [result]
        if not items or any(item is None for item in items):
            raise ProtocolError(f"{self._host} sent an empty {operation} response")
        return [str(item) for item in items]

    def _remember_status(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """zeep hides the HTTP status behind its exceptions; keep it for the error line."""
        self._last_status = response.status_code

    def close(self) -> None:
        self._client.transport.session.close()

    def _translate(self, exc: Exception) -> Exception | None:
        """Map library exceptions to our one-line errors (never echoing request fields)."""
        import requests
        from lxml.etree import XMLSyntaxError
        from zeep import exceptions as zeep_errors

        host = self._host
        if isinstance(exc, requests.exceptions.TooManyRedirects):
            where = exc.response.headers.get("Location") if exc.response is not None else None
            target = clip(where or "?")
            return ProtocolError(
                f"{host} redirected to {target}; not following it with your credentials: "
                "set the endpoint to the final URL"
            )
        if isinstance(exc, requests.exceptions.SSLError):
            if _caused_by(exc, ssl.SSLCertVerificationError):  # refused before any request
                return NetworkError(
                    f"TLS error talking to {host}: the server's certificate is not trusted",
                    may_have_arrived=False,
                )
            return NetworkError(f"TLS error talking to {host}: protocol problem")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return NetworkError(
                f"could not connect to {host} within {self._timeout:g}s (timeout)",
                may_have_arrived=False,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return NetworkError(f"no answer from {host} within {self._timeout:g}s (timeout)")
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason, arrived = _connection_reason(exc)
            where = f"lost the connection to {host}" if arrived else f"cannot connect to {host}"
            return NetworkError(f"{where}: {reason}", may_have_arrived=arrived)
        if isinstance(exc, requests.exceptions.RequestException):
            return NetworkError(f"HTTP problem talking to {host}: {type(exc).__name__}")
        if isinstance(exc, zeep_errors.Fault) and exc.code is not None:
            return ProtocolError(f"{host} answered with a SOAP fault: {clip(exc.message)}")
        if self._last_status != 200 and isinstance(
            exc, (zeep_errors.Fault, zeep_errors.TransportError)
        ):
            return ProtocolError(
                f"{host} answered HTTP {self._last_status} instead of a SOAP response"
            )
        if isinstance(exc, (zeep_errors.DTDForbidden, zeep_errors.EntitiesForbidden)):
            return ProtocolError(f"{host} sent XML with a DTD or entities; refused for safety")
        if isinstance(exc, (XMLSyntaxError, zeep_errors.TransportError)):
            return ProtocolError(f"{host} sent a malformed response (not XML)")
        if isinstance(exc, zeep_errors.Error):
            return ProtocolError(f"{host} sent a malformed response (not a Clickatell SOAP answer)")
        return None


def _connection_reason(exc: Exception) -> tuple[str, bool]:
    """A short reason, and whether the request may have reached the server.

    Only a failure to open the connection (urllib3's NewConnectionError, DNS included) proves
    that nothing was sent; the wording of the reason comes from the OS message.
    """
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    if _caused_by(exc, NameResolutionError):
        return "unknown host name (DNS lookup failed)", False
    if _caused_by(exc, NewConnectionError):
        text = str(exc)
        for needle, reason in (
            ("refused", "connection refused"),
            ("unreachable", "network is unreachable"),
        ):
            if needle in text:
                return reason, False
        return "connection failed", False
    text = str(exc)
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection without answering", True
    if "reset" in text:
        return "connection reset by the server", True
    return "connection failed", True


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in the chain requests and urllib3 wrap errors in."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False
