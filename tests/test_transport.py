"""The lean HTTP transport and SoapClient's fast zeep path, against real loopback servers.

``RawServer`` answers each request with bytes the test writes, so chunked bodies, gzip, idle
closes, dropped connections, redirects and proxies are exactly what the test means; the
sandbox checks the same client under concurrent load. The fast path is checked against zeep
itself: template-built envelopes must be byte-identical to zeep's ``create_message``, and fast
replies equal to zeep's full ``process_reply``.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BINDING, PASSWORD
from impostor import DRIP_LIMIT, SESSION, silent_port
from impostor import envelope as impostor_envelope
from urllib3 import HTTPHeaderDict

from clicksms.errors import ConfigError, NetworkError, ProtocolError
from clicksms.gateway.shapes import MISS, NOT_CACHEABLE, ReplyShape, Template
from clicksms.gateway.soap import TEMPLATE_SHAPES, SoapClient
from clicksms.gateway.transport import HttpTransport, Response

WEBSERVICE = "http://api.clickatell.com/soap/document_literal/webservice"
Answer = Callable[[bytes, bytes], "bytes | None"]


def envelope(op: str, *returns: str) -> bytes:
    """The impostor's envelope behind an XML declaration, as real servers send it."""
    return b'<?xml version="1.0" encoding="UTF-8"?>' + impostor_envelope(op, *returns)


def http(body: bytes, status: str = "200 OK", **headers: str) -> bytes:
    """A complete HTTP/1.1 answer with Content-Length (unless a header says otherwise)."""
    fields = {"Content-Type": "text/xml; charset=utf-8", "Content-Length": str(len(body))}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value)
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def chunked(body: bytes, size: int = 7) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    encoded = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces)
    return encoded + b"0\r\nX-Trailer: yes\r\n\r\n"


def ok(op: str = "sendmsg", *returns: str) -> Answer:
    answer = http(envelope(op, *(returns or (f"ID: {'a' * 32}",))))
    return lambda head, body: answer


class RawServer:
    """A loopback HTTP/1.1 server: ``answer(head, body)`` gives the raw reply (None: hang up).

    ``idle_close`` closes a connection that waits that long for its next request (a server's
    keep-alive timeout); ``close_after`` closes every connection after one answer without
    saying so. ``tls`` serves HTTPS; ``tunnel_tls`` acts as a proxy that accepts CONNECT and
    then speaks TLS itself on the tunnel. ``drip`` sends the answer one byte every ``drip``
    seconds (a slow drip), giving up when the client leaves or after ``DRIP_LIMIT`` seconds.
    """

    def __init__(
        self,
        answer: Answer,
        idle_close: float | None = None,
        close_after: bool = False,
        tls: ssl.SSLContext | None = None,
        tunnel_tls: ssl.SSLContext | None = None,
        drip: float | None = None,
    ) -> None:
        self.answer = answer
        self.drip = drip
        self.idle_close = idle_close
        self.close_after = close_after
        self.tls = tls
        self.tunnel_tls = tunnel_tls
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0
        self.open = 0
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http{'s' if tls else ''}://127.0.0.1:{self.port}/soap"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self.connections += 1
                self.open += 1
                self._socks.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        sock: socket.socket = conn
        try:
            if self.tls:
                sock = self.tls.wrap_socket(conn, server_side=True)
            sock.settimeout(self.idle_close or 10)
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pending += data
                head, _, pending = pending.partition(b"\r\n\r\n")
                match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                length = int(match.group(1)) if match else 0
                while len(pending) < length:
                    pending += sock.recv(65536)
                body, pending = pending[:length], pending[length:]
                with self._lock:
                    self.heads.append(head)
                    self.bodies.append(body)
                reply = self.answer(head, body)
                if reply is None:
                    return
                if self.drip:
                    self._drip(sock, reply)
                    return
                sock.sendall(reply)
                if head.startswith(b"CONNECT") and self.tunnel_tls and b" 200 " in reply[:13]:
                    sock = self.tunnel_tls.wrap_socket(sock, server_side=True)
                    continue
                if self.close_after:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self.open -= 1
                self._socks.discard(conn)
            sock.close()

    def _drip(self, sock: socket.socket, reply: bytes) -> None:
        deadline = time.monotonic() + DRIP_LIMIT
        for i in range(len(reply)):
            if time.monotonic() > deadline or self._stop.is_set():
                return
            sock.sendall(reply[i : i + 1])  # OSError when the client has gone: the end
            time.sleep(self.drip or 0)

    def wait_closed(self, limit: float = 5.0) -> int:
        """Open connections once the client's closes have arrived (or ``limit`` passed)."""
        deadline = time.monotonic() + limit
        while self.open and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for conn in self._socks:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Answer, **options: object) -> RawServer:
        server = RawServer(answer, **options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def client_for(no_proxy_env: None) -> Iterator[Callable[..., SoapClient]]:
    clients: list[SoapClient] = []

    def make(endpoint: str, timeout: float = 5.0) -> SoapClient:
        client = SoapClient(endpoint, timeout)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def send(client: SoapClient, number: str = "27821234567", text: str = "hi") -> list[str]:
    return client.call("sendmsg", session_id=SESSION, to=[number], text=text)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------- keep-alive


def test_one_connection_carries_many_calls(serve, client_for) -> None:
    server = serve(ok())
    client = client_for(server.endpoint)
    for _ in range(20):
        assert send(client) == [f"ID: {'a' * 32}"]
    assert server.connections == 1
    head = server.heads[0].decode()
    assert head.startswith("POST /soap HTTP/1.1\r\n")
    assert re.search(r"(?m)^User-Agent: clicksms/", head)
    assert re.search(r"(?m)^Accept-Encoding: gzip", head)
    assert re.search(r'(?m)^SOAPAction: ".*/sendmsg"', head)


@pytest.mark.parametrize("how", ["idle_close", "close_after"])
def test_server_closing_an_idle_connection_means_a_clean_reconnect(serve, client_for, how) -> None:
    """No request is ever written to a connection the server has already closed."""
    options = {"idle_close": 0.2} if how == "idle_close" else {"close_after": True}
    server = serve(ok(), **options)
    client = client_for(server.endpoint)
    assert send(client)
    if how == "idle_close":
        time.sleep(0.6)
    else:
        server.wait_closed()
    assert send(client)
    assert server.connections == 2
    assert len(server.bodies) == 2, "the second call went out exactly once"


def answer_for_its_number(head: bytes, body: bytes) -> bytes:
    """A sendmsg answer naming the request's own number, so mixed-up replies show."""
    match = re.search(rb"<to>(\d+)</to>", body)
    assert match is not None
    return http(envelope("sendmsg", f"ID: {'b' * 32} To: {match.group(1).decode()}"))


def test_threads_share_a_pool_of_connections(serve, client_for) -> None:
    """8 threads x 50 calls: each answer is the one for that thread's own request, and no
    more connections are opened than calls were in flight at once."""

    server = serve(answer_for_its_number)
    client = client_for(server.endpoint)
    failures: list[str] = []

    def work(worker: int) -> None:
        for n in range(50):
            number = f"2782{worker}{n:06d}"
            reply = send(client, number)
            if reply != [f"ID: {'b' * 32} To: {number}"]:
                failures.append(f"{number}: {reply}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(server.bodies) == 400
    assert 1 <= server.connections <= 8
    client.close()
    assert server.wait_closed() == 0, "close() closes every connection"


def test_close_during_a_call_fails_that_call_cleanly(serve, client_for) -> None:
    def slow(head: bytes, body: bytes) -> bytes:
        time.sleep(0.5)
        return ok()(head, body)  # type: ignore[return-value]

    server = serve(slow)
    client = client_for(server.endpoint)
    outcome: list[BaseException | list[str]] = []

    def work() -> None:
        try:
            outcome.append(send(client))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    while not server.bodies:
        time.sleep(0.01)
    client.close()
    worker.join(5)
    (result,) = outcome
    assert isinstance(result, NetworkError) and result.may_have_arrived is True
    assert send(client) == [f"ID: {'a' * 32}"], "the client is usable again after close()"


def test_concurrent_calls_against_the_sandbox(sandbox, client_for) -> None:
    client = client_for(sandbox.endpoint)
    session = client.call("auth", api_id=3512345, user="sandbox", password=PASSWORD)[0][4:]
    replies: dict[str, list[str]] = {}

    def work(worker: int) -> None:
        for n in range(50):
            number = f"2782{1 + worker}{n:06d}"
            replies[number] = client.call(
                "sendmsg", session_id=session, to=[number], text=f"from {worker}"
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 400
    assert all(len(r) == 1 and re.fullmatch(r"ID: [0-9a-f]{32}", r[0]) for r in replies.values())
    assert sorted(m["to"] for m in sandbox.ledger) == sorted(replies)
    by_number = {m["to"]: m["text"] for m in sandbox.ledger}
    assert all(by_number[n] == f"from {int(n[4]) - 1}" for n in replies)


# ------------------------------------------------------------------------ answer framing


def test_chunked_answer_and_the_connection_stays_usable(serve, client_for) -> None:
    body = envelope("sendmsg", "ID: " + "c" * 32)
    reply = http(chunked(body), Content_Length="", Transfer_Encoding="chunked")
    server = serve(lambda head, body: reply)
    client = client_for(server.endpoint)
    assert send(client) == ["ID: " + "c" * 32]
    assert send(client) == ["ID: " + "c" * 32]
    assert server.connections == 1


def test_gzip_answer(serve, client_for) -> None:
    packed = gzip.compress(envelope("sendmsg", "ID: " + "d" * 32))
    server = serve(lambda head, body: http(packed, Content_Encoding="gzip"))
    assert send(client_for(server.endpoint)) == ["ID: " + "d" * 32]


def test_answer_delimited_by_close(serve, client_for) -> None:
    body = envelope("sendmsg", "ID: " + "e" * 32)
    server = serve(lambda h, b: http(body, Content_Length="", Connection="close"), close_after=True)
    client = client_for(server.endpoint)
    assert send(client) == ["ID: " + "e" * 32]
    assert send(client) == ["ID: " + "e" * 32]
    assert server.connections == 2


def test_interim_100_continue_is_skipped(serve, client_for) -> None:
    final = http(envelope("sendmsg", "ID: " + "f" * 32))
    server = serve(lambda head, body: b"HTTP/1.1 100 Continue\r\n\r\n" + final)
    assert send(client_for(server.endpoint)) == ["ID: " + "f" * 32]


def test_http_10_answer_closes_the_connection(serve, client_for) -> None:
    reply = http(envelope("sendmsg", "ID: " + "a" * 32)).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    server = serve(lambda head, body: reply)
    client = client_for(server.endpoint)
    assert send(client) and send(client)
    assert server.connections == 2


def test_oversized_answer_is_refused_before_reading_it(serve, client_for) -> None:
    server = serve(lambda head, body: b"HTTP/1.1 200 OK\r\nContent-Length: 11534336\r\n\r\n")
    with pytest.raises(ProtocolError) as caught:
        send(client_for(server.endpoint))
    assert str(caught.value) == (
        f"127.0.0.1:{server.port} sent a response too large for a SOAP answer (over 10 MiB); "
        "refused"
    )
    assert caught.value.may_have_arrived is True


@pytest.mark.parametrize("kind", ["chunked", "close", "gzip"])
def test_oversized_bodies_of_every_framing_are_refused(serve, no_proxy_env, kind) -> None:
    big = b"<x>" + b"y" * 5000 + b"</x>"
    replies = {
        "chunked": http(chunked(big, 1000), Content_Length="", Transfer_Encoding="chunked"),
        "close": http(big, Content_Length=""),
        "gzip": http(gzip.compress(big), Content_Encoding="gzip"),
    }
    server = serve(lambda head, body: replies[kind], close_after=kind == "close")
    transport = HttpTransport(server.endpoint, 5, "test", max_response=1000)
    with pytest.raises(ProtocolError, match=r"response too large .*over 1000 bytes"):
        transport.post(b"<x/>", {"Content-Type": "text/xml"})
    transport.close()


def test_bad_gzip_is_a_malformed_answer(serve, client_for) -> None:
    server = serve(lambda head, body: http(b"not gzip at all", Content_Encoding="gzip"))
    with pytest.raises(ProtocolError, match=r"sent a malformed response \(bad gzip data\)"):
        send(client_for(server.endpoint))


# ----------------------------------------------------------------- redirects and failures


def test_redirect_is_not_followed(serve, client_for) -> None:
    elsewhere = serve(ok())
    server = serve(
        lambda head, body: http(b"", "307 Temporary Redirect", Location=elsewhere.endpoint)
    )
    with pytest.raises(ProtocolError) as caught:
        send(client_for(server.endpoint))
    assert str(caught.value) == (
        f"127.0.0.1:{server.port} redirected to {elsewhere.endpoint}; not following it with "
        "your credentials: set the endpoint to the final URL"
    )
    assert elsewhere.bodies == [] and len(server.bodies) == 1


def test_3xx_without_location_is_an_http_error(serve, client_for) -> None:
    server = serve(lambda head, body: http(b"", "302 Found"))
    with pytest.raises(ProtocolError, match="answered HTTP 302 instead of a SOAP response"):
        send(client_for(server.endpoint))


def test_refused_connection_provably_sent_nothing(client_for) -> None:
    port = closed_port()
    with pytest.raises(NetworkError) as caught:
        send(client_for(f"http://127.0.0.1:{port}/soap"))
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"
    assert caught.value.may_have_arrived is False


def test_read_timeout_may_have_arrived_and_the_next_call_reconnects(serve, client_for) -> None:
    calls: list[int] = []

    def slow_first(head: bytes, body: bytes) -> bytes:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1.0)
        return ok()(head, body)  # type: ignore[return-value]

    server = serve(slow_first)
    client = client_for(server.endpoint, timeout=0.3)
    with pytest.raises(NetworkError) as caught:
        send(client)
    assert str(caught.value) == f"no answer from 127.0.0.1:{server.port} within 0.3s (timeout)"
    assert caught.value.may_have_arrived is True
    assert send(client) == [f"ID: {'a' * 32}"]
    assert server.connections == 2, "a connection with a late answer pending is never reused"


LOST = "lost the connection to {host}"
MALFORMED = "{host} sent a malformed response"


@pytest.mark.parametrize(
    ("reply", "message", "kind"),
    [
        (None, f"{LOST}: the server closed the connection without answering", NetworkError),
        (b"HTTP/1.1 200 OK\r\nContent-Le", f"{LOST}: the answer was cut short", NetworkError),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n<x",
            f"{LOST}: the answer was cut short",
            NetworkError,
        ),
        (b"hello, this is not HTTP\r\n\r\n", f"{MALFORMED} (not HTTP)", ProtocolError),
        (b"HTTP/1.1 2OO OK\r\n\r\n", f"{MALFORMED} (not HTTP)", ProtocolError),
    ],
    ids=["hang-up", "cut-in-headers", "cut-in-body", "not-http", "bad-status"],
)
def test_failures_after_sending_leave_the_outcome_unknown(
    serve, client_for, reply, message, kind
) -> None:
    server = serve(lambda head, body: reply, close_after=True)
    with pytest.raises(NetworkError) as caught:
        send(client_for(server.endpoint))
    assert type(caught.value) is kind
    assert str(caught.value) == message.format(host=f"127.0.0.1:{server.port}")
    assert caught.value.may_have_arrived is True


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b" " * 1000,
        b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1000,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\n \r\n" * 200,
    ],
    ids=["body", "headers", "chunks"],
)
def test_a_slow_drip_times_out_at_the_deadline(serve, client_for, reply) -> None:
    """Bytes keep coming, each well within the timeout: the answer as a whole still has one."""
    server = serve(lambda head, body: reply, drip=0.05)
    client = client_for(server.endpoint, timeout=0.5)
    with pytest.raises(NetworkError) as caught:
        send(client)
    assert str(caught.value) == f"no answer from 127.0.0.1:{server.port} within 0.5s (timeout)"
    assert caught.value.may_have_arrived is True


def test_the_deadline_is_per_call(serve, client_for) -> None:
    """Each exchange gets the whole timeout afresh, however long the connection has lived."""
    server = serve(ok())
    client = client_for(server.endpoint, timeout=0.4)
    for _ in range(3):
        assert send(client) == [f"ID: {'a' * 32}"]
        time.sleep(0.2)
    assert server.connections == 1


def test_connect_timeout_is_its_own_setting(no_proxy_env) -> None:
    """A server that never completes the handshake: the connect timeout ends it, not --timeout."""
    with silent_port() as port:
        client = SoapClient(f"http://127.0.0.1:{port}/soap", 30.0, connect_timeout=0.3)
        try:
            with pytest.raises(NetworkError) as caught:
                send(client)
        finally:
            client.close()
    assert str(caught.value) == f"could not connect to 127.0.0.1:{port} within 0.3s (timeout)"
    assert caught.value.may_have_arrived is False


def test_dns_failure_and_connect_timeout_sent_nothing(client_for, monkeypatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(NetworkError) as caught:
        send(client_for("http://gateway.invalid/soap"))
    assert str(caught.value) == (
        "cannot connect to gateway.invalid: unknown host name (DNS lookup failed)"
    )
    assert caught.value.may_have_arrived is False

    with silent_port() as port:
        monkeypatch.setattr(socket, "getaddrinfo", resolving_to(("127.0.0.1", port)))
        with pytest.raises(NetworkError) as caught:
            send(client_for("http://gateway.invalid:8080/soap", timeout=0.3))
    assert str(caught.value) == "could not connect to gateway.invalid:8080 within 0.3s (timeout)"
    assert caught.value.may_have_arrived is False


_GETADDRINFO = socket.getaddrinfo  # the real one, whatever a test has patched in since


def resolving_to(*addresses: tuple[str, int]) -> Callable[..., list]:
    """A getaddrinfo that resolves every name to ``addresses``, in that order."""

    def lookup(host: str, port: int, *args: object, **kwargs: object) -> list:
        return [info for ip, at in addresses for info in _GETADDRINFO(ip, at, *args, **kwargs)]

    return lookup


def test_every_address_shares_one_connect_deadline(client_for, monkeypatch) -> None:
    """A first address that never answers uses up the time: the next is not given it afresh."""
    with silent_port() as port:
        monkeypatch.setattr(
            socket, "getaddrinfo", resolving_to(("127.0.0.1", port), ("127.0.0.1", closed_port()))
        )
        with pytest.raises(NetworkError) as caught:
            send(client_for("http://gateway.example/soap", timeout=0.3))
    assert str(caught.value) == "could not connect to gateway.example within 0.3s (timeout)"
    assert caught.value.may_have_arrived is False


def test_the_next_address_is_tried_within_the_deadline(serve, client_for, monkeypatch) -> None:
    server = serve(ok())
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        resolving_to(("127.0.0.1", closed_port()), ("127.0.0.1", server.port)),
    )
    assert send(client_for("http://gateway.example/soap"))
    assert server.connections == 1


TLS = "TLS error talking to H"


@pytest.mark.parametrize(
    ("exc", "connecting", "message", "arrived"),
    [
        (ConnectionRefusedError(111, "x"), True, "cannot connect to H: connection refused", False),
        (OSError(101, "unreachable"), True, "cannot connect to H: network is unreachable", False),
        (OSError(113, "No route to host"), True, "cannot connect to H: connection failed", False),
        (
            ssl.SSLCertVerificationError("x"),
            True,
            f"{TLS}: the server's certificate is not trusted",
            False,
        ),
        (ssl.SSLError("handshake"), True, f"{TLS}: protocol problem", False),
        (ssl.SSLError("record"), False, f"{TLS}: protocol problem", True),
        (
            ConnectionResetError(104, "x"),
            False,
            "lost the connection to H: connection reset by the server",
            True,
        ),
        (
            BrokenPipeError(32, "x"),
            False,
            "lost the connection to H: the server closed the connection without answering",
            True,
        ),
        (OSError(5, "I/O error"), False, "lost the connection to H: connection failed", True),
    ],
)
def test_every_failure_has_one_line_and_an_honest_arrival_flag(
    no_proxy_env, exc, connecting, message, arrived
) -> None:
    transport = HttpTransport("http://h.example:81/x", 1.0, "test")
    error = transport._failure(exc, connecting)
    assert str(error) == message.replace("H", "h.example:81")
    assert error.may_have_arrived is arrived


# --------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and gateway.example (needs the openssl tool)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:gateway.example"),
        ],
        capture_output=True,
        timeout=60,
    )
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {made.stderr.decode()[:200]}")
    return cert, key


def trust_only(monkeypatch: pytest.MonkeyPatch, variable: str | None, cert: Path) -> None:
    """Point one CA-bundle variable at ``cert``; the others (set on many machines) go."""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    if variable:
        monkeypatch.setenv(variable, str(cert))


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_https_with_a_trusted_bundle(serve, client_for, certificate, monkeypatch, variable) -> None:
    trust_only(monkeypatch, variable, certificate[0])
    server = serve(ok(), tls=server_tls(certificate))
    client = client_for(server.endpoint)
    assert send(client) and send(client)
    assert server.connections == 1


def test_untrusted_certificate_sends_nothing(serve, client_for, certificate, monkeypatch) -> None:
    trust_only(monkeypatch, None, certificate[0])  # certifi's bundle, or the system's
    server = serve(ok(), tls=server_tls(certificate))
    with pytest.raises(NetworkError) as caught:
        send(client_for(server.endpoint))
    assert str(caught.value) == (
        f"TLS error talking to 127.0.0.1:{server.port}: the server's certificate is not trusted"
    )
    assert caught.value.may_have_arrived is False
    assert server.bodies == []


def test_unreadable_ca_bundle_is_a_config_error(no_proxy_env, monkeypatch, tmp_path) -> None:
    trust_only(monkeypatch, "REQUESTS_CA_BUNDLE", tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match=r"REQUESTS_CA_BUNDLE=.* is not a usable CA"):
        HttpTransport("https://127.0.0.1:1/soap", 1.0, "test")


# ------------------------------------------------------------------------------ proxies


def test_http_through_a_proxy(serve, client_for, monkeypatch) -> None:
    proxy = serve(ok())
    monkeypatch.setenv("http_proxy", f"http://me:p%40ss@127.0.0.1:{proxy.port}")
    client = client_for("http://gateway.example/soap")
    assert send(client) and send(client)
    head = proxy.heads[0].decode()
    assert head.startswith("POST http://gateway.example/soap HTTP/1.1\r\n")
    assert "\r\nHost: gateway.example\r\n" in head
    assert "\r\nProxy-Authorization: Basic bWU6cEBzcw==" in head  # me:p@ss
    assert proxy.connections == 1


def test_no_proxy_bypasses_it(serve, client_for, monkeypatch) -> None:
    server = serve(ok())
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert send(client_for(server.endpoint))


def test_https_tunnels_through_the_proxy(serve, client_for, certificate, monkeypatch) -> None:
    def proxy_answer(head: bytes, body: bytes) -> bytes:
        if head.startswith(b"CONNECT"):
            return b"HTTP/1.1 200 Connection established\r\n\r\n"
        return ok()(head, body)  # type: ignore[return-value]

    proxy = serve(proxy_answer, tunnel_tls=server_tls(certificate))
    trust_only(monkeypatch, "SSL_CERT_FILE", certificate[0])
    monkeypatch.setenv("https_proxy", f"http://u:p@127.0.0.1:{proxy.port}")
    client = client_for("https://gateway.example/soap")
    assert send(client) and send(client)
    connect, post, _ = (h.decode() for h in proxy.heads)
    assert connect.startswith("CONNECT gateway.example:443 HTTP/")
    assert "\r\nProxy-Authorization: Basic dTpw" in connect
    assert post.startswith("POST /soap HTTP/1.1\r\n") and "Proxy-Authorization" not in post
    assert proxy.connections == 1


def test_proxy_refusing_the_tunnel_sent_nothing(serve, client_for, monkeypatch) -> None:
    proxy = serve(lambda h, b: b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(NetworkError) as caught:
        send(client_for("https://gateway.example/soap"))
    assert str(caught.value) == (
        f"cannot connect to gateway.example through the proxy 127.0.0.1:{proxy.port}: "
        "the proxy refused the tunnel (407 Proxy Authentication Required)"
    )
    assert caught.value.may_have_arrived is False


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 Connection established\r\nX-Padding: " + b"a" * 1000,
        b"HTTP/1.1 200 Connection established" + b" " * 1000,
    ],
    ids=["headers", "status-line"],
)
def test_a_proxy_dripping_its_connect_answer_is_cut_at_the_connect_deadline(
    serve, client_for, monkeypatch, answer
) -> None:
    """Each byte well within the timeout, the CONNECT answer as a whole still has one."""
    proxy = serve(lambda head, body: answer, drip=0.05)
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(NetworkError) as caught:
        send(client_for("https://gateway.example/soap", timeout=0.5))
    assert str(caught.value) == "could not connect to gateway.example within 0.5s (timeout)"
    assert caught.value.may_have_arrived is False


def test_unsupported_proxy_scheme_is_a_config_error(no_proxy_env, monkeypatch) -> None:
    monkeypatch.setenv("https_proxy", "socks5://127.0.0.1:1080")
    with pytest.raises(ConfigError, match="only http:// and https:// proxies"):
        SoapClient("https://gateway.example/soap", 1.0)


class ConnectProxy:
    """A loopback proxy that tunnels CONNECT requests, as corporate proxies do.

    ``tls`` makes it an HTTPS proxy (the client speaks TLS to the proxy, and TLS again inside
    the tunnel). ``routes`` maps the ``host:port`` a client asks for to the loopback port
    behind it; ``heads`` keeps every CONNECT request received.
    """

    def __init__(self, routes: dict[str, int], tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.tls = tls
        self.heads: list[bytes] = []
        self.connections = 0
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        client: socket.socket = conn
        upstream = None
        try:
            conn.settimeout(10)
            if self.tls:
                client = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            self.heads.append(head)
            target = head.split(b" ")[1].decode()
            if not head.startswith(b"CONNECT ") or target not in self.routes:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = socket.create_connection(("127.0.0.1", self.routes[target]), timeout=10)
            with self._lock:
                self._socks.add(upstream)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(client, upstream)
        except (OSError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self._socks.discard(conn)
                self._socks.discard(upstream)  # type: ignore[arg-type]
            client.close()
            if upstream is not None:
                upstream.close()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side ends (one thread: TLS objects are not
        safe to read and write from two at once)."""
        other = {client: upstream, upstream: client}
        while not self._stop.is_set():
            ready = [client] if isinstance(client, ssl.SSLSocket) and client.pending() else []
            if not ready:
                ready, _, _ = select.select([client, upstream], [], [], 0.05)
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                other[sock].sendall(data)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for sock in self._socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def connect_proxy() -> Iterator[Callable[..., ConnectProxy]]:
    proxies: list[ConnectProxy] = []

    def start(routes: dict[str, int], tls: ssl.SSLContext | None = None) -> ConnectProxy:
        proxy = ConnectProxy(routes, tls)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.mark.parametrize("proxy_tls", [False, True], ids=["http-proxy", "https-proxy"])
def test_https_through_a_connect_proxy(
    serve, client_for, connect_proxy, certificate, monkeypatch, proxy_tls
) -> None:
    """The tunnel carries TLS end to end, inside the proxy's own TLS for an https:// proxy."""
    server = serve(ok(), tls=server_tls(certificate))
    proxy = connect_proxy(
        {"gateway.example:443": server.port}, server_tls(certificate) if proxy_tls else None
    )
    trust_only(monkeypatch, "SSL_CERT_FILE", certificate[0])
    scheme = "https" if proxy_tls else "http"
    monkeypatch.setenv("HTTPS_PROXY", f"{scheme}://me:p%40ss@127.0.0.1:{proxy.port}")
    client = client_for("https://gateway.example/soap")
    assert send(client) and send(client)
    assert proxy.connections == 1 and server.connections == 1, "one tunnel, kept alive"
    (connect,) = proxy.heads
    assert connect.startswith(b"CONNECT gateway.example:443 HTTP/")
    assert b"\r\nProxy-Authorization: Basic bWU6cEBzcw==" in connect  # me:p@ss
    assert all(b"Proxy-Authorization" not in head for head in server.heads)
    assert b"\r\nHost: gateway.example\r\n" in server.heads[0]


def test_http_through_an_https_proxy(serve, client_for, certificate, monkeypatch) -> None:
    """Plain HTTP goes to an https:// proxy over TLS, the URL in the request line."""
    proxy = serve(ok(), tls=server_tls(certificate))
    trust_only(monkeypatch, "SSL_CERT_FILE", certificate[0])
    monkeypatch.setenv("HTTP_PROXY", f"https://u:p@127.0.0.1:{proxy.port}")
    client = client_for("http://gateway.example/soap")
    assert send(client) and send(client)
    head = proxy.heads[0].decode()
    assert head.startswith("POST http://gateway.example/soap HTTP/1.1\r\n")
    assert "\r\nProxy-Authorization: Basic dTpw" in head
    assert proxy.connections == 1


def test_an_https_proxy_with_an_untrusted_certificate_sent_nothing(
    serve, client_for, connect_proxy, certificate, monkeypatch
) -> None:
    server = serve(ok(), tls=server_tls(certificate))
    proxy = connect_proxy({"gateway.example:443": server.port}, server_tls(certificate))
    trust_only(monkeypatch, None, certificate[0])  # certifi's bundle, or the system's
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    with pytest.raises(NetworkError) as caught:
        send(client_for("https://gateway.example/soap"))
    assert str(caught.value) == (
        f"TLS error talking to the proxy 127.0.0.1:{proxy.port}: "
        "the server's certificate is not trusted"
    )
    assert caught.value.may_have_arrived is False
    assert proxy.heads == [] and server.bodies == []


def test_a_proxy_that_is_not_there_sent_nothing(client_for, monkeypatch) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    with pytest.raises(NetworkError) as caught:
        send(client_for("https://gateway.example/soap"))
    assert str(caught.value) == (
        f"cannot connect to gateway.example through the proxy 127.0.0.1:{port}: connection refused"
    )
    assert caught.value.may_have_arrived is False


@pytest.mark.parametrize(
    ("no_proxy", "bypassed"),
    [
        ("127.0.0.1", True),
        ("localhost, 127.0.0.1:{port}", True),
        ("*", True),
        (".example,127.0.0.1:1", False),  # another port of the same host
        ("", False),
    ],
)
def test_no_proxy_decides_by_host_and_port(
    serve, client_for, monkeypatch, no_proxy, bypassed
) -> None:
    server, proxy = serve(ok()), serve(ok())
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", no_proxy.format(port=server.port))
    assert send(client_for(server.endpoint))
    assert (len(server.bodies), len(proxy.bodies)) == ((1, 0) if bypassed else (0, 1))


def test_no_proxy_bypasses_an_https_proxy(serve, client_for, certificate, monkeypatch) -> None:
    server = serve(ok(), tls=server_tls(certificate))
    trust_only(monkeypatch, "SSL_CERT_FILE", certificate[0])
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert send(client_for(server.endpoint))
    assert server.connections == 1


# ------------------------------------------------------------------- the fast zeep path

SHAPES: list[tuple[str, dict[str, object], dict[str, object]]] = [
    (
        "auth",
        {"api_id": 3512345, "user": "sandbox", "password": "pw"},
        {"api_id": 7, "user": "u<&>\"'", "password": "p ]]> &amp; \r\n\t é € 😀"},
    ),
    (
        "sendmsg",
        {"session_id": SESSION, "to": ["27821234567"], "text": "hello"},
        {"session_id": "f" * 32, "to": ["27830000000"], "text": ""},
    ),
    (
        "sendmsg",
        {"session_id": SESSION, "to": ["1", "2", "3"], "text": "", "concat": 3, "from": "Me"},
        {"session_id": SESSION, "to": ["4", "5", "6"], "text": "x" * 500, "concat": 1, "from": ""},
    ),
    (
        "sendmsg",
        {"session_id": SESSION, "to": ["1"], "text": "t", "climsgid": "a", "deliv_time": 10},
        {"session_id": SESSION, "to": ["2"], "text": "<tag/>", "climsgid": "b&c", "deliv_time": -5},
    ),
    ("ping", {"session_id": SESSION}, {"session_id": "x"}),
    ("querymsg", {"session_id": SESSION, "climsgid": "c1"}, {"session_id": "s", "climsgid": "c2"}),
    ("routecoverage", {"session_id": SESSION, "msisdn": "1"}, {"session_id": "s", "msisdn": "2"}),
]


def zeep_bytes(client: SoapClient, operation: str, fields: dict[str, object]) -> bytes:
    """What zeep's public ``create_message`` builds for the call, serialised as zeep posts it."""
    from lxml.etree import tostring

    message = client.zeep.client.create_message(client.zeep.service, operation, **fields)
    return tostring(message, xml_declaration=True, encoding="utf-8")


def answer_its_operation(head: bytes, body: bytes) -> bytes:
    """A plain one-return answer to whatever operation the request names."""
    match = re.search(rb"Body><(?:\w+:)?(\w+)", body)
    assert match is not None
    return http(envelope(match.group(1).decode(), "OK: 42"))


def soap_actions(server: RawServer) -> list[str]:
    return [re.findall(r"(?im)^SOAPAction: .*$", head.decode())[0] for head in server.heads]


@pytest.mark.parametrize(("operation", "first", "second"), SHAPES)
def test_template_envelopes_are_byte_identical_to_zeeps(
    serve, client_for, operation, first, second
) -> None:
    """The first call is zeep's own; the next ones post copies of its envelope."""
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    calls = (first, second, first)
    for fields in calls:
        assert client.call(operation, **fields) == ["OK: 42"]
    assert server.bodies == [zeep_bytes(client, operation, fields) for fields in calls]
    assert len(set(soap_actions(server))) == 1
    assert [type(t) for t in client._templates._items.values()] == [Template]
    assert client.zeep_replies == 1, "the later calls were the client's own"


@pytest.mark.parametrize(
    ("learned", "asked"), [(1, [2, 300, 1]), (300, [100, 1]), (3, [1, 299]), (2, [3, 2])]
)
def test_a_list_of_another_length_is_the_learned_envelope_stretched(
    serve, client_for, learned, asked
) -> None:
    """Recipients zeep never built a request for: the learned envelope with its ``<to>``
    repeated, byte for byte what zeep's create_message builds, and zeep posts only once."""
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    calls = []
    for count in (learned, *asked):
        fields = {"session_id": SESSION, "to": [f"2782{n:07d}" for n in range(count)]}
        calls.append({**fields, "text": f"to {count} & more <b>", "concat": 3, "climsgid": "x"})
        assert client.call("sendmsg", **calls[-1]) == ["OK: 42"]
    assert server.bodies == [zeep_bytes(client, "sendmsg", fields) for fields in calls]
    assert client.zeep_replies == 1, "only the first was zeep's"


def test_values_zeep_may_render_differently_are_always_built_by_zeep(serve, client_for) -> None:
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    sent = []
    for extra in ({"concat": None}, {"concat": True}, {"max_credits": 1.5}, {"to": ("1",)}):
        fields = {"session_id": SESSION, "to": ["1"], "text": "t", **extra}
        for _ in range(2):
            client.call("sendmsg", **fields)
            sent.append(zeep_bytes(client, "sendmsg", fields))
    assert server.bodies == sent
    assert client._templates._items == {}


def test_a_field_zeep_rejects_is_never_cached(serve, client_for) -> None:
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    for _ in range(2):
        with pytest.raises(TypeError):
            client.call("ping", session_id=SESSION, bogus="x")
    assert server.bodies == [] and client._templates._items == {}


@pytest.mark.parametrize("bad", ["\x01", "\x00", "\ufffe", "\udc80"])
def test_text_xml_cannot_carry_fails_as_zeep_does_and_sends_nothing(serve, client_for, bad) -> None:
    server = serve(ok())
    client = client_for(server.endpoint)
    assert send(client, text="learn the shape")
    for fields in ({"text": bad}, {"to": [f"2782{bad}"]}):
        values = {"session_id": SESSION, "to": ["27821234567"], "text": "x", **fields}
        with pytest.raises(Exception) as ours:
            client.call("sendmsg", **values)
        with pytest.raises(Exception) as zeeps:
            client.zeep.client.create_message(client.zeep.service, "sendmsg", **values)
        assert (type(ours.value), str(ours.value)) == (type(zeeps.value), str(zeeps.value))
        assert isinstance(ours.value, ValueError)
    assert len(server.bodies) == 1


def test_template_cache_is_bounded(serve, client_for) -> None:
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    for count in range(1, TEMPLATE_SHAPES + 10):
        client.call("sendmsg", session_id=SESSION, to=["1"] * count, text="t")
    assert len(client._templates._items) == TEMPLATE_SHAPES


REPLIES = [
    ("sendmsg", envelope("sendmsg", "ID: " + "a" * 32)),
    ("sendmsg", envelope("sendmsg", *(f"ID: {n:032x} To: 2782{n:07d}" for n in range(300)))),
    ("sendmsg", envelope("sendmsg", "ERR: 105, Invalid Destination Address")),
    ("auth", envelope("auth", "OK: " + SESSION)),
    ("ping", envelope("ping", "")),
    (
        "getbalance",
        b"<?xml version='1.0'?>\n<!-- a comment --><e:Envelope "
        b'xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header/><e:Body>\n  '
        b'<r:getbalanceResponse xmlns:r="http://api.clickatell.com/soap/document_literal/'
        b'webservice">\n    <return>Credit: 12.5</return>\n  </r:getbalanceResponse>\n'
        b"</e:Body></e:Envelope>",
    ),
]


@pytest.fixture
def zeep_reads(serve, zeep_client, no_proxy_env) -> Callable[..., tuple[object, ...]]:
    """What zeep's public API (a plain ``zeep.Client`` service) returns for a reply: served
    by a server of its own, the reference the fast path is held to."""

    def read(operation: str, content: bytes, status: str = "200 OK") -> tuple[object, ...]:
        server = serve(lambda head, body: http(content, status))
        service = zeep_client.create_service(BINDING, server.endpoint)
        return outcome(lambda: getattr(service, operation)(**CALLS.get(operation, PING)))

    return read


def fast_read(client: SoapClient, operation: str, content: bytes, status: int = 200) -> object:
    """The reply as the client's learned shape reads it (``MISS``: it leaves it to zeep)."""
    reply = Response(status, HTTPHeaderDict({"Content-Type": "text/xml"}), content)
    return client._read(operation, reply)


@pytest.mark.parametrize(("operation", "content"), REPLIES)
def test_fast_replies_equal_zeeps(serve, client_for, zeep_reads, operation, content) -> None:
    server = serve(lambda head, body: http(content))
    client = client_for(server.endpoint)
    fields = CALLS.get(operation, PING)
    first = outcome(lambda: client.call(operation, **fields))  # zeep reads it; learned from
    assert outcome(lambda: client.call(operation, **fields)) == first
    assert client.zeep_replies == 1, "the second reply was read through the learned shape"
    assert outcome(lambda: fast_read(client, operation, content)) == zeep_reads(operation, content)


def test_bytes_on_an_idle_connection_are_never_mistaken_for_an_answer(serve, client_for) -> None:
    """A server that writes after its answer (junk, or a late duplicate) loses the connection.

    What the answer's reader took in along with the answer goes with it; the rest (64 KiB is
    more than one read takes) waits on the socket, where it is noticed before the next request.
    """
    junk = b"HTTP/1.1 200 OK\r\n" + b"X" * 65536
    reply = http(envelope("sendmsg", "ID: " + "a" * 32)) + junk
    server = serve(lambda head, body: reply)
    client = client_for(server.endpoint)
    assert send(client) == ["ID: " + "a" * 32]
    assert send(client) == ["ID: " + "a" * 32]
    assert server.connections == 2


# ---------------------------------------------------------------- learned reply shapes

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def soap(body: str, header: str = "", webservice: str = WEBSERVICE) -> bytes:
    """An envelope around ``body``, with ns1 bound to ``webservice`` and xsi declared."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:xsi="{XSI}" xmlns:ns1="{webservice}">{header}<SOAP-ENV:Body>{body}'
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def wrapped(op: str, items: str, attributes: str = "", **options: str) -> bytes:
    return soap(f"<ns1:{op}Response{attributes}>{items}</ns1:{op}Response>", **options)


FAULT = (
    "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
    "<faultstring>Internal error</faultstring></SOAP-ENV:Fault>"
)
MANY = "".join(f"<return>ID: {n:032x} To: 2782{n:07d}</return>" for n in range(300))

#: (operation, reply body, HTTP status, whether a learned shape reads it without zeep)
REPLY_CORPUS: dict[str, tuple[str, bytes, str, bool]] = {
    "one return": ("sendmsg", wrapped("sendmsg", "<return>ID: abc</return>"), "200 OK", True),
    "300 returns": ("sendmsg", wrapped("sendmsg", MANY), "200 OK", True),
    "empty return": ("sendmsg", wrapped("sendmsg", "<return></return>"), "200 OK", True),
    "self-closing return": ("sendmsg", wrapped("sendmsg", "<return/>"), "200 OK", True),
    "empty return among others": (
        "sendmsg",
        wrapped("sendmsg", "<return>ID: a</return><return/><return>ID: b</return>"),
        "200 OK",
        True,
    ),
    "xsi:nil return": ("sendmsg", wrapped("sendmsg", '<return xsi:nil="true"/>'), "200 OK", False),
    "xsi:nil false": (
        "sendmsg",
        wrapped("sendmsg", '<return xsi:nil="false">ID: x</return>'),
        "200 OK",
        False,
    ),
    "attribute on return": (
        "sendmsg",
        wrapped("sendmsg", '<return id="1">ID: x</return>'),
        "200 OK",
        False,
    ),
    "cdata": (
        "sendmsg",
        wrapped("sendmsg", "<return><![CDATA[a <b> & c]]></return>"),
        "200 OK",
        True,
    ),
    "empty cdata": ("sendmsg", wrapped("sendmsg", "<return><![CDATA[]]></return>"), "200 OK", True),
    "entities": (
        "sendmsg",
        wrapped("sendmsg", "<return>a &amp; b &lt;c&gt; &quot;&apos; &#233;&#x1F600;</return>"),
        "200 OK",
        True,
    ),
    "unicode": ("sendmsg", wrapped("sendmsg", "<return>é € 😀 中文 ‮</return>"), "200 OK", True),
    "whitespace around text": (
        "sendmsg",
        wrapped("sendmsg", "<return>  ID: x \n\t</return><return> </return>"),
        "200 OK",
        True,
    ),
    "pretty-printed": (
        "sendmsg",
        wrapped("sendmsg", "\n  <return>ID: a</return>\n  <return>ID: b</return>\n"),
        "200 OK",
        True,
    ),
    "comment in return": (
        "sendmsg",
        wrapped("sendmsg", "<return>a<!-- c -->b</return>"),
        "200 OK",
        True,
    ),
    "text between returns": (
        "sendmsg",
        wrapped("sendmsg", "junk<return>a</return>"),
        "200 OK",
        False,
    ),
    "processing instruction": (
        "sendmsg",
        wrapped("sendmsg", "<return>a<?pi x?>b</return>"),
        "200 OK",
        False,
    ),
    "nested element": (
        "sendmsg",
        wrapped("sendmsg", "<return>a<b>c</b>d</return>"),
        "200 OK",
        False,
    ),
    "extra unknown child": (
        "sendmsg",
        wrapped("sendmsg", "<return>a</return><other>b</other>"),
        "200 OK",
        False,
    ),
    "unknown child first": (
        "sendmsg",
        wrapped("sendmsg", "<other>b</other><return>a</return>"),
        "200 OK",
        False,
    ),
    "no returns": ("sendmsg", wrapped("sendmsg", ""), "200 OK", False),
    "return in a namespace": (
        "sendmsg",
        wrapped("sendmsg", "<ns1:return>a</ns1:return>"),
        "200 OK",
        False,
    ),
    "response in another namespace": (
        "sendmsg",
        wrapped("sendmsg", "<return>a</return>", webservice="urn:other"),
        "200 OK",
        False,
    ),
    "another operation's response": (
        "sendmsg",
        wrapped("auth", "<return>OK: x</return>"),
        "200 OK",
        False,
    ),
    "xsi:nil response": (
        "sendmsg",
        wrapped("sendmsg", "<return>a</return>", ' xsi:nil="true"'),
        "200 OK",
        False,
    ),
    "attribute on response": (
        "sendmsg",
        wrapped("sendmsg", "<return>a</return>", ' foo="1"'),
        "200 OK",
        False,
    ),
    "empty header": (
        "sendmsg",
        wrapped("sendmsg", "<return>a</return>", header="<SOAP-ENV:Header/>"),
        "200 OK",
        True,
    ),
    "header with content": (
        "sendmsg",
        wrapped(
            "sendmsg", "<return>a</return>", header="<SOAP-ENV:Header><h>1</h></SOAP-ENV:Header>"
        ),
        "200 OK",
        False,
    ),
    "two body children": (
        "sendmsg",
        soap("<ns1:sendmsgResponse><return>a</return></ns1:sendmsgResponse><x/>"),
        "200 OK",
        False,
    ),
    "fault": ("sendmsg", soap(FAULT), "200 OK", False),
    "fault with 500": ("sendmsg", soap(FAULT), "500 Internal Server Error", False),
    "fault next to a response": (
        "sendmsg",
        soap(f"<ns1:sendmsgResponse><return>a</return></ns1:sendmsgResponse>{FAULT}"),
        "200 OK",
        False,
    ),
    "error page": (
        "sendmsg",
        b"<html><body>oops</body></html>",
        "500 Internal Server Error",
        False,
    ),
    "not an envelope": (
        "sendmsg",
        b"<sendmsgResponse><return>a</return></sendmsgResponse>",
        "200 OK",
        False,
    ),
    "broken xml": ("sendmsg", wrapped("sendmsg", "<return>a</retur>"), "200 OK", False),
    "dtd": (
        "sendmsg",
        b'<!DOCTYPE x [<!ENTITY e "ID: x">]>' + wrapped("sendmsg", "<return>&e;</return>")[38:],
        "200 OK",
        False,
    ),
    "single: one return": (
        "auth",
        wrapped("auth", f"<return>OK: {SESSION}</return>"),
        "200 OK",
        True,
    ),
    "single: two returns": (
        "auth",
        wrapped("auth", "<return>OK: a</return><return>OK: b</return>"),
        "200 OK",
        False,
    ),
    "single: no return": ("auth", wrapped("auth", ""), "200 OK", False),
    "single: empty return": ("auth", wrapped("auth", "<return/>"), "200 OK", True),
    "single: xsi:nil return": (
        "auth",
        wrapped("auth", '<return xsi:nil="true"/>'),
        "200 OK",
        False,
    ),
}
PLAIN = {
    "sendmsg": wrapped("sendmsg", "<return>ID: learned</return>"),
    "auth": wrapped("auth", "<return>OK: learned</return>"),
}
CALLS = {
    "sendmsg": {"session_id": SESSION, "to": ["27821234567"], "text": "hi"},
    "auth": {"api_id": 3512345, "user": "sandbox", "password": "pw"},
}


def outcome(run: Callable[[], object]) -> tuple[object, ...]:
    """What ``run`` returned (with its type), or the class and message of what it raised."""
    try:
        value = run()
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("returned", type(value), value)


@pytest.mark.parametrize("case", list(REPLY_CORPUS))
def test_learned_replies_give_what_zeep_gives(serve, client_for, zeep_reads, case) -> None:
    """Through a real server: a client that has learned the shape answers as zeep does.

    The reference is a fresh client, whose first reply always goes through zeep; the same
    bytes are also compared at the deserialiser, where ``None`` and ``""`` still differ.
    """
    operation, content, status, fast = REPLY_CORPUS[case]
    replies = [(PLAIN[operation], "200 OK"), (content, status), (content, status)]
    server = serve(lambda head, body: http(*replies.pop(0)))
    learned, fresh = client_for(server.endpoint), client_for(server.endpoint)

    def call(client: SoapClient) -> Callable[[], object]:
        return lambda: client.call(operation, **CALLS[operation])

    assert outcome(call(learned)) == ("returned", list, [PLAIN_RESULT[operation]])
    assert learned.zeep_replies == 1 and operation in learned._reply_shapes
    ours = outcome(call(learned))
    assert learned.zeep_replies == (1 if fast else 2), "the learned shape was (not) used"
    assert ours == outcome(call(fresh))
    assert fresh.zeep_replies == 1

    ours = outcome(lambda: fast_read(learned, operation, content, int(status[:3])))
    if fast:
        assert ours == zeep_reads(operation, content, status)
    else:
        assert ours == ("returned", object, MISS)


PLAIN_RESULT = {"sendmsg": "ID: learned", "auth": "OK: learned"}
PING = {"session_id": SESSION}


def test_replies_after_the_first_skip_zeep(serve, client_for) -> None:
    server = serve(ok())
    client = client_for(server.endpoint)
    for _ in range(20):
        assert send(client) == [f"ID: {'a' * 32}"]
    assert client.zeep_replies == 1
    assert list(client._reply_shapes) == ["sendmsg"]


def test_a_reply_zeep_must_see_is_not_learned_from(serve, client_for) -> None:
    replies = [
        wrapped("sendmsg", '<return xsi:nil="true"/>'),
        soap(FAULT),
        PLAIN["sendmsg"],
        PLAIN["sendmsg"],
    ]
    server = serve(lambda head, body: http(replies.pop(0)))
    client = client_for(server.endpoint)
    with pytest.raises(ProtocolError, match="empty sendmsg response"):
        send(client)
    with pytest.raises(ProtocolError, match="SOAP fault: Internal error"):
        send(client)
    assert client._reply_shapes == {}
    assert send(client) == ["ID: learned"] and client.zeep_replies == 3
    assert send(client) == ["ID: learned"] and client.zeep_replies == 3


def test_each_operation_learns_its_own_shape(serve, client_for) -> None:
    """auth takes one return, sendmsg many: neither reads the other's replies."""
    replies = [PLAIN["auth"], PLAIN["sendmsg"], PLAIN["auth"], PLAIN["sendmsg"], PLAIN["auth"]]
    server = serve(lambda head, body: http(replies.pop(0)))
    client = client_for(server.endpoint)
    for _ in range(2):
        assert client.call("auth", **CALLS["auth"]) == ["OK: learned"]
        assert send(client) == ["ID: learned"]
    assert client.zeep_replies == 2
    # zeep does not check the response element's name; ping learns from its own first reply.
    assert client.call("ping", session_id=SESSION) == ["OK: learned"]
    assert client.zeep_replies == 3
    assert sorted(client._reply_shapes) == ["auth", "ping", "sendmsg"]


def test_a_shape_that_disagrees_with_zeep_is_never_used(client_for) -> None:
    from lxml import etree

    client = client_for("http://127.0.0.1:9/soap")
    doc = etree.fromstring(PLAIN["sendmsg"][38:])

    def learn(result: object) -> object:
        return ReplyShape.learn(doc, result, client.zeep.client.get_element)

    assert isinstance(learn(["ID: learned"]), ReplyShape)
    assert learn("ID: learned") is NOT_CACHEABLE
    assert learn(["something else"]) is NOT_CACHEABLE
    assert learn([b"ID: learned"]) is NOT_CACHEABLE


def test_each_thread_reuses_its_own_reply_parser(serve, client_for) -> None:
    """lxml parsers may be reused but not shared: one per thread, built once, no DTDs."""
    server = serve(ok())
    client = client_for(server.endpoint)
    send(client)
    send(client)
    mine = client._parsers.parser
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: (send(client), theirs.append(client._parsers.parser)))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine
    send(client)
    assert client._parsers.parser is mine
    with pytest.raises(ValueError, match="DTD"):
        client._parse(b'<!DOCTYPE x [<!ENTITY e "ID: x">]><x>&e;</x>')


def test_a_call_that_raised_halfway_leaves_nothing_in_the_next_envelope(serve, client_for) -> None:
    """Each thread fills one copy in place: a value lxml refuses after others were set must
    not leak them into the next call, which is zeep's envelope byte for byte."""
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)

    def fields(text: str, climsgid: str, *to: str) -> dict[str, object]:
        return {"session_id": SESSION, "to": list(to), "text": text, "climsgid": climsgid}

    good, later = fields("first", "a", "1", "2"), fields("later", "c", "5", "6")
    client.call("sendmsg", **good)  # zeep's, learned
    client.call("sendmsg", **good)  # this thread's copy, made
    with pytest.raises(ValueError):  # its text and numbers are set, then climsgid fails
        client.call("sendmsg", **fields("bad", "b\x00", "3", "4"))
    client.call("sendmsg", **later)
    assert server.bodies == [zeep_bytes(client, "sendmsg", f) for f in (good, good, later)]


def test_each_thread_sends_its_own_values_through_its_copy(serve, client_for) -> None:
    """Threads sharing one template, each with one copy, never post another's values."""
    server = serve(answer_its_operation)
    client = client_for(server.endpoint)
    client.call("sendmsg", session_id=SESSION, to=["0", "0"], text="learn")
    start = threading.Barrier(6)
    sent: list[dict[str, object]] = []

    def work(worker: int) -> None:
        start.wait()
        for n in range(40):
            to = [f"2782{worker}{n:06d}", f"2783{worker}{n:06d}"]
            fields = {"session_id": SESSION, "to": to, "text": f"w{worker} n{n}"}
            sent.append(fields)
            client.call("sendmsg", **fields)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sorted(zeep_bytes(client, "sendmsg", fields) for fields in sent)
    assert sorted(server.bodies[1:]) == expected
    assert client.zeep_replies == 1


def test_threads_learn_and_share_one_shape(serve, client_for) -> None:
    """8 threads start at once on a fresh client; each gets its own answers throughout."""

    server = serve(answer_for_its_number)
    client = client_for(server.endpoint)
    start = threading.Barrier(8)
    failures: list[str] = []

    def work(worker: int) -> None:
        start.wait()
        for n in range(50):
            number = f"2782{worker}{n:06d}"
            if send(client, number) != [f"ID: {'b' * 32} To: {number}"]:
                failures.append(number)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert 1 <= client.zeep_replies <= 8
    assert isinstance(client._reply_shapes["sendmsg"], ReplyShape)
