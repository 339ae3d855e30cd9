"""Per-invocation runtime, and the single place where failures become exit codes.

:class:`ClickSmsGroup` wraps every run of the Typer app (real or under ``CliRunner``) so that a
:class:`~clicksms.errors.ClickSmsError`, a usage error, Ctrl-C or a bug each end as one line on
stderr with the documented exit code — a traceback only with ``--debug``.
:class:`Runtime` lazily builds settings, the session store, the account and, for ``--sandbox``,
a throwaway in-process sandbox.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from clicksms.errors import AuthError, ClickSmsError, ExitCode
from clicksms.render import error_line, note

if TYPE_CHECKING:
    from clicksms.account import Account
    from clicksms.config import Settings
    from clicksms.session import SessionStore


class ClickSmsGroup(TyperGroup):
    """Typer's group with one catch point for every error (httpie's ``raw_main`` idea)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except (Exception, KeyboardInterrupt) as exc:
            code = report_failure(exc, debug)
        else:
            code = result if isinstance(result, int) else ExitCode.OK
            if code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into a silent Exit(130)
                error_line("interrupted")
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def report_failure(exc: BaseException, debug: bool) -> int:
    """Print the one line that explains ``exc`` and return its exit code."""
    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        error_line("interrupted")
        return ExitCode.INTERRUPTED
    if _is_click_error(exc):  # Typer may vendor click, so match by shape, not class
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        error_line(f"{exc.format_message()}{hint}")  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, ClickSmsError):
        error_line(str(exc))
        return exc.exit_code
    error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
    return ExitCode.INTERNAL


def _is_click_error(exc: BaseException) -> bool:
    """Usage and parameter errors from click (plain or vendored by Typer)."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


class Runtime:
    """What one invocation needs, built on first use so offline commands stay offline."""

    def __init__(
        self,
        ctx: typer.Context,
        *,
        endpoint: str | None,
        api_id: str | None,
        user: str | None,
        timeout: float | None,
        allow_insecure_http: bool,
        use_sandbox: bool,
        debug: bool,
    ) -> None:
        self._ctx = ctx
        self._flags = {"endpoint": endpoint, "api_id": api_id, "user": user, "timeout": timeout}
        self._allow_insecure_http = allow_insecure_http
        self.use_sandbox = use_sandbox
        self.debug = debug
        self._settings: Settings | None = None
        self._account: Account | None = None
        self._stdin_password: str | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from clicksms.config import load_settings

            settings = load_settings(allow_insecure_http=self._allow_insecure_http, **self._flags)
            if self.use_sandbox:
                settings = self._start_sandbox(settings)
            self._settings = settings
        return self._settings

    def store(self) -> SessionStore:
        from clicksms.session import SessionStore

        return SessionStore(self.settings().config_dir)

    def account(self) -> Account:
        if self._account is None:
            from clicksms.account import Account

            self._account = Account(self.settings(), self._password)
            self._ctx.call_on_close(self._account.close)
        return self._account

    def password_from_stdin(self) -> None:
        """``--password-stdin``: the first line of stdin, read before anything else uses it."""
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise AuthError("--password-stdin read an empty line: pipe the password in")
        self._stdin_password = line

    def _password(self) -> str | None:
        if self._stdin_password:
            return self._stdin_password
        if self.settings().password:
            return self.settings().password
        if sys.stdin.isatty():
            import getpass

            return getpass.getpass("Clickatell password: ") or None
        return None

    def _start_sandbox(self, settings: Settings) -> Settings:
        """Point everything at a fresh in-process sandbox and a temporary config dir."""
        import secrets
        import tempfile
        from dataclasses import replace
        from pathlib import Path

        from clicksms.sandbox import Sandbox, SandboxConfig

        password = secrets.token_urlsafe(16)
        config = SandboxConfig(host="127.0.0.1", port=0, password=password)
        sandbox = Sandbox(config).start()
        self._ctx.call_on_close(sandbox.stop)
        config_dir = tempfile.TemporaryDirectory(prefix="clicksms-sandbox-")
        self._ctx.call_on_close(config_dir.cleanup)
        note(f"Sandbox at {sandbox.endpoint}: nothing is really sent.")
        return replace(
            settings,
            endpoint=sandbox.endpoint,
            api_id=str(config.api_id),
            user=config.user,
            password=password,
            config_dir=Path(config_dir.name),
        )
