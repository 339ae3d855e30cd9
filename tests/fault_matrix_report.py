"""Run the fault matrix and print it as a table: faults down, commands across.

Each cell is the exit code the test expects, then whether the test passed.

Run: python tests/fault_matrix_report.py   (extra arguments go to pytest)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELL = "test_fault_matrix["


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    from test_fault_matrix import COMMANDS, EXPECTED, FAULTS

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", str(HERE / "test_fault_matrix.py"),
             f"--junitxml={report}", *argv],
            cwd=HERE.parent, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        outcome = results(report)
    print("| fault | " + " | ".join(COMMANDS) + " |")
    print("|---" * (len(COMMANDS) + 1) + "|")
    for fault in FAULTS:
        cells = [
            f"exit {EXPECTED[fault][command].exit_code}: "
            + outcome.get(f"{fault}-{command}", "not run")
            for command in COMMANDS
        ]
        print(f"| {fault} | " + " | ".join(cells) + " |")
    return 0 if all(v == "pass" for v in outcome.values()) and outcome else 1


def results(junit: Path) -> dict[str, str]:
    """Cell id -> pass/fail/skip from pytest's JUnit XML."""
    outcome: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        if not name.startswith(CELL):
            continue
        cell = name[len(CELL) : -1]
        failed = case.find("failure") is not None or case.find("error") is not None
        outcome[cell] = "fail" if failed else "skip" if case.find("skipped") is not None else "pass"
    return outcome


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
