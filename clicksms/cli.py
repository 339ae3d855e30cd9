"""The Typer app: parse arguments, call the core, hand results to :mod:`clicksms.render`.

Kept light on purpose: importing this module must not load zeep, lxml, requests or
phonenumbers, so ``clicksms --help`` and tab completion stay fast. Core modules are imported
inside the commands that use them.

This one module does without ``from __future__ import annotations``: Typer reads every
annotation at start-up, and string annotations would make it ``eval()`` each one (+15 ms).
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clicksms import __version__
from clicksms.boundary import ClickSmsGroup
from clicksms.errors import ExitCode, UsageError
from clicksms.render import Column, OutputFormat, emit, note
from clicksms.runtime import Runtime

if TYPE_CHECKING:
    from clicksms.send import SendReport

app = typer.Typer(
    cls=ClickSmsGroup,
    name="clicksms",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table for people, json or csv for scripts."),
]
CountryOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--country",
        "-c",
        help="Region for numbers written without a country code, e.g. ZA (env CLICKSMS_COUNTRY).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clicksms {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    endpoint: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="SOAP endpoint URL (env CLICKSMS_ENDPOINT).", show_default=False),
    ] = None,
    api_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--api-id", help="Clickatell API ID (env CLICKSMS_API_ID)."),
    ] = None,
    user: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Clickatell user name (env CLICKSMS_USER)."),
    ] = None,
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(help="Seconds to wait for the gateway (env CLICKSMS_TIMEOUT; default 30)."),
    ] = None,
    allow_insecure_http: Annotated[
        bool,
        typer.Option(
            "--allow-insecure-http", help="Allow a plain http:// endpoint that is not loopback."
        ),
    ] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Run against a throwaway local Clickatell sandbox; nothing is really sent.",
        ),
    ] = False,
    debug: Annotated[  # read from argv by clicksms.boundary, which must know before parsing
        bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Send SMS through Clickatell's SOAP API.

    Credentials come from flags, the environment or a .env file: CLICKSMS_API_ID,
    CLICKSMS_USER, CLICKSMS_PASSWORD. Try it offline first:

    \b
        clicksms --sandbox send 27821234567 --text "hello"
    """
    ctx.obj = Runtime(
        ctx,
        endpoint=endpoint,
        api_id=api_id,
        user=user,
        timeout=timeout,
        allow_insecure_http=allow_insecure_http,
        use_sandbox=sandbox,
    )


@app.command()
def auth(
    ctx: typer.Context,
    status: Annotated[
        bool, typer.Option("--status", help="Show whether a session is stored and its idle age.")
    ] = False,
    logout: Annotated[bool, typer.Option("--logout", help="Forget the stored session.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Log in and store a session ID (never the password) for the other commands.

    The password comes from CLICKSMS_PASSWORD, .env, --password-stdin or a hidden prompt.

    \b
        printf '%s\\n' "$PW" | clicksms auth --password-stdin
    """
    rt: Runtime = ctx.obj
    if status + logout + password_stdin > 1:
        raise UsageError("use only one of --status, --logout and --password-stdin")
    if status:
        raise typer.Exit(_auth_status(rt, output))
    if logout:
        store = rt.store()
        forgotten = store.forget()
        _auth_result(
            {"forgotten": forgotten, "file": str(store.path)},
            "Session forgotten." if forgotten else "No session was stored.",
            output,
        )
        return
    if password_stdin:
        rt.password_from_stdin()
    account = rt.account()
    session = account.authenticate()
    _auth_result(
        {
            "authenticated": True,
            "endpoint": session.endpoint,
            "api_id": session.api_id,
            "user": session.user,
            "file": str(account.store.path),
        },
        f"Authenticated as {session.user} (api_id {session.api_id}) at {session.endpoint}; "
        f"session stored in {account.store.path}",
        output,
    )


def _auth_result(
    row: dict[str, object], sentence: str, output: OutputFormat, to_stdout: bool = False
) -> None:
    """A sentence for people, or the same facts as data for scripts (stdout).

    The sentence goes to stderr when it only confirms an action, to stdout when it is the
    answer the user asked for (``--status``).
    """
    if output is not OutputFormat.table:
        emit([row], [Column(k, k) for k in row], output)
    elif to_stdout:
        typer.echo(sentence)
    else:
        note(sentence)


def _auth_status(rt: Runtime, output: OutputFormat) -> int:
    """Exit 0 when a session is stored that the next command would use, else 3."""
    store = rt.store()
    session = store.load()
    if session is None:
        _auth_result(
            {"stored": False, "file": str(store.path)},
            f"No session stored ({store.path}).",
            output,
            to_stdout=True,
        )
        return ExitCode.AUTH
    settings = rt.settings()
    fresh = session.is_fresh()
    ours = session.matches(settings.endpoint, settings.api_id, settings.user)
    idle = round(session.idle_seconds())
    state = "usable" if fresh and ours else ("expired" if not fresh else "for other settings")
    _auth_result(
        {
            "stored": True,
            "file": str(store.path),
            "endpoint": session.endpoint,
            "api_id": session.api_id,
            "user": session.user,
            "idle_seconds": idle,
            "fresh": fresh,
            "matches_settings": ours,
        },
        f"Session for {session.user} (api_id {session.api_id}) at {session.endpoint}: "
        f"idle {idle // 60}m{idle % 60:02d}s, {state}.",
        output,
        to_stdout=True,
    )
    return ExitCode.OK if fresh and ours else ExitCode.AUTH


@app.command()
def send(
    ctx: typer.Context,
    to: Annotated[
        list[str],
        typer.Argument(
            metavar="NUMBER",
            help="Recipients: +27821234567, 0027…, 27821234567, or national with --country.",
            show_default=False,
        ),
    ],
    text: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--text", "-t", help="Message text; '-' or omitted with a pipe reads stdin."),
    ] = None,
    sender: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--from", "-f", help="Sender ID: up to 16 digits or 11 letters/digits."),
    ] = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Send one text to one or more numbers; one result row per recipient.

    \b
        clicksms send 27821234567 +447911123456 --text "deploy ok"
        echo "deploy ok" | clicksms send 27821234567
    """
    from clicksms.message import prepare
    from clicksms.send import SendReport, check_sender, split_recipients
    from clicksms.send import send as send_messages

    rt: Runtime = ctx.obj
    rt.settings()  # a bad setting is a usage error even if no number turns out valid
    message = prepare(_message_text(text))
    sender_id = check_sender(sender)
    recipients = split_recipients(to, rt.country(country))
    if not recipients.checks:
        raise UsageError("no recipients: give at least one phone number")
    for duplicate in recipients.duplicates:
        note(f"Skipping {duplicate}: same number as an earlier recipient.")
    sent = SendReport(())
    if recipients.valid:
        sent = send_messages(rt.account(), recipients.valid, message, sender_id)
    _show_send(SendReport(recipients.results(sent.results), sent.failure), output)


_STATUS_STYLE = {"accepted": "green", "unknown": "yellow"}
SEND_TABLE = [
    Column("to", "To"),
    Column("status", "Result", lambda status: _STATUS_STYLE.get(status, "red")),
    Column("message_id", "Message ID"),
    Column("error_code", "Code"),
    Column("error", "Error", wrap=True),
]
SEND_FIELDS = [Column(k, k) for k in ("to", "ok", "status", "message_id", "error_code", "error")]


def _show_send(report: "SendReport", output: OutputFormat) -> None:
    from dataclasses import asdict

    columns = SEND_TABLE if output is OutputFormat.table else SEND_FIELDS
    emit([asdict(r) for r in report.results], columns, output)
    if output is OutputFormat.table:
        counts = report.counts()
        note(", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items()) + ".")
    if report.failure is not None:
        raise report.failure  # after the rows: the boundary prints its one line and exit code
    raise typer.Exit(report.exit_code)


def _message_text(text: str | None) -> str:
    """--text wins; '-' or no --text with a pipe reads stdin (one trailing newline dropped)."""
    if text is not None and text != "-":
        return text
    if text is None and _stdin_is_terminal():
        raise UsageError("no message text: pass --text TEXT or pipe the text on stdin")
    data = _read_stdin("message text")
    for ending in ("\r\n", "\n"):  # what echo, printf or a Windows editor put at the end
        if data.endswith(ending):
            return data[: -len(ending)]
    return data


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _read_stdin(what: str) -> str:
    """All of stdin as text, with a clear error for a closed stdin or bytes that are not UTF-8."""
    if sys.stdin is None:
        raise UsageError(f"no {what}: standard input is closed")
    try:
        return sys.stdin.read().removeprefix("\ufeff")  # a BOM from Windows editors
    except UnicodeDecodeError:
        raise UsageError(f"{what} on standard input is not valid UTF-8") from None


@app.command("validate-number")
def validate_number(
    ctx: typer.Context,
    numbers: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(
            metavar="NUMBER",
            help="Numbers to check; read from stdin (one per line) when none given.",
            show_default=False,
        ),
    ] = None,
    country: CountryOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Check numbers offline and show them in Clickatell's form (no gateway call).

    \b
        clicksms validate-number "+27 82 123 4567" "082 123 4567" --country ZA
    """
    from dataclasses import asdict

    from clicksms.errors import outcome_exit_code
    from clicksms.numbers import check_number

    rt: Runtime = ctx.obj
    region = rt.country(country)
    inputs = list(numbers or [])
    if not inputs:
        if _stdin_is_terminal():
            raise UsageError("no numbers: pass them as arguments or one per line on stdin")
        inputs = [line.strip() for line in _read_stdin("numbers").splitlines() if line.strip()]
        if not inputs:
            raise UsageError("no numbers on stdin")
    checks = [check_number(n, region) for n in inputs]
    rows = [asdict(c) for c in checks]
    emit(
        rows,
        [
            Column("input", "Input"),
            Column("valid", "Valid", lambda ok: "green" if ok else "red"),
            Column("number", "Number"),
            Column("region", "Region"),
            Column("type", "Type"),
            Column("error", "Error", wrap=True),
        ],
        output,
    )
    raise typer.Exit(outcome_exit_code(c.valid for c in checks))


@app.command("sandbox")
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


def main() -> None:
    """Console-script entry point."""
    app(prog_name="clicksms")
