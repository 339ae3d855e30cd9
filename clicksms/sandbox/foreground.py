"""``clicksms sandbox``: run the sandbox in the foreground and say how to point clicksms at it."""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import time
from pathlib import Path
from typing import TextIO

from clicksms.sandbox import (
    CONTROL_PATH,
    CREDITS_PATH,
    DEFAULT_COVERAGE,
    ENDPOINT_PATH,
    Fault,
    LedgerError,
    Sandbox,
    SandboxConfig,
)
from clicksms.sandbox.ledger import open_for_append
from clicksms.sandbox.spec import format_credit

#: Lets a demo or a test fix the sandbox password without putting it on the command line.
PASSWORD_ENV = "CLICKSMS_SANDBOX_PASSWORD"


def run_foreground(
    *,
    host: str,
    port: int,
    ledger: Path | None,
    credits: float,
    session_timeout: float,
    latency: float,
    coverage: dict[str, float | None] | None = None,
    delivery_seconds: float = 5.0,
    faults: list[Fault] | None = None,
    rpc_arrays: str = "inline",
) -> None:
    """Serve until Ctrl-C, after printing the endpoint and matching credentials.

    ``coverage`` (e.g. from ``parse_coverage``) is laid over the default route table rather
    than replacing it, so the documented magic number 27820000114 stays unroutable unless
    the user routes it explicitly. ``faults`` (from ``parse_spec``) are active from the
    first request.
    """
    from clicksms.errors import UsageError

    if ledger is not None:
        try:  # fail now, not on the first accepted message
            os.close(open_for_append(ledger))
        except OSError as exc:
            raise UsageError(f"cannot write the ledger {ledger}: {exc.strerror}") from None
    password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(12)
    try:
        config = SandboxConfig(
            host=host,
            port=port,
            password=password,
            credits=credits,
            session_timeout=session_timeout,
            latency=latency,
            ledger_path=ledger,
            coverage={**DEFAULT_COVERAGE, **(coverage or {})},
            delivery_seconds=delivery_seconds,
            rpc_arrays=rpc_arrays,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:  # a sandbox on an existing ledger takes up the messages it holds
        sandbox = Sandbox(config)
    except (OSError, LedgerError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise UsageError(f"cannot read the ledger {ledger}: {why}") from None
    sandbox.faults.extend(faults or [])
    try:
        sandbox.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    out = sys.stdout
    if host in ("", "0.0.0.0", "::"):  # every interface: say so, and how this machine gets in
        where = "every IPv4 interface" if host != "::" else "every interface"
        out.write(f"Clickatell sandbox listening on {where}, port {sandbox.port}; ")
        out.write(f"from this machine: {sandbox.endpoint}\n")
    else:
        out.write(f"Clickatell sandbox listening on {sandbox.endpoint}\n")
    out.write("Point clicksms at it with:\n")
    # Quoted for the shell: a password or user with spaces or $ must paste as it is.
    out.write(f"  export CLICKSMS_ENDPOINT={shlex.quote(sandbox.endpoint)}\n")
    out.write(f"  export CLICKSMS_API_ID={config.api_id}\n")
    out.write(f"  export CLICKSMS_USER={shlex.quote(config.user)}\n")
    out.write(f"  export CLICKSMS_PASSWORD={shlex.quote(password)}\n")
    arrays = "inline" if rpc_arrays == "inline" else "as multi-reference values"
    out.write(f"RPC/Encoded server (same account, arrays {arrays}): {sandbox.rpc_endpoint}\n")
    if ledger is not None:
        _say_restored(out, sandbox, ledger)
        out.write(f"Accepted messages are appended to {ledger}\n")
    base = sandbox.endpoint.removesuffix(ENDPOINT_PATH)
    for fault in faults or []:
        out.write(f"Fault injected: {fault.spec}\n")
    out.write(f"Faults: GET, POST or DELETE {base + CONTROL_PATH}\n")
    out.write(f"Top up (e.g. after ERR 301): curl --data 500 {base + CREDITS_PATH}\n")
    out.write(
        "Restart with the same port and password: "
        f"{PASSWORD_ENV}={shlex.quote(password)} clicksms sandbox --port {sandbox.port}"
        f"{_restart_flags(ledger, rpc_arrays)}\n"
    )
    out.write("Press Ctrl-C to stop.\n")
    out.flush()
    try:
        while True:  # the server runs in its thread; the main thread only waits for Ctrl-C
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    sys.stderr.write("Sandbox stopped.\n")


def _restart_flags(ledger: Path | None, rpc_arrays: str) -> str:
    """The flags a restart needs to be the same sandbox to its clients."""
    flags = "" if ledger is None else f" --ledger {shlex.quote(str(ledger))}"
    return flags if rpc_arrays == "inline" else f"{flags} --rpc-arrays {rpc_arrays}"


def _say_restored(out: TextIO, sandbox: Sandbox, ledger: Path) -> None:
    """What the ledger brought back, so a restart that remembers is never a surprise."""
    restored = sandbox.gateway.restored
    if restored.dropped:
        out.write(
            f"Dropped the incomplete last line of {ledger} ({restored.dropped} bytes), "
            "left by an interrupted write\n"
        )
    if restored.records:
        out.write(
            f"Restored {len(restored.records)} message(s) from {ledger}; "
            f"balance {format_credit(sandbox.balance())} credits\n"
        )
