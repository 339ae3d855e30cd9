"""``clicksms sandbox``: the local Clickatell-compatible server, in the foreground."""

import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class RpcArrays(str, Enum):
    """How the RPC/Encoded server sends array returns (both forms exist in the wild)."""

    inline = "inline"
    multiref = "multiref"


def sandbox_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = 8080,
    ledger: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Append one JSON line per accepted message to this file; started on it "
            "again, the sandbox still knows those messages."
        ),
    ] = None,
    credits: Annotated[
        float,
        typer.Option(min=0, help="Starting balance in credits, before the --ledger's messages."),
    ] = 1000.0,
    session_timeout: Annotated[
        float, typer.Option(min=1, help="Idle seconds before a session expires (ERR 003).")
    ] = 900.0,
    latency: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds added to every answer.")
    ] = 0.0,
    delivery_seconds: Annotated[
        float,
        typer.Option(min=0, help="Seconds a message shows 003 before 004 (delivered)."),
    ] = 5.0,
    coverage: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            metavar="PREFIX=CHARGE",
            help="Route table entry, repeatable: 44=1.5 (credits per part) or 1=none (no route).",
        ),
    ] = None,
    fault: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            metavar="SPEC",
            help="Inject a fault, repeatable; SPEC syntax and kinds are above.",
        ),
    ] = None,
    rpc_arrays: Annotated[
        RpcArrays,
        typer.Option(
            help="How the RPC/Encoded server returns arrays: inline, or as multi-reference "
            "values (href to a multiRef element).",
        ),
    ] = RpcArrays.inline,
) -> None:
    """Run a local Clickatell-compatible SOAP server in the foreground (Ctrl-C stops it).

    It serves both of Clickatell's SOAP servers on one port and one account: Document/Literal
    at /soap/document_literal/webservice and RPC/Encoded at /soap/webservice_vs.php (each
    with its WSDL at ?wsdl).

    \b
        clicksms sandbox --port 8080 --ledger sent.jsonl
        clicksms sandbox --coverage 44=1.5 --coverage 1=none --delivery-seconds 60
        clicksms sandbox --fault drop-after,ops=sendmsg,after=2,times=1
        clicksms sandbox --rpc-arrays multiref

    \b
    --fault SPEC is KIND[,ops=OP+OP][,after=N][,times=N][,seconds=S]
      KIND     latency (seconds= required), drop-before, drop-after, http-500,
               http-503 (seconds= is Retry-After [default: 1]), malformed-xml,
               soap-fault, slow-drip (seconds= between bytes [default: 1]),
               expire-session, err-130 (seconds= until the limit lifts
               [default: 60]), no-credit, err-901
      ops      SOAP operations it applies to, e.g. sendmsg+querymsg [default: all;
               err-130 and no-credit: the ones that send, sendmsg, senditem,
               quicksend, si_push, ind_push, once they passed auth and checks]
      after    let N matching requests through first [default: 0]
      times    hit N requests, then stop [default: until cleared]
    While it runs: GET (list), POST (add: JSON or specs), DELETE (clear)
    http://HOST:PORT/sandbox/faults
    """
    from clicksms.errors import UsageError
    from clicksms.sandbox import parse_coverage, parse_spec
    from clicksms.sandbox.foreground import run_foreground

    if ctx.obj.use_sandbox:
        raise UsageError("`clicksms sandbox` is a sandbox already: drop --sandbox")
    numbers = {
        "--credits": credits,
        "--session-timeout": session_timeout,
        "--latency": latency,
        "--delivery-seconds": delivery_seconds,
    }
    for flag, value in numbers.items():
        if not math.isfinite(value):  # nan passes every range check, inf is no time at all
            raise UsageError(f"{flag} {value}: give a number")

    try:
        routes = parse_coverage(coverage or [])
    except ValueError as exc:
        raise UsageError(f"--coverage: {exc}") from None
    faults = []
    for spec in fault or []:
        try:
            faults.append(parse_spec(spec))
        except ValueError as exc:
            raise UsageError(f"--fault {spec!r}: {exc}") from None

    run_foreground(
        host=host,
        port=port,
        ledger=ledger,
        credits=credits,
        session_timeout=session_timeout,
        latency=latency,
        coverage=routes,
        delivery_seconds=delivery_seconds,
        faults=faults,
        rpc_arrays=rpc_arrays.value,
    )
