"""`send --dry-run`: nothing is sent; encoding, parts and (online) the routecoverage charge."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from conftest import PASSWORD, Run, sent_ops
from helpers import point_at, point_at_closed_port
from impostor import Reply, envelope

from clicksms.sandbox import ManualClock, Sandbox, SandboxConfig

NUMBER = "27821234567"
CHEAP = "27831234567"  # a route priced at 0.5 per part below
UNCOVERED = "27820000114"
COVERAGE_ERROR = "27820000901"  # sandbox: routecoverage answers ERR 901 for it
POLISH = "Zażółć gęślą jaźń"


@pytest.fixture
def priced(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox with a cheaper route for 2783 and the default 1 credit elsewhere."""
    config = SandboxConfig(password=PASSWORD, coverage={"2783": 0.5, UNCOVERED: None})
    with Sandbox(config, clock=clock) as server:
        point_at(monkeypatch, server)
        yield server


def test_online_dry_run_estimates_charge_and_sends_nothing(cli, priced) -> None:
    run = cli("send", NUMBER, CHEAP, NUMBER, "-t", "x" * 200, "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["to"] for r in rows] == [NUMBER, CHEAP]
    assert [r["charge"] for r in rows] == [2.0, 1.0]  # 2 parts × route charge
    assert all(r["status"] == "would_send" and r["ok"] for r in rows)
    assert rows[0] | {"charge": None} == {
        "to": NUMBER,
        "ok": True,
        "status": "would_send",
        "encoding": "GSM-7",
        "non_gsm": None,
        "length": 200,
        "length_unit": "septets",
        "parts": 2,
        "charge": None,
        "error": None,
    }
    assert sent_ops(priced, "sendmsg") == []
    assert [f["msisdn"] for f in sent_ops(priced, "routecoverage")] == [NUMBER, CHEAP]
    assert priced.ledger == [] and priced.balance() == 1000
    assert "Dry run, nothing sent: 2 message(s), 4 part(s), estimated charge 3 credits" in (
        run.stderr
    )


def test_dry_run_table_shows_what_forced_ucs2(cli, priced, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS")  # a pipe: no width to fit, each row on one line
    run = cli("send", NUMBER, UNCOVERED, "082", "-t", POLISH, "--dry-run")
    assert run.exit_code == 6, run.stderr
    lines = run.stdout.splitlines()
    assert "Charge" in lines[0] and "UCS-2 because of" in lines[0]
    (good,) = [line for line in lines if line.startswith(NUMBER)]
    assert "would_send" in good and "UCS-2" in good and "17 UTF-16 units" in good
    assert "ż (pos 3), ó (pos 4), ł (pos 5)" in good
    assert good.split("│")[6].strip() == "1"  # charge column: 1 part × 1 credit
    (uncovered,) = [line for line in lines if line.startswith(UNCOVERED)]
    assert "not_covered" in uncovered and "does not cover" in uncovered
    (bad,) = [line for line in lines if line.startswith("082")]
    assert "invalid" in bad
    assert "1 message(s), 1 part(s), estimated charge 1 credit (" in run.stderr
    assert "2 would fail" in run.stderr
    assert sent_ops(priced, "sendmsg") == []


def test_offline_dry_run_has_no_charge_column(cli, sandbox) -> None:
    run = cli("send", NUMBER, "-t", "hello", "--dry-run")
    assert run.exit_code == 0, run.stderr
    header = run.stdout.splitlines()[0]
    assert "Charge" not in header and "Encoding" in header
    assert "GSM-7" in run.stdout and "5 septets" in run.stdout
    assert "Charge not estimated (offline preview): no API ID" in run.stderr
    assert sandbox.requests == []


def test_offline_dry_run_never_prompts_for_a_password(cli, sandbox, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_ENDPOINT", sandbox.endpoint)
    monkeypatch.setenv("CLICKSMS_API_ID", "3512345")
    monkeypatch.setenv("CLICKSMS_USER", "sandbox")
    run = cli("send", NUMBER, "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["charge"] is None
    assert "Charge not estimated" in run.stderr
    assert sandbox.requests == []


def test_dry_run_when_the_gateway_is_down(cli, monkeypatch) -> None:
    port = point_at_closed_port(monkeypatch)
    run = cli("send", NUMBER, "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)[0]["charge"] is None
    assert run.stderr.startswith(
        f"Charge not estimated (offline preview): cannot connect to 127.0.0.1:{port}"
    )


def test_coded_coverage_error_costs_one_number_its_estimate(cli, priced) -> None:
    run = cli("send", NUMBER, COVERAGE_ERROR, CHEAP, "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["to"], r["status"], r["ok"], r["charge"]) for r in rows] == [
        (NUMBER, "would_send", True, 1.0),
        (COVERAGE_ERROR, "would_send", True, None),  # the number itself may be fine
        (CHEAP, "would_send", True, 0.5),  # asked about after the error
    ]
    assert rows[1]["error"] == "charge not estimated: internal gateway error: retry later (ERR 901)"
    assert [f["msisdn"] for f in sent_ops(priced, "routecoverage")] == [
        NUMBER,
        *[COVERAGE_ERROR] * 4,  # ERR 901 is "retry later": asked again --retries (3) times
        CHEAP,
    ]
    assert "estimated charge 1.5 credits (route's lowest charge × parts) for all but 1 of them" in (
        run.stderr
    )
    table = cli("send", COVERAGE_ERROR, "-t", "hello", "--dry-run")
    assert table.exit_code == 0, table.stderr
    assert "internal gateway error: retry later (ERR 901)" in table.stdout


def test_binary_dry_run(cli, priced) -> None:
    run = cli("send", NUMBER, "--udh", "050003CC0201", "--data", "4142", "--dry-run", "-o", "csv")
    assert run.exit_code == 0, run.stderr
    header, row = run.stdout.splitlines()
    assert header == "to,ok,status,encoding,non_gsm,length,length_unit,parts,charge,error"
    assert row == f"{NUMBER},true,would_send,8-bit,,8,octets,1,1,"


def test_dry_run_still_checks_options(cli, priced) -> None:
    run = cli("send", NUMBER, "-t", "x" * 200, "--max-parts", "1", "--dry-run")
    assert run.exit_code == 2
    assert "--max-parts is 1" in run.stderr
    assert priced.requests == []


def test_coded_no_route_marks_the_number_not_covered(cli, impostor) -> None:
    impostor.replies += [
        Reply(body=envelope("routecoverage", "ERR: 114, Cannot route message")),
        Reply(body=envelope("routecoverage", "OK: covered Charge: 2")),
    ]
    run = cli("send", NUMBER, CHEAP, "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 6, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["to"], r["status"], r["ok"], r["charge"], r["error"]) for r in rows] == [
        (NUMBER, "not_covered", False, None, "cannot route message to this number (ERR 114)"),
        (CHEAP, "would_send", True, 2.0, None),
    ]
    assert impostor.seen == ["auth", "routecoverage", "routecoverage"]  # nothing sent


def test_unreadable_coverage_answer_makes_the_preview_offline(cli, impostor) -> None:
    impostor.replies += [Reply(body=envelope("routecoverage", "Maybe"))]
    run = cli("send", NUMBER, CHEAP, "-t", "hello", "--dry-run", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert [r["charge"] for r in json.loads(run.stdout)] == [None, None]
    assert run.stderr.startswith(
        "Charge not estimated (offline preview): unexpected answer to routecoverage: 'Maybe'\n"
    )
    assert impostor.seen == ["auth", "routecoverage"]  # stops asking at the first failure


def test_dry_run_for_a_refused_account_fails_like_the_send(cli) -> None:
    run = cli("--sandbox", "--user", "frozen", "send", NUMBER, "-t", "x", "--dry-run")
    assert run.exit_code == 3
    assert "frozen" in run.stderr and "Charge not estimated" not in run.stderr


# -- send --dry-run and bulk --dry-run estimate the charge alike --------------------------------


def both_dry_runs(cli, tmp_path, numbers: list[str], *before: str) -> tuple[Run, Run]:
    """The same numbers and text through `send --dry-run` and `bulk --dry-run`."""
    source = tmp_path / "numbers.csv"
    source.write_text("phone\n" + "\n".join(numbers) + "\n")
    text = "x" * 200  # two parts
    send = cli(*before, "send", *numbers, "-t", text, "--dry-run")
    bulk = cli(*before, "bulk", str(source), "-t", text, "--dry-run")
    return send, bulk


def said_about_charge(stderr: str) -> list[str]:
    """The estimate clause of the summary, or the offline note: what both must say alike."""
    found = re.findall(r"estimated charge [^;\n]*?(?=;|\.\n)|Charge not estimated.*", stderr)
    assert found, stderr
    return found


@pytest.mark.parametrize(
    ("numbers", "said", "code"),
    [
        ([NUMBER, CHEAP], "estimated charge 3 credits (route's lowest charge × parts)", 0),
        (
            [NUMBER, COVERAGE_ERROR, CHEAP],  # ERR 901 for one number: left out of the total
            "estimated charge 3 credits (route's lowest charge × parts) for all but 1 of them",
            0,
        ),
        ([NUMBER, UNCOVERED], "estimated charge 2 credits (route's lowest charge × parts)", 6),
    ],
    ids=["priced", "coded-error", "not-covered"],
)
def test_both_dry_runs_estimate_alike(cli, priced, tmp_path, numbers, said, code) -> None:
    send, bulk = both_dry_runs(cli, tmp_path, numbers)
    assert (send.exit_code, bulk.exit_code) == (code, code), (send.stderr, bulk.stderr)
    assert said_about_charge(send.stderr) == said_about_charge(bulk.stderr) == [said]
    assert sent_ops(priced, "sendmsg") == []


@pytest.mark.parametrize(
    ("numbers", "charge", "unestimated", "not_covered"),
    [([NUMBER, COVERAGE_ERROR, CHEAP], 1.5, 1, 0), ([NUMBER, CHEAP, UNCOVERED], 1.5, 0, 1)],
    ids=["coded-error", "not-covered"],  # 2782000… share a prefix: one bulk question each
)
def test_both_dry_runs_agree_in_json(
    cli, priced, tmp_path, numbers, charge, unestimated, not_covered
) -> None:
    source = tmp_path / "numbers.csv"
    source.write_text("phone\n" + "\n".join(numbers) + "\n")
    rows = json.loads(cli("send", *numbers, "-t", "hello", "--dry-run", "-o", "json").stdout)
    facts = json.loads(cli("bulk", str(source), "-t", "hello", "--dry-run", "-o", "json").stdout)
    assert facts["charge"] == sum(r["charge"] or 0 for r in rows) == charge
    assert facts["unestimated"] == sum(r["ok"] and r["charge"] is None for r in rows)
    assert facts["unestimated"] == unestimated
    assert facts["not_covered"] == sum(r["status"] == "not_covered" for r in rows) == not_covered


def test_both_dry_runs_go_offline_alike_without_credentials(cli, sandbox, tmp_path) -> None:
    send, bulk = both_dry_runs(cli, tmp_path, [NUMBER])
    assert send.exit_code == bulk.exit_code == 0
    note = said_about_charge(send.stderr)
    assert note == said_about_charge(bulk.stderr)
    assert note[0].startswith("Charge not estimated (offline preview): no API ID")
    facts = cli("bulk", str(tmp_path / "numbers.csv"), "-t", "x", "--dry-run", "-o", "json")
    assert json.loads(facts.stdout)["charge"] is None
    assert sandbox.requests == []


def test_both_dry_runs_go_offline_alike_when_the_gateway_is_down(
    cli, monkeypatch, tmp_path
) -> None:
    port = point_at_closed_port(monkeypatch)
    send, bulk = both_dry_runs(cli, tmp_path, [NUMBER])
    assert send.exit_code == bulk.exit_code == 0
    (note,) = said_about_charge(send.stderr)
    offline = "Charge not estimated (offline preview): cannot connect to"
    assert note.startswith(f"{offline} 127.0.0.1:{port}")
    assert said_about_charge(bulk.stderr) == [note]


def test_both_dry_runs_go_offline_alike_on_an_unreadable_answer(cli, impostor, tmp_path) -> None:
    maybe = Reply(body=envelope("routecoverage", "Maybe"))
    impostor.replies += [maybe, maybe]
    send, bulk = both_dry_runs(cli, tmp_path, [NUMBER, CHEAP])
    assert send.exit_code == bulk.exit_code == 0
    said = ["Charge not estimated (offline preview): unexpected answer to routecoverage: 'Maybe'"]
    assert said_about_charge(send.stderr) == said_about_charge(bulk.stderr) == said
    assert impostor.seen.count("routecoverage") == 2  # each stops at the first failure


def test_both_dry_runs_fail_alike_for_a_refused_account(cli, tmp_path) -> None:
    send, bulk = both_dry_runs(cli, tmp_path, [NUMBER], "--sandbox", "--user", "frozen")
    assert send.exit_code == bulk.exit_code == 3
    for run in (send, bulk):
        assert "frozen" in run.stderr and "Charge not estimated" not in run.stderr
