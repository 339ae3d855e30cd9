"""Start-up cost of ``clicksms --version`` against a bare Typer app of the same size.

Both run as fresh interpreters in the same session, interleaved so that machine noise hits both
alike; the result is the ratio of medians (goal: at most 1.2). Run:

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        ours_script = Path(tmp) / "clicksms_entry.py"  # what the console script does
        ours_script.write_text("from clicksms.cli import main\nmain()\n")
        clicksms_cmd = [sys.executable, str(ours_script), "--version"]
        bare_cmd = [sys.executable, str(bare), "--version"]
        # An installed package has .pyc files (pip compiles them), so measure with bytecode
        # caching on even where the environment turns it off, in a private cache dir.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        for cmd in (clicksms_cmd, bare_cmd):  # warm the file cache and .pyc files
            time_once(cmd, env)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(time_once(clicksms_cmd, env))
            theirs.append(time_once(bare_cmd, env))

    ours_ms = statistics.median(ours) * 1000
    bare_ms = statistics.median(theirs) * 1000
    print(f"clicksms --version  median {ours_ms:7.1f} ms over {args.runs} runs")
    print(f"bare Typer app      median {bare_ms:7.1f} ms over {args.runs} runs")
    print(f"ratio {ours_ms / bare_ms:.2f}x (goal <= 1.20x)")


if __name__ == "__main__":
    main()
