"""``clicksms sandbox``: the local Clickatell-compatible server, in the foreground."""

from pathlib import Path
from typing import Annotated, Optional

import typer


def sandbox_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = 8080,
    ledger: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Append one JSON line per accepted message to this file."),
    ] = None,
    credits: Annotated[float, typer.Option(min=0, help="Starting balance in credits.")] = 1000.0,
    session_timeout: Annotated[
        float, typer.Option(min=1, help="Idle seconds before a session expires (ERR 003).")
    ] = 900.0,
    latency: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds added to every answer.")
    ] = 0.0,
) -> None:
    """Run a local Clickatell-compatible SOAP server in the foreground (Ctrl-C stops it).

    \b
        clicksms sandbox --port 8080 --ledger sent.jsonl
    """
    from clicksms.sandbox.foreground import run_foreground

    run_foreground(
        host=host,
        port=port,
        ledger=ledger,
        credits=credits,
        session_timeout=session_timeout,
        latency=latency,
    )
