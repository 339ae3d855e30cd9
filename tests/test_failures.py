"""Unreachable endpoints, servers that are not Clickatell, and failures part-way through."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clicksms.errors import ExitCode
from clicksms.runtime import report_failure

NUMBER = "27821234567"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Canned(BaseHTTPRequestHandler):
    """Answers every POST with whatever the test put on the server."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, content_type, body = self.server.canned  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def impostor(monkeypatch) -> Iterator[ThreadingHTTPServer]:
    """A loopback HTTP server that is not Clickatell; credentials point at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.canned = (200, "text/plain", b"hello")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{server.server_port}/soap")
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "secret-password-xyz")
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_unreachable_endpoint(cli, monkeypatch) -> None:
    port = closed_port()
    monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{port}/soap")
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "p")
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert run.stderr.strip() == f"Error: cannot connect to 127.0.0.1:{port}: connection refused"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("canned", "message"),
    [
        ((200, "text/plain", b"hello"), "sent a malformed response"),
        ((200, "text/xml", b"<not-soap/>"), "sent a malformed response"),
        ((500, "text/html", b"<html><body>Internal error</body></html>"), "answered HTTP 500"),
        ((503, "text/html", b"busy"), "answered HTTP 503"),
    ],
)
def test_garbage_responses(cli, impostor, canned, message) -> None:
    impostor.canned = canned
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: 127.0.0.1:")
    assert message in lines[0]
    assert "secret-password-xyz" not in run.stderr + run.stdout


def test_soap_fault(cli, impostor) -> None:
    impostor.canned = (
        500,
        "text/xml",
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
        b"<faultstring>database on fire</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
        b"</SOAP-ENV:Envelope>",
    )
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert run.stderr.strip().endswith("answered with a SOAP fault: database on fire")


def test_unexpected_clickatell_string(cli, impostor) -> None:
    impostor.canned = (
        200,
        "text/xml",
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:ns1="http://api.clickatell.com/soap/document_literal/webservice"><SOAP-ENV:Body>'
        b"<ns1:authResponse><return>Welcome!</return></ns1:authResponse>"
        b"</SOAP-ENV:Body></SOAP-ENV:Envelope>",
    )
    run = cli("auth")
    assert run.exit_code == 5
    assert run.stderr.strip() == "Error: unexpected answer to auth: 'Welcome!'"


def test_debug_shows_traceback_but_no_secrets(cli, impostor) -> None:
    run = cli("--debug", "send", NUMBER, "-t", "x")
    assert run.exit_code == 5
    assert "Traceback" in run.stderr
    assert "secret-password-xyz" not in run.stderr + run.stdout


def test_internal_errors_exit_1_with_a_hint() -> None:
    assert report_failure(RuntimeError("boom"), debug=False) == ExitCode.INTERNAL


def test_interrupt_exits_130() -> None:
    assert report_failure(KeyboardInterrupt(), debug=False) == ExitCode.INTERRUPTED
