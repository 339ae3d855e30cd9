"""``clicksms jobs``: list the bulk jobs in the journal, or forget one."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from clicksms.cli.completion import any_job
from clicksms.cli.params import OutputOption, QuietOption
from clicksms.cli.render import Column, OutputFormat, emit, emit_object, note

if TYPE_CHECKING:
    from clicksms.bulk.journal import JobSummary

_STATE_STYLE = {"done": "green", "running": "cyan", "stopped": "yellow", "interrupted": "red"}
JOBS_TABLE = [
    Column("id", "Job"),
    Column("state", "State", lambda state: _STATE_STYLE.get(state, "")),
    Column("sent", "Sent"),
    Column("failed", "Failed"),
    Column("unknown", "Unknown"),
    Column("pending", "Pending"),
    Column("skipped", "Skipped"),
    Column("total", "Rows"),
    Column("created", "Created (UTC)"),
    Column("file", "File", wrap=True),
]
#: Counts that are usually 0: a table column only when some job has one.
_RARE_COUNTS = ("failed", "unknown", "skipped")
JOBS_FIELDS = [
    Column(k, k)
    for k in (
        "id",
        "file",
        "state",
        "sent",
        "failed",
        "unknown",
        "pending",
        "skipped",
        "total",
        "created_at",
    )
]


def jobs(
    ctx: typer.Context,
    journal: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--journal",
            metavar="PATH",
            help="Journal file.  [default: journal.sqlite3 in the config dir]",
            show_default=False,
        ),
    ] = None,
    forget: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--forget",
            metavar="ID",
            help="Delete one job and its rows from the journal.",
            autocompletion=any_job,
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
    quiet: QuietOption = False,
) -> None:
    """List bulk jobs, newest first, with how many rows were sent, failed or are left.

    A job that was running when its process died shows as interrupted. Resume a job that
    is interrupted or stopped with `clicksms bulk --resume ID`.

    \b
        clicksms jobs
        clicksms jobs -o json | jq -r '.[] | select(.pending > 0) | .id'
        clicksms jobs --forget k3f9a2c1
    """
    from clicksms.bulk.journal import Journal

    # --sandbox jobs live in its throwaway config dir, never in yours.
    path = ctx.obj.journal_path(journal)
    if forget is not None:
        if not path.exists():
            from clicksms.errors import UsageError

            raise UsageError(f"no job {forget!r}: there is no journal at {path} yet")
        with Journal(path) as opened:
            opened.forget(forget)
        emit_object(
            {"forgotten": forget, "journal": str(path)}, f"Forgot job {forget} ({path}).", output
        )
        return
    if not path.exists():  # listing must not create a journal
        found: list[JobSummary] = []
    else:
        with Journal(path) as opened:
            found = opened.jobs()
    if output is not OutputFormat.table:
        emit([_as_dict(job) for job in found], JOBS_FIELDS, output)
    elif not found:
        note(f"No bulk jobs yet (journal: {path})")
    else:
        rows = [_as_dict(job) for job in found]
        for row in rows:
            row["created"] = row["created_at"].replace("T", " ")[:16]  # to the minute
        rare = [key for key in _RARE_COUNTS if not any(row[key] for row in rows)]
        emit(rows, [c for c in JOBS_TABLE if c.key not in rare], output)
        if any(job.state in ("interrupted", "stopped") for job in found):
            note("Resume a job with: clicksms bulk --resume ID")


def _as_dict(job: "JobSummary") -> dict[str, Any]:
    from datetime import datetime, timezone

    created = datetime.fromtimestamp(job.created_at, timezone.utc)
    return {
        "id": job.id,
        "file": job.file,
        "state": job.state,
        "sent": job.sent,
        "failed": job.failed,
        "unknown": job.unknown,
        "pending": job.pending,
        "skipped": job.skipped,
        "total": job.total,
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
