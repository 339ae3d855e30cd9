"""``validate-number`` on stdin: peak memory of 1 000 000 lines against 100 000 lines.

It used to hold every line and every answer (150 M lines were killed by the OOM killer at
24 GB). Streamed, its memory must not grow with the input: the goal is a peak at 1 M lines at
most 1.2 times the peak at 100 k lines, in every output format. Both sizes run in the same
session, so the ratio does not depend on the machine; absolute sizes and times are printed for
reference only.

Run: python benchmarks/validate_number.py [--formats json,csv,table]  (table: ~10 min at 1 M)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (100_000, 1_000_000)
GOAL = 1.2


def write_lines(path: Path, count: int) -> Path:
    """Numbers in every form a user pastes, with some that are not numbers at all."""
    forms = ("+27 82 {0:03d} {1:04d}", "0027 82{0:03d}{1:04d}", "2783{0:03d}{1:04d}", "oops {1}")
    with path.open("w") as out:
        for i in range(count):
            out.write(forms[i % len(forms)].format(i // 10_000 % 1000, i % 10_000) + "\n")
    return path


def peak_memory_mb(cmd: list[str], stdin: Path) -> float:
    """Peak RSS of ``cmd`` alone (stdin from a file, output thrown away), measured by a
    fresh wrapper process."""
    probe = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'rb') as stdin:\n"
        "    subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(stdin), *cmd],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--formats", default="json,csv", help="add table for rich tables too (minutes at 1 M)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = {n: write_lines(work / f"numbers-{n}.txt", n) for n in SIZES}
        print(f"inputs: {', '.join(f'{n} lines' for n in SIZES)} (a quarter not numbers)")
        verdicts = []
        for fmt in args.formats.split(","):
            cmd = [sys.executable, "-m", "clicksms", "validate-number", "-o", fmt]
            peaks = {}
            for count, path in inputs.items():
                started = time.perf_counter()
                peaks[count] = peak_memory_mb(cmd, path)
                print(
                    f"-o {fmt:5} {count:>9} lines: peak {peaks[count]:6.1f} MB "
                    f"in {time.perf_counter() - started:.1f} s"
                )
            ratio = peaks[SIZES[1]] / peaks[SIZES[0]]
            ok = ratio <= GOAL
            verdicts.append(ok)
            verdict = "ok" if ok else "MISSED"
            print(f"  1M / 100k peak memory: {ratio:.2f}x (goal <= {GOAL}) {verdict}")
        sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
