"""The single place where failures become exit codes.

:class:`ClickSmsGroup` wraps every run of the Typer app (real or under ``CliRunner``) so that a
:class:`~clicksms.errors.ClickSmsError`, a usage error, Ctrl-C or a bug each end as one line on
stderr with the documented exit code, and a traceback only with ``--debug``.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from clicksms.cli.render import error_line, set_quiet
from clicksms.cli.wording import flag_of, speak_plainly
from clicksms.errors import ClickSmsError, ExitCode


class ClickSmsGroup(TyperGroup):
    """Typer's group with one catch point for every error (httpie's ``raw_main`` idea), whose
    parameters read in clicksms's words (:mod:`clicksms.cli.wording`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        speak_plainly(self)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = self._wants_debug(argv)
        set_quiet(False)  # -q sets it for this run only (CliRunner runs many in one process)
        previous = _interrupt_on_sigterm()
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except (Exception, KeyboardInterrupt) as exc:
            code = report_failure(exc, debug)
        else:
            code = result if isinstance(result, int) else ExitCode.OK
            if code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into a silent Exit(130)
                error_line("interrupted")
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        if standalone_mode:
            sys.exit(int(code))
        return int(code)

    def _wants_debug(self, argv: list[str]) -> bool:
        """``--debug`` among the global options, known even when parsing fails later."""
        for token in argv:
            if token == "--debug":
                return True
            if token == "--" or token in self.commands:
                return False
        return False


def _interrupt_on_sigterm() -> Any:
    """Treat SIGTERM (a cancelled CI job, ``kill``) like Ctrl-C: report what was sent, exit 130.

    Returns the previous handler to restore, or None where handlers cannot be set.
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def report_failure(exc: BaseException, debug: bool) -> int:
    """Print the one line that explains ``exc`` and return its exit code."""
    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        error_line("interrupted")
        return ExitCode.INTERRUPTED
    if _is_click_error(exc):  # Typer may vendor click, so match by shape, not class
        return _report_usage(exc)
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, ClickSmsError):
        error_line(str(exc))
        return exc.exit_code
    hint = "" if debug else " (run with --debug for details)"
    error_line(f"internal error: {type(exc).__name__}: {exc}{hint}")
    return ExitCode.INTERNAL


def _report_usage(exc: BaseException) -> int:
    """Usage errors in one line; plain ``clicksms`` shows the help instead."""
    code = int(exc.exit_code)  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        sys.stderr.write(exc.format_message() + "\n")  # type: ignore[attr-defined]
        return code
    message = _in_our_words(exc)
    option = getattr(exc, "option_name", None)
    if ctx is not None and ctx.parent is not None and option in _options_of(ctx.find_root()):
        message += f" ({option} goes before the command: clicksms {option} … {ctx.info_name} …)"
    elif ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    error_line(message)
    return code


def _in_our_words(exc: BaseException) -> str:
    """click's usage sentences that read like a library, said the way clicksms says things."""
    message: str = exc.format_message()  # type: ignore[attr-defined]
    kind = type(exc).__name__
    option = getattr(exc, "option_name", None)
    if kind == "BadOptionUsage" and option and message.endswith("requires an argument."):
        return f"{option} needs a value"
    if kind == "BadOptionUsage" and option and "does not take a value" in message:
        return f"{option} takes no value"
    param = getattr(exc, "param", None)
    if kind == "MissingParameter" and param is not None:
        return f"{flag_of(param)} is required"
    return message


def _is_click_error(exc: BaseException) -> bool:
    """Usage and parameter errors from click (plain or vendored by Typer)."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _options_of(ctx: typer.Context) -> set[str]:
    """Every option name the context's command accepts (``--endpoint``, ``-h``, …)."""
    return {name for param in ctx.command.params for name in getattr(param, "opts", ())}
