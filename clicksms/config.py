"""Settings from command-line flags > environment > ``.env`` in the working directory > the
profile chosen (``--profile``, :mod:`clicksms.profiles`) > defaults.

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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from clicksms.errors import ConfigError

if TYPE_CHECKING:
    from clicksms.profiles import Profile

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
ENV_PROFILE = "CLICKSMS_PROFILE"
ENV_SENDER = "CLICKSMS_FROM"

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
    ENV_PROFILE: "--profile",
    ENV_SENDER: "--from",
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
    # Where three settings came from ("flag", "environment", ".env", "profile" or "default"):
    # a .env in the working directory may not take a password it did not give, nor move the
    # config dir without a word.
    endpoint_source: str = "default"
    password_source: str = "default"
    config_dir_source: str = "default"
    soap_style: str = "document"  # which of Clickatell's SOAP servers: "document" or "rpc"
    # Per-request credentials: every request carries api_id, user and password; no auth, and
    # no session file is read or written (config_dir is then not even checked).
    no_session: bool = False
    # The profile these settings were read with: it keeps a session file of its own.
    profile: str | None = None


class SettingsSource:
    """Looks a name up in flags, then the environment, then ``.env`` (read once, lazily), then
    the profile once :meth:`use_profile` has chosen one."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        read_dotenv: bool = True,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._cwd = cwd or Path.cwd()
        self._dotenv: dict[str, str] | None = None if read_dotenv else {}
        self.profile: Profile | None = None
        self.profile_source = "default"  # where the profile's name came from
        self._profile_chosen = False

    def get(self, name: str, flag: str | None = None) -> str | None:
        return self.lookup(name, flag)[0]

    def lookup(self, name: str, flag: str | None = None) -> tuple[str | None, str]:
        """The value and where it came from: "flag", "environment", ".env", "profile" or
        "default"."""
        if flag is not None:
            if not flag.strip():  # `--endpoint "$UNSET"` must not quietly mean the default
                raise ConfigError(
                    f"{_FLAGS.get(name, name)} was given an empty value: give one, or leave "
                    "the option out"
                )
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
        if value:
            return value, ".env"
        if self.profile is not None and (given := self.profile.setting(name)) is not None:
            return given, "profile"
        return None, "default"

    def where(self, name: str, origin: str) -> str | None:
        """How an error names where a value came from, when that was the profile (None: the
        usual flag and variable)."""
        if origin != "profile" or self.profile is None:
            return None
        return self.profile.describe(name)

    def use_profile(self, flag: str | None = None) -> Profile | None:
        """Choose the profile that ``--profile``, CLICKSMS_PROFILE or ./.env names, read from
        config.toml in the config dir; later lookups fall back on it. Chosen once."""
        if not self._profile_chosen:
            name, self.profile_source = self.lookup(ENV_PROFILE, flag)
            if name is not None and name.strip():
                from clicksms.profiles import load_profile

                self.profile = load_profile(_config_dir(self.get(ENV_CONFIG_DIR)), name.strip())
            self._profile_chosen = True
        return self.profile

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
    import io

    from dotenv import dotenv_values

    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path} is not UTF-8 text (line {line}): save it as UTF-8") from None
    import logging

    unparsed: list[object] = []  # python-dotenv logs a line it cannot read, and skips it

    def collect(record: logging.LogRecord) -> bool:
        unparsed.append(record.args[0] if isinstance(record.args, tuple) and record.args else "?")
        return False  # not shown: said below in clicksms's words

    logger = logging.getLogger("dotenv.main")
    logger.addFilter(collect)
    try:
        values = dotenv_values(stream=io.StringIO(text))
    finally:
        logger.removeFilter(collect)
    if unparsed:  # skipped, it could leave a setting (the password) quietly unset
        raise ConfigError(
            f"{path} line {unparsed[0]} is not NAME=value: fix it, or start it with #"
        )
    return {k: v for k, v in values.items() if v is not None}


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
    profile: str | None = None,
    source: SettingsSource | None = None,
) -> Settings:
    """Resolve every setting once, validating what can be checked without the network.

    ``profile`` is the ``--profile`` flag; the profile may also be named by CLICKSMS_PROFILE.
    A value from the profile that is wrong is reported as the profile's.
    """
    src = source or SettingsSource()
    chosen = src.use_profile(profile)
    resolved_endpoint, endpoint_from = src.lookup(ENV_ENDPOINT, endpoint)
    style_text, style_from = src.lookup(ENV_SOAP_STYLE, soap_style)
    style = resolve_soap_style(style_text, resolved_endpoint, src.where(ENV_SOAP_STYLE, style_from))
    resolved_endpoint = resolved_endpoint or default_endpoint(style)
    per_request = resolve_no_session(no_session, src)
    check_endpoint(resolved_endpoint, allow_insecure_http, src.where(ENV_ENDPOINT, endpoint_from))
    password, password_from = src.lookup(ENV_PASSWORD)
    resolved_user, user_from = src.lookup(ENV_USER, user)
    if resolved_user is not None:
        where = src.where(ENV_USER, user_from) or f"{ENV_USER} or --user"
        check_credential(resolved_user, "user name", where)
    api_text, api_from = src.lookup(ENV_API_ID, api_id)
    config_path, config_from = src.lookup(ENV_CONFIG_DIR, config_dir)

    def seconds(name: str, flag: float | None, default: float, what: str) -> float:
        value, origin = src.lookup(name, _text(flag))
        return parse_timeout(value, default, what, name, src.where(name, origin))

    retries_text, retries_from = src.lookup(ENV_RETRIES, _text(retries))
    return Settings(
        endpoint=resolved_endpoint,
        api_id=check_api_id(api_text, src.where(ENV_API_ID, api_from)),
        user=resolved_user,
        password=password,
        config_dir=_config_dir(config_path, check=not per_request),
        timeout=seconds(ENV_TIMEOUT, timeout, DEFAULT_TIMEOUT, "timeout"),
        connect_timeout=seconds(
            ENV_CONNECT_TIMEOUT, connect_timeout, DEFAULT_CONNECT_TIMEOUT, "connect timeout"
        ),
        retries=parse_retries(retries_text, src.where(ENV_RETRIES, retries_from)),
        retry_delay=parse_retry_delay(src.get(ENV_RETRY_DELAY)),
        query_delay=parse_query_delay(src.get(ENV_QUERY_DELAY)),
        endpoint_source=endpoint_from,
        password_source=password_from,
        config_dir_source=config_from,
        soap_style=style,
        no_session=per_request,
        profile=None if chosen is None else chosen.name,
    )


def password_destination_problem(settings: Settings, password_from: str) -> str | None:
    """Why the password (from ``password_from``) should not go to the endpoint unasked.

    A ``.env`` in whatever directory clicksms runs from may name an endpoint; it must not
    receive a password given any other way (environment, ``--password-stdin``, the prompt)
    unless the user confirms. The password from that same ``.env`` reveals nothing new to it,
    and Clickatell's own endpoint is where the password would go anyway. An endpoint from a
    flag, the environment or the user's own profile (config.toml, private to them) was chosen
    by the user.
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
        f"./.env sets {ENV_ENDPOINT}={settings.endpoint}, which would receive the password {given}"
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


def resolve_soap_style(value: str | None, endpoint: str | None, where: str | None = None) -> str:
    """``--soap-style``/CLICKSMS_SOAP_STYLE, else what the endpoint's path says it is.

    Clickatell's RPC/Encoded server lives at a path ending in ``webservice_vs.php``; any
    other endpoint is taken for Document/Literal, the default.
    """
    if value is not None:
        style = value.strip().lower()
        if style not in SOAP_STYLES:
            raise ConfigError(
                f"SOAP style must be document or rpc, got {value.strip()[:40]!r} "
                f"({where or '--soap-style or ' + ENV_SOAP_STYLE})"
            )
        return style
    try:
        path = urlsplit(endpoint.strip()).path if endpoint else ""
    except ValueError:  # not a URL: check_endpoint says so
        path = ""
    return "rpc" if path.rstrip("/").endswith("webservice_vs.php") else "document"


def default_endpoint(style: str) -> str:
    """Clickatell's own endpoint for a SOAP style."""
    return RPC_ENDPOINT if style == "rpc" else DEFAULT_ENDPOINT


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def resolve_no_session(flag: bool | None, source: SettingsSource | None = None) -> bool:
    """``--no-session``, else CLICKSMS_NO_SESSION (environment, .env or the profile's
    ``no_session``): 1/true/yes/on."""
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


def check_endpoint(url: str, allow_insecure_http: bool, where: str | None = None) -> None:
    """HTTPS everywhere; plain HTTP only to loopback or with an explicit opt-in.

    ``where`` names the setting in the error when it is not the usual flag or variable.
    """
    told = f" ({where})" if where else ""
    authority = url.split("://", 1)[-1].split("/", 1)[0]  # netloc, even without a scheme
    if "@" in authority:  # before any message quotes the URL: it would show the password
        raise ConfigError(
            f"endpoint must not contain a user name or password (user:pass@host){told}"
        )
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        if parts.netloc.startswith("[") and not _BRACKETED_HOST.fullmatch(parts.netloc):
            raise ValueError("text after an [IPv6] host that is not :port")
    except ValueError:  # an unclosed or bad [IPv6] host
        raise ConfigError(f"endpoint is not a valid URL: {url!r}{told}") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigError(f"endpoint must be an http(s) URL, got {url!r}{told}")
    try:
        port = parts.port
    except ValueError:  # outside 0-65535
        port = 0
    if port == 0:  # port 0 would quietly mean the scheme's own
        raise ConfigError(f"endpoint has an invalid port: {parts.netloc}{told}")
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise ConfigError(
            f"endpoint must be the service's URL, with no ?query or #fragment (clicksms never "
            f"asks for ?wsdl: the WSDL comes with it), got {url!r}{told}"
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}{told}: the password would travel "
            "unencrypted; use https:// or pass --allow-insecure-http"
        )


#: An [IPv6] host, then nothing or a port.
_BRACKETED_HOST = re.compile(r"\[[^\[\]]*\](:\d*)?")


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


def check_api_id(value: str | None, where: str | None = None) -> str | None:
    """Clickatell API IDs are integers (``xsd:int`` in the WSDL)."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ConfigError(
            f"api_id must be a number, got {value!r} ({where or 'CLICKSMS_API_ID or --api-id'})"
        )
    return value.strip()


def parse_timeout(
    value: str | None,
    default: float = DEFAULT_TIMEOUT,
    what: str = "timeout",
    env: str = ENV_TIMEOUT,
    where: str | None = None,
) -> float:
    """Seconds in (0, 3600]; ``what`` and ``env`` (or ``where``) name the setting in the
    error."""
    if value is None:
        return default
    seconds = _number(value)
    if not math.isfinite(seconds) or not 0 < seconds <= _MAX_TIMEOUT:
        raise ConfigError(
            f"{what} must be more than 0 and at most {_MAX_TIMEOUT:g} seconds, "
            f"got {_shown(value, seconds)!r} ({where or _FLAGS[env] + ' or ' + env})"
        )
    return seconds


def parse_retries(value: str | None, where: str | None = None) -> int:
    """Extra attempts for calls that are safe to repeat: a whole number from 0 to 10."""
    if value is None:
        return DEFAULT_RETRIES
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_RETRIES:
        told = where or f"{_FLAGS[ENV_RETRIES]} or {ENV_RETRIES}"
        raise ConfigError(
            f"retries must be a whole number from 0 to {_MAX_RETRIES}, "
            f"got {_shown(value, math.nan)!r} ({told})"
        )
    return int(text)


def parse_retry_delay(value: str | None) -> float:
    """The first backoff in seconds (0 to 8, the cap of every pause); 0: no pauses at all."""
    return _pause(value, DEFAULT_RETRY_DELAY, MAX_RETRY_DELAY, "retry delay", ENV_RETRY_DELAY)


def parse_query_delay(value: str | None) -> float:
    """Seconds to let the gateway learn a client message ID before asking about it (0 to 300)."""
    return _pause(value, DEFAULT_QUERY_DELAY, MAX_QUERY_DELAY, "query delay", ENV_QUERY_DELAY)


def _pause(value: str | None, default: float, maximum: float, what: str, env: str) -> float:
    """Seconds from 0 to ``maximum`` from the variable ``env`` (``default`` when not set)."""
    if value is None:
        return default
    seconds = _number(value)
    if not math.isfinite(seconds) or not 0 <= seconds <= maximum:
        raise ConfigError(
            f"{what} must be from 0 to {maximum:g} seconds, got {_shown(value, seconds)!r} ({env})"
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
