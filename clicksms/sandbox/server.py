"""HTTP layer: a threaded HTTP/1.1 server in front of the Gateway.

Keep-alive and concurrent connections are supported because Clickatell encourages both
(API.md §1). Each response is written in one go on a TCP_NODELAY socket so that small
request/response exchanges do not hit the ~40 ms Nagle/delayed-ACK stall.

Each SOAP server the sandbox runs is a ``Service``: its path, its bundled WSDL, and the codec
of its SOAP style (``soapxml`` for Document/Literal, ``rpcxml`` for RPC/Encoded), which turns
envelopes into an operation name and fields for ``Gateway.dispatch`` and ``<return>`` strings
back into an envelope. Both servers run at once on one port and share one account; the
gateway never sees which style a request came in.

Injected faults (``faults.py`` decides when) are acted out here, in ``_Handler._inject``,
except ``err-130`` and ``no-credit``, which the gateway acts out at the credit stage;
``CONTROL_PATH`` lets another process list (GET), add (POST) and clear (DELETE) them.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import re
import selectors
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from clicksms.sandbox import soapxml
from clicksms.sandbox.clock import Clock
from clicksms.sandbox.config import SandboxConfig
from clicksms.sandbox.faults import Fault, Faults, parse_control_body
from clicksms.sandbox.gateway import Gateway, GatewayFault
from clicksms.sandbox.rpcxml import RpcCodec
from clicksms.sandbox.spec import err
from clicksms.sandbox.xmltree import SoapFault

ENDPOINT_PATH = "/soap/document_literal/webservice"
RPC_PATH = "/soap/webservice_vs.php"  # the RPC/Encoded server, Visual Studio flavour (API.md §1)
CONTROL_PATH = "/sandbox/faults"  # the fault control endpoint (JSON)
CREDITS_PATH = "/sandbox/credits"  # GET the balance, POST a number of credits to add
MAX_BODY = 8 * 1024 * 1024  # bytes, before and after gzip decoding
XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
_HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>"
    "<body><h1>{reason}</h1><p>{text}</p><hr></body></html>\n"
)
_HTML_TEXT = {
    500: "The server encountered an internal error and was unable to complete your request.",
    503: "The server is temporarily unable to service your request. Please try again later.",
}
SOAP_FAULT_TEXT = "Internal server error (injected by the sandbox)"
_SOAP_ADDRESS = re.compile(rb'(<(?:\w+:)?address\b[^>]*?\blocation=")[^"]*(")')


class Codec(Protocol):
    """One SOAP style's envelopes. ``parse_request`` raises ``SoapFault`` for what
    cannot be dispatched (``soap_action``: the SOAPAction header, None when absent);
    operation names come out as ``spec.OPERATIONS`` spells them."""

    def parse_request(self, body: bytes, soap_action: str | None = None) -> soapxml.SoapRequest: ...

    def build_response(self, op: str, returns: list[str]) -> bytes: ...

    def build_fault(self, code: str, message: str) -> bytes: ...


@dataclass(frozen=True)
class Service:
    """One SOAP server of the sandbox: where it listens, its WSDL, and how to make its
    envelope codec (from the WSDL's bytes and the sandbox's settings)."""

    path: str
    wsdl: str  # file name in clicksms/data
    codec: Callable[[bytes, SandboxConfig], Codec]


#: Every SOAP server by path (API.md §1), all served at once on one port.
SERVICES: dict[str, Service] = {
    ENDPOINT_PATH: Service(ENDPOINT_PATH, "document_literal.wsdl", lambda _w, _c: soapxml),
    RPC_PATH: Service(
        RPC_PATH,
        "rpc_encoded_webservice_vs.wsdl",
        lambda wsdl, config: RpcCodec(wsdl, arrays=config.rpc_arrays),
    ),
}


def load_wsdl(name: str = "document_literal.wsdl") -> bytes:
    """A bundled WSDL (package data, so it works from a wheel too)."""
    return resources.files("clicksms").joinpath("data").joinpath(name).read_bytes()


def rewrite_wsdl(wsdl: bytes, endpoint: str) -> bytes:
    """Point every ``soap:address location`` at ``endpoint``."""
    value = endpoint.replace("&", "&amp;").replace('"', "&quot;").encode("utf-8")
    return _SOAP_ADDRESS.sub(lambda m: m.group(1) + value + m.group(2), wsdl)


def _session_id(request: soapxml.SoapRequest) -> str | None:
    """The session the request authenticates with, read as the gateway does (first value)."""
    values = (value for name, value in request.fields if name == "session_id" and value is not None)
    return next(values, None) or None


class _BadRequest(Exception):
    """An HTTP-level problem answered with ``status`` before any SOAP processing."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers open connections so stop() can cut them."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 drops (or resets) connections when a client opens
    # dozens at once, as bulk does when it raises its concurrency; the kernel caps it anyway.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.stop_requested = threading.Event()
        self._stopped = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        super().__init__(address, _Handler)

    def run(self) -> None:
        """Accept loop woken by a socketpair, so stop() is immediate (no poll interval)."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self.stop_requested.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is self and not self.stop_requested.is_set():
                            self._handle_request_noblock()
        finally:
            self._stopped.set()

    def stop_loop(self) -> None:
        """Ask run() to return and wait for it; only call when run() has been started."""
        self.stop_requested.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-request is not worth a traceback."""


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clicksms-sandbox"
    sys_version = ""
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    wbufsize = 1 << 16  # buffer headers + body; flushed once per request by http.server
    timeout = 300  # idle keep-alive connections are closed after this long
    server: _Server
    codec: Codec = soapxml  # the codec of the service the current POST went to

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request logging: the sandbox runs inside tests and CLIs."""

    def handle_expect_100(self) -> bool:
        """Push the interim 100 out now; the buffered wfile would otherwise hold it back."""
        accepted = super().handle_expect_100()
        self.wfile.flush()
        return accepted

    # ------------------------------------------------------------------ responses
    def _send(self, status: int, body: bytes, content_type: str = XML_TYPE, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_text(self, status: int, text: str, **headers: str) -> None:
        self._send(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8", **headers)

    def _send_fault(self, code: str, message: str, status: int = 500) -> None:
        self._send(status, self.codec.build_fault(code, message))

    # ------------------------------------------------------------------- methods
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == CONTROL_PATH:
            self._send_json(200, self.server.sandbox.faults.active())
            return
        if url.path == CREDITS_PATH:
            self._send_json(200, {"balance": self.server.sandbox.balance()})
            return
        if url.path not in SERVICES:
            self._send_text(404, "Not Found")
            return
        keys = {part.partition("=")[0].lower() for part in url.query.split("&")}
        if "wsdl" in keys:
            self._send(200, self.server.sandbox.wsdl(url.path))
        else:
            self._send_text(405, "Use POST for SOAP requests, GET ?wsdl for the WSDL", Allow="POST")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except _BadRequest as exc:
            if exc.close:
                self.close_connection = True
            self._send_text(exc.status, exc.message)
            return
        url = urlsplit(self.path)
        if url.path == CONTROL_PATH:
            self._add_faults(body)
            return
        if url.path == CREDITS_PATH:
            self._add_credits(body)
            return
        service = SERVICES.get(url.path)
        if service is None:
            self._send_text(404, "Not Found")
            return
        sandbox = self.server.sandbox
        self.codec = sandbox.codecs[url.path]
        if sandbox.config.latency > 0:
            time.sleep(sandbox.config.latency)
        if url.query:
            self._send_fault("Client", "The endpoint URL must not carry a query string (?wsdl)")
            return
        try:
            soap_action = self.headers.get("SOAPAction")
            request = self.codec.parse_request(self._decode_body(body), soap_action)
        except _BadRequest as exc:
            self._send_fault("Client", exc.message, exc.status)
            return
        except SoapFault as exc:
            self._send_fault(exc.code, exc.message)
            return
        except Exception as exc:  # answer instead of dropping the connection
            self._send_fault("Server", f"Internal sandbox error: {type(exc).__name__}: {exc}")
            return
        fault = sandbox.faults.take(request.op, has_session=bool(_session_id(request)))
        if fault is None:
            self._send(*self._process(request))
        else:
            self._inject(fault, request)

    def do_DELETE(self) -> None:
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            try:
                self._read_body()  # keep the keep-alive stream in step
            except _BadRequest as exc:
                self.close_connection = True
                self._send_text(exc.status, exc.message)
                return
        if urlsplit(self.path).path != CONTROL_PATH:
            self._send_text(405, "Only the fault control endpoint takes DELETE")
            return
        self._send_json(200, {"cleared": self.server.sandbox.faults.clear()})

    # ------------------------------------------------------------------ processing
    def _process(self, request: soapxml.SoapRequest) -> tuple[int, bytes]:
        """Run the request through the gateway: (HTTP status, SOAP body)."""
        try:
            gateway = self.server.sandbox.gateway
            returns = gateway.dispatch(request.op, request.fields, request.fractional)
        except GatewayFault as exc:
            return 500, self.codec.build_fault(exc.code, exc.message)
        except Exception as exc:  # answer instead of dropping the connection
            message = f"Internal sandbox error: {type(exc).__name__}: {exc}"
            return 500, self.codec.build_fault("Server", message)
        return 200, self.codec.build_response(request.op, returns)

    # ---------------------------------------------------------------------- faults
    def _inject(self, fault: Fault, request: soapxml.SoapRequest) -> None:
        """Act out one fault. Only the kinds processed below reach the gateway and ledger."""
        kind, op = fault.kind, request.op
        if kind == "drop-before":
            self.close_connection = True  # nothing written: the client sees the line go dead
            return
        if kind in ("http-500", "http-503"):
            status = 500 if kind == "http-500" else 503
            reason = self.responses[status][0]
            page = _HTML_PAGE.format(status=status, reason=reason, text=_HTML_TEXT[status])
            extra = {} if status == 500 else {"Retry_After": str(math.ceil(fault.seconds or 0))}
            self._send(status, page.encode("utf-8"), HTML_TYPE, **extra)
            return
        if kind == "soap-fault":
            self._send_fault("Server", SOAP_FAULT_TEXT)
            return
        if kind == "err-901":  # may happen at any point, so before authentication too
            self._send(200, self.codec.build_response(op, [err(901)]))
            return
        if kind == "expire-session":
            self.server.sandbox.gateway.expire_session(_session_id(request) or "")
        status, body = self._process(request)
        if kind == "drop-after":
            self.close_connection = True  # processed (ledger, credits), never answered
        elif kind == "malformed-xml":
            self._send(200, body[: len(body) // 2])  # processed; the answer is cut short
        elif kind == "slow-drip":
            self._drip(fault, status, body)
        elif kind == "latency" and not self._pause(fault.seconds or 0.0):
            self.close_connection = True  # the sandbox is stopping
        else:  # latency, expire-session: the gateway's own answer
            self._send(status, body)

    def _pause(self, seconds: float) -> bool:
        """Sleep, but wake when the sandbox stops; False if it did."""
        return not self.server.stop_requested.wait(seconds)

    def _drip(self, fault: Fault, status: int, body: bytes) -> None:
        """Valid status line and headers, then the body one byte per chunk every
        ``fault.seconds``, then spaces (legal after an XML document) while the fault is
        active. Clearing the fault sends the rest; a stop or a hang-up ends it unfinished."""
        self.send_response(status)
        self.send_header("Content-Type", XML_TYPE)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while True:
                byte = body[sent : sent + 1] or b" "
                sent = min(sent + 1, len(body))
                self.wfile.write(b"1\r\n" + byte + b"\r\n")
                self.wfile.flush()
                if not self._pause(fault.seconds or 1.0):
                    self.close_connection = True
                    return
                if not fault.active:
                    break
            rest = body[sent:]
            if rest:
                self.wfile.write(f"{len(rest):x}\r\n".encode() + rest + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up, or stop() cut the connection
            self.close_connection = True

    # ---------------------------------------------------------------- control endpoint
    def _add_faults(self, body: bytes) -> None:
        try:
            added = parse_control_body(body)
        except ValueError as exc:
            self._send_text(400, f"bad fault: {exc}")
            return
        self.server.sandbox.faults.extend(added)
        self._send_json(201, [fault.as_dict() for fault in added])

    def _add_credits(self, body: bytes) -> None:
        """A top-up while it runs (as buying credit does), e.g. to resume after ERR 301."""
        try:
            credits = float(body.decode("ascii").strip())
            if not math.isfinite(credits):
                raise ValueError(credits)
            balance = self.server.sandbox.gateway.add_credits(credits)
        except (UnicodeDecodeError, ValueError, OverflowError):
            self._send_text(400, "POST a positive number of credits, e.g. 500")
            return
        self._send_json(200, {"balance": balance})

    def _send_json(self, status: int, data: object) -> None:
        self._send(status, (json.dumps(data) + "\n").encode("utf-8"), JSON_TYPE)

    # --------------------------------------------------------------------- bodies
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _BadRequest(411, "Content-Length required", close=True)
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequest(400, "Bad Content-Length", close=True) from None
        if length < 0 or length > MAX_BODY:
            raise _BadRequest(413, "Request body too large", close=True)
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "Bad chunked encoding", close=True) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BadRequest(413, "Request body too large", close=True)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _decode_body(self, body: bytes) -> bytes:
        """Undo Content-Encoding: gzip (API.md §1: the doc/literal server supports it)."""
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "x-gzip"):
            raise _BadRequest(415, f"Unsupported Content-Encoding: {encoding}")
        try:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            data = inflater.decompress(body, MAX_BODY + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise _BadRequest(400, f"Bad gzip request body: {exc}") from None
        if len(data) > MAX_BODY:
            raise _BadRequest(413, "Request body too large once decompressed")
        return data


class Sandbox:
    """A local Clickatell-compatible SOAP server: the Document/Literal and the RPC/Encoded
    servers (``endpoint``, ``rpc_endpoint``) in front of one account.

    ``start()`` binds and serves from a daemon thread; ``serve_forever()`` serves in the
    calling thread. State lives in ``gateway`` and survives stop()/start(), as do the
    injected ``faults`` (``sandbox.faults.add("drop-after", ops={"sendmsg"}, times=1)``).
    """

    def __init__(self, config: SandboxConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        self.faults = Faults()
        self.gateway = Gateway(self.config, clock, self.faults)
        self._wsdl_templates = {path: load_wsdl(s.wsdl) for path, s in SERVICES.items()}
        #: Each server's codec, by path.
        self.codecs: dict[str, Codec] = {
            path: service.codec(self._wsdl_templates[path], self.config)
            for path, service in SERVICES.items()
        }
        self._wsdls: dict[str, bytes] = {}  # by path, pointing at where it is served
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._lock = threading.Lock()

    # -------------------------------------------------------------------- lifecycle
    def _bind(self) -> _Server:
        with self._lock:
            if self._httpd is None:
                server_cls = _IPv6Server if ":" in self.config.host else _Server
                self._httpd = server_cls((self.config.host, self.config.port), self)
                self._wsdls = {
                    path: rewrite_wsdl(template, self.url(path))
                    for path, template in self._wsdl_templates.items()
                }
            return self._httpd

    def start(self) -> Sandbox:
        """Bind (before returning, so ``port`` is valid) and serve from a daemon thread."""
        httpd = self._bind()
        with self._lock:
            if self._thread is None and not self._serving:
                self._serving = True
                self._thread = threading.Thread(
                    target=httpd.run,
                    name=f"clicksms-sandbox-{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() is called from elsewhere."""
        httpd = self._bind()
        with self._lock:
            if self._serving:
                raise RuntimeError("sandbox is already serving")
            self._serving = True
        httpd.run()

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection; safe to call twice."""
        with self._lock:
            httpd, thread, serving = self._httpd, self._thread, self._serving
            self._httpd, self._thread, self._serving = None, None, False
        if httpd is None:
            return
        if serving:
            httpd.stop_loop()  # returns once the accept loop has exited
        httpd.server_close()
        httpd.close_connections()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -------------------------------------------------------------------- addresses
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox is not bound; call start() first")
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        """``http://host:port/path`` as a client on this machine reaches it."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{path}"

    @property
    def endpoint(self) -> str:
        """The Document/Literal server's endpoint."""
        return self.url(ENDPOINT_PATH)

    @property
    def wsdl_url(self) -> str:
        return self.endpoint + "?wsdl"

    @property
    def rpc_endpoint(self) -> str:
        """The RPC/Encoded server's endpoint (``webservice_vs.php``)."""
        return self.url(RPC_PATH)

    @property
    def rpc_wsdl_url(self) -> str:
        return self.rpc_endpoint + "?wsdl"

    def wsdl(self, path: str = ENDPOINT_PATH) -> bytes:
        """The WSDL served at ``path?wsdl``, its address rewritten to this sandbox."""
        return self._wsdls[path]

    # -------------------------------------------------------------------- inspection
    @property
    def ledger(self) -> list[dict[str, Any]]:
        return self.gateway.ledger

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.gateway.requests

    def balance(self) -> float:
        return self.gateway.balance()

    def status(self, apimsgid: str) -> str:
        """A message's status now, as querymsg would answer it (``001`` when unknown)."""
        return self.gateway.status(apimsgid)

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """apimsgid -> {to, climsgid, parts, charge, status}, read without going over SOAP."""
        return self.gateway.messages

    def __repr__(self) -> str:
        where = self.endpoint if self._httpd is not None else "not bound"
        return f"<Sandbox {where}>"
