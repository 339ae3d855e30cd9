"""The Typer app: global options, and the table of the :mod:`clicksms.cli` package's commands.

Kept light on purpose: importing this module must not load zeep, lxml, requests or
phonenumbers, so ``clicksms --help`` and tab completion stay fast. Core modules are imported
inside the commands that use them, and a command's own module only when that command is run,
completed or listed (:data:`COMMANDS`, :mod:`clicksms.cli.lazy`).

This module does without ``from __future__ import annotations``: Typer reads every
annotation at start-up, and string annotations would make it ``eval()`` each one (+15 ms).
"""

import contextlib
import sys
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from clicksms import __version__
from clicksms.cli.context import Invocation
from clicksms.cli.exits import ClickSmsGroup
from clicksms.cli.lazy import LazyCommands
from clicksms.cli.profiles import profile_names

#: Allocations of objects Python's cyclic collector tracks (net of those freed) between two
#: collections of its young generation; Python's default is 700. See :func:`main`.
GC_THRESHOLD = 10_000

#: Every command, in the order ``clicksms --help`` lists them: its name, and what implements
#: it as ``"module:name"`` in :mod:`clicksms.cli`: a function (a command), or a ``typer.Typer``
#: (a command with subcommands of its own, as ``push``). Adding a command is adding its line.
COMMANDS = {
    "auth": "auth:auth",
    "send": "send:send",
    "bulk": "bulk:bulk",
    "jobs": "jobs:jobs",
    "validate-number": "numbers:validate_number",
    "status": "tracking:status",
    "cancel": "tracking:cancel",
    "charge": "tracking:charge",
    "balance": "queries:balance",
    "coverage": "queries:coverage",
    "ping": "queries:ping",
    "topup": "topup:topup",
    "sandbox": "sandbox:sandbox_command",
    "completion": "completion:completion",
    "profiles": "profiles:list_profiles",
    "push": "push:app",
}


class ClickSmsApp(ClickSmsGroup):
    """The root group, whose commands are those of :data:`COMMANDS`, each built when needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMANDS)


app = typer.Typer(
    cls=ClickSmsApp,
    name="clicksms",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class SoapStyle(str, Enum):
    """Clickatell's two SOAP servers (README: "Document/Literal or RPC/Encoded")."""

    document = "document"
    rpc = "rpc"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clicksms {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    endpoint: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            metavar="URL",
            help="SOAP endpoint URL (env CLICKSMS_ENDPOINT).  [default: Clickatell's "
            "endpoint for the --soap-style]",
            show_default=False,
        ),
    ] = None,
    api_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--api-id", metavar="ID", help="Clickatell API ID (env CLICKSMS_API_ID)."),
    ] = None,
    user: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(metavar="NAME", help="Clickatell user name (env CLICKSMS_USER)."),
    ] = None,
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            metavar="SECONDS",
            help="Seconds each request may take, sending it and the whole answer "
            "(env CLICKSMS_TIMEOUT).  [default: 30]",
            show_default=False,
        ),
    ] = None,
    connect_timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--connect-timeout",
            metavar="SECONDS",
            help="Seconds to open a connection: TCP, proxy tunnel, TLS "
            "(env CLICKSMS_CONNECT_TIMEOUT).  [default: 10]",
            show_default=False,
        ),
    ] = None,
    retries: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--retries",
            metavar="N",
            help="Extra attempts for calls safe to repeat, 0 to 10 (env CLICKSMS_RETRIES).  "
            "[default: 3]",
            show_default=False,
        ),
    ] = None,
    soap_style: Annotated[
        Optional[SoapStyle],  # noqa: UP045
        typer.Option(
            "--soap-style",
            case_sensitive=False,
            help="Clickatell's SOAP server: document (Document/Literal) or rpc (RPC/Encoded) "
            "(env CLICKSMS_SOAP_STYLE).  [default: rpc for an endpoint ending in "
            "webservice_vs.php, else document]",
            show_default=False,
        ),
    ] = None,
    no_session: Annotated[
        bool,
        typer.Option(
            "--no-session",
            help="Send the API ID, user and password with every request: no auth, no session "
            "file (env CLICKSMS_NO_SESSION=1; for CI and cron).",
        ),
    ] = False,
    profile: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--profile",
            metavar="NAME",
            help="Settings from [profiles.NAME] in config.toml (env CLICKSMS_PROFILE); "
            "flags, the environment and .env still win.",
            autocompletion=profile_names,
        ),
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
    debug: Annotated[  # read from argv by clicksms.cli.exits, which must know before parsing
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
    ctx.obj = Invocation(
        ctx,
        endpoint=endpoint,
        api_id=api_id,
        user=user,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        allow_insecure_http=allow_insecure_http,
        use_sandbox=sandbox,
        soap_style=None if soap_style is None else soap_style.value,
        no_session=no_session,
        profile=profile,
    )


def main() -> None:
    """Console-script entry point: run the command, then end the process at once.

    Python's own teardown frees every object of Typer, rich, zeep and lxml one by one: 0.1 to
    0.2 s, as long as a whole one-shot send, and nothing a finished command needs. By the time
    the app returns, click has closed the command's context (journal and gateway closed, a
    --sandbox stopped and its folder removed) and every write is committed; what is left is
    to flush the output, shut logging down as a normal exit would, and exit with the code.

    The cyclic collector's young generation is collected less often (GC_THRESHOLD): a bulk
    run builds a few objects per row that live as long as their batch, and the default had
    the collector scan them over and over, about 160 times for one text to 10 000 numbers.
    Garbage that is not a cycle is still freed at once, so memory stays flat.
    """
    import gc
    import os

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        app(prog_name="clicksms")
        code = 0
    except SystemExit as done:
        code = _exit_status(done.code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader that left (| head) is not an error
            stream.flush()
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    os._exit(code)


def _exit_status(code: object) -> int:
    """What ``sys.exit(code)`` would end the process with (a message is printed, then 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
