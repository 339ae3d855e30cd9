"""Exit codes and the error hierarchy: how each kind of failure ends the process.

Core modules raise a :class:`ClickSmsError` subclass with a one-line, user-facing message; the
CLI boundary (:mod:`clicksms.cli.exits`) prints that line on stderr and exits with the subclass's
code. Results that are data (sends, validations) derive theirs with :func:`outcome_exit_code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses, documented in README's table."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    AUTH = 3
    REJECTED = 4
    NETWORK = 5
    PARTIAL = 6
    INTERRUPTED = 130


class ClickSmsError(Exception):
    """A failure the user can act on; ``str(error)`` is the one line we print."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(ClickSmsError):
    """Bad flags or input detected before any network call."""

    exit_code = ExitCode.USAGE


class AuthError(ClickSmsError):
    """Missing credentials, or the gateway refused who we are (then ``code`` is its ERR code).

    The difference matters to dry runs: no credentials means "preview offline", a refusal
    means the real send would fail too.
    """

    exit_code = ExitCode.AUTH

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class SessionExpired(AuthError):
    """ERR 003: the session went idle; the caller may re-authenticate once and repeat."""


class NetworkError(ClickSmsError):
    """Connection, timeout or TLS trouble: we could not talk to the gateway.

    ``may_have_arrived`` is False only when the request provably never reached the server
    (connection refused, DNS failure, connect timeout), or reached it and was provably turned
    away before anything ran (a SOAP Client fault): then resending cannot duplicate a message.
    ``permanent`` marks a failure that asking again cannot cure (a redirect, an untrusted
    certificate, an HTTP 4xx page, XML refused for safety), so :mod:`clicksms.gateway.retry` does
    not repeat the call. ``retry_after`` is the pause in seconds the server asked for (the
    ``Retry-After`` of an HTTP 503 or 429), if any.
    """

    exit_code = ExitCode.NETWORK

    def __init__(
        self,
        message: str,
        *,
        may_have_arrived: bool = True,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived
        self.permanent = permanent
        self.retry_after = retry_after


class ProtocolError(NetworkError):
    """The server answered something that is not a Clickatell response.

    The request did arrive, so whatever it asked for may have been done, unless
    ``may_have_arrived`` says otherwise (a SOAP Client fault: the request was turned away).
    """


class Interrupted(ClickSmsError):
    """Ctrl-C while requests were going out; the results so far are still reported.

    ``may_have_arrived`` is False when the Ctrl-C came during a retry pause after an attempt
    that provably never reached the gateway (:class:`PauseInterrupted`): nothing is in doubt.
    """

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, *, may_have_arrived: bool = True) -> None:
        super().__init__("interrupted")
        self.may_have_arrived = may_have_arrived


class PauseInterrupted(KeyboardInterrupt):
    """Ctrl-C during a retry pause, saying whether the attempt before it may have arrived.

    Still a KeyboardInterrupt, so every caller stops as on any Ctrl-C; one that reports rows
    reads ``may_have_arrived`` to call them *not sent* rather than *unknown*.
    """

    def __init__(self, *, may_have_arrived: bool) -> None:
        super().__init__()
        self.may_have_arrived = may_have_arrived


class GatewayError(ClickSmsError):
    """The gateway answered ``ERR: nnn`` for a whole request (not per recipient)."""

    exit_code = ExitCode.REJECTED

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{reason} (ERR {code})")
        self.code = code
        self.reason = reason


class ConfigError(ClickSmsError):
    """A setting (endpoint, config dir, session file) is unusable."""

    exit_code = ExitCode.USAGE


def outcome_exit_code(successes: Iterable[bool]) -> ExitCode:
    """0 when everything succeeded, 4 when nothing did, 6 for a mix (README's table)."""
    seen = {bool(ok) for ok in successes}
    if seen == {False}:
        return ExitCode.REJECTED
    if seen == {True, False}:
        return ExitCode.PARTIAL
    return ExitCode.OK


def counts_exit_code(succeeded: int, failed: int) -> ExitCode:
    """:func:`outcome_exit_code` from two counts, for results too many to hold as a list."""
    if failed == 0:
        return ExitCode.OK
    return ExitCode.PARTIAL if succeeded else ExitCode.REJECTED


def unreadable(exc: OSError, where: str, kind: str = "file") -> UsageError:
    """One line for an input file that cannot be opened (``where`` names it for the user)."""
    if isinstance(exc, FileNotFoundError):
        return UsageError(f"{where}: no such file")
    if isinstance(exc, IsADirectoryError):
        return UsageError(f"{where} is a directory, not a {kind}")
    if isinstance(exc, PermissionError):
        return UsageError(f"{where} cannot be read: permission denied")
    return UsageError(f"{where} cannot be read: {exc.strerror or exc}")
