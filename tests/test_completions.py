"""Shell completion: the committed scripts are current, and completing really works.

Typer's scripts call back into ``clicksms`` for every completion, so they only go stale when
the generator's output changes (regenerate with ``python completions/generate.py``); the
second test checks the answers the program gives through them.
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


def run_completion(env: dict[str, str]) -> str:
    out = helpers.run(
        [sys.executable, "-c", ENTRY],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_script_is_current(shell: str) -> None:
    committed = (COMPLETIONS / FILES[shell]).read_text()
    assert committed == run_completion({"_CLICKSMS_COMPLETE": f"source_{shell}"}), (
        f"completions/{FILES[shell]} is stale: run `python completions/generate.py`"
    )


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
    ],
)
def test_options_complete(line: str, expected: set[str]) -> None:
    assert expected <= set(bash_complete(line))
