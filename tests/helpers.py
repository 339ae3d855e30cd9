"""Plain helpers shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
from typing import IO, TYPE_CHECKING, Any

import pytest
from secrets_audit import AUDIT

if TYPE_CHECKING:
    from clicksms.sandbox import Sandbox


#: What a closed port ends as: the login is tried 1 + 3 times (the default --retries).
REFUSED_4_TIMES = "connection refused (after 4 attempts)"


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
    monkeypatch.setenv("CLICKSMS_PASSWORD", "closed-port-Pa55word")  # long enough to audit
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


# -- child processes, recorded for the secrets audit (secrets_audit.py) ----------------------


def run(args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run``; what the child printed joins the secrets audit."""
    AUDIT.environment((kwargs.get("env") or os.environ).items())
    proc = subprocess.run(args, **kwargs)
    AUDIT.record("subprocess stdout", proc.stdout)
    AUDIT.record("subprocess stderr", proc.stderr)
    return proc


class Popen(subprocess.Popen):
    """``subprocess.Popen`` whose output joins the secrets audit, however the test reads it:
    ``communicate()``, or ``read``/``readline`` on its pipes."""

    def __init__(self, args: Any, **kwargs: Any) -> None:
        AUDIT.environment((kwargs.get("env") or os.environ).items())
        super().__init__(args, **kwargs)
        if self.stdout is not None:
            self.stdout = _RecordedPipe(self.stdout, "subprocess stdout")  # type: ignore[assignment]
        if self.stderr is not None:
            self.stderr = _RecordedPipe(self.stderr, "subprocess stderr")  # type: ignore[assignment]

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        wrapped = self.stdout, self.stderr
        # Popen reads the raw pipes here (os.read on their fds); record the result once, below.
        self.stdout, self.stderr = (getattr(p, "pipe", p) for p in wrapped)
        try:
            out, err = super().communicate(input, timeout)
        finally:
            self.stdout, self.stderr = wrapped
        AUDIT.record("subprocess stdout", out)
        AUDIT.record("subprocess stderr", err)
        return out, err


class _RecordedPipe:
    """A child's stdout or stderr that records what is read from it."""

    def __init__(self, pipe: IO[Any], where: str) -> None:
        self.pipe, self.where = pipe, where

    def read(self, *args: Any) -> Any:
        return self._seen(self.pipe.read(*args))

    def readline(self, *args: Any) -> Any:
        return self._seen(self.pipe.readline(*args))

    def __iter__(self) -> _RecordedPipe:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def _seen(self, data: Any) -> Any:
        AUDIT.record(self.where, data)
        return data


def job_options(sandbox: Any = None, soap_style: str | None = None, **extra: object) -> dict:
    """The options a job records, for a job made by hand in a journal: a plain template,
    default send options, loaded; with ``sandbox``, the gateway identity it was started for."""
    from dataclasses import asdict

    from clicksms.message.options import SendOptions

    options: dict[str, Any] = {
        "template": "x",
        "sender": None,
        "unicode": "auto",
        "send_options": asdict(SendOptions()),
        "client_id_prefix": None,
        "country": None,
        "loaded": True,
    }
    if sandbox is not None:
        style = {"soap_style": soap_style} if soap_style else {}
        options["gateway"] = {
            "endpoint": sandbox.endpoint,
            **style,
            "api_id": "3512345",
            "user": "sandbox",
        }
    return {**options, **extra}


def php_with_soap() -> str:
    """The php executable with its SOAP extension (the independent oracle), else a skip
    that says how to install it."""
    import shutil

    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not installed (Debian: apt-get install php-cli php-soap php-xml)")
    modules = run([php, "-m"], capture_output=True, text=True, timeout=60).stdout
    if "soap" not in modules.split():
        pytest.skip("php has no soap extension (Debian: apt-get install php-soap php-xml)")
    return php
