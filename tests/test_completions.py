"""The committed completion scripts match what the app generates (regenerate: see README)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMPLETIONS = Path(__file__).resolve().parent.parent / "completions"
FILES = {"bash": "clicksms.bash", "zsh": "_clicksms", "fish": "clicksms.fish"}


def generate(shell: str) -> str:
    env = {**os.environ, "_CLICKSMS_COMPLETE": f"source_{shell}"}
    code = "from clicksms.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_script_is_current(shell: str) -> None:
    committed = (COMPLETIONS / FILES[shell]).read_text()
    assert committed == generate(shell), (
        f"completions/{FILES[shell]} is stale: run `python completions/generate.py`"
    )
