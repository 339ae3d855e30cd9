"""Profiles: named sets of settings in ``config.toml`` in the config directory.

A user with several Clickatell API connections (alerts and marketing, test and live) writes
each one's settings once, as a ``[profiles.NAME]`` table, and picks one with ``--profile NAME``
or CLICKSMS_PROFILE. A profile sits below flags, the environment and ``.env``
(:class:`clicksms.config.SettingsSource`). The file names endpoints and users, so like the
session file it must be private to its owner, and it never holds a password: one found there
is refused, whichever profile it is in.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clicksms.config import (
    ENV_API_ID,
    ENV_CONNECT_TIMEOUT,
    ENV_COUNTRY,
    ENV_ENDPOINT,
    ENV_NO_SESSION,
    ENV_RETRIES,
    ENV_SENDER,
    ENV_SOAP_STYLE,
    ENV_TIMEOUT,
    ENV_USER,
    SOAP_STYLES,
)
from clicksms.errors import ConfigError
from clicksms.private_files import check_config_dir, check_private_file

CONFIG_FILE = "config.toml"
#: What a profile may set, and the environment variable that sets the same thing (a profile's
#: value is looked up under that name, below the environment and .env).
PROFILE_KEYS: Mapping[str, str] = {
    "api_id": ENV_API_ID,
    "user": ENV_USER,
    "endpoint": ENV_ENDPOINT,
    "soap_style": ENV_SOAP_STYLE,
    "no_session": ENV_NO_SESSION,
    "country": ENV_COUNTRY,
    "from": ENV_SENDER,
    "timeout": ENV_TIMEOUT,
    "connect_timeout": ENV_CONNECT_TIMEOUT,
    "retries": ENV_RETRIES,
}
_TEXT_KEYS = frozenset({"user", "endpoint", "country", "from"})
_SECONDS_KEYS = frozenset({"timeout", "connect_timeout"})
#: A profile's name becomes part of its session file's name: nothing that could leave the dir.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PASSWORD_WORDS = ("password", "passwd")


@dataclass(frozen=True)
class Profile:
    """One ``[profiles.NAME]`` table, its values checked for type (ranges are checked where
    each setting is read, as for the environment's)."""

    name: str
    path: Path
    values: Mapping[str, str | bool | int | float] = field(default_factory=dict)

    def setting(self, env: str) -> str | None:
        """The value for the setting ``env`` names, as the environment would spell it."""
        for key, name in PROFILE_KEYS.items():
            if name == env and key in self.values:
                value = self.values[key]
                if isinstance(value, bool):
                    return "1" if value else "0"
                return str(value)
        return None

    def describe(self, env: str) -> str:
        """Where a value came from, for an error about it."""
        key = next((k for k, name in PROFILE_KEYS.items() if name == env), env)
        return f"{key} in profile {self.name!r} of {self.path}"


def config_path(config_dir: Path) -> Path:
    return config_dir / CONFIG_FILE


def read_profiles(config_dir: Path) -> dict[str, Profile]:
    """Every profile in ``config_dir``/config.toml, in the file's order; none without a file.

    Refused (ConfigError): a file or config dir open to other users, a file that is not TOML,
    a password anywhere in it, an unknown setting or a value of the wrong type.
    """
    path = config_path(config_dir)
    text = _read_private(path)
    if text is None:
        return {}
    document = _parse(path, text)
    _refuse_passwords(path, document, ())
    tables = document.pop("profiles", {})
    if document:
        raise ConfigError(
            f"{path}: unknown setting {next(iter(document))!r} outside a profile: "
            "settings go in [profiles.NAME] tables"
        )
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: profiles must be tables, as [profiles.NAME]")
    return {name: _profile(path, name, table) for name, table in tables.items()}


def load_profile(config_dir: Path, name: str) -> Profile:
    """The profile called ``name``; an unknown name is an error that lists the known ones."""
    path = config_path(config_dir)
    check_profile_name(name)
    found = read_profiles(config_dir)
    if name in found:
        return found[name]
    if not found:
        where = "has no profiles" if path.exists() else "does not exist"
        raise ConfigError(
            f"unknown profile {name!r}: {path} {where}; add a [profiles.{name}] table there"
        )
    raise ConfigError(
        f"unknown profile {name!r}: {path} has {', '.join(sorted(found))} "
        "(`clicksms profiles` lists them)"
    )


def check_profile_name(name: str) -> str:
    """A name fit for a session file's: letters, digits, ``-`` and ``_``."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"profile name {name[:70]!r}: use up to 64 letters, digits, '-' and '_' "
            "(--profile or CLICKSMS_PROFILE)"
        )
    return name


def _read_private(path: Path) -> str | None:
    """The file's text, or None when it does not exist; refused when others may use it (it
    names endpoints and users: another user who may change it could send the password
    elsewhere, one who may read it learns the accounts)."""
    if check_private_file(path) is None:
        return None
    check_config_dir(path.parent)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 has no tomllib
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _refuse_passwords(path: Path, table: dict[str, Any], at: tuple[str, ...]) -> None:
    """A key that names a password, at any depth, refuses the whole file (its value unshown)."""
    for key, value in table.items():
        named = at == ("profiles",)  # these keys are profile names, not settings
        if not named and any(word in key.lower() for word in _PASSWORD_WORDS):
            inside = f" in [{'.'.join(at)}]" if at else ""
            raise ConfigError(
                f"{path} has a password ({key!r}{inside}): clicksms keeps no password on disk; "
                "remove it and give the password by CLICKSMS_PASSWORD, `auth --password-stdin` "
                "or the prompt"
            )
        if isinstance(value, dict):
            _refuse_passwords(path, value, (*at, key))


def _profile(path: Path, name: str, table: Any) -> Profile:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{path}: profile name {name[:70]!r}: use up to 64 letters, digits, '-' and '_'"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: profile {name!r} must be a table, as [profiles.{name}]")
    values: dict[str, str | bool | int | float] = {}
    for key, value in table.items():
        if key not in PROFILE_KEYS:
            raise ConfigError(
                f"{path}: profile {name!r} has an unknown setting {key!r}; a profile takes "
                f"{', '.join(PROFILE_KEYS)}"
            )
        problem = _type_problem(key, value)
        if problem is not None:
            raise ConfigError(f"{path}: profile {name!r}: {key} must be {problem}")
        if key == "api_id":
            value = str(value)  # 3512345 or "3512345": an ID either way
        values[key] = value.strip() if isinstance(value, str) else value
    return Profile(name, path, values)


def _type_problem(key: str, value: Any) -> str | None:
    """What ``value`` should have been for ``key``, or None when its type is right."""
    if key == "api_id":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return None
        return f"a number, got {_shown(value)}"
    if key == "no_session":
        return None if isinstance(value, bool) else f"true or false, got {_shown(value)}"
    if key == "soap_style":
        ok = isinstance(value, str) and value.strip().lower() in SOAP_STYLES
        return None if ok else f'"document" or "rpc", got {_shown(value)}'
    if key == "retries":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"a whole number, got {_shown(value)}"
    if key in _SECONDS_KEYS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"a number of seconds, got {_shown(value)}"
    assert key in _TEXT_KEYS
    if isinstance(value, str) and value.strip():
        return None
    return f"a quoted, non-empty text, got {_shown(value)}"


def _shown(value: Any) -> str:
    """A wrong value as the error quotes it: short, and its type when it is not text."""
    if isinstance(value, str):
        return repr(value[:40])
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return repr(value)[:40]
