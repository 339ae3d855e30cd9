"""``clicksms auth``: log in, show or forget the stored session."""

from typing import TYPE_CHECKING, Annotated

import typer

from clicksms.cli.context import Invocation
from clicksms.cli.params import OutputOption, QuietOption
from clicksms.cli.render import OutputFormat, emit_object, note
from clicksms.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient


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
    quiet: QuietOption = False,
) -> None:
    """Log in and store a session ID (never the password) for the other commands.

    The password comes from CLICKSMS_PASSWORD, .env, --password-stdin or a hidden prompt.
    With --no-session there is no session: auth has the gateway check the credentials
    (one getbalance) and stores nothing.

    \b
        printf '%s\\n' "$PW" | clicksms auth --password-stdin
    """
    invocation: Invocation = ctx.obj
    if status + logout + password_stdin > 1:
        raise UsageError("use only one of --status, --logout and --password-stdin")
    if (status or logout) and invocation.no_session():
        raise UsageError(
            f"--{'status' if status else 'logout'} is about the stored session, which "
            "--no-session never reads or writes: run it without --no-session"
        )
    if status:
        raise typer.Exit(_auth_status(invocation, output))
    if logout:
        store = invocation.store()
        forgotten = store.forget()
        _auth_result(
            {"forgotten": forgotten, "file": str(store.path)},
            "Session forgotten." if forgotten else "No session was stored.",
            output,
        )
        return
    if password_stdin:
        invocation.password_from_stdin()
    account = invocation.gateway()
    if account.store is None:
        _check_only(account, output)
        return
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


def _check_only(account: "GatewayClient", output: OutputFormat) -> None:
    """auth --no-session: the gateway checks the credentials; nothing is stored."""
    account.check_credentials()
    s = account.settings
    _auth_result(
        {
            "authenticated": True,
            "endpoint": s.endpoint,
            "api_id": s.api_id,
            "user": s.user,
            "file": None,
        },
        f"Credentials accepted for {s.user} (api_id {s.api_id}) at {s.endpoint}; "
        "nothing stored (--no-session sends them with every request).",
        output,
    )


def _auth_result(
    row: dict[str, object], sentence: str, output: OutputFormat, to_stdout: bool = False
) -> None:
    """A sentence for people, or the same facts as one object for scripts (stdout).

    The sentence goes to stderr when it only confirms an action, to stdout when it is the
    answer the user asked for (``--status``).
    """
    if output is not OutputFormat.table or to_stdout:
        emit_object(row, sentence, output)
    else:
        note(sentence)


def _auth_status(invocation: Invocation, output: OutputFormat) -> int:
    """Exit 0 when a session is stored that the next command would use, else 3."""
    store = invocation.store()
    session = store.load()
    if session is None:
        _auth_result(
            {"stored": False, "file": str(store.path)},
            f"No session stored ({store.path}).",
            output,
            to_stdout=True,
        )
        return ExitCode.AUTH
    settings = invocation.settings()
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
