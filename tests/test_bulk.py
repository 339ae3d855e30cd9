"""`clicksms bulk` against the sandbox: templates, grouping, bad rows, results, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import PASSWORD, sent_ops
from helpers import point_at

from clicksms.bulk.journal import Journal, default_journal_path


def numbers(count: int, start: int = 1000000) -> list[str]:
    return [f"2782{n:07d}" for n in range(start, start + count)]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def people(tmp_path: Path) -> Path:
    return write(
        tmp_path / "people.csv",
        "name,phone,order\nAda,+27 82 100 0001,A1\nBob,27821000002,B2\nCleo,0821000003,C3\n",
    )


def ledger_by_number(sandbox) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for record in sandbox.ledger:
        found.setdefault(record["to"], []).append(record)
    return found


def test_personalised_rows_each_get_their_text(cli, creds, people: Path) -> None:
    run = cli(
        "bulk", str(people), "--text", "Hi {name}, order {order} shipped", "-c", "ZA", "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["row"], r["to"], r["status"]) for r in rows] == [
        (1, "27821000001", "accepted"),
        (2, "27821000002", "accepted"),
        (3, "27821000003", "accepted"),
    ]
    keys = {"row", "to", "ok", "status", "message_id", "client_id", "error_code", "error"}
    assert set(rows[0]) == keys  # send's keys plus row
    assert {r["client_id"] for r in rows} == {m["climsgid"] for m in creds.ledger}
    sent = ledger_by_number(creds)
    assert sent["27821000001"][0]["text"] == "Hi Ada, order A1 shipped"
    assert sent["27821000003"][0]["text"] == "Hi Cleo, order C3 shipped"
    assert {r["message_id"] for r in rows} == {m["apimsgid"] for m in creds.ledger}
    assert "numbers in column 'phone' (detected" in run.stderr
    assert "comma-separated, with a header row" in run.stderr


def test_every_row_has_its_own_client_message_id(cli, creds, people: Path) -> None:
    run = cli("bulk", str(people), "-t", "Hi {name}", "-c", "ZA", "--client-id", "promo")
    assert run.exit_code == 0, run.stderr
    ids = [f["climsgid"] for f in sent_ops(creds, "sendmsg")]
    assert len(set(ids)) == 3 and all(i.startswith("promo") and len(i) <= 32 for i in ids)


def test_same_text_is_grouped_into_requests_of_300(cli, creds, tmp_path: Path) -> None:
    targets = numbers(650)
    source = write(tmp_path / "n.csv", "phone\n" + "\n".join(targets) + "\n")
    run = cli("bulk", str(source), "-t", "Maintenance at 22:00", "--rate", "0")
    assert run.exit_code == 0, run.stderr
    sizes = sorted(len(f["to"]) for f in sent_ops(creds, "sendmsg"))
    assert sizes == [50, 300, 300]
    assert sorted(m["to"] for m in creds.ledger) == sorted(targets)
    assert "650 sent, 0 failed" in run.stderr


def test_rate_limit_splits_requests_small(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone\n" + "\n".join(numbers(12)) + "\n")
    run = cli("bulk", str(source), "-t", "x", "--rate", "100")
    assert run.exit_code == 0, run.stderr
    assert {len(f["to"]) for f in sent_ops(creds, "sendmsg")} <= {5, 2}


def test_invalid_and_duplicate_rows_are_reported_and_the_rest_sent(
    cli, creds, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "n.csv",
        "phone,name\n27821000001,a\nnot a number,b\n27821000002,c\n+27 82 100 0001,d\n",
    )
    run = cli("bulk", str(source), "-t", "Hi {name}", "-o", "json")
    assert run.exit_code == 6, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["row"], r["status"]) for r in rows] == [
        (1, "accepted"),
        (2, "invalid"),
        (3, "accepted"),
        (4, "duplicate"),
    ]
    assert rows[1]["to"] == "not a number" and "invalid number" in rows[1]["error"]
    assert rows[3]["error"] == "same number as row 1"
    assert sorted(ledger_by_number(creds)) == ["27821000001", "27821000002"]


def test_allow_duplicates_sends_again(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone\n27821000001\n27821000001\n")
    run = cli("bulk", str(source), "-t", "x", "--allow-duplicates")
    assert run.exit_code == 0, run.stderr
    assert len(creds.ledger) == 2


def test_a_refused_login_leaves_no_job(cli, creds, tmp_path: Path, config_dir, monkeypatch) -> None:
    """The rows are being recorded while bulk logs in: a refused login forgets them all."""
    monkeypatch.setenv("CLICKSMS_PASSWORD", "wrong-password-here")
    source = write(tmp_path / "n.csv", "phone\n" + "\n".join(numbers(20_000)) + "\n")
    run = cli("bulk", str(source), "-t", "x")
    assert run.exit_code == 3, run.stderr
    assert "authentication failed" in run.stderr
    assert creds.ledger == [] and sent_ops(creds, "sendmsg") == []
    with Journal(default_journal_path(config_dir)) as journal:
        assert journal.jobs() == []


def test_unknown_placeholder_is_refused_before_anything(
    cli, creds, people: Path, config_dir
) -> None:
    run = cli("bulk", str(people), "-t", "Hi {firstname}", "-c", "ZA")
    assert run.exit_code == 2
    assert "firstname" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert creds.requests == []
    assert (
        not default_journal_path(config_dir).exists()
        or not Journal(default_journal_path(config_dir)).jobs()
    )


def test_static_text_problem_is_one_usage_error(cli, creds, people: Path) -> None:
    run = cli("bulk", str(people), "-t", "x" * 200, "--max-parts", "1", "-c", "ZA")
    assert run.exit_code == 2
    assert "--max-parts is 1" in run.stderr
    assert creds.requests == []


def test_personalised_text_too_long_skips_only_that_row(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", f"phone,note\n27821000001,short\n27821000002,{'y' * 200}\n")
    run = cli("bulk", str(source), "-t", "{note}", "--max-parts", "1", "-o", "json")
    assert run.exit_code == 6, run.stderr
    rows = json.loads(run.stdout)
    assert [r["status"] for r in rows] == ["accepted", "invalid"]
    assert "--max-parts is 1" in rows[1]["error"]


def test_non_utf8_file_names_the_line(cli, creds, tmp_path: Path) -> None:
    body = "phone,name\n" + "27821000001,ok\n" * 3 + "27821000002,Jos\xe9\n"
    source = write(tmp_path / "latin.csv", body, "latin-1")
    run = cli("bulk", str(source), "-t", "Hi {name}")
    assert run.exit_code == 2
    assert "line 5" in run.stderr and "--encoding" in run.stderr
    assert creds.requests == []
    ok = cli("bulk", str(source), "-t", "Hi {name}", "--encoding", "latin-1", "--allow-duplicates")
    assert ok.exit_code == 0, ok.stderr
    assert ledger_by_number(creds)["27821000002"][0]["text"] == "Hi José"


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [("phone;name\n27821000001;Ann\n", "semicolon"), ("phone\tname\n27821000001\tAnn\n", "tab")],
)
def test_dialects(cli, creds, tmp_path: Path, content: str, delimiter: str) -> None:
    source = write(tmp_path / "n.csv", "\ufeff" + content)
    run = cli("bulk", str(source), "-t", "Hi {name}")
    assert run.exit_code == 0, run.stderr
    assert f"{delimiter}-separated" in run.stderr
    assert creds.ledger[0]["text"] == "Hi Ann"


def test_stdin_without_header(cli, creds) -> None:
    run = cli("bulk", "-", "-t", "Code {2}", input="27821000001,A7\n27821000002,B8\n")
    assert run.exit_code == 0, run.stderr
    assert sorted(m["text"] for m in creds.ledger) == ["Code A7", "Code B8"]


def test_results_file_neutralises_formulas(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone\n27821000001\n=HYPERLINK(1)\n")
    out = tmp_path / "results.csv"
    run = cli("bulk", str(source), "-t", "x", "--results", str(out))
    assert run.exit_code == 6
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["status"] for r in rows] == ["accepted", "invalid"]
    assert rows[1]["to"] == "'=HYPERLINK(1)"
    as_json = tmp_path / "results.json"
    cli("bulk", str(source), "-t", "y", "--results", str(as_json))
    assert [r["row"] for r in json.loads(as_json.read_text())] == [1, 2]


def test_table_shows_failures_first(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone\n27821000001\n27820000105\n27821000002\n")
    run = cli("bulk", str(source), "-t", "x", "--rate", "0")
    assert run.exit_code == 6, run.stderr
    body = [line for line in run.stdout.splitlines() if line[:1].isdigit()]
    assert body[0].split("│")[1].strip() == "27820000105"
    assert "2 sent, 1 failed" in run.stderr


def short_of_credit(cli, sandbox, tmp_path: Path, rows: int):
    """A personalised bulk of ``rows`` numbers, one request at a time, on ``sandbox`` (with
    less credit than it needs): the CSV file and the run."""
    source = write(
        tmp_path / "n.csv",
        "phone,n\n" + "".join(f"{number},{i}\n" for i, number in enumerate(numbers(rows))),
    )
    run = cli("bulk", str(source), "-t", "msg {n}", "--concurrency", "1")
    assert run.exit_code == 6, run.stderr
    return source, run


def test_out_of_credit_stops_and_resume_finishes(
    cli, make_sandbox, tmp_path: Path, monkeypatch
) -> None:
    sb = point_at(monkeypatch, make_sandbox(password=PASSWORD, credits=3))
    source, run = short_of_credit(cli, sb, tmp_path, 5)
    assert "3 sent, 0 failed" in run.stderr and "2 not sent yet" in run.stderr
    assert "no credit left" in run.stderr
    job = run.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    jobs = json.loads(cli("jobs", "-o", "json").stdout)
    assert jobs[0]["id"] == job and jobs[0]["state"] == "stopped"
    assert (jobs[0]["sent"], jobs[0]["pending"]) == (3, 2)
    top_up(sb, 10)  # as README says: top up, then resume
    again = cli("bulk", "--resume", job, "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert again.stderr.splitlines()[0] == (
        f"Resuming job {job} ({source}): 2 of 5 row(s) left to send, 3 sent before; "
        "at most 100 msg/s."
    )
    assert sorted(m["to"] for m in sb.ledger) == numbers(5)
    assert json.loads(cli("jobs", "-o", "json").stdout)[0]["state"] == "done"


def test_a_job_goes_on_at_its_own_rate_and_is_not_sent_again_as_a_new_one(
    cli, make_sandbox, tmp_path: Path, monkeypatch
) -> None:
    """The same command again after a stop (cron, a CI re-run) would send the sent rows a
    second time: refused, pointing at --resume; a resume keeps the job's --rate."""
    sb = point_at(monkeypatch, make_sandbox(password=PASSWORD, credits=3))
    source = write(tmp_path / "n.csv", "phone\n" + "".join(f"{n}\n" for n in numbers(5)))
    command = ("bulk", str(source), "-t", "hello", "--concurrency", "1", "--rate", "7")
    first = cli(*command)
    assert first.exit_code == 6 and "3 sent" in first.stderr, first.stderr
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    top_up(sb, 10)
    again = cli(*command)
    assert again.exit_code == 2
    assert again.stderr.splitlines()[1:] == [
        f"Error: {source} has an unfinished job, {job}, with 2 of 5 row(s) not sent yet: "
        f"`clicksms bulk --resume {job}` sends just those, or pass --again to send the "
        "whole file once more"
    ]
    assert len(sb.ledger) == 3
    dry = cli(*command, "--dry-run", "-q")  # the dry run says the run would be refused
    assert dry.exit_code == 0
    assert dry.stderr == f"Warning: a run would be refused: {again.stderr.splitlines()[1][7:]}\n"
    resumed = cli("bulk", "--resume", job)
    assert resumed.exit_code == 0, resumed.stderr
    assert "; at most 7 msg/s." in resumed.stderr.splitlines()[0]
    assert sorted(m["to"] for m in sb.ledger) == numbers(5)
    # Finished, the file may go again as a new job (tomorrow's cron run of a new file).
    top_up(sb, 10)
    later = cli(*command[:-2], "--rate", "0", "-q")
    assert later.exit_code == 0, later.stderr
    assert len(sb.ledger) == 10


def test_again_sends_a_file_with_an_unfinished_job_once_more(
    cli, make_sandbox, tmp_path, monkeypatch
) -> None:
    sb = point_at(monkeypatch, make_sandbox(password=PASSWORD, credits=2))
    source = write(tmp_path / "n.csv", "phone\n" + "".join(f"{n}\n" for n in numbers(3)))
    first = cli("bulk", str(source), "-t", "hi", "--concurrency", "1", "--rate", "0")
    assert first.exit_code == 6, first.stderr
    top_up(sb, 10)
    rerun = cli("bulk", str(source), "-t", "hi", "--again", "--rate", "0", "-q")
    assert rerun.exit_code == 0, rerun.stderr
    assert sorted(m["to"] for m in sb.ledger) == sorted(numbers(2) + numbers(3))
    with_resume = cli("bulk", "--resume", "x", "--again")
    assert with_resume.exit_code == 2 and "drop --again" in with_resume.stderr


def top_up(sandbox, credits: float) -> float:
    """Add credit the way a user does while `clicksms sandbox` runs: POST /sandbox/credits."""
    import urllib.request

    url = sandbox.endpoint.removesuffix("/soap/document_literal/webservice") + "/sandbox/credits"
    with urllib.request.urlopen(url, data=str(credits).encode(), timeout=30) as answer:
        return json.loads(answer.read())["balance"]


def test_rows_not_sent_after_err_301_are_one_summary_line(
    cli, make_sandbox, tmp_path: Path, monkeypatch
):
    sb = point_at(monkeypatch, make_sandbox(password=PASSWORD, credits=2))
    _, run = short_of_credit(cli, sb, tmp_path, 40)
    assert "not_sent" not in run.stdout  # not 38 identical rows
    shown = [line for line in run.stdout.splitlines() if line[:1].isdigit()]
    assert len(shown) == 2  # the two sent rows (few enough to list)
    assert "2 sent, 0 failed, 0 skipped (invalid or duplicate), 38 not sent yet" in run.stderr
    assert "Stopped: no credit left (ERR 301)." in run.stderr
    assert top_up(sb, 100) == 100
    assert sb.balance() == 100


def test_resume_refuses_a_finished_job(cli, creds, people: Path) -> None:
    run = cli("bulk", str(people), "-t", "x", "-c", "ZA")
    job = run.stderr.split("Job ")[1].split()[0]
    again = cli("bulk", "--resume", job)
    assert again.exit_code == 2
    assert len(creds.ledger) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bulk", "-t", "x"], "no CSV file"),
        (["bulk", "f.csv"], "--text"),
        (
            ["bulk", "--resume", "abc", "f.csv"],
            "--resume continues a job exactly as it was started",
        ),
        (["bulk", "missing.csv", "-t", "x"], "missing.csv"),
        (["bulk", "f.csv", "-t", "x", "--results", "out.txt"], "must end in .csv, .json or .jsonl"),
        (["bulk", "f.csv", "-t", "x", "--client-id", "a" * 16], "prefix of at most 15"),
        (["bulk", "--resume", "nosuchjob"], "no job 'nosuchjob'"),
    ],
)
def test_bad_invocations(cli, creds, args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert creds.requests == []


def test_dry_run_counts_and_sends_nothing(cli, creds, tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone,name\n27821000001,Ann\n27821000002,Łukasz\nbad,x\n")
    run = cli("bulk", str(source), "-t", "Hi {name}", "--dry-run", "-o", "json")
    assert run.exit_code == 6, run.stderr
    facts = json.loads(run.stdout)
    assert facts["rows"] == 3 and facts["messages"] == 2 and facts["invalid"] == 1
    assert facts["encodings"] == {"GSM-7": 1, "UCS-2": 1}
    assert facts["parts"] == 2 and facts["charge"] == 2.0
    assert facts["problems"][0]["row"] == 3
    assert sent_ops(creds, "sendmsg") == []
    assert creds.ledger == []


def test_dry_run_shows_the_first_messages_and_the_rows_that_need_ucs2(
    cli, creds, tmp_path: Path
) -> None:
    rows = ["Ann", "Łukasz", "Bob", "Zoë", "Eve", "Jürgen"]
    source = write(
        tmp_path / "n.csv",
        "phone,name\n" + "".join(f"{n},{name}\n" for n, name in zip(numbers(6), rows, strict=True)),
    )
    table = cli("bulk", str(source), "-t", "Hi {name}, your parcel is ready", "--dry-run")
    assert table.exit_code == 0, table.stderr
    assert table.stdout.startswith("The first 3 messages, as they would go out:\n")
    assert "Hi Ann, your parcel is ready" in table.stdout
    assert "Hi Łukasz, your parcel is ready" in table.stdout
    assert "Hi Eve" not in table.stdout  # only the first rows
    first = [line for line in table.stdout.splitlines() if line.startswith("2 ")]
    assert [cell.strip() for cell in first[0].split("│")][:4] == ["2", numbers(6)[1], "UCS-2", "1"]
    # ü is a GSM character, Ł and ë are not: rows 2 and 4 need UCS-2.
    assert "UCS-2 for 2 row(s), because of the characters shown: 2 (Ł), 4 (ë)." in table.stderr
    facts = json.loads(
        cli("bulk", str(source), "-t", "Hi {name}", "--dry-run", "-o", "json").stdout
    )
    assert facts["samples"][0] == {
        "row": 1,
        "to": numbers(6)[0],
        "text": "Hi Ann",
        "encoding": "GSM-7",
        "parts": 1,
    }
    assert len(facts["samples"]) == 3
    assert facts["ucs2_rows"] == [{"row": 2, "characters": "Ł"}, {"row": 4, "characters": "ë"}]
    assert creds.ledger == []


def test_results_as_json_lines(cli, creds, people: Path, tmp_path: Path) -> None:
    results = tmp_path / "out.jsonl"
    run = cli("bulk", str(people), "-t", "x", "-c", "ZA", "--results", str(results), "-q")
    assert (run.exit_code, run.stdout, run.stderr) == (0, "", "")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["row"], r["status"]) for r in rows] == [
        (1, "accepted"),
        (2, "accepted"),
        (3, "accepted"),
    ]
