"""Where the password goes, and where state is kept, is the user's choice, never a stray file's.

A ``.env`` in whatever directory clicksms runs from may name an endpoint. It must not receive a
password the user gave by other means (environment, ``--password-stdin``, the prompt) unless
they confirm it on a terminal, and it must not move the config directory without saying so. An
empty ``CLICKSMS_ENDPOINT`` is a mistake to point out, not Clickatell's production endpoint.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path

import helpers
import pytest
from conftest import PASSWORD, sent_ops

from clicksms.sandbox import Sandbox

NUMBER = "27821234567"
FIX = "set CLICKSMS_ENDPOINT in the environment or use --endpoint"


@pytest.fixture
def dotenv(isolated_env: Path):
    path = isolated_env / "work" / ".env"

    def write(**values: str) -> Path:
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        return path

    return write


# -- an empty endpoint ------------------------------------------------------------------------


def test_an_empty_endpoint_variable_is_an_error(cli, creds: Sandbox, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_ENDPOINT", "")
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "Error: CLICKSMS_ENDPOINT is set but empty: unset it for Clickatell's own endpoint, "
        "or set it to your endpoint's URL"
    )
    assert creds.requests == []


def test_an_empty_endpoint_variable_does_not_override_a_dotenv_sandbox(
    cli, creds: Sandbox, monkeypatch, dotenv
) -> None:
    """It used to mean production, hiding the .env that names a sandbox."""
    dotenv(CLICKSMS_ENDPOINT=creds.endpoint)
    monkeypatch.setenv("CLICKSMS_ENDPOINT", "")
    run = cli("balance")
    assert run.exit_code == 2
    assert "CLICKSMS_ENDPOINT is set but empty" in run.stderr


def test_an_empty_endpoint_in_dotenv_is_an_error(cli, creds: Sandbox, monkeypatch, dotenv) -> None:
    monkeypatch.delenv("CLICKSMS_ENDPOINT")
    dotenv(CLICKSMS_ENDPOINT="")
    run = cli("balance")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "Error: ./.env sets CLICKSMS_ENDPOINT to nothing: remove the line for Clickatell's own "
        "endpoint, or give your endpoint's URL"
    )


# -- the password goes only where the user chose ---------------------------------------------


def test_dotenv_endpoint_cannot_take_a_password_from_stdin(
    cli, creds: Sandbox, monkeypatch, dotenv
) -> None:
    monkeypatch.delenv("CLICKSMS_ENDPOINT")
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    dotenv(CLICKSMS_ENDPOINT=creds.endpoint)
    run = cli("auth", "--password-stdin", input=PASSWORD + "\n")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        f"Error: ./.env sets CLICKSMS_ENDPOINT={creds.endpoint}, which would receive the "
        f"password read by --password-stdin: {FIX}"
    )
    assert creds.requests == []


def test_dotenv_endpoint_may_take_the_password_from_the_same_dotenv(
    cli, creds: Sandbox, monkeypatch, dotenv
) -> None:
    """The file that names the endpoint holds the password too: it reveals nothing new."""
    monkeypatch.delenv("CLICKSMS_ENDPOINT")
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    dotenv(CLICKSMS_ENDPOINT=creds.endpoint, CLICKSMS_PASSWORD=PASSWORD)
    run = cli("auth")
    assert run.exit_code == 0, run.stderr
    assert sent_ops(creds, "auth")[0]["password"] == PASSWORD


def test_an_endpoint_from_the_environment_takes_any_password(
    cli, creds: Sandbox, monkeypatch, dotenv
) -> None:
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    dotenv(CLICKSMS_ENDPOINT="https://elsewhere.example/soap")
    run = cli("auth", "--password-stdin", input=PASSWORD + "\n")
    assert run.exit_code == 0, run.stderr
    assert sent_ops(creds, "auth")[0]["password"] == PASSWORD


def on_terminal(
    args: list[str], answers: list[tuple[bytes, bytes]], env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run clicksms on a pseudo-terminal; at each prompt (first item) type the second item.

    The environment is this process's without CLICKSMS_PASSWORD, unless ``env`` is given.
    """
    import pty

    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "CLICKSMS_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is now its terminal
        os.execve(sys.executable, [sys.executable, "-m", "clicksms", *args], env)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        for prompt, typed in answers:
            while prompt not in shown and time.monotonic() < deadline:
                chunk = _read(fd, deadline)
                if not chunk:
                    break
                shown += chunk
            if prompt not in shown:
                break  # it never asked
            os.write(fd, typed)
        while chunk := _read(fd, deadline):
            shown += chunk
    finally:
        if time.monotonic() >= deadline:  # stuck at a prompt nobody answers
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    helpers.AUDIT.record("terminal", shown)
    return os.waitstatus_to_exitcode(status), shown


def _read(fd: int, deadline: float) -> bytes:
    """What the terminal shows next; b"" when the child closed it or the deadline passed."""
    while not select.select([fd], [], [], 0.2)[0]:
        if time.monotonic() >= deadline:
            return b""
    try:
        return os.read(fd, 1024)
    except OSError:  # the child has closed the terminal
        return b""


def test_the_prompt_asks_before_sending_a_typed_password_to_a_dotenv_endpoint(
    creds: Sandbox, monkeypatch, dotenv, config_dir: Path
) -> None:
    monkeypatch.delenv("CLICKSMS_ENDPOINT")
    dotenv(CLICKSMS_ENDPOINT=creds.endpoint)
    code, shown = on_terminal(["auth"], [(b"[y/N]", b"\n")])
    assert code == 2, shown
    assert f"./.env sets CLICKSMS_ENDPOINT={creds.endpoint}".encode() in shown
    assert b"Clickatell password:" not in shown  # asked first, before any password is typed
    assert f"Error: the password was not sent to {creds.endpoint}".encode() in shown
    assert creds.requests == []

    code, shown = on_terminal(
        ["auth"], [(b"[y/N]", b"y\n"), (b"password:", PASSWORD.encode() + b"\n")]
    )
    assert code == 0, shown
    assert sent_ops(creds, "auth")[0]["password"] == PASSWORD
    assert (config_dir / "session.json").exists()


def test_the_environments_password_goes_to_a_dotenv_endpoint_once_confirmed(
    creds: Sandbox, monkeypatch, dotenv
) -> None:
    monkeypatch.delenv("CLICKSMS_ENDPOINT")
    dotenv(CLICKSMS_ENDPOINT=creds.endpoint)
    code, shown = on_terminal(["auth"], [(b"[y/N]", b"y\n")], env=dict(os.environ))
    assert code == 0, shown
    assert b"which would receive the password from your environment" in shown
    assert sent_ops(creds, "auth")[0]["password"] == PASSWORD


# -- the config dir ---------------------------------------------------------------------------


def test_a_config_dir_from_dotenv_is_announced(
    cli, creds: Sandbox, dotenv, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CLICKSMS_CONFIG_DIR")
    moved = tmp_path / "moved"
    dotenv(CLICKSMS_CONFIG_DIR=str(moved))
    for command in (["auth"], ["auth", "--status"], ["jobs"]):
        run = cli(*command)
        assert f"Using CLICKSMS_CONFIG_DIR={moved} from ./.env" in run.stderr, command
    assert (moved / "session.json").exists()


def test_a_config_dir_from_the_environment_is_not_announced(cli, creds: Sandbox) -> None:
    run = cli("auth")
    assert run.exit_code == 0
    assert "CLICKSMS_CONFIG_DIR" not in run.stderr


# -- credentials SOAP cannot carry ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "kind", "where"),
    [
        ("CLICKSMS_USER", "me\x01", "a control character", "CLICKSMS_USER or --user"),
        ("CLICKSMS_USER", "caf\udce9", "a byte that is not UTF-8", "CLICKSMS_USER or --user"),
        ("CLICKSMS_PASSWORD", "pa\x01ss", "a control character", "CLICKSMS_PASSWORD"),
        ("CLICKSMS_PASSWORD", "pa\udcffss", "a byte that is not UTF-8", "CLICKSMS_PASSWORD"),
    ],
)
def test_credentials_soap_cannot_carry_are_a_configuration_error(
    cli, creds: Sandbox, monkeypatch, name: str, value: str, kind: str, where: str
) -> None:
    monkeypatch.setenv(name, value)
    run = cli("send", NUMBER, "-t", "x")
    assert run.exit_code == 2, run.stderr
    what = "user name" if name == "CLICKSMS_USER" else "password"
    position = value.index(next(ch for ch in value if ch < " " or "\ud800" <= ch <= "\udfff"))
    assert run.stderr.strip() == (
        f"Error: the {what} has {kind} (character {position + 1}), which cannot be sent: "
        f"check {where}"
    )
    assert creds.requests == []


def test_a_password_from_stdin_with_a_control_character(cli, creds: Sandbox, monkeypatch) -> None:
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    run = cli("auth", "--password-stdin", input="pa\x1bss\n")
    assert run.exit_code == 2, run.stderr
    assert run.stderr.strip() == (
        "Error: the password has a control character (character 3), which cannot be sent: "
        "check --password-stdin"
    )
    assert creds.requests == []
