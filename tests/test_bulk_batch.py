"""``bulk --batch`` against the sandbox, over both SOAP styles and both ways to authenticate:
one startbatch, quicksend and senditem items, endbatch, the same messages and results as plain
bulk, what a batch cannot carry refused up front, and every guarantee of bulk kept (journal,
exactly once, resume, ERR 201)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import sent_ops

from clicksms.bulk.journal import Journal, default_journal_path

TEMPLATE = "Hi {name}, your code is {code}."
PEOPLE = (
    "phone,name,code\n"
    "27821000001,Ann,42\n"
    "27821000002,Bob,43\n"
    "27821000003,Ann,42\n"  # the same text as row 1: one item to both numbers
    "27821000004,Zoë,44\n"  # ë is not GSM: a plain sendmsg (UCS-2)
    "27821000005,Cleo,{{x}}\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def ops(sandbox) -> list[str]:
    return [r["op"] for r in sandbox.requests if r["op"] not in ("auth", "querymsg")]


def texts(sandbox) -> dict[str, str]:
    return {m["to"]: m["text"] for m in sandbox.ledger}


def only_job(config_dir: Path):
    with Journal(default_journal_path(config_dir)) as journal:
        (summary,) = journal.jobs()
        return journal.get_job(summary.id)


@pytest.mark.parametrize(
    ("style", "no_session"), [("document", False), ("rpc", True)], ids=["document", "rpc"]
)
def test_a_batch_sends_what_plain_bulk_sends(
    cli, on, tmp_path, config_dir, style, no_session
) -> None:
    sandbox = on(style, no_session)
    people = write(tmp_path / "people.csv", PEOPLE)
    plain = cli("bulk", str(people), "-t", TEMPLATE, "--from", "ACME", "-o", "json")
    assert plain.exit_code == 0, plain.stderr
    expected = texts(sandbox)
    before = len(sandbox.ledger)
    run = cli("bulk", str(people), "-t", TEMPLATE, "--from", "ACME", "--batch", "-o", "json")
    assert run.exit_code == 0, run.stderr
    batch_messages = sandbox.ledger[before:]
    assert {m["to"]: m["text"] for m in batch_messages} == expected
    assert [(m["to"], m["op"]) for m in batch_messages] == [
        ("27821000001", "senditem"),
        ("27821000003", "senditem"),
        ("27821000002", "senditem"),
        ("27821000004", "sendmsg"),
        ("27821000005", "senditem"),
    ]
    rows = json.loads(run.stdout)
    assert [(r["row"], r["status"]) for r in rows] == [(n, "accepted") for n in range(1, 6)]
    assert set(rows[0]) == set(json.loads(plain.stdout)[0])  # the same keys as plain bulk
    assert {r["message_id"] for r in rows} == {m["apimsgid"] for m in batch_messages}

    (start,) = sent_ops(sandbox, "startbatch")
    assert start["template"] == "Hi #field1#, your code is #field2#."
    assert (start["from"], start["concat"]) == ("ACME", "1")
    climsgid = start.get("climsgid") or start.get("cliMsgId")
    assert climsgid.endswith("batch") and rows[0]["client_id"] == climsgid
    items = sent_ops(sandbox, "senditem")
    assert [(i["to"], i["field1"], i["field2"]) for i in items] == [
        (["27821000001", "27821000003"], "Ann", "42"),
        (["27821000002"], "Bob", "43"),
        (["27821000005"], "Cleo", "{{x}}"),  # a value is taken as it is
    ]
    assert {i["batch_id"] for i in items} == {sent_ops(sandbox, "endbatch")[0]["batch_id"]}
    assert ops(sandbox)[-1] == "endbatch"
    for request in sandbox.requests:
        if request["op"] != "auth":
            assert bool(request["fields"].get("session_id")) is not no_session, request["op"]


def test_a_static_text_goes_by_quicksend_in_requests_of_300(cli, creds, tmp_path) -> None:
    targets = [f"2783{n:07d}" for n in range(1, 302)]
    source = write(tmp_path / "n.csv", "phone\n" + "\n".join(targets) + "\n")
    run = cli("bulk", str(source), "-t", "Привет", "--batch", "--rate", "0")
    assert run.exit_code == 0, run.stderr
    (start,) = sent_ops(creds, "startbatch")
    assert (start["template"], start["unicode"]) == (
        "Привет".encode("utf-16-be").hex().upper(),
        "1",
    )
    assert sorted(len(q["to"]) for q in sent_ops(creds, "quicksend")) == [1, 300]
    assert sorted(texts(creds)) == targets and set(texts(creds).values()) == {"Привет"}
    assert "senditem" not in ops(creds) and "sendmsg" not in ops(creds)


@pytest.mark.parametrize(
    ("style", "template", "unicode", "error"),
    [
        (
            "rpc",
            "{a}{b}{c}{d}{e}",
            "auto",
            "--batch: the template uses 5 columns, but RPC/Encoded's senditem fills at most 4 "
            "(field1 to field4): use fewer columns, or --soap-style document (10), or drop --batch",
        ),
        ("document", "Привет {a}", "auto", "--batch: the template's own text is not GSM"),
        ("document", "Hi {a}", "always", "--batch: --unicode always makes every message UCS-2"),
        ("document", "Hi {a} #field2#", "auto", "--batch: the template's text reads as #field2#"),
        ("document", "Hi #field1{a}", "auto", "--batch: the template's text reads as #field1#"),
    ],
)
def test_what_a_batch_cannot_carry_is_refused_before_anything_is_sent(
    cli, creds, tmp_path, config_dir, style, template, unicode, error
) -> None:
    source = write(tmp_path / "w.csv", "phone,a,b,c,d,e\n27821000001,1,2,3,4,5\n")
    for extra in ([], ["--dry-run"]):
        run = cli(
            *("--soap-style", style, "bulk", str(source), "-t", template, "--unicode", unicode),
            *("--batch", *extra),
        )
        assert run.exit_code == 2, run.stderr
        assert f"Error: {error}" in run.stderr
    assert creds.requests == []
    assert not default_journal_path(config_dir).exists()


def test_err_201_opens_a_new_batch_and_sends_nothing_twice(cli, creds, clock, tmp_path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("no-credit", ops={"senditem"}, after=1)
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch", "--concurrency", "1")
    assert first.exit_code == 6, first.stderr
    assert "no credit left (ERR 301)" in first.stderr
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    creds.faults.clear()
    creds.gateway.add_credits(100)
    clock.advance(25 * 3600)  # the sandbox's batch has expired; the client does not know
    again = cli("bulk", "--resume", job, "-o", "json")
    assert again.exit_code == 0, again.stderr
    starts = sent_ops(creds, "startbatch")
    assert len(starts) == 2 and starts[0]["template"] == starts[1]["template"]
    items = sent_ops(creds, "senditem")
    assert len({i["batch_id"] for i in items}) == 2  # the old one answered 201, once
    accepted = [m["to"] for m in creds.ledger]
    assert sorted(accepted) == [f"2782100000{n}" for n in range(1, 6)]  # each once
    assert [r["status"] for r in json.loads(again.stdout)] == ["accepted"] * 5


def test_a_resume_after_24_hours_starts_a_new_batch_first(cli, creds, tmp_path, config_dir) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("no-credit", ops={"senditem"}, after=1)
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch", "--concurrency", "1")
    assert first.exit_code == 6, first.stderr
    creds.faults.clear()
    creds.gateway.add_credits(100)
    job = only_job(config_dir)
    kept = job.options["open_batch"]
    assert kept["id"] == sent_ops(creds, "senditem")[0]["batch_id"]
    with Journal(default_journal_path(config_dir)) as journal:  # as if a day had passed
        journal.update_options(job.id, {"open_batch": {**kept, "started_at": 1.0}})
    before = len(creds.requests)
    again = cli("bulk", "--resume", job.id)
    assert again.exit_code == 0, again.stderr
    later = [r for r in creds.requests[before:] if r["op"] not in ("auth", "querymsg")]
    assert later[0]["op"] == "startbatch" and later[-1]["op"] == "endbatch"
    assert kept["id"] not in {r["fields"].get("batch_id") for r in later}
    assert only_job(config_dir).options["open_batch"] is None  # ended with the job


def test_a_request_that_never_arrived_goes_again_on_resume(cli, creds, tmp_path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("drop-before", ops={"senditem"}, times=1)  # the gateway took nothing
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch", "--concurrency", "1")
    assert first.exit_code == 5, first.stderr
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    again = cli("bulk", "--resume", job, "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert sorted(m["to"] for m in creds.ledger) == [f"2782100000{n}" for n in range(1, 6)]


def test_a_lost_answer_under_the_shared_client_id_ends_unknown(cli, creds, tmp_path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("drop-after", ops={"senditem"}, after=1, times=1)  # taken, answer lost
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch", "--concurrency", "1")
    assert first.exit_code == 5, first.stderr
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    again = cli("bulk", "--resume", job, "-o", "json")
    assert again.exit_code == 5, again.stderr  # unknown rows: worth a look, never resent
    rows = {r["to"]: r["status"] for r in json.loads(again.stdout)}
    assert rows["27821000002"] == "unknown"
    assert sorted(m["to"] for m in creds.ledger) == [f"2782100000{n}" for n in range(1, 6)]


def test_a_batch_the_gateway_will_not_open_sends_nothing_and_resumes(cli, creds, tmp_path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("err-901", ops={"startbatch"})
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch")
    assert first.exit_code == 4, first.stderr
    assert (
        "Error: the gateway would not open a batch (startbatch): internal gateway" in first.stderr
    )
    assert len(creds.faults.fired) == 4, "asked again (1 + 3 retries): it sends nothing"
    assert creds.ledger == []
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    creds.faults.clear()
    again = cli("bulk", "--resume", job)
    assert again.exit_code == 0, again.stderr
    assert sorted(m["to"] for m in creds.ledger) == [f"2782100000{n}" for n in range(1, 6)]


def test_a_new_batch_refused_mid_run_holds_the_rows_for_a_resume(
    cli, creds, clock, tmp_path
) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    creds.faults.add("no-credit", ops={"senditem"}, after=1)
    first = cli("bulk", str(people), "-t", TEMPLATE, "--batch", "--concurrency", "1")
    job = first.stderr.split("Resume with: clicksms bulk --resume ")[1].split()[0]
    creds.faults.clear()
    creds.gateway.add_credits(100)
    clock.advance(25 * 3600)  # the batch expired at the gateway
    creds.faults.add("err-901", ops={"startbatch"})
    again = cli("bulk", "--resume", job)
    assert again.exit_code == 6, again.stderr
    assert (
        "Stopped: the batch expired (ERR 201) and the gateway would not open a new one: "
        "internal gateway error: retry later (ERR 901)." in again.stderr
    )
    waiting = {"27821000002", "27821000005"}  # the items left: held, unsent
    assert not waiting & {m["to"] for m in creds.ledger}
    creds.faults.clear()
    last = cli("bulk", "--resume", job)
    assert last.exit_code == 0, last.stderr
    assert sorted(m["to"] for m in creds.ledger) == [f"2782100000{n}" for n in range(1, 6)]
