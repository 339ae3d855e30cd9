"""Regenerate the completion scripts in this folder from the Typer app.

Run after changing commands or options: ``python completions/generate.py``.
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
        env = {**os.environ, "_CLICKSMS_COMPLETE": f"source_{shell}"}
        code = "from clicksms.cli import main; main()"
        script = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        ).stdout
        (HERE / name).write_text(script)
        print(f"wrote completions/{name}")


if __name__ == "__main__":
    main()
