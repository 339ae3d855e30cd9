"""``clicksms profiles``: the profiles in config.toml, and the names ``--profile <TAB>`` offers.

Never a password: config.toml cannot hold one (:mod:`clicksms.profiles` refuses it).
"""

from typing import TYPE_CHECKING, Any

import typer

from clicksms.cli.params import OutputOption, QuietOption
from clicksms.cli.render import Column, OutputFormat, emit, note

if TYPE_CHECKING:
    from clicksms.cli.context import Invocation
    from clicksms.profiles import Profile

#: A profile's settings in the order they are shown (the keys of config.toml).
SETTINGS = (
    "api_id",
    "user",
    "endpoint",
    "soap_style",
    "no_session",
    "country",
    "from",
    "timeout",
    "connect_timeout",
    "retries",
)
PROFILES_FIELDS = [Column(k, k) for k in ("name", "active", *SETTINGS)]
PROFILES_TABLE = [
    Column("name", "Profile"),
    Column("active", "In use"),
    Column("api_id", "API ID"),
    Column("user", "User"),
    Column("endpoint", "Endpoint"),
    Column("soap_style", "Style"),
    Column("no_session", "No session"),
    Column("country", "Country"),
    Column("from", "From"),
    Column("timeout", "Timeout"),
    Column("connect_timeout", "Connect timeout"),
    Column("retries", "Retries"),
]


def list_profiles(
    ctx: typer.Context,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """List the profiles in config.toml in the config dir, and which one is in use.

    A profile is a [profiles.NAME] table of settings for one API connection; --profile NAME
    or CLICKSMS_PROFILE picks it. Flags, the environment and .env still win over it.

    \b
        clicksms profiles
        clicksms --profile alerts send 27821234567 -t "disk full on db1"
    """
    from clicksms.profiles import config_path, read_profiles

    invocation: Invocation = ctx.obj
    config_dir = invocation.config_dir()
    found = read_profiles(config_dir)
    active = invocation.profile_name()
    rows = [_row(profile, profile.name == active) for profile in found.values()]
    if output is not OutputFormat.table:
        emit(rows, PROFILES_FIELDS, output)
        return
    path = config_path(config_dir)
    if not rows:
        note(f"No profiles: add a [profiles.NAME] table to {path}.")
        return
    for row in rows:
        row["active"] = "yes" if row["active"] else None  # the one in use stands out
    emit(rows, PROFILES_TABLE, output)
    note(f"From {path}.")


def _row(profile: "Profile", active: bool) -> dict[str, Any]:
    return {"name": profile.name, "active": active, **{k: profile.values.get(k) for k in SETTINGS}}


def profile_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """``--profile <TAB>``: the profiles' names, each with its user; nothing on any trouble."""
    try:
        from clicksms.config import resolve_config_dir
        from clicksms.profiles import read_profiles

        found = read_profiles(resolve_config_dir())
    except Exception:  # a TAB press never shows a traceback; it just completes nothing
        return []
    return [
        (name, str(profile.values.get("user", "")))
        for name, profile in found.items()
        if name.startswith(incomplete)
    ]
