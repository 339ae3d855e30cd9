"""Input on stdin is never held whole: validate-number streams it, send stops past the largest text.

``validate-number`` answers each line as it comes (150 M lines were once killed by the OOM
killer at 24 GB), and ``send`` stops reading a text on stdin as soon as it is longer than any
message can be. Peak memory against input size is measured in benchmarks/validate_number.py.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import helpers

NUMBERS = [f"+2782{n:07d}" for n in range(1_000_000, 1_002_000)]


def test_validate_number_answers_while_stdin_is_still_open() -> None:
    """Rows come out while more input may follow: nothing waits for the end of stdin."""
    proc = helpers.Popen(
        [sys.executable, "-m", "clicksms", "validate-number", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("".join(f"{n}\n" for n in NUMBERS).encode())  # far more than a buffer
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        answered_early = bool(ready)
        out, err = proc.communicate(b"nonsense\n", timeout=120)
    finally:
        proc.kill()
    assert answered_early, "validate-number waited for the end of its input"
    lines = out.decode().splitlines()
    assert lines[0] == "input,valid,number,region,type,error"
    assert len(lines) == 1 + len(NUMBERS) + 1
    assert lines[1].startswith("'+27821000000,true,27821000000,ZA,mobile")
    assert lines[-1].startswith("nonsense,false,")
    assert proc.returncode == 6, err


def test_validate_number_from_stdin_as_json(cli) -> None:
    run = cli("validate-number", "-o", "json", input="\n".join([*NUMBERS[:3], "x", ""]) + "\n")
    assert run.exit_code == 6
    rows = json.loads(run.stdout)
    assert [r["valid"] for r in rows] == [True, True, True, False]
    assert set(rows[0]) == {"input", "valid", "number", "region", "type", "error"}


def test_validate_number_table_in_pieces_keeps_every_row(cli) -> None:
    run = cli("validate-number", input="\n".join(NUMBERS) + "\n")
    assert run.exit_code == 0, run.stderr
    shown = [line for line in run.stdout.splitlines() if line.startswith("+2782")]
    assert len(shown) == len(NUMBERS)


def test_a_huge_line_is_one_invalid_number_not_a_memory_hog(cli) -> None:
    run = cli("validate-number", "-o", "json", input="7" * 200_000 + "\n+27821234567\n")
    assert run.exit_code == 6
    first, second = json.loads(run.stdout)
    assert (first["valid"], len(first["input"]) <= 65_536) == (False, True)
    assert second["number"] == "27821234567"


def test_a_reader_leaving_early_keeps_the_exit_code_of_every_line(tmp_path: Path) -> None:
    source = tmp_path / "numbers.txt"
    source.write_text("".join(f"{n}\n" for n in NUMBERS) + "nonsense\n")
    with source.open("rb") as stdin:
        proc = helpers.Popen(
            [sys.executable, "-m", "clicksms", "validate-number", "-o", "csv"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()  # like `| head -c 10`
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 6, err  # the last line, never printed, still counts
    assert err == ""


def test_send_stops_reading_a_text_longer_than_any_message(tmp_path: Path, creds) -> None:
    """It read a 200 MB text whole (424 MB of memory) before refusing it."""
    big = tmp_path / "big.txt"
    with big.open("wb") as out:
        for _ in range(20):
            out.write(b"a" * 1_000_000)
    with big.open("rb") as stdin:
        proc = helpers.run(
            [sys.executable, "-m", "clicksms", "send", "27821234567"],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        read = os.lseek(stdin.fileno(), 0, os.SEEK_CUR)  # the child shared this file offset
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "Error: message text on standard input is longer than 65536 characters: a message "
        "is at most 35 SMS parts (5355 GSM characters)"
    )
    assert read < 1_000_000, f"read {read} bytes of a 20 MB text"
    assert creds.requests == []


def test_send_still_reads_the_longest_text_a_message_can_be(cli, creds) -> None:
    text = "a" * (153 * 35)
    run = cli("send", "27821234567", "-o", "json", input=text + "\n")
    assert run.exit_code == 0, run.stderr
    assert creds.ledger[0]["parts"] == 35
