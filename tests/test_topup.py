"""``clicksms topup``: a voucher paid in with token_pay, then the balance, over both SOAP
styles and both ways to authenticate; the voucher shown by its last four digits only."""

from __future__ import annotations

import json

import pytest
from conftest import sent_ops
from impostor import Reply, envelope

VOUCHER = "4242000000000100"  # the sandbox's: adds 100 credits, once
SHOWN = "************0100"


def hides_the_voucher(*outputs: str) -> None:
    for text in outputs:
        assert VOUCHER not in text and VOUCHER[-8:] not in text, text


@pytest.mark.parametrize("no_session", [False, True], ids=["session", "no-session"])
@pytest.mark.parametrize("style", ["document", "rpc"])
def test_a_voucher_tops_up_and_shows_the_new_balance(cli, on, style, no_session) -> None:
    sandbox = on(style, no_session)
    run = cli("topup", "4242 0000-0000 0100", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout) == {
        "ok": True,
        "voucher": SHOWN,
        "answer": "OK: 605",
        "balance": 1100,
    }
    (paid,) = sent_ops(sandbox, "token_pay")
    assert paid["token"] == VOUCHER
    assert [r["op"] for r in sandbox.requests if r["op"] != "auth"] == ["token_pay", "getbalance"]
    assert bool(paid.get("session_id")) is not no_session
    hides_the_voucher(run.stdout, run.stderr)


def test_the_voucher_comes_from_stdin_and_reads_as_one_line(cli, creds) -> None:
    run = cli("topup", input=f"{VOUCHER}\n")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == f"Voucher {SHOWN} accepted (OK: 605). Balance: 1100 credits.\n"
    csv = cli("topup", "4242000000000250", "-o", "csv")
    assert csv.stdout.splitlines() == [
        "ok,voucher,answer,balance",
        "true,************0250,OK: 605,1350",
    ]
    assert cli("topup", "4242000000000007", "-q").stdout == ""


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("4242 0000 0000 010", "Error: a voucher is 16 digits, not 15"),
        ("4242000000000100x", "Error: a voucher is 16 digits: this has other characters too"),
        ("  ", "Error: no voucher: give VOUCHER, or pipe it on stdin"),
    ],
)
def test_a_voucher_that_is_not_16_digits_is_refused_before_sending(
    cli, creds, given, error
) -> None:
    run = cli("topup", given)
    assert (run.exit_code, run.stderr.strip()) == (2, error)
    assert creds.requests == []


def test_a_refused_voucher_is_exit_4_and_named_by_its_last_digits(cli, creds) -> None:
    assert cli("topup", VOUCHER).exit_code == 0
    again = cli("topup", VOUCHER)
    assert again.exit_code == 4
    assert again.stderr.startswith(f"Error: voucher {SHOWN} was refused: invalid or missing"), (
        again.stderr
    )
    assert "works once" in again.stderr and again.stdout == ""
    assert creds.balance() == 1100.0


def test_a_lost_answer_is_never_paid_twice(cli, creds) -> None:
    creds.faults.add("drop-after", ops={"token_pay"}, times=1)
    run = cli("topup", VOUCHER)
    assert run.exit_code == 5
    assert "may have been used: check `clicksms balance`" in run.stderr
    assert len(sent_ops(creds, "token_pay")) == 1, "token_pay is not repeated"
    assert creds.balance() == 1100.0  # it was paid in
    hides_the_voucher(run.stdout, run.stderr)


def test_an_answer_echoing_the_voucher_is_masked(cli, impostor) -> None:
    impostor.replies = [Reply(body=envelope("token_pay", f"FAILED for {VOUCHER}"))]
    run = cli("--debug", "topup", VOUCHER)
    assert run.exit_code == 5
    assert "unexpected answer to token_pay: 'FAILED for <token hidden>'" in run.stderr
    hides_the_voucher(run.stdout, run.stderr)
