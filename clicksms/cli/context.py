"""What one invocation needs, built on first use so offline commands stay offline.

:class:`Invocation` is the Typer context object: it resolves settings (with the profile
``--profile`` names), the session store, the account and the password, and for ``--sandbox``
starts a throwaway in-process sandbox, once a command has checked its input and needs it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clicksms.cli.params import secret_line, stdin_is_terminal
from clicksms.cli.render import note, warn
from clicksms.errors import AuthError, ConfigError

#: How to run bulk where the config dir is unusable (read-only, not a directory, no HOME).
JOURNAL_HINT = "pass --journal PATH for the bulk journal, or set CLICKSMS_CONFIG_DIR"

#: Where --sandbox's settings are checked before it starts (and so has no port yet).
_NOT_STARTED = "http://127.0.0.1/soap/document_literal/webservice"

if TYPE_CHECKING:
    from clicksms.bulk.journal import Journal
    from clicksms.config import Settings, SettingsSource
    from clicksms.gateway.client import GatewayClient
    from clicksms.gateway.session import SessionStore


class Invocation:
    """What one invocation needs, built on first use so offline commands stay offline."""

    def __init__(
        self,
        ctx: typer.Context,
        *,
        endpoint: str | None,
        api_id: str | None,
        user: str | None,
        timeout: float | None,
        connect_timeout: float | None,
        retries: int | None,
        allow_insecure_http: bool,
        use_sandbox: bool,
        soap_style: str | None = None,
        no_session: bool = False,
        profile: str | None = None,
    ) -> None:
        self._ctx = ctx
        self._flags = {"endpoint": endpoint, "api_id": api_id, "user": user}
        self._soap_style = soap_style
        self._no_session = no_session
        self._profile = profile
        self._client_flags = {
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "retries": retries,
        }
        self._allow_insecure_http = allow_insecure_http
        self.use_sandbox = use_sandbox
        self._source: SettingsSource | None = None
        self._settings: Settings | None = None
        self._sandbox_dir: Path | None = None
        self._gateway: GatewayClient | None = None
        self._stdin_password: str | None = None
        self._stdin_was_terminal = False
        self._may_prompt = True
        self._consented = False  # to a .env endpoint receiving the password (asked once)
        self._config_dir_noted = False

    def settings(self) -> Settings:
        """Every setting, resolved and checked. Under --sandbox this starts the sandbox, so a
        command checks its input first (:meth:`check_settings` checks without starting it)."""
        if self._settings is None:
            from clicksms.config import load_settings

            if self.use_sandbox:
                self._settings = self._start_sandbox()
            else:
                self._settings = load_settings(
                    allow_insecure_http=self._allow_insecure_http,
                    soap_style=self._soap_style,
                    no_session=self._no_session,
                    profile=self._profile,
                    source=self.source(),
                    **self._flags,
                    **self._client_flags,
                )
                self._note_config_dir(self._settings.config_dir_source)
        return self._settings

    def check_settings(self) -> None:
        """A bad setting is reported now, before anything is printed or started."""
        if self.use_sandbox and self._settings is None:
            self._sandbox_settings(_NOT_STARTED, password="")
        else:
            self.settings()

    def source(self) -> SettingsSource:
        """Flags aside, where settings come from: the environment, ./.env and the profile
        that they or ``--profile`` name (read once; never under --sandbox)."""
        if self._source is None:
            from clicksms.config import SettingsSource

            source = SettingsSource()
            profile = source.use_profile(self._profile)
            if profile is not None and source.profile_source == ".env":
                note(f"Using profile {profile.name} from ./.env.")
            self._source = source
        return self._source

    def soap_style(self) -> str:
        """The SOAP style, "document" or "rpc", without reading or checking other settings."""
        if self._settings is not None:
            return self._settings.soap_style
        from clicksms.config import ENV_ENDPOINT, ENV_SOAP_STYLE, resolve_soap_style

        if self.use_sandbox:
            return resolve_soap_style(self._soap_style, None)
        source = self.source()
        endpoint = source.get(ENV_ENDPOINT, self._flags["endpoint"])
        style, origin = source.lookup(ENV_SOAP_STYLE, self._soap_style)
        return resolve_soap_style(style, endpoint, source.where(ENV_SOAP_STYLE, origin))

    def no_session(self) -> bool:
        """Per-request credentials (--no-session, CLICKSMS_NO_SESSION or the profile)."""
        if self._settings is not None:
            return self._settings.no_session
        if self.use_sandbox:
            return self._no_session
        from clicksms.config import resolve_no_session

        return resolve_no_session(self._no_session, self.source())

    def profile_name(self) -> str | None:
        """The profile's name (for its session file), without reading config.toml:
        ``auth --logout`` must work even when the file is broken."""
        if self.use_sandbox:
            self._refuse_under_sandbox()
            return None
        if self._settings is not None:
            return self._settings.profile
        from clicksms.config import ENV_PROFILE, SettingsSource
        from clicksms.profiles import check_profile_name

        name = SettingsSource().get(ENV_PROFILE, self._profile)
        return None if name is None or not name.strip() else check_profile_name(name.strip())

    def journal_path(self, given: Path | None) -> Path:
        """``--journal``, else journal.sqlite3 in the config dir (the throwaway one under
        --sandbox); a config dir that cannot be had is an error that names ``--journal``."""
        from clicksms.bulk.journal import default_journal_path

        if given is not None:
            return given
        try:
            config_dir = self.config_dir()
        except ConfigError as exc:
            raise ConfigError(f"{exc}; {JOURNAL_HINT}") from None
        if not config_dir.is_absolute():  # HOME unset, and no home in the user database
            raise ConfigError(f"no config dir to keep the bulk journal in; {JOURNAL_HINT}")
        return default_journal_path(config_dir)

    def open_journal(self, given: Path | None) -> Journal:
        """The bulk journal (:meth:`journal_path`); one that cannot be opened where the
        config dir is says how to put it elsewhere."""
        from clicksms.bulk.journal import Journal

        path = self.journal_path(given)
        try:
            journal = Journal(path)
        except ConfigError as exc:
            if given is not None:
                raise
            raise type(exc)(f"{exc}; {JOURNAL_HINT}") from None
        self._ctx.call_on_close(journal.close)  # after the rows are shown, before exit
        return journal

    def config_dir(self) -> Path:
        """Where sessions and the journal live; only the config-dir setting is resolved
        unless the settings are loaded already (``auth --logout`` must work when another
        setting is broken). Under --sandbox, a throwaway one (the sandbox need not run)."""
        if self.use_sandbox:
            if self._sandbox_dir is None:
                import tempfile

                folder = tempfile.TemporaryDirectory(prefix="clicksms-sandbox-")
                self._ctx.call_on_close(folder.cleanup)
                self._sandbox_dir = Path(folder.name)
            return self._sandbox_dir
        if self._settings is not None:
            return self._settings.config_dir
        from clicksms.config import locate_config_dir

        path, source = locate_config_dir()
        self._note_config_dir(source)
        return path

    def store(self) -> SessionStore:
        """The session file (a profile's own, with a profile)."""
        from clicksms.gateway.session import SessionStore

        return SessionStore(self.config_dir(), self.profile_name())

    def _note_config_dir(self, source: str) -> None:
        """A .env in the working directory moving sessions and the journal is said aloud."""
        if source == ".env" and not self._config_dir_noted:
            from clicksms.config import ENV_CONFIG_DIR, SettingsSource

            self._config_dir_noted = True
            value = SettingsSource().dotenv().get(ENV_CONFIG_DIR)
            note(f"Using {ENV_CONFIG_DIR}={value} from ./.env.")

    def country(self, flag: str | None) -> str | None:
        """The region for national numbers: --country, else (outside --sandbox) the settings."""
        from clicksms.config import ENV_COUNTRY
        from clicksms.message.numbers import check_country

        if self.use_sandbox:
            return check_country(flag)
        source = self.source()
        value, origin = source.lookup(ENV_COUNTRY, flag)
        where = source.where(ENV_COUNTRY, origin)
        return check_country(value) if where is None else check_country(value, where)

    def sender(self, flag: str | None) -> str | None:
        """The sender ID: --from, else (outside --sandbox) CLICKSMS_FROM, .env or the profile."""
        from clicksms.config import ENV_SENDER
        from clicksms.send import check_sender

        if self.use_sandbox:
            return check_sender(flag)
        source = self.source()
        value, origin = source.lookup(ENV_SENDER, flag)
        named = {"environment": ENV_SENDER, ".env": f"{ENV_SENDER} in ./.env"}.get(origin)
        return check_sender(value, source.where(ENV_SENDER, origin) or named)

    def gateway(self, *, prompt: bool = True) -> GatewayClient:
        """The gateway client for this invocation; ``prompt=False`` never asks for a password."""
        self._may_prompt = self._may_prompt and prompt
        if self._gateway is None:
            from clicksms.gateway.client import GatewayClient

            self._gateway = GatewayClient(self.settings(), self._password, on_warning=warn)
            self._ctx.call_on_close(self._gateway.close)
        return self._gateway

    def password_from_stdin(self) -> None:
        """``--password-stdin``: the first line of stdin; on a terminal, typed without echo."""
        if sys.stdin is None:
            raise AuthError("--password-stdin: standard input is closed")
        tty = sys.stdin.isatty()
        line = _prompt_password() if tty else _password_line()
        if not line:
            raise AuthError("--password-stdin read an empty line: pipe the password in")
        self._stdin_password = line
        self._stdin_was_terminal = tty

    def _password(self) -> str | None:
        """--password-stdin, else CLICKSMS_PASSWORD / .env, else a hidden prompt on a terminal.

        Whatever its source, it goes only to an endpoint the user chose, or one they confirm.
        """
        from clicksms.config import check_credential

        settings = self.settings()
        if self.use_sandbox:
            return settings.password
        if self._stdin_password:
            password, source, where = self._stdin_password, "stdin", "--password-stdin"
        elif settings.password:
            source = settings.password_source
            where = "CLICKSMS_PASSWORD" + ("" if source == "environment" else " in ./.env")
            password = settings.password
        elif self._may_prompt and stdin_is_terminal():
            self._consent(settings, "prompt")  # before the user types anything
            password, source, where = _prompt_password(), "prompt", "what you typed"
        else:
            return None
        check_credential(password, "password", where)
        self._consent(settings, source)
        return password

    def _consent(self, settings: Settings, source: str) -> None:
        """Refuse to send the password to an endpoint ./.env chose, unless the user says yes
        on a terminal (once per invocation)."""
        from clicksms.config import password_destination_problem

        problem = password_destination_problem(settings, source)
        if problem is None or self._consented:
            return
        fix = "set CLICKSMS_ENDPOINT in the environment or use --endpoint"
        piped = source == "stdin" and not self._stdin_was_terminal
        if not (self._may_prompt and stdin_is_terminal()) or piped:
            raise ConfigError(f"{problem}: {fix}")
        if not typer.confirm(f"{problem}. Send it there?", default=False, err=True):
            raise ConfigError(f"the password was not sent to {settings.endpoint}: {fix}")
        self._consented = True

    def _refuse_under_sandbox(self) -> None:
        """--sandbox brings its own endpoint and account: flags that choose others are refused."""
        from clicksms.errors import UsageError

        if self._flags["endpoint"] is not None:
            raise UsageError("--sandbox runs its own endpoint: drop --endpoint")
        if self._profile is not None:
            raise UsageError("--sandbox runs its own account: drop --profile")

    def _sandbox_settings(self, endpoint: str, password: str) -> Settings:
        """The settings --sandbox runs with: its endpoint and password, checked like any.

        The user's environment and .env are not read at all: a demo must work whatever they
        say. ``--user``/``--api-id`` on the command line still apply, so the sandbox's
        ``frozen`` user and unknown API IDs can be tried.
        """
        from clicksms.config import ENV_PASSWORD, SettingsSource, load_settings
        from clicksms.sandbox import SandboxConfig

        self._refuse_under_sandbox()
        defaults = SandboxConfig()
        api_id, user = self._flags["api_id"], self._flags["user"]
        return load_settings(  # the usual checks, on the flags alone
            endpoint=endpoint,
            api_id=str(defaults.api_id) if api_id is None else api_id,
            user=defaults.user if user is None else user,
            **self._client_flags,
            config_dir=str(self.config_dir()),
            soap_style=self._soap_style,
            no_session=self._no_session,
            source=SettingsSource(environ={ENV_PASSWORD: password}, read_dotenv=False),
        )

    def _start_sandbox(self) -> Settings:
        """Point everything at a fresh in-process sandbox, once every flag is checked."""
        import secrets

        from clicksms.config import resolve_soap_style
        from clicksms.sandbox import Sandbox, SandboxConfig

        self._sandbox_settings(_NOT_STARTED, password="")
        password = secrets.token_urlsafe(16)
        sandbox = Sandbox(SandboxConfig(host="127.0.0.1", port=0, password=password)).start()
        self._ctx.call_on_close(sandbox.stop)
        endpoint = sandbox.endpoint
        if resolve_soap_style(self._soap_style, None) == "rpc":
            endpoint = sandbox.rpc_endpoint  # its RPC/Encoded server
        settings = self._sandbox_settings(endpoint, password)
        note(f"Sandbox at {endpoint}: nothing is really sent.")
        return settings


def _prompt_password() -> str:
    password = secret_line("password", "Clickatell password: ", AuthError)
    if not password:
        raise AuthError("empty password entered")
    return password


def _password_line() -> str:
    return secret_line("password", "", AuthError).rstrip("\r\n")
