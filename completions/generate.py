"""Regenerate the completion scripts in this folder: what ``clicksms completion SHELL`` prints.

Run after upgrading Typer: ``python completions/generate.py``. The scripts call back into
clicksms for every completion, so new commands and options need no regeneration.
tests/test_completions.py fails while the committed files are stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"bash": "clicksms.bash", "zsh": "_clicksms", "fish": "clicksms.fish"}


def main() -> None:
    for shell, name in FILES.items():
        code = "from clicksms.cli import main; main()"
        script = subprocess.run(
            [sys.executable, "-c", code, "completion", shell],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            check=True,
        ).stdout
        (HERE / name).write_text(script)
        print(f"wrote completions/{name}")


if __name__ == "__main__":
    main()
