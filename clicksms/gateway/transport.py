"""The HTTP layer under the SOAP client: urllib3, bounded by two deadlines, failures told honestly.

urllib3 speaks HTTP: a pool of keep-alive connections shared by bulk's worker threads, TLS that
verifies certificates, CONNECT tunnels through http:// and https:// proxies, chunked and gzip
answers. This module adds what clicksms promises on top of it:

* **Proxies from the environment** (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY), read once
  with :mod:`urllib.request`'s own rules, as requests reads them: urllib3 reads none of them.
* **Two deadlines per call**, each for a whole phase rather than per read: ``connect_timeout``
  for opening a connection (every address tried, the proxy's CONNECT answer and the TLS
  handshake together) and ``timeout`` for the exchange, from the first byte written to the last
  byte of the answer. urllib3's own timeouts start afresh at every socket operation, so a server
  dripping a byte a second would never meet them: every socket opened here waits, in each send
  and receive, only for what the calling thread's current deadline has left. The one thing not
  bounded is the host name lookup (``getaddrinfo`` takes no timeout; the resolver's limits apply).
* **One-line errors that say whether the request may have arrived.** A failure while opening
  the connection (refused, DNS, connect timeout, untrusted certificate, TLS handshake, a proxy
  refusing the tunnel) proves the gateway never saw the request: ``may_have_arrived=False``,
  which lets :mod:`clicksms.gateway.retry` send it again. A pooled connection the server closed
  while idle is almost always noticed by urllib3 before a byte is written, and replaced; only a
  close racing the write itself reads as "it may have arrived", the safe side. Anything after
  the request leaves makes the outcome unknown.
* **No redirects** (a 3xx would re-post the body, password included, to wherever it points),
  **no urllib3 retries** (retry.py decides what may be sent again), and a **bounded answer**
  (``max_response`` bytes, after gzip decoding too) so a hostile server cannot exhaust memory.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import http.client
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.request
import weakref
from typing import Any
from urllib.parse import unquote, urlsplit

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import DecodeError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import Retry, Timeout

from clicksms.errors import ConfigError, NetworkError, ProtocolError
from clicksms.gateway.responses import clip

#: A Clickatell answer is a few hundred bytes per recipient; 10 MiB is far beyond any real one.
MAX_RESPONSE = 10 * 1024 * 1024
#: Connections kept for reuse: as many as bulk ever keeps requests in flight
#: (``clicksms.bulk.concurrency.MAX_CONCURRENCY``, checked by a test), so that no worker
#: ever opens a connection only to throw it away after one request.
POOL_SIZE = 128
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
#: urllib3 never repeats a request, nor follows a redirect: it hands back the 3xx as it came.
_NO_RETRIES = Retry(total=False, redirect=False)
_TUNNEL_REFUSED = "Tunnel connection failed: "  # how http.client words a non-2xx CONNECT answer


class Response:
    """The part of a ``requests.Response`` that zeep's reply processing reads."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Any, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers  # case-insensitive ``get``, as zeep expects
        self.content = content

    @property
    def encoding(self) -> str | None:
        """The charset parameter of Content-Type; zeep reads it for multipart replies only."""
        match = _CHARSET.search(self.headers.get("Content-Type", ""))
        return match.group(1) if match else None


class HttpTransport:
    """POSTs to one endpoint over a pool of keep-alive connections; thread-safe.

    Connections are opened lazily and shared: a thread takes an idle one (or opens one), and
    gives it back once its answer has been read. :meth:`close` closes them all, interrupting
    calls in progress; a later POST opens new ones.
    """

    def __init__(
        self,
        endpoint: str,
        timeout: float,
        user_agent: str,
        max_response: int = MAX_RESPONSE,
        connect_timeout: float | None = None,
    ) -> None:
        parts = urlsplit(endpoint)  # never netloc: it may hold a user name and password
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            shown = "with user:pass@" if "@" in parts.netloc else repr(clip(endpoint))
            raise ConfigError(f"endpoint must be an http(s) URL, got {shown}")
        self.endpoint = endpoint
        self.host = f"{parts.hostname}:{port}" if port else str(parts.hostname)
        self.timeout = timeout  # the whole exchange, from writing to the answer's last byte
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.max_response = max_response
        self._tls = _tls_context() if parts.scheme == "https" else None
        self._proxy = _proxy_for(parts.scheme, str(parts.hostname), port or _PORTS[parts.scheme])
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        forwarded = self._proxy is not None and parts.scheme == "http"
        # Plain HTTP through a proxy: the request line carries the absolute URL.
        self._target = f"http://{parts.netloc.rpartition('@')[2]}{path}" if forwarded else path
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip"}
        self._timeouts = Timeout(connect=self.connect_timeout, read=timeout)
        self._lock = threading.Lock()
        self._pool: HTTPConnectionPool | None = None
        self._connections: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()

    @property
    def proxy(self) -> str | None:
        """``host:port`` of the proxy in use, if any (for messages)."""
        return None if self._proxy is None else self._proxy[0].split("://", 1)[1]

    def post(self, message: bytes, headers: dict[str, str]) -> Response:
        """POST ``message`` with ``headers`` added to ours; a NetworkError on failure."""
        pool = self._pool or self._open_pool()
        call = _CALL
        call.exchange, call.connections = self.timeout, (self._lock, self._connections)
        call.deadline = time.monotonic() + self.timeout  # restarted once a connection opens
        answer = None
        try:
            answer = pool.urlopen(
                "POST",
                self._target,
                body=message,
                headers={**self._headers, **headers},
                retries=_NO_RETRIES,
                redirect=False,
                assert_same_host=False,
                timeout=self._timeouts,
                preload_content=False,
            )
            status = answer.status
            location = answer.headers.get("Location")
            if status in _REDIRECTS and location is not None:
                raise ProtocolError(
                    f"{self.host} redirected to {clip(location)}; not following it with your "
                    "credentials: set the endpoint to the final URL",
                    permanent=True,
                )
            length = answer.length_remaining
            if (length or 0) > self.max_response:
                raise self._too_large()
            # A known length with nothing to decode is read as it is, in one go; anything
            # else up to one byte past the limit, gzip decoded within that bound.
            whole = bool(length) and "Content-Encoding" not in answer.headers
            content = answer.read(length if whole else self.max_response + 1)
            if len(content) > self.max_response:
                raise self._too_large()
        except _NotConnected as exc:
            raise self._failure(exc.cause, connecting=True, at_proxy=exc.at_proxy) from None
        except DecodeError:
            raise ProtocolError(f"{self.host} sent a malformed response (bad gzip data)") from None
        except (OSError, http.client.HTTPException, Urllib3Error) as exc:
            raise self._failure(_cause(exc), connecting=False) from None
        finally:
            call.deadline = None
            if answer is not None:
                answer.close()  # a no-op once the whole answer was read; else drops the link
                answer.release_conn()
        return Response(status, answer.headers, content)

    def close(self) -> None:
        """Close every connection, those in use included; a later POST opens new ones."""
        with self._lock:
            pool, self._pool = self._pool, None
            in_use = list(self._connections)
            self._connections.clear()
        if pool is not None:
            pool.close()
        for conn in in_use:
            _interrupt(conn)

    # ----------------------------------------------------------------------- internals
    def _open_pool(self) -> HTTPConnectionPool:
        with self._lock:
            if self._pool is None:
                options: dict[str, Any] = {
                    "num_pools": 1,
                    "maxsize": POOL_SIZE,
                    "block": False,
                    "retries": _NO_RETRIES,
                    "timeout": self._timeouts,
                    # urllib3 leaves Nagle on behind a proxy; a request is two writes (head,
                    # body), and Nagle would hold the second back for the server's ACK.
                    "socket_options": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                }
                if self._tls is not None:
                    options["ssl_context"] = self._tls
                manager: PoolManager
                if self._proxy is None:
                    manager = PoolManager(**options)
                else:
                    url, proxy_headers = self._proxy
                    tls = _tls_context() if url.startswith("https:") else None
                    manager = ProxyManager(
                        url, proxy_headers=proxy_headers, proxy_ssl_context=tls, **options
                    )
                manager.pool_classes_by_scheme = _POOL_CLASSES
                self._pool = manager.connection_from_url(self.endpoint)
            return self._pool

    def _too_large(self) -> ProtocolError:
        return ProtocolError(
            f"{self.host} sent a response too large for a SOAP answer "
            f"(over {_size(self.max_response)}); refused",
            permanent=True,
        )

    def _failure(
        self, exc: BaseException, connecting: bool, at_proxy: bool = False
    ) -> NetworkError:
        """One line for ``exc``; never its text, which may quote the request or the server."""
        host = self.host
        if connecting:
            return self._connect_failure(exc, at_proxy)
        if isinstance(exc, TimeoutError):
            return NetworkError(f"no answer from {host} within {self.timeout:g}s (timeout)")
        if isinstance(exc, ssl.SSLError):
            return NetworkError(f"TLS error talking to {host}: protocol problem")
        lost = f"lost the connection to {host}"
        if isinstance(
            exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionAbortedError)
        ):
            return NetworkError(f"{lost}: the server closed the connection without answering")
        if isinstance(exc, ConnectionResetError):
            return NetworkError(f"{lost}: connection reset by the server")
        if isinstance(exc, http.client.IncompleteRead):
            return NetworkError(f"{lost}: the answer was cut short")
        if isinstance(exc, (http.client.HTTPException, Urllib3Error)):
            return ProtocolError(f"{host} sent a malformed response (not HTTP)")
        return NetworkError(f"{lost}: connection failed")

    def _connect_failure(self, exc: BaseException, at_proxy: bool) -> NetworkError:
        """Opening the connection failed: whatever the reason, nothing was sent."""
        host = self.host
        if isinstance(exc, TimeoutError):
            return NetworkError(
                f"could not connect to {host} within {self.connect_timeout:g}s (timeout)",
                may_have_arrived=False,
            )
        # The certificate that failed is the proxy's while the proxy was not reached yet.
        peer = f"the proxy {self.proxy}" if at_proxy and self.proxy else host
        if isinstance(exc, ssl.SSLCertVerificationError):
            return NetworkError(
                f"TLS error talking to {peer}: the server's certificate is not trusted",
                may_have_arrived=False,
                permanent=True,
            )
        if isinstance(exc, ssl.SSLError):  # the handshake failed: no request was sent
            return NetworkError(
                f"TLS error talking to {peer}: protocol problem", may_have_arrived=False
            )
        where = f"cannot connect to {host}"
        if self.proxy is not None:
            where += f" through the proxy {self.proxy}"
        if isinstance(exc, socket.gaierror):
            reason = "unknown host name (DNS lookup failed)"
        elif isinstance(exc, UnicodeError):  # a name IDNA cannot encode
            reason = "invalid host name"
        elif isinstance(exc, ConnectionRefusedError):
            reason = "connection refused"
        elif getattr(exc, "errno", None) == errno.ENETUNREACH:
            reason = "network is unreachable"
        elif str(exc).startswith(_TUNNEL_REFUSED):
            answer = str(exc).removeprefix(_TUNNEL_REFUSED)
            reason = f"the proxy refused the tunnel ({clip(answer, 60)})"
        else:
            reason = "connection failed"
        return NetworkError(f"{where}: {reason}", may_have_arrived=False)


# ----------------------------------------------------------------------------- deadlines


class _Call(threading.local):
    """The calling thread's call in progress: what its sockets may wait for.

    ``deadline`` (time.monotonic()) is when the current phase runs out: opening a connection,
    then the exchange, which gets ``exchange`` seconds afresh once a connection is open. A
    connection opened in the call is added to ``connections`` (the transport's lock and set),
    so that :meth:`HttpTransport.close` can reach it.
    """

    deadline: float | None = None
    exchange: float = 0.0
    connections: tuple[threading.Lock, weakref.WeakSet[Any]] | None = None


_CALL = _Call()


def _left() -> float | None:
    """Seconds the calling thread's deadline leaves (None: none set); TimeoutError past it."""
    deadline = _CALL.deadline
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline has passed")
    return left


class _Bounded:
    """Each send and receive of a socket waits only until the calling thread's deadline."""

    __slots__ = ()
    settimeout: Any

    def _bound(self) -> None:
        left = _left()
        if left is not None:
            self.settimeout(left)

    def recv(self, *args: Any) -> bytes:
        self._bound()
        return super().recv(*args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> int:
        self._bound()
        return super().recv_into(*args)  # type: ignore[misc]

    def send(self, *args: Any) -> int:
        self._bound()
        return super().send(*args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> None:
        self._bound()  # the timeout bounds a whole sendall (since Python 3.5)
        super().sendall(*args)  # type: ignore[misc]


class _DeadlineSocket(_Bounded, socket.socket):
    """The TCP sockets this module opens."""

    __slots__ = ()


class _DeadlineSSLSocket(_Bounded, ssl.SSLSocket):
    """The TLS sockets our contexts make (their ``sslsocket_class``); CPython bounds a
    handshake as a whole by the socket's timeout."""

    def do_handshake(self, block: bool = False) -> None:
        self._bound()
        super().do_handshake(block)


class _NotConnected(Exception):
    """Opening a connection failed, so nothing was sent; ``cause`` says why.

    Deliberately not an OSError: urllib3 lets it through unwrapped (closing the connection),
    where it would word an OSError the same whether or not the request had left.
    """

    def __init__(self, cause: BaseException, at_proxy: bool) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
        self.at_proxy = at_proxy


class _Answer(http.client.HTTPResponse):
    """http.client's answer, but a head that the connection cuts off is cut short.

    http.client takes the end of the connection for the end of the head, so such an answer
    would pass for a complete one without a body.
    """

    def begin(self) -> None:
        fp = self.fp
        head = self.fp = _Head(fp)
        try:
            super().begin()
        finally:
            if self.fp is head:  # else http.client has closed it (and set None)
                self.fp = fp


class _Head:
    """The answer's file while http.client reads the head: every line but the first must end.

    No first line at all is http.client's "closed without answering", and a line longer than
    it reads is its LineTooLong; anything else is passed through to the file.
    """

    __slots__ = ("_fp", "_lines")

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self._lines = 0

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        self._lines += 1
        cut = not line.endswith(b"\n") and not 0 <= limit <= len(line)
        if cut and (line or self._lines > 1):
            raise http.client.IncompleteRead(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fp, name)


class _Opening:
    """How our connections open: one connect deadline, and a failure that says it was one.

    urllib3 sets a connection's ``timeout`` to the connect timeout before it opens it; here
    that is the time for the whole opening rather than for each step of it.
    """

    response_class = _Answer

    timeout: Any
    host: str
    port: int
    proxy: Any
    socket_options: Any
    source_address: Any
    has_connected_to_proxy: bool

    def connect(self) -> None:
        call = _CALL
        call.deadline = time.monotonic() + self.timeout
        try:
            super().connect()  # type: ignore[misc]
        except Exception as exc:
            at_proxy = self.proxy is not None and not self.has_connected_to_proxy
            raise _NotConnected(exc, at_proxy) from exc
        finally:
            call.deadline = time.monotonic() + call.exchange
        if call.connections is not None:
            lock, connections = call.connections
            with lock:
                connections.add(self)

    def _new_conn(self) -> socket.socket:
        """TCP to the first of the host's addresses that accepts, all within the deadline.

        urllib3's own (``create_connection``) would give each address the whole timeout. The
        one private urllib3 method overridden here: :data:`_OVERRIDDEN` fails loudly at import
        if a urllib3 release renames it, rather than losing the deadline silently.
        """
        sock = _connect(self.host, self.port, self.socket_options or (), self.source_address)
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _Connection(_Opening, HTTPConnection):
    pass


class _TLSConnection(_Opening, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOL_CLASSES = {"http": _Pool, "https": _TLSPool}
#: The urllib3 method _Opening replaces must exist under that name, or the deadline is lost.
_OVERRIDDEN = "_new_conn"
if not callable(getattr(HTTPConnection, _OVERRIDDEN, None)):  # pragma: no cover
    raise ImportError(f"urllib3 without HTTPConnection.{_OVERRIDDEN}: clicksms needs urllib3 2.x")
_PORTS = {"http": 80, "https": 443}


def _connect(host: str, port: int, options: Any, source: Any = None) -> socket.socket:
    """TCP to the first of ``host``'s addresses that accepts, each try within the deadline."""
    failure: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = _DeadlineSocket(family, kind, proto)
        try:
            for option in options:
                sock.setsockopt(*option)
            sock.settimeout(_left())
            if source:
                sock.bind(source)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            failure = exc
            continue
        return sock
    raise failure


def _interrupt(conn: HTTPConnection) -> None:
    """Shut a connection's socket down, waking a thread blocked on it (it sees the end)."""
    sock = getattr(conn.sock, "socket", conn.sock)  # TLS in TLS: the socket under it
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            # The plain socket's shutdown: SSLSocket's would drop its TLS state under the
            # thread still reading from it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _cause(exc: BaseException) -> BaseException:
    """The socket, TLS or http.client error under urllib3's wrappers (they chain it)."""
    while isinstance(exc, Urllib3Error):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


# ------------------------------------------------------------------- TLS and proxies


def _tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS, with the CA bundle chosen once; its sockets keep deadlines.

    A bundle named by REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE (as requests honoured) or
    SSL_CERT_FILE wins; else certifi's bundle if installed; else the system's default store.
    """
    context = None
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        bundle = os.environ.get(name)
        if not bundle:
            continue
        try:
            if os.path.isdir(bundle):
                context = ssl.create_default_context(capath=bundle)
            else:
                context = ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(
                f"{name}={clip(bundle)} is not a usable CA certificate bundle: {why}"
            ) from None
        break
    if context is None:
        try:
            import certifi
        except ImportError:
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=certifi.where())
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def _proxy_for(scheme: str, host: str, port: int) -> tuple[str, dict[str, str]] | None:
    """The proxy URL (no credentials) and its headers for the endpoint, from the environment.

    HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY (port-aware), read once. http:// and
    https:// proxies are supported (HTTPS goes through either with CONNECT); credentials in
    the proxy URL become a Proxy-Authorization header. Anything else is a clear error.
    """
    proxies = urllib.request.getproxies()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(f"{host}:{port}"):
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    try:
        proxy_port = parts.port or _PORTS.get(parts.scheme, 0)
    except ValueError:
        proxy_port = 0
    if parts.scheme not in _PORTS or not parts.hostname or not proxy_port:
        raise ConfigError(
            f"unsupported proxy {parts.scheme}://{parts.hostname or '?'} for {scheme}: only "
            "http:// and https:// proxies are supported (HTTPS_PROXY=http://host:port)"
        )
    headers: dict[str, str] = {}
    if parts.username is not None:  # UTF-8, as curl sends it (urllib3's helper is latin-1 only)
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{name}:{proxy_port}", headers


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count % mib == 0 else f"{count} bytes"
