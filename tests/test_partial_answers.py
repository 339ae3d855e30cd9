"""Answers that do not account for every recipient are never reported as sent (issue 15.1).

A request to several numbers must come back with one item per number. When an item is
missing, repeated, unreadable or names a number the request never carried, the numbers it
leaves unexplained are *unknown* (they may have been sent: check before resending), in
``send`` as in ``bulk``; and a bulk row left in flight is settled by what its request was (how
many recipients it carried), not by how many of its rows happen to be still in flight.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from impostor import Reply, envelope

from clicksms.bulk.journal import Journal, default_journal_path

ID1, ID2, ID3 = "a" * 32, "b" * 32, "c" * 32
N0, N1 = "27821000000", "27821000001"
STRANGER = "27829999999"


def two_rows(tmp_path: Path) -> Path:
    """Two rows with the same text: with --rate 0 they go out in one request."""
    path = tmp_path / "rows.csv"
    path.write_text(f"phone\n{N0}\n{N1}\n")
    return path


def sendmsg(*items: str) -> Reply:
    return Reply(body=envelope("sendmsg", *items))


def querymsg(status: str, message_id: str = ID2) -> Reply:
    return Reply(body=envelope("querymsg", f"ID: {message_id} Status: {status}"))


def by_row(stdout: str) -> dict[int, dict]:
    return {r["row"]: r for r in json.loads(stdout)}


# -- bulk ---------------------------------------------------------------------------------


def test_bulk_row_without_an_answer_ends_unknown_not_sent(cli, impostor, tmp_path) -> None:
    """The gateway answers for row 2 only; asked later, it knows the request's client ID."""
    impostor.replies = [sendmsg(f"ID: {ID2} To: {N1}"), querymsg("003")]
    run = cli("bulk", str(two_rows(tmp_path)), "-t", "x", "--rate", "0", "-o", "json")
    assert impostor.seen == ["auth", "sendmsg", "querymsg"]
    rows = by_row(run.stdout)
    assert (rows[2]["status"], rows[2]["message_id"]) == ("accepted", ID2)
    assert (rows[1]["status"], rows[1]["message_id"], rows[1]["ok"]) == ("unknown", None, False)
    assert "check before resending" in rows[1]["error"]
    assert run.exit_code == 5, run.stderr
    assert "1 sent, 0 failed, 0 skipped (invalid or duplicate), 0 not sent yet, 1 unknown" in (
        run.stderr
    )


def test_bulk_resume_settles_it_by_the_request_not_by_the_rows_left(
    cli, impostor, tmp_path
) -> None:
    """The end-of-run check hears "not known yet" (001); the resume then hears "delivered"."""
    impostor.replies = [sendmsg(f"ID: {ID2} To: {N1}"), querymsg("001"), querymsg("004")]
    first = cli("bulk", str(two_rows(tmp_path)), "-t", "x", "--rate", "0")
    assert first.exit_code == 6, first.stderr
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    run = cli("bulk", "--resume", job, "-o", "json")
    assert impostor.seen == ["auth", "sendmsg", "querymsg", "querymsg"]
    assert "1 are unknown (see the summary)" in run.stderr
    rows = by_row(run.stdout)
    assert [rows[1]["status"], rows[2]["status"]] == ["unknown", "accepted"]
    assert rows[1]["message_id"] is None
    assert run.exit_code == 5, run.stderr


def test_bulk_answer_naming_one_number_twice_settles_neither(cli, impostor, tmp_path) -> None:
    impostor.replies = [sendmsg(f"ID: {ID1} To: {N0}", f"ID: {ID2} To: {N0}"), querymsg("003")]
    run = cli("bulk", str(two_rows(tmp_path)), "-t", "x", "--rate", "0", "-o", "json")
    rows = by_row(run.stdout)
    assert [rows[1]["status"], rows[2]["status"]] == ["unknown", "unknown"]
    assert run.exit_code == 5, run.stderr


def test_bulk_answer_for_a_number_never_sent_is_reported(cli, impostor, tmp_path) -> None:
    impostor.replies = [
        sendmsg(f"ID: {ID1} To: {N0}", f"ID: {ID2} To: {N1}", f"ID: {ID3} To: {STRANGER}")
    ]
    run = cli("bulk", str(two_rows(tmp_path)), "-t", "x", "--rate", "0", "-o", "json")
    rows = by_row(run.stdout)
    assert [rows[1]["message_id"], rows[2]["message_id"]] == [ID1, ID2]
    assert f"Warning: the gateway answered for a number it was not sent to ({STRANGER})" in (
        run.stderr
    )
    assert "0 not sent yet, 1 answer(s) for numbers it was not sent to (see above)" in run.stderr
    assert run.exit_code == 5, run.stderr


def test_a_journal_from_before_request_sizes_is_migrated_and_settled_the_same(
    cli, impostor, tmp_path, config_dir
) -> None:
    """A schema-1 journal (no request sizes) with a row in flight beside a sent sibling."""
    impostor.replies = [sendmsg(f"ID: {ID2} To: {N1}"), querymsg("001"), querymsg("003")]
    first = cli("bulk", str(two_rows(tmp_path)), "-t", "x", "--rate", "0")
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    path = default_journal_path(config_dir)
    with sqlite3.connect(path) as db:  # what clicksms 0.1.0 left behind
        db.execute("ALTER TABLE job_rows DROP COLUMN request_size")
        db.execute("PRAGMA user_version = 1")
    db.close()
    run = cli("bulk", "--resume", job, "-o", "json")
    assert [r["status"] for r in json.loads(run.stdout)] == ["unknown", "accepted"]
    assert run.exit_code == 5, run.stderr
    with Journal(path) as journal:
        assert journal.summary(job).unknown == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()


# -- send ---------------------------------------------------------------------------------


def test_send_answer_naming_one_number_twice_is_not_success(cli, impostor) -> None:
    impostor.replies = [sendmsg(f"ID: {ID1} To: {N0}", f"ID: {ID2} To: {N0}")]
    run = cli("send", N0, N1, "-t", "x", "-o", "json")
    assert [(r["to"], r["status"]) for r in json.loads(run.stdout)] == [
        (N0, "unknown"),
        (N1, "unknown"),
    ]
    assert run.exit_code == 5, run.stderr
    assert "the gateway's answer for 2 recipient(s) was not understood" in run.stderr


def test_send_single_item_without_a_number_for_two_recipients(cli, impostor) -> None:
    """One unnamed item cannot say whose message it is: neither recipient is sent."""
    impostor.replies = [sendmsg(f"ID: {ID1}")]
    run = cli("send", N0, N1, "-t", "x", "-o", "json")
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["unknown", "unknown"]
    assert [r["message_id"] for r in rows] == [None, None]
    assert run.exit_code == 5, run.stderr


def test_send_answer_for_a_number_never_sent_is_reported(cli, impostor) -> None:
    impostor.replies = [
        sendmsg(f"ID: {ID1} To: {N0}", f"ID: {ID2} To: {N1}", f"ID: {ID3} To: {STRANGER}")
    ]
    run = cli("send", N0, N1, "-t", "x", "-o", "json")
    rows = json.loads(run.stdout)
    assert [(r["status"], r["message_id"]) for r in rows] == [("accepted", ID1), ("accepted", ID2)]
    assert run.exit_code == 5, run.stderr
    assert f"answered for a number it was not sent to ({STRANGER})" in run.stderr


def test_send_answers_in_request_order_without_numbers_still_pair_up(cli, impostor) -> None:
    """The 2009 spec's per-recipient errors carry no To:; one item per recipient, in order."""
    impostor.replies = [sendmsg(f"ID: {ID1}", "ERR: 105, Invalid Destination Address")]
    run = cli("send", N0, N1, "-t", "x", "-o", "json")
    rows = json.loads(run.stdout)
    assert [(r["status"], r["message_id"], r["error_code"]) for r in rows] == [
        ("accepted", ID1, None),
        ("rejected", None, "105"),
    ]
    assert run.exit_code == 6, run.stderr
