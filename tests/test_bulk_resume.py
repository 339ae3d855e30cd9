"""Interrupted bulk jobs: Ctrl-C and kill -9 of a real `clicksms bulk`, then --resume.

The sandbox ledger is the witness: after the resume, every valid row was delivered exactly
once, whatever instant the first run died at.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from conftest import PASSWORD

from clicksms.bulk.journal import (
    JOB_INTERRUPTED,
    ROW_IN_FLIGHT,
    JobRow,
    Journal,
    client_message_id,
    default_journal_path,
)

ROWS = 240


def numbers(count: int) -> list[str]:
    return [f"2782{n:07d}" for n in range(2000000, 2000000 + count)]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    lines = ["phone,name", *(f"{n},person{i}" for i, n in enumerate(numbers(ROWS)))]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_bulk(sandbox, csv_file: Path, *more: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CLICKSMS_ENDPOINT": sandbox.endpoint,
        "CLICKSMS_API_ID": "3512345",
        "CLICKSMS_USER": "sandbox",
        "CLICKSMS_PASSWORD": PASSWORD,
    }
    args = [sys.executable, "-m", "clicksms", "bulk", str(csv_file), "-t", "Hi {name}"]
    return helpers.Popen(
        [*args, "--rate", "0", "--concurrency", "4", *more],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_ledger(sandbox, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(sandbox.ledger) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the bulk run made no progress"
        time.sleep(0.01)


def the_only_job(config_dir: Path) -> str:
    with Journal(default_journal_path(config_dir)) as journal:
        (job,) = journal.jobs()
        return job.id


def assert_each_row_sent_once(sandbox) -> None:
    counts = Counter(record["to"] for record in sandbox.ledger)
    assert sorted(counts) == numbers(ROWS)
    assert set(counts.values()) == {1}, [n for n, c in counts.items() if c > 1]
    texts = {record["to"]: record["text"] for record in sandbox.ledger}
    assert texts[numbers(ROWS)[7]] == "Hi person7"


@pytest.mark.parametrize("after", [1, 60, 150])
def test_kill_9_then_resume_sends_every_row_once(
    cli, creds, csv_file: Path, config_dir: Path, after: int
) -> None:
    creds.config.latency = 0.02
    proc = start_bulk(creds, csv_file)
    try:
        wait_for_ledger(creds, after, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert len(creds.ledger) < ROWS
    creds.config.latency = 0
    job = the_only_job(config_dir)
    listed = json.loads(cli("jobs", "-o", "json").stdout)
    assert listed[0]["id"] == job and listed[0]["state"] == "interrupted"
    run = cli("bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)
    rows = json.loads(run.stdout)
    assert len(rows) == ROWS and all(r["ok"] for r in rows)
    assert json.loads(cli("jobs", "-o", "json").stdout)[0]["state"] == "done"


def test_ctrl_c_finishes_in_flight_requests_then_resume(
    cli, creds, csv_file: Path, config_dir: Path
) -> None:
    creds.config.latency = 0.02
    proc = start_bulk(creds, csv_file)
    try:
        wait_for_ledger(creds, 40, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    job = the_only_job(config_dir)
    assert f"Resume with: clicksms bulk --resume {job}" in err
    assert "Traceback" not in err
    with Journal(default_journal_path(config_dir)) as journal:
        assert list(journal.rows(job, [ROW_IN_FLIGHT])) == []  # graceful: nothing in doubt
        assert journal.summary(job).sent == len(creds.ledger)
    creds.config.latency = 0
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)


def test_resume_resends_only_what_the_gateway_never_got(cli, creds, config_dir: Path) -> None:
    """Two requests left in flight: one reached the gateway, one did not."""
    targets = numbers(3)
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job("made-up.csv", helpers.job_options())
        journal.add_rows(job.id, [JobRow(i + 1, n, "x", "pending") for i, n in enumerate(targets)])
        arrived = client_message_id(job.id, 1)
        journal.mark_in_flight(job.id, [1], arrived)
        journal.mark_in_flight(job.id, [2], client_message_id(job.id, 2))
        journal.set_state(job.id, "interrupted")
    # Row 1's request did reach the gateway before the crash:
    cli("send", targets[0], "-t", "x", "--client-id", arrived)
    run = cli("bulk", "--resume", job.id, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert "Checked 2 row(s) left in flight: 1 had reached the gateway, 1 had not" in run.stderr
    assert Counter(r["to"] for r in creds.ledger) == Counter(targets)
    rows = json.loads(run.stdout)
    assert rows[0]["message_id"] == creds.ledger[0]["apimsgid"]


def test_two_runs_of_one_job_cannot_overlap(creds, config_dir: Path) -> None:
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job("x.csv", {})  # running, owned by this (live) test process
    other = helpers.run(
        [sys.executable, "-m", "clicksms", "bulk", "--resume", job.id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 2, other.stderr
    assert f"pid {os.getpid()}" in other.stderr
    assert creds.requests == []


def crash_mid_run(sandbox, csv_file: Path, after: int = 40) -> None:
    sandbox.config.latency = 0.02
    proc = start_bulk(sandbox, csv_file)
    try:
        wait_for_ledger(sandbox, after, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    sandbox.config.latency = 0


@pytest.fixture
def job_whose_pid_was_reused(creds, csv_file: Path, config_dir: Path) -> Iterator[str]:
    """A job that crashed mid-run, its recorded pid now another live process's (as after a
    crash or a reboot it may be any process's)."""
    crash_mid_run(creds, csv_file)
    job = the_only_job(config_dir)
    stranger = helpers.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with Journal(default_journal_path(config_dir)) as journal:
            journal._db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (stranger.pid, job))
        yield job
    finally:
        stranger.kill()
        stranger.wait(timeout=30)


def test_a_crashed_job_whose_pid_was_reused_resumes(
    cli, creds, job_whose_pid_was_reused: str
) -> None:
    job = job_whose_pid_was_reused
    listed = json.loads(cli("jobs", "-o", "json").stdout)
    assert listed[0]["state"] == "interrupted"
    run = cli("bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)


def test_a_crashed_job_whose_pid_was_reused_can_be_forgotten(
    cli, job_whose_pid_was_reused: str
) -> None:
    run = cli("jobs", "--forget", job_whose_pid_was_reused)
    assert run.exit_code == 0, run.stderr
    assert json.loads(cli("jobs", "-o", "json").stdout) == []


def test_second_ctrl_c_stops_waiting_for_requests_in_flight(
    cli, creds, csv_file: Path, config_dir: Path
) -> None:
    """The first Ctrl-C waits for the requests in flight; the second leaves them to --resume."""
    creds.faults.add("latency", ops={"sendmsg"}, after=20, seconds=600)  # answers never come
    proc = start_bulk(creds, csv_file)
    try:
        wait_for_ledger(creds, 24, proc)  # 4 workers stuck in the pause (processed, unanswered)
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        heard = [proc.stderr.readline() for _ in range(3)]  # after "Reading …", "Job …"
        assert "Stopping: waiting for 4 request(s) in flight" in heard[-1], heard
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # far less than the 600 s pause
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    job = the_only_job(config_dir)
    with Journal(default_journal_path(config_dir)) as journal:
        assert len(list(journal.rows(job, [ROW_IN_FLIGHT]))) == 4  # left for --resume
    creds.faults.clear()
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)


def test_ctrl_c_cuts_short_the_retry_pauses_of_workers(
    cli, creds, csv_file: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers pausing before another try (here after ERR 901) stop with the run at once."""
    monkeypatch.setenv("CLICKSMS_RETRIES", "10")
    monkeypatch.setenv("CLICKSMS_RETRY_DELAY", "8")  # up to ~80 s of pauses per request
    creds.faults.add("err-901", ops={"sendmsg"}, after=20)
    proc = start_bulk(creds, csv_file)
    try:
        wait_for_ledger(creds, 20, proc)
        while len(creds.faults.fired) < 4:  # every worker has had its 901 and is pausing
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # one signal is enough: no pause runs its course
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    job = the_only_job(config_dir)
    with Journal(default_journal_path(config_dir)) as journal:
        assert list(journal.rows(job, [ROW_IN_FLIGHT])) == []  # 901: provably not sent
    creds.faults.clear()
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)


def interrupt_twice(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, wait until it says it waits for the requests in flight, Ctrl-C again."""
    assert proc.stderr is not None
    proc.send_signal(signal.SIGINT)
    heard = []
    while not heard or not heard[-1].startswith("Stopping: waiting for"):
        line = proc.stderr.readline()
        assert line, ("the run ended before it said it was stopping", heard)
        heard.append(line)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return out, "".join(heard) + err


@pytest.mark.parametrize("output", ["json", "jsonl", "csv", "table"])
def test_second_ctrl_c_still_prints_every_row_known_and_the_resume_line(
    creds, csv_file: Path, config_dir: Path, output: str
) -> None:
    """Whatever stops the run, stdout is complete and valid for what is known."""
    creds.faults.add("latency", ops={"sendmsg"}, after=20, seconds=600)  # answers never come
    proc = start_bulk(creds, csv_file, "-o", output)
    try:
        wait_for_ledger(creds, 24, proc)  # 20 answered, 4 in flight
        out, err = interrupt_twice(proc)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    job = the_only_job(config_dir)
    if output == "json":
        rows = json.loads(out)
    elif output == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
    elif output == "csv":
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(out)))
    if output != "table":
        assert len(rows) == ROWS
        statuses = Counter(r["status"] for r in rows)
        assert statuses == {"accepted": 20, "unknown": 4, "not_sent": ROWS - 24}
    else:  # the rows not sent are the summary's count, not a row each
        shown = [line for line in out.splitlines() if line[:1].isdigit()]
        assert len(shown) == 24 and "not_sent" not in out
    lines = err.splitlines()
    assert lines[-3] == (
        f"Job {job}: 20 sent, 0 failed, 0 skipped (invalid or duplicate), {ROWS - 20} not "
        "sent yet (4 of them in flight: --resume asks the gateway about them first); 20 "
        "part(s) sent in this run, with up to 4 request(s) in flight at once."
    )
    assert lines[-2] == f"Resume with: clicksms bulk --resume {job}"
    assert lines[-1] == "Error: interrupted"


def test_ctrl_c_while_a_resume_checks_rows_in_flight_says_how_to_resume(
    creds, config_dir: Path
) -> None:
    targets = numbers(3)
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job("made-up.csv", helpers.job_options())
        journal.add_rows(job.id, [JobRow(i + 1, n, "x", "pending") for i, n in enumerate(targets)])
        journal.mark_in_flight(job.id, [1], client_message_id(job.id, 1))
        journal.set_state(job.id, "interrupted")
    creds.faults.add("latency", ops={"querymsg"}, seconds=600)  # the check never ends
    proc = helpers.Popen(
        [sys.executable, "-m", "clicksms", "bulk", "--resume", job.id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while not creds.faults.fired:  # the querymsg arrived and is held
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the resume never asked about its rows"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert lines[0] == (
        f"Resuming job {job.id} (made-up.csv): 3 of 3 row(s) left to send, 0 sent before; "
        "at most 100 msg/s."
    )
    assert lines[-2:] == [f"Resume with: clicksms bulk --resume {job.id}", "Error: interrupted"]
    assert out == ""
    assert creds.ledger == []


def test_the_same_file_is_not_sent_twice_at_once(cli, creds, csv_file: Path) -> None:
    """Two cron runs overlapping, a command started twice: while one job sends the file,
    another of the same file is refused; --again sends it all the same."""
    creds.faults.add("latency", ops={"sendmsg"}, after=20, seconds=600)  # the first hangs
    first = start_bulk(creds, csv_file)
    try:
        wait_for_ledger(creds, 24, first)
        second = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "0")
        assert second.exit_code == 2
        assert second.stderr.splitlines()[-1].startswith(
            f"Error: {csv_file} is being sent right now by job "
        )
        assert second.stderr.rstrip().endswith(
            ": let it finish, or pass --again to send the whole file once more"
        )
        assert len(creds.ledger) == 24
    finally:
        first.kill()
        first.wait(timeout=30)


def test_a_job_stopped_while_its_file_was_read_is_no_reason_to_refuse(
    cli, creds, csv_file: Path, config_dir: Path
) -> None:
    """It sent nothing (every row is recorded before the first request), so the file may go."""
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job(str(csv_file.resolve()), {"loaded": False})
        journal.set_state(job.id, JOB_INTERRUPTED)
    run = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "0", "-q")
    assert run.exit_code == 0, run.stderr
    assert_each_row_sent_once(creds)


def test_an_unfinished_job_from_an_older_clicksms_is_no_less_unfinished(
    cli, creds, csv_file: Path, config_dir: Path
) -> None:
    """Jobs recorded before "loaded" was kept were loaded whole: a new run of their file is
    refused like any other."""
    options = helpers.job_options(creds)
    del options["loaded"]
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job(str(csv_file.resolve()), options)
        journal.add_rows(job.id, [JobRow(1, numbers(1)[0], "x", "pending")])
        journal.set_state(job.id, JOB_INTERRUPTED)
    run = cli("bulk", str(csv_file), "-t", "Hi {name}", "--rate", "0")
    assert run.exit_code == 2
    assert f"has an unfinished job, {job.id}, with 1 of 1 row(s) not sent yet" in run.stderr
    assert creds.ledger == []
