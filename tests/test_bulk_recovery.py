"""Bulk recovery rules: what a resume may and may not assume, and checks made before sending."""

from __future__ import annotations

import json
import os
import pty
import sys
import time
from pathlib import Path

import helpers
from conftest import PASSWORD, sent_ops

from clicksms.bulk.journal import JobRow, Journal, client_message_id, default_journal_path

NUMBERS = ["27821000001", "27821000002", "27821000003"]


def make_job(config_dir: Path, sandbox, rows: list[str], **extra: object) -> tuple[Journal, str]:
    journal = Journal(default_journal_path(config_dir))
    job = journal.create_job("made-up.csv", helpers.job_options(sandbox, **extra))
    journal.add_rows(job.id, [JobRow(i + 1, n, "x", "pending") for i, n in enumerate(rows)])
    return journal, job.id


def test_a_group_found_by_its_client_id_is_unknown_not_sent(cli, creds, config_dir) -> None:
    """Two rows shared one request; the gateway knows the ID, not which numbers it took."""
    journal, job = make_job(config_dir, creds, NUMBERS[:2])
    shared = client_message_id(job, 1)
    journal.mark_in_flight(job, [1, 2], shared)
    journal.set_state(job, "interrupted")
    journal.close()
    cli("send", NUMBERS[0], "-t", "x", "--client-id", shared)  # only one of them arrived
    run = cli("bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 5, run.stderr  # as for send: may have been sent, look first
    assert "2 are unknown (see the summary)" in run.stderr
    assert "0 failed, 0 skipped (invalid or duplicate), 0 not sent yet, 2 unknown" in run.stderr
    (listed,) = json.loads(cli("jobs", "-o", "json").stdout)
    assert (listed["failed"], listed["unknown"]) == (0, 2)
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["unknown", "unknown"]
    assert all("check before resending" in r["error"] for r in rows)
    assert len(creds.ledger) == 1  # nothing resent


def test_a_resend_never_reuses_a_client_id(cli, creds, config_dir) -> None:
    journal, job = make_job(config_dir, creds, NUMBERS[:1])
    first = client_message_id(job, 1)
    journal.mark_in_flight(job, [1], first)
    journal.release(job, [1])  # e.g. ERR 301: refused, to go again later
    journal.set_state(job, "stopped")
    journal.close()
    cli("send", NUMBERS[2], "-t", "other", "--client-id", first)  # the old ID is now taken
    run = cli("bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 0, run.stderr
    (fields,) = [f for f in sent_ops(creds, "sendmsg") if f["to"] == [NUMBERS[0]]]
    assert fields["climsgid"] != first and fields["climsgid"].startswith(f"{job}t")
    assert sorted(m["to"] for m in creds.ledger) == [NUMBERS[0], NUMBERS[2]]


def test_a_job_whose_file_was_not_fully_read_is_not_resumed(cli, creds, config_dir) -> None:
    journal, job = make_job(config_dir, creds, NUMBERS, loaded=False)
    journal.set_state(job, "interrupted")
    journal.close()
    run = cli("bulk", "--resume", job)
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: ")
    assert "was stopped while its file was still being read, so nothing was sent" in run.stderr
    assert json.loads(cli("jobs", "-o", "json").stdout)[0]["state"] == "interrupted"
    assert creds.ledger == []


def test_resume_elsewhere_is_refused(cli, creds, config_dir) -> None:
    journal, job = make_job(config_dir, creds, NUMBERS)
    journal.set_state(job, "interrupted")
    journal.close()
    run = cli("--user", "someoneelse", "bulk", "--resume", job)
    assert run.exit_code == 2
    # One line, before anything else; the job is left as it was (not called "stopped").
    assert run.stderr.startswith("Error: ") and "resume it with the same settings" in run.stderr
    assert json.loads(cli("jobs", "-o", "json").stdout)[0]["state"] == "interrupted"
    assert creds.requests == []


def test_resume_keeps_the_options_it_started_with(cli, creds, config_dir) -> None:
    journal, job = make_job(config_dir, creds, NUMBERS)
    journal.set_state(job, "interrupted")
    journal.close()
    run = cli("bulk", "--resume", job, "--from", "OTHER", "--rate", "5")
    assert run.exit_code == 2
    assert "--resume continues a job exactly as it was started: drop --from" in run.stderr


def test_results_file_is_checked_before_sending(cli, creds, tmp_path: Path) -> None:
    source = tmp_path / "n.csv"
    source.write_text("phone\n27821000001\n")
    bad = cli("bulk", str(source), "-t", "x", "--results", str(tmp_path / "no" / "r.csv"))
    assert bad.exit_code == 2 and "cannot write --results" in bad.stderr
    same = cli("bulk", str(source), "-t", "x", "--results", str(source))
    assert same.exit_code == 2 and "is the input file" in same.stderr
    assert creds.requests == []
    assert source.read_text() == "phone\n27821000001\n"


def test_fractional_rate_is_a_usage_error(cli, creds, tmp_path: Path) -> None:
    run = cli("bulk", "x.csv", "-t", "x", "--rate", "0.5")
    assert run.exit_code == 2
    assert "use 0 (no limit) or at least 1 per second" in run.stderr


def test_sandbox_jobs_never_touch_the_real_journal(cli, creds, config_dir) -> None:
    journal, job = make_job(config_dir, creds, NUMBERS)
    journal.set_state(job, "stopped")
    journal.close()
    run = cli("--sandbox", "jobs", "-o", "json")
    assert run.exit_code == 0 and json.loads(run.stdout) == []


def test_progress_bar_on_a_terminal(creds, tmp_path: Path) -> None:
    source = tmp_path / "n.csv"
    source.write_text("phone,name\n" + "".join(f"{n},p{i}\n" for i, n in enumerate(NUMBERS)))
    env = {
        **os.environ,
        "CLICKSMS_ENDPOINT": creds.endpoint,
        "CLICKSMS_API_ID": "3512345",
        "CLICKSMS_USER": "sandbox",
        "TERM": "xterm",
    }
    args = [sys.executable, "-m", "clicksms", "bulk", str(source), "-t", "Hi {name}"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.execve(sys.executable, args, env)
    shown = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    helpers.AUDIT.record("terminal", shown)
    assert os.waitstatus_to_exitcode(status) == 0, shown.decode(errors="replace")
    assert b"3 sent, 0 failed" in shown
    assert b"internal error" not in shown
    assert len(creds.ledger) == 3


def test_a_reader_that_stops_early_keeps_the_exit_code(creds, tmp_path: Path) -> None:
    """`bulk -o json | head` must not turn a good run into exit 1 or lose the summary."""
    import subprocess

    source = tmp_path / "n.csv"
    source.write_text("phone\n" + "".join(f"2782{n}\n" for n in range(1000000, 1000900)))
    env = {
        **os.environ,
        "CLICKSMS_ENDPOINT": creds.endpoint,
        "CLICKSMS_API_ID": "3512345",
        "CLICKSMS_USER": "sandbox",
        "CLICKSMS_PASSWORD": PASSWORD,
    }
    args = [sys.executable, "-m", "clicksms", "bulk", str(source), "-t", "x", "--rate", "0"]
    proc = helpers.Popen(
        [*args, "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"[\n"
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "900 sent, 0 failed" in err
    assert len(creds.ledger) == 900
