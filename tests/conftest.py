"""Shared fixtures: an isolated environment for every test and a real sandbox on 127.0.0.1.

No test reads the real home directory, the real config dir or a stray ``.env``: the autouse
fixture points all of them into ``tmp_path``. Tables are rendered without colour at a fixed
width so their text can be compared. The sandbox tests talk to it with zeep directly
(``make_sandbox``, ``sb``, ``svc``); the CLI tests use ``sandbox``/``creds`` and ``cli``.
Plain helper functions shared by several test files live in ``helpers.py``. The hooks at the
end run the secrets audit (``secrets_audit.py``): the session fails if any run's output, or
any file a test left behind, shows a password or a session ID.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import zeep
from helpers import point_at
from impostor import PASSWORD as IMPOSTOR_PASSWORD
from impostor import SESSION as IMPOSTOR_SESSION
from impostor import Script, serve_impostor
from secrets_audit import AUDIT, PASSWORD_KIND, SESSION_KIND
from typer.testing import CliRunner

from clicksms.cli import app
from clicksms.sandbox import Gateway, ManualClock, Sandbox, SandboxConfig

PASSWORD = "s3cret-Pa55word-for-tests"
AUDIT.secret(PASSWORD_KIND, PASSWORD, SandboxConfig().password, IMPOSTOR_PASSWORD)
#: The zeep binding of the bundled Document/Literal WSDL.
BINDING = "{http://api.clickatell.com/soap/document_literal/webservice}Sms"

# A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored in
# every child: the tests that Ctrl-C a clicksms process would see it carry on. Children of a
# handled signal start with the default, so handling it here gives them a real Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


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
    monkeypatch.setenv("CLICKSMS_RETRY_DELAY", "0")  # retries happen, but never sleep
    monkeypatch.setenv("CLICKSMS_QUERY_DELAY", "0")  # resume asks about rows in flight at once
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
def make_sandbox(clock: ManualClock) -> Iterator[Callable[..., Sandbox]]:
    """Factory: start a sandbox with config overrides; every one is stopped at teardown."""
    started: list[Sandbox] = []

    def factory(**overrides: Any) -> Sandbox:
        sb = Sandbox(SandboxConfig(**overrides), clock=clock).start()
        started.append(sb)
        return sb

    yield factory
    for sb in started:
        sb.stop()


@pytest.fixture
def sb(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox with the default config (its own credentials, not ``PASSWORD``)."""
    return make_sandbox()


@pytest.fixture(scope="session")
def zeep_client() -> zeep.Client:
    """One parsed copy of the bundled WSDL; services are bound per sandbox endpoint."""
    wsdl = resources.files("clicksms").joinpath("data").joinpath("document_literal.wsdl")
    with resources.as_file(wsdl) as path:
        return zeep.Client(str(path))


@pytest.fixture
def connect(zeep_client: zeep.Client) -> Callable[[Sandbox], Any]:
    """A zeep service bound to a sandbox's endpoint."""
    return lambda sb: zeep_client.create_service(BINDING, sb.endpoint)


@pytest.fixture
def svc(sb: Sandbox, connect: Callable[[Sandbox], Any]) -> Any:
    return connect(sb)


@pytest.fixture
def creds(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Environment credentials that match the sandbox."""
    return point_at(monkeypatch, sandbox)


@pytest.fixture
def on(creds: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Sandbox]:
    """The sandbox's server of a SOAP style, with a session or per-request credentials."""

    def point(style: str, no_session: bool = False):
        if style == "rpc":
            monkeypatch.setenv("CLICKSMS_ENDPOINT", creds.rpc_endpoint)
        if no_session:
            monkeypatch.setenv("CLICKSMS_NO_SESSION", "1")
        return creds

    return point


@pytest.fixture
def impostor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    """A scripted loopback server that is not Clickatell (impostor.py); credentials point at it."""
    AUDIT.secret(SESSION_KIND, IMPOSTOR_SESSION, only_here=True)  # others use it as an ID
    with serve_impostor(monkeypatch) as script:
        yield script


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
        AUDIT.environment(os.environ.items())
        result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
        AUDIT.record("clicksms stdout", result.stdout)
        AUDIT.record("clicksms stderr", result.stderr)
        return Run(result.exit_code, result.stdout, result.stderr)


def sent_ops(sandbox: Sandbox, op: str) -> list[dict]:
    """The fields of every ``op`` request the sandbox received."""
    return [r["fields"] for r in sandbox.requests if r["op"] == op]


# -- the secrets audit ------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def audit_secrets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Learn every password a sandbox knows or hears and every session ID it issues.

    Watching ``Gateway.dispatch`` (it changes nothing) reaches every sandbox in this process:
    the fixtures', the ones tests build, and the one ``clicksms --sandbox`` starts. Session
    IDs the sandbox is sent but never issued are the tests' made-up ones (``"0" * 32``), which
    they may print as message IDs too.
    """
    AUDIT.basetemp = tmp_path_factory.getbasetemp()
    dispatch = Gateway.dispatch

    def watched(
        self: Gateway, op: str, pairs: list[tuple[str, str | None]], *args: Any, **kwargs: Any
    ) -> list[str]:
        AUDIT.secret(PASSWORD_KIND, self.config.password)
        AUDIT.secret(PASSWORD_KIND, *(v for k, v in pairs if k == "password"))
        returns = dispatch(self, op, pairs, *args, **kwargs)
        if op == "auth":
            AUDIT.secret(SESSION_KIND, *(r[4:].strip() for r in returns if r.startswith("OK:")))
        return returns

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Gateway, "dispatch", watched)
        yield


@pytest.fixture(autouse=True)
def audit_tmp_path(tmp_path: Path) -> None:
    """Name the test that wrote a file the final scan finds a secret in."""
    AUDIT.owners[tmp_path.name] = AUDIT.test


def pytest_runtest_logstart(nodeid: str) -> None:
    AUDIT.test = nodeid


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """What the test process itself printed or logged in this phase (not with ``-s``)."""
    for title, content in report.sections:
        if title.endswith(f" {report.when}"):
            AUDIT.record(title.lower(), content)


def pytest_sessionfinish(session: pytest.Session) -> None:
    AUDIT.found = AUDIT.leaks()
    if AUDIT.found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if AUDIT.found:
        terminalreporter.section("secrets audit", red=True, bold=True)
        for leak in AUDIT.found:
            terminalreporter.line(str(leak), red=True)
        terminalreporter.line(f"{len(AUDIT.found)} output(s) show a password or a session ID")
