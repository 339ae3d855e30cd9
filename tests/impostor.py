"""The impostor: a real loopback HTTP server that is not Clickatell, scripted by each test.

It answers ``auth`` like Clickatell and every other request from a list of replies the test
writes, so each failure (an error page, a hang-up, a slow or dripping answer) lands exactly
where intended. The ``impostor`` fixture in conftest.py starts one and points the CLI at it.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PASSWORD = "secret-password-xyz"
SESSION = "0123456789abcdef0123456789abcdef"
#: The longest a dripping answer goes on, so a client that never gives up cannot hang a test.
DRIP_LIMIT = 20.0


def envelope(op: str, *returns: str) -> bytes:
    items = "".join(f"<return>{r}</return>" for r in returns)
    return (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:ns1="http://api.clickatell.com/soap/document_literal/webservice"><SOAP-ENV:Body>'
        f"<ns1:{op}Response>{items}</ns1:{op}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo: bool = False  # append the request body, as careless servers' error pages do
    hang_up: bool = False  # close the connection without answering at all
    drip: float = 0.0  # announce a huge body, then send one byte every ``drip`` seconds


@dataclass
class Script:
    """What the impostor answers: ``auth`` replies, then one scripted reply per other request."""

    auth: Reply | list[Reply] = field(
        default_factory=lambda: Reply(body=envelope("auth", f"OK: {SESSION}"))
    )
    replies: list[Reply] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # operation of every request, in order
    bodies: list[bytes] = field(default_factory=list)


class _Scripted(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        script: Script = self.server.script  # type: ignore[attr-defined]
        match = re.search(rb"<(?:\w+:)?(\w+)[ >]", body.split(b"Body>", 1)[-1])
        op = match.group(1).decode() if match else "?"
        script.seen.append(op)
        script.bodies.append(body)
        if op != "auth":
            reply = script.replies.pop(0)
        elif isinstance(script.auth, list):  # one per login, the last one repeating
            reply = script.auth.pop(0) if len(script.auth) > 1 else script.auth[0]
        else:
            reply = script.auth
        if reply.hang_up:
            self.close_connection = True
            return
        if reply.echo:
            reply = Reply(reply.status, reply.body + body, reply.content_type)
        time.sleep(reply.delay)
        try:
            self._answer(reply)
        except OSError:  # the client gave up waiting (a timeout test): nothing to report
            self.close_connection = True

    def _answer(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        length = 10**6 if reply.drip else len(reply.body)
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.drip:
            self._drip(reply.drip)
        else:
            self.wfile.write(reply.body)

    def _drip(self, pause: float) -> None:
        """A response that never ends: a byte at a time until the client leaves (or the limit)."""
        self.close_connection = True
        deadline = time.monotonic() + DRIP_LIMIT
        while time.monotonic() < deadline:
            self.wfile.write(b" ")  # OSError once the client has gone: what it should do
            time.sleep(pause)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve_impostor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    """Run an impostor and point the CLI's credentials at it; stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.daemon_threads = True
    script = Script()
    server.script = script  # type: ignore[attr-defined]
    # A short poll, so shutdown() at the end of each test takes milliseconds, not 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{server.server_port}/soap")
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", PASSWORD)
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port whose connections never complete: a connect timeout, for real.

    The listener's queue (backlog 0) is filled by one connection nobody accepts, so the
    kernel ignores every later handshake (Linux) until the port is closed.
    """
    if sys.platform != "linux":
        pytest.skip("a full listen queue drops handshakes only on Linux")
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield listener.getsockname()[1]
