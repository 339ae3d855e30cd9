"""Shell completion: ``clicksms completion SHELL`` prints the committed scripts, and
completing really works, job IDs included.

Typer's scripts call back into ``clicksms`` for every completion, so they only go stale when
the generator's output changes (regenerate with ``python completions/generate.py``); the
other tests check the answers the program gives through them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import helpers
import pytest
import typer

from clicksms.cli import app

COMPLETIONS = Path(__file__).resolve().parent.parent / "completions"
FILES = {"bash": "clicksms.bash", "zsh": "_clicksms", "fish": "clicksms.fish"}
ENTRY = "from clicksms.cli import main; main()"


def run_completion(env: dict[str, str], *args: str) -> str:
    out = helpers.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_command_prints_the_committed_script(shell: str) -> None:
    """What a pip-installed user gets (the wheel has no completions/ folder)."""
    committed = (COMPLETIONS / FILES[shell]).read_text()
    assert committed == run_completion({}, "completion", shell), (
        f"completions/{FILES[shell]} is stale: run `python completions/generate.py`"
    )
    assert committed == run_completion({"_CLICKSMS_COMPLETE": f"source_{shell}"}).strip() + "\n"


def bash_complete(line: str) -> list[str]:
    words = line.split(" ")
    env = {
        "_CLICKSMS_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    return run_completion(env).split()


def test_every_command_completes() -> None:
    commands = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert sorted(bash_complete("clicksms ")) == commands
    assert bash_complete("clicksms val") == ["validate-number"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("clicksms send --", {"--text", "--from", "--country", "--output", "--help"}),
        ("clicksms auth --", {"--status", "--logout", "--password-stdin", "--output"}),
        ("clicksms --", {"--endpoint", "--api-id", "--user", "--sandbox", "--debug"}),
        ("clicksms send -o ", {"table", "json", "csv"}),
        ("clicksms push ", {"wap", "mms"}),
        ("clicksms push mms --class ", {"personal", "advertisement", "informational", "auto"}),
        ("clicksms push wap --", {"--url", "--text", "--si-id", "--expires", "--action"}),
        ("clicksms bulk --", {"--batch", "--text", "--resume"}),
        ("clicksms topup --", {"--output", "--quiet"}),
    ],
)
def test_options_complete(line: str, expected: set[str]) -> None:
    assert expected <= set(bash_complete(line))


@pytest.fixture
def jobs(config_dir: Path) -> dict[str, str]:
    """Three jobs in the default journal: two with rows left, one done. ID -> state."""
    from clicksms.bulk.journal import JobRow, Journal, default_journal_path

    config_dir.mkdir(mode=0o700)
    states = {}
    with Journal(default_journal_path(config_dir)) as journal:
        for n, state in enumerate(["stopped", "done", "interrupted"]):
            job = journal.create_job(f"/data/list{n}.csv", {})
            if state != "done":
                journal.add_rows(job.id, [JobRow(1, "27821234567", "x", "pending")])
            journal.set_state(job.id, state)
            states[job.id] = state
    return states


def test_resume_completes_the_jobs_with_rows_left(jobs: dict[str, str]) -> None:
    unfinished = {job for job, state in jobs.items() if state != "done"}
    assert set(bash_complete("clicksms bulk --resume ")) == unfinished
    first = sorted(unfinished)[0]
    assert bash_complete(f"clicksms bulk --resume {first[:5]}") == [first]


def test_forget_completes_every_job_with_its_state(jobs: dict[str, str]) -> None:
    assert set(bash_complete("clicksms jobs --forget ")) == set(jobs)
    env = {"_CLICKSMS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "clicksms jobs --forget "}
    described = run_completion(env)
    for job, state in jobs.items():
        assert f'"{job}":"{state}, list' in described


def test_forget_completes_from_the_journal_given(jobs: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.sqlite3"
    assert bash_complete(f"clicksms jobs --journal {other} --forget ") == []
    assert not other.exists(), "completing must never create a journal"


def test_no_journal_or_a_broken_one_completes_nothing(config_dir: Path) -> None:
    assert bash_complete("clicksms bulk --resume ") == []
    config_dir.mkdir(mode=0o700)
    (config_dir / "journal.sqlite3").write_text("not a database")
    assert bash_complete("clicksms bulk --resume ") == []


def test_completion_knows_the_journal_file_name() -> None:
    from clicksms.bulk.journal import JOURNAL_FILE
    from clicksms.cli.completion import JOURNAL_FILE as COMPLETED_FROM

    assert COMPLETED_FROM == JOURNAL_FILE
