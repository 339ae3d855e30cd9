"""Plain helpers shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from clicksms.sandbox import Sandbox


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def point_at(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    """Point the CLI's credentials (environment variables) at ``sandbox``; returns it."""
    monkeypatch.setenv("CLICKSMS_ENDPOINT", sandbox.endpoint)
    monkeypatch.setenv("CLICKSMS_API_ID", str(sandbox.config.api_id))
    monkeypatch.setenv("CLICKSMS_USER", sandbox.config.user)
    monkeypatch.setenv("CLICKSMS_PASSWORD", sandbox.config.password)
    return sandbox


def point_at_closed_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """Credentials for an endpoint where nothing listens: every call is connection refused."""
    port = closed_port()
    monkeypatch.setenv("CLICKSMS_ENDPOINT", f"http://127.0.0.1:{port}/soap")
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "p")
    return port


def without_session(fields: dict) -> dict:
    """The fields of a request minus the session ID (checked for shape instead)."""
    assert len(fields["session_id"]) == 32
    return {k: v for k, v in fields.items() if k != "session_id"}


def table_lines(stdout: str) -> list[list[str]]:
    """Table rows (after the header rule) as lists of stripped cells."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) <= set("━╇"))
    return [[cell.strip() for cell in line.split("│")] for line in lines[start + 1 :]]
