"""``clicksms completion SHELL``, and the job IDs that ``bulk --resume`` and ``jobs --forget``
complete.

A TAB press runs clicksms once, so it must cost no more than ``clicksms --version``: the
journal is read here with :mod:`sqlite3` alone (no :mod:`clicksms.bulk`, nothing that opens it
for writing or brings it up to date), and any trouble completes nothing rather than failing.
"""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

#: As :data:`clicksms.bulk.journal.JOURNAL_FILE` (a test keeps the two the same).
JOURNAL_FILE = "journal.sqlite3"
#: More job IDs than a shell can usefully list: the newest ones are offered.
MAX_OFFERED = 200
#: The environment variable the scripts set to ask clicksms for completions.
COMPLETE_VAR = "_CLICKSMS_COMPLETE"


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.", show_default=False)],
) -> None:
    """Print the shell's completion script, to source or install.

    The script asks clicksms itself for every completion, so new commands, options and
    your bulk job IDs complete without installing it again.

    \b
        source <(clicksms completion bash)                       # this bash session
        clicksms completion bash > ~/.local/share/bash-completion/completions/clicksms
        clicksms completion zsh > "${fpath[1]}/_clicksms"        # then: compinit
        clicksms completion fish > ~/.config/fish/completions/clicksms.fish
    """
    from typer._completion_shared import get_completion_script  # what --show-completion uses

    script = get_completion_script(prog_name="clicksms", complete_var=COMPLETE_VAR, shell=shell)
    typer.echo(script.strip("\n"))


def unfinished_jobs(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """``bulk --resume <TAB>``: the jobs with rows left, newest first."""
    return _jobs(ctx, incomplete, unfinished=True)


def any_job(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """``jobs --forget <TAB>``: every job, newest first."""
    return _jobs(ctx, incomplete, unfinished=False)


def _jobs(ctx: typer.Context, incomplete: str, unfinished: bool) -> list[tuple[str, str]]:
    try:
        path = _journal_path(ctx.params.get("journal"))
        if not path.is_file():
            return []
        found = _read_jobs(path, incomplete, unfinished)
        return [(job_id, f"{state}, {Path(file).name}") for job_id, state, file in found]
    except Exception:  # a TAB press never shows a traceback; it just completes nothing
        return []


def _journal_path(given: Optional[Path]) -> Path:  # noqa: UP045
    if given is not None:
        return Path(given)
    from clicksms.config import resolve_config_dir

    return resolve_config_dir() / JOURNAL_FILE


def _read_jobs(path: Path, prefix: str, unfinished: bool) -> list[tuple[str, str, str]]:
    """The newest jobs (at most MAX_OFFERED) whose ID starts with ``prefix``."""
    import sqlite3

    done = "AND state != 'done' " if unfinished else ""
    uri = f"{path.resolve().as_uri()}?mode=ro"  # read-only: never creates, locks or migrates
    db = sqlite3.connect(uri, uri=True, timeout=0.5)
    try:
        found = db.execute(
            f"SELECT id, state, file FROM jobs WHERE substr(id, 1, ?) = ? {done}"
            "ORDER BY created_at DESC LIMIT ?",
            (len(prefix), prefix, MAX_OFFERED),
        )
        return [(str(i), str(s), str(f)) for i, s, f in found]
    finally:
        db.close()
