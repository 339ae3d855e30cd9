"""At home in a terminal, cron and CI: tables that never cut a value at 80 or 60 columns,
``-q`` that prints nothing, ``-o jsonl`` with one object per line, and one JSON shape rule.

Every command that prints a table runs here against the sandbox, at each width, and every ID,
number and figure that its JSON output holds must appear whole in the table.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

NUMBERS = ["27821234567", "27831234567", "447911123456"]
REJECTED = "27820000105"
QUEUED = "27820000002"  # stays 002: cancellable


def assert_whole(stdout: str, width: int, values) -> None:
    """No line wider than ``width``, and every value whole (not cut, not folded)."""
    too_wide = [line for line in stdout.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide
    for value in values:
        text = str(value)
        pattern = rf"(?<![\w.+-]){re.escape(text)}(?![\w.])"
        assert re.search(pattern, stdout), f"{text!r} is not whole in:\n{stdout}"


def sent_ids(sandbox) -> list[str]:
    return [record["apimsgid"] for record in sandbox.ledger]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-rather-long-file-name-for-the-customers-of-march.csv"
    path.write_text("phone,name\n" + "".join(f"{n},N{i}\n" for i, n in enumerate(NUMBERS)))
    return path


@pytest.mark.parametrize("width", [80, 60])
def test_send_and_its_dry_run(cli, creds, monkeypatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    run = cli("send", *NUMBERS, REJECTED, "-t", "hello there")
    assert run.exit_code == 6, run.stderr
    assert_whole(run.stdout, width, [*NUMBERS, REJECTED, *sent_ids(creds), "105"])
    dry = cli("send", *NUMBERS, "-t", "Zażółć gęślą jaźń, a rather long text " * 3, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert_whole(dry.stdout, width, [*NUMBERS, "UCS-2", "2"])


@pytest.mark.parametrize("width", [80, 60])
def test_bulk_results_jobs_and_dry_run(cli, creds, monkeypatch, csv_file: Path, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    csv_file.write_text(csv_file.read_text() + f"{REJECTED},Rex\nnot-a-number,Nobody\n")
    run = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "0")
    assert run.exit_code == 6, run.stderr
    assert_whole(run.stdout, width, [*NUMBERS, REJECTED, *sent_ids(creds), "105", "not-a-number"])
    listed = json.loads(cli("jobs", "-o", "json").stdout)
    jobs = cli("jobs")
    figures = [listed[0][k] for k in ("id", "state", "sent", "failed", "skipped", "total")]
    assert_whole(jobs.stdout, width, [*figures, listed[0]["created_at"][:10]])
    assert csv_file.name[-20:] in re.sub(r"\n *", "", jobs.stdout)  # a path may fold
    dry = cli("bulk", str(csv_file), "-t", "Hi {name}, your order is ready", "--dry-run")
    assert_whole(dry.stdout, width, [*NUMBERS[:3], "GSM-7", "not-a-number"])


@pytest.mark.parametrize("width", [80, 60])
def test_status_cancel_and_charge(cli, creds, monkeypatch, width: int) -> None:
    sent = json.loads(cli("send", QUEUED, "-t", "x", "--client-id", "order42", "-o", "json").stdout)
    more = json.loads(cli("send", *NUMBERS, "-t", "y", "-o", "json").stdout)
    ids = [row["message_id"] for row in [*sent, *more]]
    monkeypatch.setenv("COLUMNS", str(width))
    status = cli("status", *ids)
    assert_whole(status.stdout, width, [*ids, "002", "003"])
    by_client = cli("status", "--client-id", "order42")
    assert_whole(by_client.stdout, width, [ids[0], "order42", "002"])
    charge = cli("charge", *ids)
    assert_whole(charge.stdout, width, [*ids, "Total", "4"])
    cancel = cli("cancel", *ids)
    assert_whole(cancel.stdout, width, [*ids, "006"])


@pytest.mark.parametrize("width", [80, 60])
def test_coverage_validate_and_auth(cli, creds, monkeypatch, config_dir: Path, width: int):
    monkeypatch.setenv("COLUMNS", str(width))
    coverage = cli("coverage", *NUMBERS, "27820000114")
    assert_whole(coverage.stdout, width, [*NUMBERS, "27820000114", "1"])
    valid = cli("validate-number", "+27 82 123 4567", "0821234567", "12", "--country", "ZA")
    assert_whole(valid.stdout, width, ["+27 82 123 4567", "0821234567", "27821234567", "ZA"])
    assert cli("auth").exit_code == 0
    status = cli("auth", "--status")
    assert str(config_dir / "session.json") not in status.stdout  # a sentence, not a table
    assert "Session for sandbox (api_id 3512345)" in status.stdout


def test_a_pipe_keeps_each_row_on_one_line(cli, creds, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS")  # no terminal and no COLUMNS: nothing to fit
    run = cli("send", *NUMBERS, REJECTED, "-t", "hi")
    body = [line for line in run.stdout.splitlines() if line[:1].isdigit()]
    assert len(body) == 4


# -- -q and -o jsonl on every command that prints rows ----------------------------------------

OBJECTS = {"auth", "balance", "ping", "auth --status", "bulk --dry-run"}


def commands(csv_file: Path, ids: list[str]) -> dict[str, list[str]]:
    """Each command that prints rows (or one answer), as a user would run it."""
    return {
        "send": ["send", NUMBERS[0], "-t", "hi"],
        "send --dry-run": ["send", *NUMBERS, "-t", "hi", "--dry-run"],
        "bulk": ["bulk", str(csv_file), "-t", "Hi {name}", "--rate", "0"],
        "bulk --dry-run": ["bulk", str(csv_file), "-t", "Hi {name}", "--dry-run"],
        "jobs": ["jobs"],
        "validate-number": ["validate-number", *NUMBERS],
        "status": ["status", *ids],
        "cancel": ["cancel", *ids],
        "charge": ["charge", *ids],
        "balance": ["balance"],
        "coverage": ["coverage", *NUMBERS],
        "ping": ["ping"],
        "auth": ["auth"],
        "auth --status": ["auth", "--status"],
    }


@pytest.fixture
def message_ids(cli, creds) -> list[str]:
    sent = json.loads(cli("send", *NUMBERS, QUEUED, "-t", "x", "-o", "json").stdout)
    return [row["message_id"] for row in sent]


@pytest.mark.parametrize("name", sorted(commands(Path("x"), [])))
def test_quiet_prints_nothing_and_the_exit_code_tells(
    cli, creds, csv_file: Path, message_ids: list[str], name: str
) -> None:
    args = commands(csv_file, message_ids)[name]
    loud = cli(*args)
    quiet = cli(*args, "-q")
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert quiet.exit_code == loud.exit_code


def test_quiet_still_says_what_went_wrong(cli, creds, tmp_path: Path) -> None:
    """Cron mails what a quiet command writes: a message the gateway refused is written."""
    for output in ("table", "json"):
        run = cli("send", "27820000105", "-t", "hi", "-q", "-o", output)
        assert (run.exit_code, run.stdout) == (4, "")
        assert run.stderr == "0 accepted, 1 rejected: invalid destination number.\n"
    broken = cli("status", "not-an-id!", "-q")
    assert broken.exit_code == 2 and broken.stderr.startswith("Error: ")
    # A bulk job stopped short says how far it got, why, and how to go on.
    csv = tmp_path / "n.csv"
    csv.write_text("phone\n27821000001\n27820000105\n")
    job = cli("bulk", str(csv), "-t", "hi", "-q")
    assert job.exit_code == 6 and job.stdout == ""
    assert job.stderr.startswith("Job ") and ": 1 sent, 1 failed, 0 skipped" in job.stderr


@pytest.mark.parametrize("name", sorted(commands(Path("x"), [])))
def test_json_lines_hold_what_json_holds(
    cli, creds, csv_file: Path, message_ids: list[str], name: str
) -> None:
    args = commands(csv_file, message_ids)[name]
    if name == "bulk":  # a new job each run: compare rows less their IDs
        whole = json.loads(cli(*args, "-o", "json").stdout)
        lines = [json.loads(line) for line in cli(*args, "-o", "jsonl").stdout.splitlines()]
        keys = ("row", "to", "ok", "status")
        assert [[r[k] for k in keys] for r in lines] == [[r[k] for k in keys] for r in whole]
        return
    if name in ("send", "jobs"):  # sending changes the answer: jsonl first, then json
        jsonl = cli(*args, "-o", "jsonl").stdout
        whole = json.loads(cli(*args, "-o", "json").stdout)
    else:
        whole = json.loads(cli(*args, "-o", "json").stdout)
        jsonl = cli(*args, "-o", "jsonl").stdout
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    if name in OBJECTS:  # one answer: an object in JSON, one line in JSON lines
        assert isinstance(whole, dict) and len(lines) == 1
        assert lines[0].keys() == whole.keys()
    else:  # one row per item: a list in JSON, a line each in JSON lines
        assert isinstance(whole, list) and len(lines) == len(whole)
        if name not in ("send", "jobs"):
            assert lines == whole


# -- what "unknown" means, said once -----------------------------------------------------------


@pytest.mark.parametrize("recipients", [NUMBERS[:1], NUMBERS])
def test_outcome_unknown_is_explained_once(cli, creds, recipients: list[str]) -> None:
    creds.faults.add("drop-after", ops={"sendmsg"}, times=1)
    run = cli("send", *recipients, "-t", "hi")
    assert run.exit_code == 5, run.stderr
    both = run.stdout + run.stderr
    assert both.count("may have been sent") == 1, both
    assert run.stderr.splitlines()[0].endswith(
        f"{len(recipients)} unknown: outcome unknown, may have been sent (check before resending)."
    )
    rows = json.loads(cli("send", *recipients, "-t", "hi", "-o", "json").stdout)
    assert all(row["status"] == "accepted" for row in rows)  # the fault fired once


def test_bulk_rows_of_unknown_outcome_are_explained_once(cli, creds, csv_file: Path) -> None:
    creds.faults.add("drop-after", ops={"sendmsg"}, times=1)
    run = cli("bulk", str(csv_file), "-t", "Hi", "--rate", "0")  # one request for all three
    assert run.exit_code == 5, run.stderr
    job = run.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    resumed = cli("bulk", "--resume", job)  # the gateway has the request: which numbers?
    assert resumed.exit_code == 5, resumed.stderr
    both = resumed.stdout + resumed.stderr
    assert both.count("may have been sent") == 1, both
    assert both.count("answer was lost") == 1, both
    assert "3 unknown (their request arrived but its answer was lost" in resumed.stderr
    cells = [line.split("│") for line in resumed.stdout.splitlines()[2:]]
    assert [[cell.strip() for cell in row[2:]] for row in cells] == [["unknown"]] * 3  # no Error


@pytest.mark.parametrize("width", [40, 56, 79, 80, 120])
def test_the_progress_bar_keeps_its_figures_whole_on_a_narrow_terminal(width: int) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from clicksms.cli.bulk_view import bar_columns

    console = Console(file=io.StringIO(), width=width, color_system=None)
    progress = Progress(*bar_columns(width), console=console, auto_refresh=False)
    task = progress.add_task("Sending", total=100_000, failed=12_345, rate="100")
    progress.update(task, completed=99_999)
    console.print(progress.make_tasks_table(progress.tasks))
    (line,) = console.file.getvalue().splitlines()
    assert "99999/100000" in line and "12345 failed · 100 msg/s" in line, line
    assert "…" not in line and len(line.rstrip()) <= width
    assert ("Sending" in line) == (width >= 80)
