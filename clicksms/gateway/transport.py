"""The HTTP layer under zeep: lean keep-alive POSTs, one connection per thread.

requests costs about 1.2 ms of CPU per POST (hooks, adapters, proxy and netrc lookups on every
call). Here everything requests decided per call — proxies, CA bundle — is decided once, at
construction; each connection is opened here (TCP, the CONNECT tunnel through a proxy, TLS with
:mod:`ssl`'s hostname checking) and the exchange on it is done by a small strict HTTP/1.1
reader: http.client's own request writer and email-based header parser cost more CPU than all
of zeep's work on a request, and a SOAP POST needs neither.

This is also the one place that turns socket, TLS and HTTP failures into one-line
:class:`~clicksms.errors.NetworkError`\\ s, because only here is it known whether the request
bytes may have left: a failure while connecting (refused, DNS, connect timeout, untrusted
certificate, TLS handshake) proves the gateway never saw the request
(``may_have_arrived=False``); anything after the first byte was written leaves the outcome
unknown (``True``). An idle connection the server has closed is noticed *before* writing, so
a keep-alive timeout never turns into "it may have arrived".

Two deadlines bound every call, not per ``recv``, so a server (or proxy) that drips a byte a
second cannot hold a call open forever: ``connect_timeout`` for opening the connection — every
address tried, the proxy's CONNECT answer and the TLS handshake together — and ``timeout`` for
the whole exchange, from the first byte written to the last byte of the answer. The one thing
not bounded is the host name lookup: ``getaddrinfo`` takes no timeout, so the system
resolver's own limits apply (on Linux, resolv.conf's ``timeout`` × ``attempts``).

Redirects are never followed: a 3xx would re-post the body, password included, to wherever it
points. Responses are bounded (``max_response`` bytes, also after gzip decoding) so a hostile
server cannot exhaust memory.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import http.client
import os
import re
import select
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from zeep.transports import Transport

from clicksms.errors import ConfigError, NetworkError, ProtocolError
from clicksms.gateway.responses import clip

#: A Clickatell answer is a few hundred bytes per recipient; 10 MiB is far beyond any real one.
MAX_RESPONSE = 10 * 1024 * 1024
_MAX_LINE = 64 * 1024  # status line, header block, chunk-size line (http.client's _MAXLINE)
_MAX_HEADERS = 100  # as http.client
_READ_SIZE = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


class Headers(dict):  # type: ignore[type-arg]
    """Response headers by lower-case name; ``get`` is case-insensitive, as zeep expects."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


class Response:
    """The part of a ``requests.Response`` that zeep's ``binding.process_reply`` reads."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def encoding(self) -> str | None:
        """The charset parameter of Content-Type; zeep reads it for multipart replies only."""
        match = _CHARSET.search(self.headers.get("Content-Type", ""))
        return match.group(1) if match else None


class _Connection:
    """One keep-alive connection: the socket (plain or TLS) we speak HTTP/1.1 on.

    ``buffer`` holds bytes received but not yet consumed; ``deadline`` (monotonic seconds)
    is when the opening or the exchange in progress runs out of time.
    """

    __slots__ = ("buffer", "deadline", "sock")

    def __init__(self) -> None:
        self.sock: Any = None
        self.buffer = bytearray()
        self.deadline = 0.0

    @property
    def is_open(self) -> bool:
        return self.sock is not None and self.sock.fileno() != -1

    def close(self) -> None:
        """Shut down and close the socket, waking a thread blocked reading from it.

        ``sock`` keeps the closed object, so that a thread still using it (close() may come
        from another thread) gets an OSError rather than None.
        """
        self.buffer.clear()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()


class _TunnelRefused(OSError):
    """The proxy answered CONNECT with something other than 2xx (its status and reason)."""


class SoapTransport(Transport):
    """A zeep transport bound to one endpoint; safe to use from several threads at once.

    Each thread gets its own keep-alive connection, opened lazily on its first POST and
    reopened whenever the server has closed it while idle. :meth:`close` closes them all.
    """

    def __init__(
        self,
        endpoint: str,
        timeout: float,
        user_agent: str,
        max_response: int = MAX_RESPONSE,
        connect_timeout: float | None = None,
    ) -> None:
        # zeep's Transport.__init__ would build a requests.Session we never use: set the
        # attributes zeep reads (it loads the bundled WSDL through ``load``) and nothing else.
        self.cache = None
        self.load_timeout = timeout
        self.operation_timeout = timeout
        self.session = None
        self._close_session = False
        parts = urlsplit(endpoint)  # never netloc: it may hold a user name and password
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"endpoint must be an http(s) URL, got {clip(endpoint)!r}")
        self.endpoint = endpoint
        self.host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self.timeout = timeout  # the whole exchange, from writing to the answer's last byte
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.max_response = max_response
        self._https = parts.scheme == "https"
        self._hostname = str(parts.hostname)
        self._port = parts.port or (443 if self._https else 80)
        self._context = _tls_context() if self._https else None
        self._proxy = _proxy_for(parts.scheme, self._hostname, self._port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        target = quote(path, safe="!#$%&'()*+,/:;=?@[]~")  # as requests' requote_uri
        host_header = _host_header(parts.netloc)
        fixed = [f"Host: {host_header}", f"User-Agent: {user_agent}", "Accept-Encoding: gzip"]
        if self._proxy is not None and not self._https:
            # Plain HTTP through a proxy: the request line carries the absolute URL.
            target = f"http://{host_header}{target}"
            if self._proxy[2]:
                fixed.append(f"Proxy-Authorization: {self._proxy[2]}")
        self._tunnel_request = b""
        if self._proxy is not None and self._https:
            name = f"[{self._hostname}]" if ":" in self._hostname else self._hostname
            authority = _host_header(f"{name}:{self._port}")
            lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
            if self._proxy[2]:
                lines.append(f"Proxy-Authorization: {self._proxy[2]}")
            self._tunnel_request = _header_bytes("\r\n".join([*lines, "", ""]))
        self._head = _header_bytes("\r\n".join([f"POST {target} HTTP/1.1", *fixed, ""]))
        self._heads: dict[tuple[tuple[str, str], ...], bytes] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[_Connection, threading.Thread] = {}
        self._generation = 0

    # ------------------------------------------------------------------ zeep's interface
    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Response:
        """POST ``message`` on this thread's connection; raise a NetworkError on failure."""
        if address != self.endpoint:
            raise ValueError("SoapTransport only posts to the endpoint it was built for")
        request = self._request_head(headers) + b"%d\r\n\r\n" % len(message) + message
        conn = self._connection()
        try:
            if not conn.is_open:
                try:
                    self._open_connection(conn)
                except (OSError, http.client.HTTPException, UnicodeError) as exc:
                    raise self._failure(exc, connecting=True) from None
            try:
                conn.deadline = time.monotonic() + self.timeout
                conn.sock.settimeout(self.timeout)  # sendall's total, since Python 3.5
                conn.sock.sendall(request)  # head and body in one write
                status, answer_headers, content, reusable = self._receive(conn)
            except (OSError, http.client.HTTPException) as exc:
                raise self._failure(exc, connecting=False) from None
            if not reusable:
                conn.close()
        except BaseException:
            conn.close()  # half-used (or Ctrl-C'd) connections are never reused
            raise
        location = answer_headers.get("Location")
        if status in _REDIRECTS and location is not None:
            raise ProtocolError(
                f"{self.host} redirected to {clip(location)}; not following it with your "
                "credentials: set the endpoint to the final URL",
                permanent=True,
            )
        coding = answer_headers.get("Content-Encoding", "").strip().lower()
        if coding in ("gzip", "x-gzip") and content:
            content = self._gunzip(content)
        return Response(status, answer_headers, content)

    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise NotImplementedError("clicksms only POSTs SOAP requests")

    def _load_remote_data(self, url: str) -> bytes:
        """The bundled WSDL is self-contained: nothing is ever fetched over the network."""
        raise ConfigError(f"refusing to fetch {clip(url)}: the bundled WSDL needs no downloads")

    def close(self) -> None:
        """Close every thread's connection; a later POST simply opens a new one."""
        with self._lock:
            self._generation += 1
            conns, self._open = list(self._open), {}
        for conn in conns:
            conn.close()

    # ----------------------------------------------------------------------- connections
    def _connection(self) -> _Connection:
        """This thread's connection, checked for an idle close by the server before reuse."""
        local = self._local
        conn: _Connection | None = getattr(local, "conn", None)
        if conn is None or local.generation != self._generation:
            conn = self._new_connection()
            local.conn, local.generation = conn, self._generation
        elif conn.is_open and (conn.buffer or _dropped(conn.sock)):
            # The server closed the idle connection (or sent something unasked): reconnect
            # now, before writing a byte, so the close is never an "it may have arrived".
            conn.close()
        return conn

    def _new_connection(self) -> _Connection:
        conn = _Connection()
        with self._lock:
            # Connections of threads that have ended would otherwise wait for close().
            for old, owner in list(self._open.items()):
                if not owner.is_alive():
                    old.close()
                    del self._open[old]
            self._open[conn] = threading.current_thread()
        return conn

    def _open_connection(self, conn: _Connection) -> None:
        """Connect ``conn``: TCP, the proxy's tunnel, TLS — all by one ``connect_timeout``.

        Each step waits only for what is left: the TCP connect of each address, the CONNECT
        request and its answer (read by the same deadline reader as any answer), and the TLS
        handshake, which CPython bounds as a whole by the socket's timeout.
        """
        conn.buffer.clear()
        conn.deadline = time.monotonic() + self.connect_timeout
        if self._proxy is None:
            conn.sock = _connect(self._hostname, self._port, conn.deadline)
        else:
            conn.sock = _connect(self._proxy[0], self._proxy[1], conn.deadline)
        if self._context is None:  # plain HTTP
            return
        if self._tunnel_request:
            conn.sock.settimeout(_left(conn.deadline))
            conn.sock.sendall(self._tunnel_request)
            _, status, reason, _ = self._read_head(conn)
            if not 200 <= status < 300:
                raise _TunnelRefused(f"{status} {reason}")
            if conn.buffer:  # the proxy spoke before the server could: no usable tunnel
                raise http.client.HTTPException("data after the proxy's CONNECT answer")
        conn.sock.settimeout(_left(conn.deadline))
        conn.sock = self._context.wrap_socket(conn.sock, server_hostname=self._hostname)

    def _request_head(self, headers: dict[str, str]) -> bytes:
        """The request line and headers up to ``Content-Length: `` (cached per header set).

        zeep's headers for an operation (SOAPAction, Content-Type) never change, so each
        distinct set is checked and encoded once.
        """
        key = tuple(headers.items())
        head = self._heads.get(key)
        if head is None:
            extra = "".join(f"{name}: {value}\r\n" for name, value in key)
            head = self._head + _header_bytes(extra) + b"Content-Length: "
            if len(self._heads) < 64:
                self._heads[key] = head
        return head

    # -------------------------------------------------------------------------- answers
    def _receive(self, conn: _Connection) -> tuple[int, Headers, bytes, bool]:
        """Read one answer: (status, headers, body, whether the connection may be reused).

        Interim 1xx answers are skipped; the body is delimited by chunked encoding, else
        Content-Length, else the end of the connection — as http.client and RFC 9112 do.
        Malformed input raises http.client's exceptions, which :meth:`_failure` words.
        """
        while True:
            version, status, _, headers = self._read_head(conn)
            if not (100 <= status < 200) or status == 101:
                break
        tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
        reusable = "close" not in tokens and (version != "HTTP/1.0" or "keep-alive" in tokens)
        coding = headers.get("Transfer-Encoding", "").lower()
        if status in (101, 204, 304):
            body = b""
            reusable = reusable and status != 101
        elif coding:
            if coding.rsplit(",", 1)[-1].strip() != "chunked":
                body, reusable = self._read_to_end(conn), False
            else:
                body = self._read_chunked(conn)
        elif "Content-Length" in headers:
            body = self._read_exact(conn, self._content_length(headers["Content-Length"]))
        else:
            body, reusable = self._read_to_end(conn), False
        return status, headers, body, reusable and not conn.buffer

    def _read_head(self, conn: _Connection) -> tuple[str, int, str, Headers]:
        """The status line (version, status, reason) and headers of the next answer."""
        buffer = conn.buffer
        searched = 0
        while True:
            end = _END_OF_HEAD.search(buffer, max(0, searched - 3))
            if end is not None:
                break
            if len(buffer) > _MAX_LINE:
                raise http.client.LineTooLong("header block")
            searched = len(buffer)
            if not self._fill(conn):
                if not buffer:
                    raise http.client.RemoteDisconnected("closed without a response")
                raise http.client.IncompleteRead(b"")
            if not buffer.startswith(b"HTTP/"[: len(buffer)]):  # fail fast on non-HTTP
                raise http.client.BadStatusLine("not HTTP/1.x")
        lines = bytes(buffer[: end.start()]).split(b"\n")
        del buffer[: end.end()]
        status_line = lines[0].rstrip(b"\r").decode("latin-1")
        pieces = status_line.split(None, 2)
        if len(pieces) < 2 or not pieces[0].startswith("HTTP/1."):
            raise http.client.BadStatusLine("not HTTP/1.x")
        if len(pieces[1]) != 3 or not pieces[1].isdigit():
            raise http.client.BadStatusLine("bad status code")
        if len(lines) > _MAX_HEADERS + 1:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        headers = Headers()
        name = ""
        for raw in lines[1:]:
            line = raw.rstrip(b"\r").decode("latin-1")
            if line[:1] in (" ", "\t") and name:  # obsolete line folding
                dict.__setitem__(headers, name, f"{headers[name]} {line.strip()}")
                continue
            key, sep, value = line.partition(":")
            if not sep or not key or key != key.strip():
                raise http.client.HTTPException("malformed header line")
            name, value = key.lower(), value.strip()
            previous = dict.get(headers, name)
            dict.__setitem__(headers, name, value if previous is None else f"{previous}, {value}")
        reason = pieces[2] if len(pieces) > 2 else ""
        return pieces[0], int(pieces[1]), reason, headers

    def _content_length(self, value: str) -> int:
        lengths = {v.strip() for v in value.split(",")}  # repeated headers were joined
        if len(lengths) != 1 or not (length := lengths.pop()).isdigit():
            raise http.client.HTTPException("bad Content-Length")
        if int(length) > self.max_response:
            raise self._too_large()
        return int(length)

    def _read_exact(self, conn: _Connection, size: int) -> bytes:
        buffer = conn.buffer
        while len(buffer) < size:
            if not self._fill(conn):
                raise http.client.IncompleteRead(b"", size - len(buffer))
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    def _read_line(self, conn: _Connection) -> bytes:
        buffer = conn.buffer
        searched = 0
        while (end := buffer.find(b"\n", searched)) < 0:
            if len(buffer) > _MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            searched = len(buffer)
            if not self._fill(conn):
                raise http.client.IncompleteRead(b"")
        line = bytes(buffer[:end]).rstrip(b"\r")
        del buffer[: end + 1]
        return line

    def _read_chunked(self, conn: _Connection) -> bytes:
        pieces: list[bytes] = []
        total = 0
        while True:
            size_text = self._read_line(conn).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise http.client.HTTPException("bad chunk size") from None
            if size < 0:
                raise http.client.HTTPException("bad chunk size")
            if size == 0:
                while self._read_line(conn):  # trailer fields, up to the empty line
                    pass
                return b"".join(pieces)
            total += size
            if total > self.max_response:
                raise self._too_large()
            pieces.append(self._read_exact(conn, size))
            if self._read_line(conn):
                raise http.client.HTTPException("chunk not followed by CRLF")

    def _read_to_end(self, conn: _Connection) -> bytes:
        while len(conn.buffer) <= self.max_response:
            if not self._fill(conn):
                break
        else:
            raise self._too_large()
        data = bytes(conn.buffer)
        conn.buffer.clear()
        return data

    @staticmethod
    def _fill(conn: _Connection) -> bool:
        """Receive more bytes into the buffer; False at the end of the connection.

        Each wait is only as long as the exchange has left, so the answer as a whole must
        arrive by ``conn.deadline``; a TimeoutError past it.
        """
        conn.sock.settimeout(_left(conn.deadline))
        data = conn.sock.recv(_READ_SIZE)
        conn.buffer += data
        return bool(data)

    def _gunzip(self, data: bytes) -> bytes:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            plain = inflater.decompress(data, self.max_response + 1)
        except zlib.error:
            raise ProtocolError(f"{self.host} sent a malformed response (bad gzip data)") from None
        if len(plain) > self.max_response:
            raise self._too_large()
        if not inflater.eof:
            raise ProtocolError(f"{self.host} sent a malformed response (truncated gzip data)")
        return plain

    def _too_large(self) -> ProtocolError:
        return ProtocolError(
            f"{self.host} sent a response too large for a SOAP answer "
            f"(over {_size(self.max_response)}); refused",
            permanent=True,
        )

    # ---------------------------------------------------------------------------- errors
    def _failure(self, exc: BaseException, connecting: bool) -> NetworkError:
        """One line for ``exc``; never its text, which may quote the request or the server."""
        host = self.host
        if connecting:
            where = f"cannot connect to {host}"
            if self._proxy is not None:
                where += f" through the proxy {self._proxy[0]}:{self._proxy[1]}"
            if isinstance(exc, TimeoutError):
                return NetworkError(
                    f"could not connect to {host} within {self.connect_timeout:g}s (timeout)",
                    may_have_arrived=False,
                )
            if isinstance(exc, ssl.SSLCertVerificationError):
                return NetworkError(
                    f"TLS error talking to {host}: the server's certificate is not trusted",
                    may_have_arrived=False,
                    permanent=True,
                )
            if isinstance(exc, ssl.SSLError):  # the handshake failed: no request was sent
                return NetworkError(
                    f"TLS error talking to {host}: protocol problem", may_have_arrived=False
                )
            if isinstance(exc, socket.gaierror):
                reason = "unknown host name (DNS lookup failed)"
            elif isinstance(exc, UnicodeError):  # a name IDNA cannot encode
                reason = "invalid host name"
            elif isinstance(exc, ConnectionRefusedError):
                reason = "connection refused"
            elif getattr(exc, "errno", None) == errno.ENETUNREACH:
                reason = "network is unreachable"
            elif isinstance(exc, _TunnelRefused):
                reason = f"the proxy refused the tunnel ({clip(exc, 60)})"
            else:
                reason = "connection failed"
            return NetworkError(f"{where}: {reason}", may_have_arrived=False)
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
        if isinstance(exc, http.client.HTTPException):
            return ProtocolError(f"{host} sent a malformed response (not HTTP)")
        return NetworkError(f"{lost}: connection failed")


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (monotonic), for the next wait; a TimeoutError past it."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline has passed")
    return left


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """TCP to the first of ``host``'s addresses that accepts, all of them by ``deadline``.

    socket.create_connection would give each address the whole timeout. The name lookup
    itself cannot be bounded (getaddrinfo has no timeout).
    """
    failure: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        left = _left(deadline)
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        with contextlib.suppress(OSError):  # small requests must not wait for Nagle
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise failure


def _host_header(netloc: str) -> str:
    """The Host header: the URL's host and port (IDNA), never its user name or password."""
    hostport = netloc.rpartition("@")[2]
    return hostport if hostport.isascii() else hostport.encode("idna").decode("ascii")


def _header_bytes(text: str) -> bytes:
    """CRLF-separated header lines as they go on the wire (latin-1, as http.client sends).

    A stray CR or LF inside a line would split a header in two, so it is refused.
    """
    if any("\r" in line or "\n" in line for line in text.split("\r\n")):
        raise ValueError("HTTP header values must not contain CR or LF")
    return text.encode("latin-1")


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle connection is readable: EOF (the server closed it) or unasked data.

    Either way it must not carry the next request; this is urllib3's is_connection_dropped.
    """
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS, with the CA bundle chosen once.

    A bundle named by REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE (as requests honoured) or
    SSL_CERT_FILE wins; else certifi's bundle if installed; else the system's default store.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        bundle = os.environ.get(name)
        if not bundle:
            continue
        try:
            if os.path.isdir(bundle):
                return ssl.create_default_context(capath=bundle)
            return ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(
                f"{name}={clip(bundle)} is not a usable CA certificate bundle: {why}"
            ) from None
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _proxy_for(scheme: str, host: str, port: int) -> tuple[str, int, str | None] | None:
    """The proxy (host, port, Proxy-Authorization) for the endpoint, from the environment.

    HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY, read once. Only http:// proxies are
    supported (HTTPS goes through them with CONNECT); anything else is a clear error.
    """
    proxies = urllib.request.getproxies()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(f"{host}:{port}"):  # NO_PROXY, port-aware
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    try:
        proxy_port = parts.port or 80
    except ValueError:
        proxy_port = -1
    if parts.scheme != "http" or not parts.hostname or proxy_port < 0:
        raise ConfigError(
            f"unsupported proxy {parts.scheme}://{parts.hostname or '?'} for {scheme}: "
            "only http:// proxies (HTTPS_PROXY/HTTP_PROXY=http://host:port) are supported"
        )
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return parts.hostname, proxy_port, auth


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count % mib == 0 else f"{count} bytes"
