"""The installed `clicksms` console script, run as a user would: real processes, real signals."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import helpers
import pytest
from conftest import PASSWORD

from clicksms import __version__

NUMBER = "27821234567"


def clicksms_exe() -> list[str]:
    exe = shutil.which("clicksms", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the clicksms console script is not installed next to this Python")
    return [exe]


def pointing_at(sandbox) -> dict[str, str]:
    """This process's environment plus credentials for ``sandbox``."""
    return {
        **os.environ,
        "CLICKSMS_ENDPOINT": sandbox.endpoint,
        "CLICKSMS_API_ID": "3512345",
        "CLICKSMS_USER": "sandbox",
        "CLICKSMS_PASSWORD": PASSWORD,
    }


def run(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return helpers.run(
        [*clicksms_exe(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def test_version_from_console_script_and_python_m() -> None:
    assert run("--version").stdout.strip() == f"clicksms {__version__}"
    module = helpers.run(
        [sys.executable, "-m", "clicksms", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0
    assert module.stdout.strip() == f"clicksms {__version__}"


def test_embedded_sandbox_send(config_dir: Path) -> None:
    proc = run("--sandbox", "send", NUMBER, "+27 83 123 4567", "-t", "hello", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["ok"] for r in rows] == [True, True]
    assert "nothing is really sent" in proc.stderr
    assert not config_dir.exists(), "--sandbox must not touch the user's stored session"


def test_send_against_sandbox_with_stdin_text(creds) -> None:
    proc = run("send", NUMBER, stdin="deploy ok\n")
    assert proc.returncode == 0, proc.stderr
    assert creds.ledger[0]["text"] == "deploy ok"


def test_validate_number_from_stdin() -> None:
    proc = run("validate-number", "--country", "ZA", "-o", "json", stdin="082 123 4567\nxyz\n")
    assert proc.returncode == 6
    assert [r["valid"] for r in json.loads(proc.stdout)] == [True, False]


def wait_until_reading_stdin(pid: int, limit: float = 30.0) -> None:
    """Block until ``pid`` sits in read(0, …), so a signal lands where the test means it to."""
    read_syscalls = {"0", "63"}  # x86_64, aarch64
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            time.sleep(2.0)  # no /proc: fall back to a generous pause
            return
        if len(fields) > 1 and fields[0] in read_syscalls and int(fields[1], 16) == 0:
            return
        time.sleep(0.02)
    pytest.fail("the process never started reading its standard input")


def test_ctrl_c_while_waiting_for_stdin_exits_130() -> None:
    proc = helpers.Popen(
        [*clicksms_exe(), "send", NUMBER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_reading_stdin(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "Error: interrupted"
    assert "Traceback" not in err


def test_sandbox_command_serves_until_interrupted(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    env = {**os.environ, "CLICKSMS_SANDBOX_PASSWORD": "demo pass$word"}  # needs shell quoting
    # Not recorded for the secrets audit: the sandbox prints its own password by design.
    server = subprocess.Popen(
        [*clicksms_exe(), "sandbox", "--port", "0", "--ledger", str(ledger)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        exports = {}
        deadline = time.monotonic() + 30
        while len(exports) < 4 and time.monotonic() < deadline:
            line = server.stdout.readline()
            if line.strip().startswith("export "):
                name, value = line.strip()[len("export ") :].split("=", 1)
                (exports[name],) = shlex.split(value)  # as a shell would read the pasted line
        assert exports["CLICKSMS_ENDPOINT"].startswith("http://127.0.0.1:")
        assert exports["CLICKSMS_PASSWORD"] == "demo pass$word"
        client_env = {**os.environ, **exports}
        sent = helpers.run(
            [*clicksms_exe(), "send", NUMBER, "-t", "via the foreground sandbox"],
            capture_output=True,
            text=True,
            timeout=60,
            env=client_env,
        )
        assert sent.returncode == 0, sent.stderr
        record = json.loads(ledger.read_text().splitlines()[0])
        assert record["to"] == NUMBER and record["text"] == "via the foreground sandbox"
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        assert server.returncode == 0
    finally:
        server.kill()
        server.wait(timeout=30)


ARGV_NOT_UTF8 = (
    "Error: message text is not valid UTF-8: check the terminal's or the script's encoding"
)


def test_text_that_is_not_utf8_is_a_usage_error(creds) -> None:
    argv = [os.fsencode(a) for a in [*clicksms_exe(), "send", NUMBER, "-t"]] + [b"caf\xe9"]
    proc = helpers.run(argv, capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == ARGV_NOT_UTF8
    piped = helpers.run(
        [*clicksms_exe(), "send", NUMBER], input=b"caf\xe9\n", capture_output=True, timeout=60
    )
    assert piped.returncode == 2
    # Depending on the locale Python decodes stdin strictly or with surrogates; both are caught.
    assert piped.stderr.decode().strip() in (
        "Error: message text on standard input is not valid UTF-8: convert it first "
        "(iconv -f CP1252 -t UTF-8, say)",
        ARGV_NOT_UTF8,
    )
    assert creds.requests == []


@pytest.mark.parametrize(
    ("args", "what", "errors"),
    [
        (["status"], "message IDs", "surrogateescape"),
        (["cancel", "--client-id"], "client message IDs", "surrogateescape"),
        (["charge"], "message IDs", "surrogateescape"),
        (["validate-number"], "numbers", "surrogateescape"),
        (["coverage"], "numbers", "surrogateescape"),
        (["status"], "message IDs", "strict"),
    ],
)
def test_ids_and_numbers_on_stdin_that_are_not_utf8(creds, args, what, errors) -> None:
    # surrogateescape is what Python uses for stdin in the POSIX and C.UTF-8 locales.
    env = {**pointing_at(creds), "PYTHONIOENCODING": f"utf-8:{errors}"}
    proc = helpers.run(
        [*clicksms_exe(), *args], input=b"\xff\xfe\n", capture_output=True, timeout=60, env=env
    )
    assert proc.returncode == 2
    assert proc.stderr.decode() == (
        f"Error: {what} on standard input is not valid UTF-8: convert it first "
        "(iconv -f CP1252 -t UTF-8, say)\n"
    )
    assert proc.stdout == b""
    assert creds.requests == []


@pytest.mark.parametrize("errors", ["surrogateescape", "strict"])
@pytest.mark.parametrize(("args", "what"), [(["auth", "--password-stdin"], "password"),
                                            (["topup"], "voucher")])  # fmt: skip
def test_secrets_on_stdin_that_are_not_utf8(creds, args, what, errors) -> None:
    env = {**pointing_at(creds), "PYTHONIOENCODING": f"utf-8:{errors}"}
    proc = helpers.run(
        [*clicksms_exe(), *args], input=b"\xff\xfe\n", capture_output=True, timeout=60, env=env
    )
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode() == f"Error: the {what} on standard input is not valid UTF-8\n"
    assert creds.requests == []


def test_closed_stdin(creds) -> None:
    proc = helpers.run(
        [*clicksms_exe(), "send", NUMBER],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "Error: no message text: standard input is closed"


def test_ctrl_c_between_chunks_reports_every_row(sandbox) -> None:
    """SIGINT while the second request of three is in flight: 300 sent, 300 unknown, 50 not."""
    sandbox.config.latency = 1.5
    env = pointing_at(sandbox)
    targets = [f"2782{n:07d}" for n in range(1000000, 1000650)]
    proc = helpers.Popen(
        [*clicksms_exe(), "send", *targets, "-t", "x", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while len(sandbox.ledger) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the second request is now waiting out the sandbox's latency
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    rows = json.loads(out)
    statuses = [r["status"] for r in rows]
    assert statuses == ["accepted"] * 300 + ["unknown"] * 300 + ["not_sent"] * 50
    assert err.strip() == "Error: interrupted"  # once, and nothing else


def on_terminal(args: list[str], typed: bytes) -> tuple[int, bytes]:
    """Run clicksms with a pseudo-terminal as its controlling tty; type ``typed`` at the prompt.

    Returns the exit code and everything the terminal showed (the echo included, if any).
    """
    import pty

    env = {k: v for k, v in os.environ.items() if k != "CLICKSMS_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is now its terminal
        os.execve(clicksms_exe()[0], [*clicksms_exe(), *args], env)
    shown = b""
    deadline = time.monotonic() + 30
    while b"password:" not in shown and time.monotonic() < deadline:
        shown += os.read(fd, 1024)
    os.write(fd, typed)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child has closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    helpers.AUDIT.record("terminal", shown)
    return os.waitstatus_to_exitcode(status), shown


@pytest.mark.parametrize("args", [["auth"], ["auth", "--password-stdin"]])
def test_password_typed_on_a_terminal_is_not_echoed(creds, config_dir: Path, args) -> None:
    code, shown = on_terminal(args, PASSWORD.encode() + b"\n")
    assert code == 0, shown
    assert b"Clickatell password:" in shown
    assert PASSWORD.encode() not in shown, "the password was echoed"
    assert b"Authenticated as sandbox" in shown
    assert (config_dir / "session.json").exists()


def test_ctrl_d_at_the_password_prompt(creds) -> None:
    code, shown = on_terminal(["auth"], b"\x04")
    assert code == 3
    assert b"Error: no password entered" in shown
    assert creds.requests == []


def test_reader_closing_the_pipe_early_keeps_the_send_exit_code(creds) -> None:
    targets = [f"2782{n:07d}" for n in range(1000000, 1000400)]
    send = helpers.Popen(
        [*clicksms_exe(), "send", *targets, "-t", "x", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert send.stdout is not None and send.stderr is not None
    send.stdout.read(10)
    send.stdout.close()  # like `| head -c 10`
    err = send.stderr.read().decode()
    assert send.wait(timeout=60) == 0, err
    assert err == ""
    assert len(creds.ledger) == 400


def test_sigterm_during_a_send_reports_every_row(sandbox) -> None:
    """A cancelled CI job (SIGTERM) is treated like Ctrl-C: rows printed, exit 130."""
    sandbox.config.latency = 1.5
    env = pointing_at(sandbox)
    proc = helpers.Popen(
        [*clicksms_exe(), "send", NUMBER, "-t", "x", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(r["op"] == "auth" for r in sandbox.requests):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # auth answered; sendmsg is waiting out the sandbox's latency
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert [r["status"] for r in json.loads(out)] == ["unknown"]
    assert err.strip() == "Error: interrupted"


def test_session_update_failure_after_a_send_is_only_a_warning(creds, config_dir: Path) -> None:
    """If the session file cannot be rewritten after the gateway accepted, the row still shows."""
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr to make a directory unwritable for root")
    assert run("auth").returncode == 0
    path = config_dir / "session.json"
    data = json.loads(path.read_text())
    data["last_used"] -= 60  # old enough that the next call rewrites it
    path.write_text(json.dumps(data))
    locked = helpers.run(["chattr", "+i", str(config_dir)], capture_output=True)
    if locked.returncode != 0:
        pytest.skip(f"chattr not supported here: {locked.stderr.decode().strip()}")
    try:
        proc = run("send", NUMBER, "-t", "x", "-o", "json")
    finally:
        helpers.run(["chattr", "-i", str(config_dir)], check=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["status"] == "accepted"
    assert proc.stderr.startswith("Warning: could not update the stored session:")


def test_ctrl_c_during_status_wait_is_not_called_a_timeout(creds) -> None:
    sent = run("send", "27821234567", "-t", "x", "-o", "json")
    (row,) = json.loads(sent.stdout)
    proc = helpers.Popen(
        [*clicksms_exe(), "status", row["message_id"], "--wait", "--interval", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=pointing_at(creds),
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first "Waiting: …" note: it is now sleeping
        assert first.startswith("Waiting: 1 of 1 message(s) not final yet"), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "--timeout" not in err
    assert "1 message(s) not final yet when the wait stopped." in err, (out, err)
    assert row["message_id"] in out


def start_foreground_sandbox(args: list[str], env: dict[str, str]) -> tuple[Any, list[str]]:
    """`clicksms sandbox …` in the background, and its banner up to "Press Ctrl-C"."""
    # Not recorded for the secrets audit: the sandbox prints its own password by design.
    server = subprocess.Popen(
        [*clicksms_exe(), "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    banner: list[str] = []
    while not banner or not banner[-1].startswith("Press Ctrl-C"):
        line = server.stdout.readline()
        if not line:
            server.kill()
            pytest.fail(f"the sandbox stopped: {banner} {server.communicate()}")
        banner.append(line.strip())
    return server, banner


def stop_foreground_sandbox(server: Any) -> None:
    server.send_signal(signal.SIGINT)
    server.wait(timeout=30)


def test_sandbox_takes_credit_and_keeps_its_password_and_port(tmp_path: Path) -> None:
    """README's "top up and resume" can be tried, and a restart keeps the exports valid."""
    import urllib.request

    ledger = tmp_path / "ledger.jsonl"
    server, banner = start_foreground_sandbox(["--port", "0", "--ledger", str(ledger)], os.environ)
    try:
        exports = dict(
            line[len("export ") :].split("=", 1) for line in banner if line.startswith("export ")
        )
        exports = {name: shlex.split(value)[0] for name, value in exports.items()}
        (top_up,) = [line for line in banner if line.startswith("Top up")]
        url = top_up.rsplit(" ", 1)[1]
        with urllib.request.urlopen(url, data=b"250", timeout=30) as answer:
            assert json.loads(answer.read()) == {"balance": 1250}
        (restart,) = [line for line in banner if line.startswith("Restart with")]
        command = shlex.split(restart.split(": ", 1)[1])
    finally:
        stop_foreground_sandbox(server)
    assignment, program, *args = command
    name, password = assignment.split("=", 1)
    assert (program, name, password) == (
        "clicksms",
        "CLICKSMS_SANDBOX_PASSWORD",
        exports["CLICKSMS_PASSWORD"],
    )
    again, _ = start_foreground_sandbox(args[1:], {**os.environ, name: password})
    try:
        balance = helpers.run(
            [*clicksms_exe(), "balance", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **exports},  # what the user exported before the restart
        )
        assert balance.returncode == 0, balance.stderr
        assert json.loads(balance.stdout) == {"balance": 1000}
    finally:
        stop_foreground_sandbox(again)
