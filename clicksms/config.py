"""Settings from command-line flags > environment > ``.env`` in the working directory.

The ``.env`` file is read with python-dotenv but never copied into ``os.environ``, so real
environment variables always win and nothing leaks between in-process invocations.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from clicksms.errors import ConfigError

DEFAULT_ENDPOINT = "https://api.clickatell.com/soap/document_literal/webservice"
#: Clickatell's RPC/Encoded server (the Visual Studio flavour of its WSDL, API.md §1).
RPC_ENDPOINT = "https://api.clickatell.com/soap/webservice_vs.php"
SOAP_STYLES = ("document", "rpc")
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 0.5
#: Seconds between a request that may have left and a querymsg about its client message ID:
#: Clickatell does not say how soon it knows one, and ERR 104 read too early would send a
#: message twice (see clicksms.bulk.sender.reconcile).
DEFAULT_QUERY_DELAY = 10.0
MAX_QUERY_DELAY = 300.0

ENV_API_ID = "CLICKSMS_API_ID"
ENV_USER = "CLICKSMS_USER"
ENV_PASSWORD = "CLICKSMS_PASSWORD"
ENV_ENDPOINT = "CLICKSMS_ENDPOINT"
ENV_CONFIG_DIR = "CLICKSMS_CONFIG_DIR"
ENV_COUNTRY = "CLICKSMS_COUNTRY"
ENV_TIMEOUT = "CLICKSMS_TIMEOUT"
ENV_CONNECT_TIMEOUT = "CLICKSMS_CONNECT_TIMEOUT"
ENV_RETRIES = "CLICKSMS_RETRIES"
ENV_RETRY_DELAY = "CLICKSMS_RETRY_DELAY"
ENV_QUERY_DELAY = "CLICKSMS_QUERY_DELAY"
ENV_SOAP_STYLE = "CLICKSMS_SOAP_STYLE"
ENV_NO_SESSION = "CLICKSMS_NO_SESSION"

#: The flag that sets each variable, to name it when a flag is given but empty.
_FLAGS = {
    ENV_ENDPOINT: "--endpoint",
    ENV_API_ID: "--api-id",
    ENV_USER: "--user",
    ENV_COUNTRY: "--country",
    ENV_TIMEOUT: "--timeout",
    ENV_CONNECT_TIMEOUT: "--connect-timeout",
    ENV_RETRIES: "--retries",
    ENV_SOAP_STYLE: "--soap-style",
}
_MAX_TIMEOUT = 3600.0
_MAX_RETRIES = 10
#: Settings whose empty value is a mistake rather than "the default": an empty endpoint used
#: to mean Clickatell's production endpoint, silently.
_NOT_EMPTY = frozenset({ENV_ENDPOINT})
#: What SOAP's XML cannot carry: control characters other than tab and line ends, lone
#: surrogates (bytes that were not UTF-8, as Python keeps them) and the two non-characters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: No retry pause is longer (clicksms.gateway.retry caps them), so a larger first pause means
#: nothing.
MAX_RETRY_DELAY = 8.0


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach the gateway. The password never appears in repr."""

    endpoint: str
    api_id: str | None
    user: str | None
    password: str | None = field(repr=False)
    config_dir: Path
    timeout: float  # per exchange: writing the request and reading the whole answer
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retries: int = DEFAULT_RETRIES  # extra attempts for a call that is safe to repeat
    retry_delay: float = DEFAULT_RETRY_DELAY  # base of the exponential backoff
    query_delay: float = DEFAULT_QUERY_DELAY  # before asking about a request left in flight
    # Where three settings came from ("flag", "environment", ".env" or "default"): a .env in
    # the working directory may not take a password it did not give, nor move the config dir
    # without a word.
    endpoint_source: str = "default"
    password_source: str = "default"
    config_dir_source: str = "default"
    soap_style: str = "document"  # which of Clickatell's SOAP servers: "document" or "rpc"
    # Per-request credentials: every request carries api_id, user and password; no auth, and
    # no session file is read or written (config_dir is then not even checked).
    no_session: bool = False


class SettingsSource:
    """Looks a name up in flags, then the environment, then ``.env`` (read once, lazily)."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        read_dotenv: bool = True,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._cwd = cwd or Path.cwd()
        self._dotenv: dict[str, str] | None = None if read_dotenv else {}

    def get(self, name: str, flag: str | None = None) -> str | None:
        return self.lookup(name, flag)[0]

    def lookup(self, name: str, flag: str | None = None) -> tuple[str | None, str]:
        """The value and where it came from: "flag", "environment", ".env" or "default"."""
        if flag is not None:
            if not flag.strip():  # `--endpoint "$UNSET"` must not quietly mean the default
                raise ConfigError(f"{_FLAGS.get(name, name)} was given an empty value")
            return flag, "flag"
        if name in self._environ:  # set, even to "", it hides .env: the environment wins
            value = self._environ[name]
            if name in _NOT_EMPTY and not value.strip():
                raise ConfigError(
                    f"{name} is set but empty: unset it for Clickatell's own endpoint, or set it "
                    "to your endpoint's URL"
                )
            return value or None, "environment"
        value = self.dotenv().get(name)
        if name in _NOT_EMPTY and value is not None and not value.strip():
            raise ConfigError(
                f"./.env sets {name} to nothing: remove the line for Clickatell's own endpoint, "
                "or give your endpoint's URL"
            )
        value = value or None
        return value, ".env" if value is not None else "default"

    def dotenv(self) -> dict[str, str]:
        if self._dotenv is None:
            path = self._cwd / ".env"
            try:
                info = path.stat()
            except OSError:
                self._dotenv = {}
            else:
                self._dotenv = _read_dotenv(str(path), info.st_mtime_ns, info.st_size)
        return self._dotenv


@functools.lru_cache(maxsize=4)
def _read_dotenv(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    """Parse a .env file once per content (python-dotenv warns about bad lines each time)."""
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(
    *,
    endpoint: str | None = None,
    api_id: str | None = None,
    user: str | None = None,
    config_dir: str | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    retries: int | None = None,
    allow_insecure_http: bool = False,
    soap_style: str | None = None,
    no_session: bool | None = None,
    source: SettingsSource | None = None,
) -> Settings:
    """Resolve every setting once, validating what can be checked without the network."""
    src = source or SettingsSource()
    resolved_endpoint, endpoint_from = src.lookup(ENV_ENDPOINT, endpoint)
    style = resolve_soap_style(src.get(ENV_SOAP_STYLE, soap_style), resolved_endpoint)
    resolved_endpoint = resolved_endpoint or default_endpoint(style)
    per_request = resolve_no_session(no_session, src)
    check_endpoint(resolved_endpoint, allow_insecure_http)
    password, password_from = src.lookup(ENV_PASSWORD)
    resolved_user = src.get(ENV_USER, user)
    if resolved_user is not None:
        check_credential(resolved_user, "user name", f"{ENV_USER} or --user")
    config_path, config_from = src.lookup(ENV_CONFIG_DIR, config_dir)
    return Settings(
        endpoint=resolved_endpoint,
        api_id=check_api_id(src.get(ENV_API_ID, api_id)),
        user=resolved_user,
        password=password,
        config_dir=_config_dir(config_path, check=not per_request),
        timeout=parse_timeout(src.get(ENV_TIMEOUT, _text(timeout))),
        connect_timeout=parse_timeout(
            src.get(ENV_CONNECT_TIMEOUT, _text(connect_timeout)),
            DEFAULT_CONNECT_TIMEOUT,
            "connect timeout",
            ENV_CONNECT_TIMEOUT,
        ),
        retries=parse_retries(src.get(ENV_RETRIES, _text(retries))),
        retry_delay=parse_retry_delay(src.get(ENV_RETRY_DELAY)),
        query_delay=parse_query_delay(src.get(ENV_QUERY_DELAY)),
        endpoint_source=endpoint_from,
        password_source=password_from,
        config_dir_source=config_from,
        soap_style=style,
        no_session=per_request,
    )


def password_destination_problem(settings: Settings, password_from: str) -> str | None:
    """Why the password (from ``password_from``) should not go to the endpoint unasked.

    A ``.env`` in whatever directory clicksms runs from may name an endpoint; it must not
    receive a password given any other way (environment, ``--password-stdin``, the prompt)
    unless the user confirms. The password from that same ``.env`` reveals nothing new to it,
    and Clickatell's own endpoint is where the password would go anyway.
    """
    if settings.endpoint_source != ".env" or settings.endpoint in (DEFAULT_ENDPOINT, RPC_ENDPOINT):
        return None
    if password_from == ".env":
        return None
    given = {
        "environment": "from your environment",
        "stdin": "read by --password-stdin",
        "prompt": "you type",
    }.get(password_from, "")
    return (
        f"./.env sets {ENV_ENDPOINT}={settings.endpoint}, which would receive the password "
        f"{given}"
    )


def check_credential(value: str, what: str, where: str) -> str:
    """A user name or password SOAP's XML can carry, else a ConfigError that does not show it."""
    bad = _NOT_XML.search(value)
    if bad is None:
        return value
    undecoded = "\ud800" <= bad.group() <= "\udfff"
    kind = "a byte that is not UTF-8" if undecoded else "a control character"
    raise ConfigError(
        f"the {what} has {kind} (character {bad.start() + 1}), which cannot be sent: check {where}"
    )


def resolve_soap_style(value: str | None, endpoint: str | None) -> str:
    """``--soap-style``/CLICKSMS_SOAP_STYLE, else what the endpoint's path says it is.

    Clickatell's RPC/Encoded server lives at a path ending in ``webservice_vs.php``; any
    other endpoint is taken for Document/Literal, the default.
    """
    if value is not None:
        style = value.strip().lower()
        if style not in SOAP_STYLES:
            raise ConfigError(
                f"SOAP style must be document or rpc, got {value.strip()[:40]!r} "
                f"(--soap-style or {ENV_SOAP_STYLE})"
            )
        return style
    if endpoint and urlsplit(endpoint.strip()).path.rstrip("/").endswith("webservice_vs.php"):
        return "rpc"
    return "document"


def default_endpoint(style: str) -> str:
    """Clickatell's own endpoint for a SOAP style."""
    return RPC_ENDPOINT if style == "rpc" else DEFAULT_ENDPOINT


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def resolve_no_session(flag: bool | None, source: SettingsSource | None = None) -> bool:
    """``--no-session``, else CLICKSMS_NO_SESSION (environment or .env): 1/true/yes/on."""
    if flag:
        return True
    value = (source or SettingsSource()).get(ENV_NO_SESSION)
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{ENV_NO_SESSION} must be 1 or 0 (true/false), got {text[:20]!r}")


def _text(flag: float | None) -> str | None:
    """A numeric flag as the string the environment would give (None: not given)."""
    return None if flag is None else str(flag)


def resolve_country(flag: str | None, source: SettingsSource | None = None) -> str | None:
    """The default region for national numbers: --country, CLICKSMS_COUNTRY, or .env."""
    return (source or SettingsSource()).get(ENV_COUNTRY, flag)


def check_endpoint(url: str, allow_insecure_http: bool) -> None:
    """HTTPS everywhere; plain HTTP only to loopback or with an explicit opt-in."""
    parts = urlsplit(url)
    authority = url.split("://", 1)[-1].split("/", 1)[0]  # netloc, even without a scheme
    if "@" in authority:  # before any message quotes the URL: it would show the password
        raise ConfigError("endpoint must not contain a user name or password (user:pass@host)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"endpoint must be an http(s) URL, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535
    except ValueError:
        where = parts.netloc.rpartition("@")[2]
        raise ConfigError(f"endpoint has an invalid port: {where}") from None
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: the password would travel unencrypted; "
            "use https:// or pass --allow-insecure-http"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_config_dir(source: SettingsSource | None = None) -> Path:
    """Where the session lives, without validating anything else (``auth --logout`` needs
    only this, and must work even when another setting is broken)."""
    return locate_config_dir(source)[0]


def locate_config_dir(source: SettingsSource | None = None) -> tuple[Path, str]:
    """:func:`resolve_config_dir` and where it came from ("environment", ".env", "default")."""
    value, where = (source or SettingsSource()).lookup(ENV_CONFIG_DIR)
    return _config_dir(value), where


def _config_dir(value: str | None, check: bool = True) -> Path:
    """The config dir; ``check=False`` (--no-session, which keeps no state) never refuses one."""
    if value:
        path = Path(value).expanduser()
        if check and path.exists() and not path.is_dir():
            raise ConfigError(f"CLICKSMS_CONFIG_DIR {path} is not a directory")
        return path
    from platformdirs import user_config_dir

    return Path(user_config_dir("clicksms", appauthor=False))


def check_api_id(value: str | None) -> str | None:
    """Clickatell API IDs are integers (``xsd:int`` in the WSDL)."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ConfigError(f"api_id must be a number, got {value!r} (CLICKSMS_API_ID or --api-id)")
    return value.strip()


def parse_timeout(
    value: str | None,
    default: float = DEFAULT_TIMEOUT,
    what: str = "timeout",
    env: str = ENV_TIMEOUT,
) -> float:
    """Seconds in (0, 3600]; ``what`` and ``env`` name the setting in the error."""
    if value is None:
        return default
    seconds = _number(value)
    if not math.isfinite(seconds) or not 0 < seconds <= _MAX_TIMEOUT:
        raise ConfigError(
            f"{what} must be more than 0 and at most {_MAX_TIMEOUT:g} seconds, "
            f"got {_shown(value, seconds)!r} ({_FLAGS[env]} or {env})"
        )
    return seconds


def parse_retries(value: str | None) -> int:
    """Extra attempts for calls that are safe to repeat: a whole number from 0 to 10."""
    if value is None:
        return DEFAULT_RETRIES
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_RETRIES:
        raise ConfigError(
            f"retries must be a whole number from 0 to {_MAX_RETRIES}, "
            f"got {_shown(value, math.nan)!r} ({_FLAGS[ENV_RETRIES]} or {ENV_RETRIES})"
        )
    return int(text)


def parse_retry_delay(value: str | None) -> float:
    """The first backoff in seconds (0 to 8, the cap of every pause); 0: no pauses at all."""
    if value is None:
        return DEFAULT_RETRY_DELAY
    seconds = _number(value)
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_RETRY_DELAY:
        raise ConfigError(
            f"retry delay must be from 0 to {MAX_RETRY_DELAY:g} seconds, "
            f"got {_shown(value, seconds)!r} ({ENV_RETRY_DELAY})"
        )
    return seconds


def parse_query_delay(value: str | None) -> float:
    """Seconds to let the gateway learn a client message ID before asking about it (0 to 300)."""
    if value is None:
        return DEFAULT_QUERY_DELAY
    seconds = _number(value)
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_QUERY_DELAY:
        raise ConfigError(
            f"query delay must be from 0 to {MAX_QUERY_DELAY:g} seconds, "
            f"got {_shown(value, seconds)!r} ({ENV_QUERY_DELAY})"
        )
    return seconds


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return math.nan


def _shown(value: str, number: float) -> str:
    """How a refused number is quoted back: as read, or the raw text when it is not one."""
    return f"{number:g}" if math.isfinite(number) else value.strip()[:40]
