"""Shared fixtures: an isolated environment for every test and a real sandbox on 127.0.0.1.

No test reads the real home directory, the real config dir or a stray ``.env``: the autouse
fixture points all of them into ``tmp_path``. Tables are rendered without colour at a fixed
width so their text can be compared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clicksms.cli import app
from clicksms.sandbox import ManualClock, Sandbox, SandboxConfig

PASSWORD = "s3cret-Pa55word-for-tests"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("CLICKSMS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("CLICKSMS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.chdir(work)
    return tmp_path


@pytest.fixture
def config_dir(isolated_env: Path) -> Path:
    return isolated_env / "config"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def sandbox(clock: ManualClock, tmp_path: Path) -> Iterator[Sandbox]:
    config = SandboxConfig(
        host="127.0.0.1", port=0, password=PASSWORD, ledger_path=tmp_path / "ledger.jsonl"
    )
    with Sandbox(config, clock=clock) as server:
        yield server


@pytest.fixture
def creds(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Environment credentials that match the sandbox."""
    monkeypatch.setenv("CLICKSMS_ENDPOINT", sandbox.endpoint)
    monkeypatch.setenv("CLICKSMS_API_ID", "3512345")
    monkeypatch.setenv("CLICKSMS_USER", "sandbox")
    monkeypatch.setenv("CLICKSMS_PASSWORD", PASSWORD)
    return sandbox


@dataclass
class Run:
    """The outcome of one CLI invocation, stdout and stderr kept apart."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> CliRunnerCall:
    return CliRunnerCall()


class CliRunnerCall:
    """Invoke the real Typer app in-process, as the console script would."""

    def __call__(self, *args: str, input: str | None = None) -> Run:
        result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)


def sent_ops(sandbox: Sandbox, op: str) -> list[dict]:
    """The fields of every ``op`` request the sandbox received."""
    return [r["fields"] for r in sandbox.requests if r["op"] == op]
