"""Start-up costs, each as a ratio to a baseline measured in the same run:

* ``clicksms --version`` against a bare Typer app of the same size (goal: at most 1.2);
* a TAB press (``clicksms bulk --resume <TAB>``, which reads the job IDs from a journal of 200
  jobs) against ``clicksms --version`` (goal: at most 1.2);
* a one-shot ``clicksms send`` to one number with a stored session, against a sandbox in its
  own process, on a terminal (a pseudo-terminal here), against the import floor
  ``python -c "import typer, rich, zeep, lxml.etree, phonenumbers, requests"`` (issue 12,
  goal: at most 1.3). Before the timed runs one send has been made, as by anyone who has sent
  before: the run is timed as it is from the second send on.

Each runs as a fresh interpreter, interleaved so that machine noise hits them alike; the first
two are ratios of medians, the send is the median of the ratios of each send to the floor run
just before it. All run with bytecode (.pyc) files, as an installed package has them (pip
compiles them), even where the environment sets PYTHONDONTWRITEBYTECODE: it is unset for the
children, which write their .pyc files to a private cache, warmed before timing. Run:

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from bulk import PASSWORD, SandboxProcess

#: Issue 12: a one-shot send costs at most 1.3 times the imports it could not do without.
SEND_GOAL = 1.3
STARTUP_GOAL = 1.2
FLOOR_IMPORTS = "import typer, rich, zeep, lxml.etree, phonenumbers, requests"

# The same commands with options of the same kinds and number as clicksms's, and --version.
BARE_APP = '''
from typing import Annotated, Optional
import typer

app = typer.Typer(no_args_is_help=True)

def _version(value: bool) -> None:
    if value:
        typer.echo("bare 0.0.0")
        raise typer.Exit()

@app.callback()
def main(
    endpoint: Annotated[Optional[str], typer.Option()] = None,
    api_id: Annotated[Optional[str], typer.Option()] = None,
    user: Annotated[Optional[str], typer.Option()] = None,
    timeout: Annotated[Optional[float], typer.Option()] = None,
    insecure: Annotated[bool, typer.Option()] = False,
    sandbox: Annotated[bool, typer.Option()] = False,
    debug: Annotated[bool, typer.Option()] = False,
    version: Annotated[bool, typer.Option(callback=_version, is_eager=True)] = False,
) -> None:
    """Bare app."""

@app.command()
def auth(status: bool = False, logout: bool = False, password_stdin: bool = False,
         output: str = "table") -> None:
    """auth"""

@app.command()
def send(to: list[str], text: Optional[str] = None, sender: Optional[str] = None,
         country: Optional[str] = None, unicode: str = "auto",
         max_parts: Annotated[Optional[int], typer.Option(min=1, max=35)] = None,
         flash: bool = False, msg_type: Optional[str] = None, udh: Optional[str] = None,
         data: Optional[str] = None, deliver_in: Optional[str] = None,
         deliver_at: Optional[str] = None, validity: Optional[str] = None,
         client_id: Optional[str] = None, callback: Optional[str] = None,
         delivery_ack: bool = False, max_credits: Optional[str] = None,
         queue: Annotated[Optional[int], typer.Option(min=1, max=3)] = None,
         escalate: bool = False, mo: bool = False, dry_run: bool = False,
         output: str = "table") -> None:
    """send"""

@app.command()
def status(ids: Optional[list[str]] = None, client_id: bool = False, wait: bool = False,
           interval: float = 2.0, timeout: float = 600.0, output: str = "table") -> None:
    """status"""

@app.command()
def cancel(ids: Optional[list[str]] = None, client_id: bool = False,
           output: str = "table") -> None:
    """cancel"""

@app.command()
def charge(ids: Optional[list[str]] = None, output: str = "table") -> None:
    """charge"""

@app.command()
def balance(output: str = "table") -> None:
    """balance"""

@app.command()
def coverage(numbers: Optional[list[str]] = None, country: Optional[str] = None,
             output: str = "table") -> None:
    """coverage"""

@app.command()
def ping(output: str = "table") -> None:
    """ping"""

@app.command("validate-number")
def validate_number(numbers: Optional[list[str]] = None, country: Optional[str] = None,
                    output: str = "table") -> None:
    """validate"""

@app.command()
def sandbox(host: str = "127.0.0.1", port: int = 8080, ledger: Optional[str] = None,
            credits: float = 1000.0, session_timeout: float = 900.0,
            latency: float = 0.0, delivery_seconds: float = 5.0,
            coverage: Optional[list[str]] = None) -> None:
    """sandbox"""

app()
'''


def time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr.strip()}")
    return elapsed


def time_on_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of ``argv`` with stdout and stderr on a fresh 100x30 pseudo-terminal."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    try:
        start = time.perf_counter()
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env, cwd=cwd
        )
        elapsed = time.perf_counter() - start
        os.set_blocking(leader, False)
        shown = b""
        try:
            while chunk := os.read(leader, 65536):
                shown += chunk
        except OSError:  # nothing more to read (EAGAIN), or the terminal is gone (EIO)
            pass
    finally:
        os.close(follower)
        os.close(leader)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {shown.decode(errors='replace').strip()}")
    return elapsed


def make_journal(config_dir: Path, jobs: int) -> None:
    """A journal with ``jobs`` jobs of one row each, half of them unfinished."""
    from clicksms.bulk.journal import JobRow, Journal, default_journal_path

    config_dir.mkdir(mode=0o700)
    with Journal(default_journal_path(config_dir)) as journal:
        for n in range(jobs):
            job = journal.create_job(f"/data/list{n}.csv", {})
            if n % 2:
                journal.add_rows(job.id, [JobRow(1, "27821234567", "x", "pending")])
            journal.set_state(job.id, "stopped" if n % 2 else "done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        make_journal(Path(tmp) / "config", 200)
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        ours_script = Path(tmp) / "clicksms_entry.py"  # what the console script does
        ours_script.write_text("from clicksms.cli import main\nmain()\n")
        clicksms_cmd = [sys.executable, str(ours_script), "--version"]
        bare_cmd = [sys.executable, str(bare), "--version"]
        # An installed package has .pyc files (pip compiles them), so measure with bytecode
        # caching on even where the environment turns it off, in a private cache dir.
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("CLICKSMS_")
        }
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["CLICKSMS_CONFIG_DIR"] = str(Path(tmp) / "config")
        tab_cmd = [sys.executable, str(ours_script)]
        tab_env = {
            **env,
            "_CLICKSMS_COMPLETE": "complete_bash",
            "COMP_WORDS": "clicksms bulk --resume ",
            "COMP_CWORD": "3",
        }
        offered = subprocess.run(tab_cmd, capture_output=True, text=True, env=tab_env).stdout
        if len(offered.split()) != 100:  # the unfinished half
            raise SystemExit(f"the TAB press offered {len(offered.split())} job IDs, not 100")
        sandbox = SandboxProcess(env=env)
        try:
            send_env = {
                **env,
                "CLICKSMS_ENDPOINT": sandbox.endpoint,
                "CLICKSMS_API_ID": "3512345",
                "CLICKSMS_USER": "sandbox",
                "CLICKSMS_CONFIG_DIR": str(Path(tmp) / "send-config"),
            }
            # The stored session: a login once, the only run that is given the password.
            login = [sys.executable, str(ours_script), "auth", "--password-stdin"]
            subprocess.run(login, input=PASSWORD, text=True, env=send_env, check=True,
                           capture_output=True, cwd=tmp)  # fmt: skip
            send_cmd = [sys.executable, str(ours_script), "send", "27821234567", "-t", "deploy ok"]
            floor_cmd = [sys.executable, "-c", FLOOR_IMPORTS]
            for cmd in (clicksms_cmd, bare_cmd, floor_cmd):  # warm the file cache, .pyc files
                time_once(cmd, env)
            time_on_terminal(send_cmd, send_env, Path(tmp))  # and the first send
            ours, theirs, tabs, floors, sends, send_ratios = [], [], [], [], [], []
            for _ in range(args.runs):
                ours.append(time_once(clicksms_cmd, env))
                theirs.append(time_once(bare_cmd, env))
                tabs.append(time_once(tab_cmd, tab_env))
                floors.append(time_on_terminal(floor_cmd, env, Path(tmp)))
                sends.append(time_on_terminal(send_cmd, send_env, Path(tmp)))
                send_ratios.append(sends[-1] / floors[-1])
        finally:
            sandbox.stop()

    ours_ms = statistics.median(ours) * 1000
    bare_ms = statistics.median(theirs) * 1000
    tab_ms = statistics.median(tabs) * 1000
    print(f"{args.runs} runs each, with .pyc files (PYTHONDONTWRITEBYTECODE unset for the runs)")
    print(f"clicksms --version     median {ours_ms:7.1f} ms")
    print(f"bare Typer app         median {bare_ms:7.1f} ms")
    print(f"bulk --resume <TAB>    median {tab_ms:7.1f} ms")
    print(f"clicksms send (1 no.)  median {statistics.median(sends) * 1000:7.1f} ms")
    print(f"import floor           median {statistics.median(floors) * 1000:7.1f} ms")
    verdict(" --version / bare app:", ours_ms / bare_ms, STARTUP_GOAL)
    verdict(" TAB / --version:", tab_ms / ours_ms, STARTUP_GOAL)
    verdict(" send / import floor:", statistics.median(send_ratios), SEND_GOAL, "median of ratios")


def verdict(label: str, ratio: float, goal: float, how: str = "ratio of medians") -> None:
    result = "PASS" if ratio <= goal else "FAIL"
    print(f"{result} {label:<22} {ratio:.2f}x (goal <= {goal:.2f}x; {how})")


if __name__ == "__main__":
    main()
