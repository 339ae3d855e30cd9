"""`clicksms bulk` when the gateway says no: MT limit, no credit, answers it cannot read."""

from __future__ import annotations

import json
import time
from pathlib import Path

from impostor import Reply, envelope

from clicksms.bulk.journal import Journal, default_journal_path

ID1, ID2 = "a" * 32, "b" * 32


def rows_file(tmp_path: Path, count: int, personalised: bool = True) -> Path:
    path = tmp_path / "rows.csv"
    lines = [f"2782100000{i},{'n' + str(i) if personalised else 'x'}" for i in range(count)]
    path.write_text("phone,name\n" + "\n".join(lines) + "\n")
    return path


def sent(impostor) -> int:
    return impostor.seen.count("sendmsg")


def test_mt_limit_stops_with_rows_left_to_resume(cli, impostor, tmp_path, config_dir) -> None:
    until = int(time.time()) + 3600
    impostor.replies = [
        Reply(body=envelope("sendmsg", f"ID: {ID1}")),
        Reply(body=envelope("sendmsg", f"ERR: 130, Maximum MT limit exceeded until {until}")),
    ]
    run = cli("bulk", str(rows_file(tmp_path, 3)), "-t", "{name}", "--concurrency", "1")
    assert run.exit_code == 6, run.stderr
    assert "MT limit is reached until" in run.stderr
    assert "1 sent, 0 failed, 0 skipped (invalid or duplicate), 2 not sent yet" in run.stderr
    assert sent(impostor) == 2
    with Journal(default_journal_path(config_dir)) as journal:
        (job,) = journal.jobs()
        assert (job.state, job.sent, job.pending) == ("stopped", 1, 2)


def test_mt_limit_wait_goes_on_after_the_given_time(cli, impostor, tmp_path) -> None:
    until = int(time.time()) + 1
    impostor.replies = [
        Reply(body=envelope("sendmsg", f"ERR: 130, Maximum MT limit exceeded until {until}")),
        Reply(body=envelope("sendmsg", f"ID: {ID1}")),
        Reply(body=envelope("sendmsg", f"ID: {ID2}")),
    ]
    run = cli(
        "bulk", str(rows_file(tmp_path, 2)), "-t", "{name}", "--concurrency", "1",
        "--on-limit", "wait", "-o", "json",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert time.time() >= until  # it waited for the time the gateway gave
    assert "The account's MT limit is reached (ERR 130): waiting until" in run.stderr
    rows = json.loads(run.stdout)
    assert all(r["ok"] for r in rows)
    assert {r["message_id"] for r in rows} == {ID1, ID2}  # row 1 went again after the pause


def test_no_credit_for_some_recipients_leaves_them_pending(cli, impostor, tmp_path) -> None:
    impostor.replies = [
        Reply(
            body=envelope(
                "sendmsg",
                f"ID: {ID1} To: 27821000000",
                "ERR: 301, No credit left To: 27821000001",
                "ERR: 301, No credit left To: 27821000002",
            )
        )
    ]
    run = cli("bulk", str(rows_file(tmp_path, 3, personalised=False)), "-t", "x", "--rate", "0")
    assert run.exit_code == 6, run.stderr
    assert "Stopped: no credit left" in run.stderr
    assert "1 sent, 0 failed, 0 skipped (invalid or duplicate), 2 not sent yet" in run.stderr


def test_requests_marked_but_not_sent_go_back_to_pending(
    cli, impostor, tmp_path, config_dir
) -> None:
    # Two workers: rows 1 and 2 go out; the first answer frees a worker, so rows 3 and 4 are
    # marked together and row 3 goes out; the late ERR 301 then stops the run before row 4.
    impostor.replies = [
        Reply(body=envelope("sendmsg", f"ID: {ID1}")),
        Reply(body=envelope("sendmsg", "ERR: 301, No credit left"), delay=0.5),
        Reply(body=envelope("sendmsg", f"ID: {ID2}"), delay=1.0),
    ]
    run = cli("bulk", str(rows_file(tmp_path, 6)), "-t", "{name}", "--concurrency", "2")
    assert run.exit_code == 6, run.stderr
    assert "2 sent, 0 failed, 0 skipped (invalid or duplicate), 4 not sent yet" in run.stderr
    assert sent(impostor) == 3
    with Journal(default_journal_path(config_dir)) as journal:
        (job,) = journal.jobs()
        assert [r.row for r in journal.rows(job.id, ["in_flight"])] == []  # row 4 never left
        assert len(list(journal.rows(job.id, ["done"]))) == 2


def test_unreadable_answer_is_settled_by_client_message_id(cli, impostor, tmp_path) -> None:
    impostor.replies = [
        Reply(body=envelope("sendmsg", "Something went sideways")),
        Reply(body=envelope("querymsg", f"ID: {ID1} Status: 003")),
    ]
    run = cli("bulk", str(rows_file(tmp_path, 1)), "-t", "{name}", "-o", "json")
    assert run.exit_code == 0, run.stderr
    (row,) = json.loads(run.stdout)
    assert (row["status"], row["message_id"]) == ("accepted", ID1)
    assert impostor.seen == ["auth", "sendmsg", "querymsg"]
    climsgid = impostor.bodies[1].split(b"<climsgid>")[1].split(b"<")[0]
    assert climsgid in impostor.bodies[2]


def test_dropped_connection_stops_and_keeps_the_row_in_doubt(cli, impostor, tmp_path) -> None:
    impostor.replies = [Reply(status=200, body=b"", delay=0)]  # empty 200: not SOAP
    impostor.replies[0].content_type = "text/html"
    run = cli("bulk", str(rows_file(tmp_path, 2)), "-t", "{name}", "--concurrency", "1")
    assert run.exit_code == 5, run.stderr
    assert "Resume with: clicksms bulk --resume" in run.stderr
    assert sent(impostor) == 1  # nothing after a failure whose outcome is unknown
