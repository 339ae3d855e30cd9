"""`clicksms balance`, `coverage` and `ping` end to end against the sandbox."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, sent_ops
from helpers import (
    REFUSED_4_TIMES,
    point_at,
    point_at_closed_port,
    table_lines,
    without_session,
)

from clicksms.sandbox import Sandbox, SandboxConfig

NUMBER = "27821234567"
NO_ROUTE = "27820000114"  # the sandbox's default coverage table has no route for it
SUPPORTED = "This prefix is currently supported. Messages sent to this prefix will be routed."
UNSUPPORTED = (
    "This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)
COVERAGE_KEYS = ["input", "number", "ok", "supported", "charge", "text", "error_code", "error"]


# ----------------------------------------------------------------------------- balance


def test_balance_in_every_format(cli, creds) -> None:
    run = cli("balance")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Balance: 1000 credits\n"
    assert run.stderr == ""
    assert [without_session(f) for f in sent_ops(creds, "getbalance")] == [{}]
    assert cli("send", NUMBER, "-t", "x" * 200).exit_code == 0  # two parts, 1 credit each
    run = cli("balance", "-o", "json")
    assert json.loads(run.stdout) == {"balance": 998}
    run = cli("balance", "-o", "csv")
    assert list(csv.DictReader(io.StringIO(run.stdout))) == [{"balance": "998"}]  # as the table


def test_fractional_balance(tmp_path: Path, cli, monkeypatch) -> None:
    config = SandboxConfig(password=PASSWORD, credits=12.5)
    with Sandbox(config) as server:
        point_at(monkeypatch, server)
        assert cli("balance").stdout == "Balance: 12.5 credits\n"
        assert json.loads(cli("balance", "-o", "json").stdout) == {"balance": 12.5}


def test_balance_network_and_auth_failures(cli, creds, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_PASSWORD", "nope")
    run = cli("balance", "-o", "json")
    assert (run.exit_code, run.stdout) == (3, "")
    assert run.stderr == "Error: authentication failed: check api_id, user and password (ERR 001)\n"
    port = point_at_closed_port(monkeypatch)
    run = cli("balance")
    assert (run.exit_code, run.stdout) == (5, "")
    assert run.stderr == f"Error: cannot connect to 127.0.0.1:{port}: {REFUSED_4_TIMES}\n"


# ---------------------------------------------------------------------------- coverage


def test_coverage_table(cli, creds) -> None:
    run = cli("coverage", NUMBER, "+27 82 000 0114", "12")
    assert run.exit_code == 6
    assert table_lines(run.stdout) == [
        [NUMBER, "yes", "1", SUPPORTED],
        [NO_ROUTE, "no", "", UNSUPPORTED],
        ["12", "", "", "invalid number: not a phone number"],
    ]
    asked = [without_session(f) for f in sent_ops(creds, "routecoverage")]
    assert asked == [{"msisdn": NUMBER}, {"msisdn": NO_ROUTE}]


def test_coverage_json_and_csv(cli, creds) -> None:
    run = cli("coverage", NUMBER, NO_ROUTE, "-o", "json")
    assert run.exit_code == 6
    rows = json.loads(run.stdout)
    assert [list(r) for r in rows] == [COVERAGE_KEYS] * 2
    assert rows == [
        {
            "input": NUMBER,
            "number": NUMBER,
            "ok": True,
            "supported": True,
            "charge": 1.0,
            "text": SUPPORTED,
            "error_code": None,
            "error": None,
        },
        {
            "input": NO_ROUTE,
            "number": NO_ROUTE,
            "ok": False,
            "supported": False,
            "charge": None,
            "text": UNSUPPORTED,
            "error_code": None,
            "error": None,
        },
    ]
    run = cli("coverage", NUMBER, "-o", "csv")
    assert run.exit_code == 0
    (row,) = csv.DictReader(io.StringIO(run.stdout))
    assert row == {
        "input": NUMBER,
        "number": NUMBER,
        "ok": "true",
        "supported": "true",
        "charge": "1",
        "text": SUPPORTED,
        "error_code": "",
        "error": "",
    }


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox with per-prefix prices: UK 1.5 credits, US not routed."""
    config = SandboxConfig(password=PASSWORD, coverage={"44": 1.5, "1": None})
    with Sandbox(config) as server:
        point_at(monkeypatch, server)
        yield server


def test_coverage_honours_country_and_asks_once_per_number(cli, priced) -> None:
    run = cli("coverage", "07911 123456", "+44 7911 123456", "2025550123", "-c", "GB", "-o", "json")
    assert run.exit_code == 6, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["input"], r["number"], r["supported"], r["charge"]) for r in rows] == [
        ("07911 123456", "447911123456", True, 1.5),
        ("+44 7911 123456", "447911123456", True, 1.5),
        ("2025550123", None, None, None),
    ]
    assert rows[2]["error"].startswith("invalid number:")
    assert [f["msisdn"] for f in sent_ops(priced, "routecoverage")] == ["447911123456"]
    us = cli("coverage", "+1 202 555 0123")
    assert us.exit_code == 4
    # No charge in any row: the table leaves the empty column out.
    assert table_lines(us.stdout) == [["12025550123", "no", UNSUPPORTED]]


def test_invalid_numbers_make_no_network_call(cli, monkeypatch) -> None:
    point_at_closed_port(monkeypatch)
    run = cli("coverage", "12", "082 123 4567", "-o", "json")
    assert run.exit_code == 4
    assert [r["ok"] for r in json.loads(run.stdout)] == [False, False]
    assert json.loads(run.stdout)[1]["error"] == (
        "invalid number: national number without a country: use +<country code> or --country"
    )


def test_coverage_numbers_from_stdin(cli, creds) -> None:
    run = cli("coverage", "-o", "json", input=f"{NUMBER}\n\n{NO_ROUTE}\n")
    assert run.exit_code == 6
    assert [r["number"] for r in json.loads(run.stdout)] == [NUMBER, NO_ROUTE]
    empty = cli("coverage")
    assert (empty.exit_code, empty.stderr) == (2, "Error: no numbers on stdin\n")


def test_coverage_failures(cli, creds, monkeypatch) -> None:
    run = cli("coverage", NUMBER, "--country", "XX")
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: unknown country 'XX'")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "nope")
    run = cli("coverage", NUMBER)
    assert (run.exit_code, run.stdout) == (3, "")
    assert run.stderr == "Error: authentication failed: check api_id, user and password (ERR 001)\n"
    assert sent_ops(creds, "routecoverage") == []
    port = point_at_closed_port(monkeypatch)
    run = cli("coverage", NUMBER)
    assert (run.exit_code, run.stdout) == (5, "")
    assert run.stderr == f"Error: cannot connect to 127.0.0.1:{port}: {REFUSED_4_TIMES}\n"


# -------------------------------------------------------------------------------- ping


def test_ping_logs_in_then_reuses_the_session(cli, creds) -> None:
    first = cli("ping")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == (
        f"The gateway at {creds.endpoint} answered: logged in for a new session (none was "
        "stored, or the gateway had expired it).\n"
    )
    second = cli("ping", "-o", "json")
    assert second.exit_code == 0
    assert json.loads(second.stdout) == {
        "ok": True,
        "session_reused": True,
        "endpoint": creds.endpoint,
        "user": "sandbox",
    }
    assert [r["op"] for r in creds.requests] == ["auth", "ping", "ping"]
    pings = sent_ops(creds, "ping")
    assert pings[0] == pings[1]
    assert list(pings[0]) == ["session_id"]  # ping takes the session only (API.md §3)
    auth_answer = cli("auth", "--status", "-o", "json")
    assert json.loads(auth_answer.stdout)["fresh"] is True


def test_ping_after_the_gateway_expired_the_session(cli, creds, clock) -> None:
    assert cli("ping").exit_code == 0
    clock.advance(901)
    run = cli("ping", "-o", "csv")
    assert run.exit_code == 0, run.stderr
    (row,) = csv.DictReader(io.StringIO(run.stdout))
    assert row == {
        "ok": "true",
        "session_reused": "false",
        "endpoint": creds.endpoint,
        "user": "sandbox",
    }
    assert [r["op"] for r in creds.requests] == ["auth", "ping", "ping", "auth", "ping"]


def test_ping_failures(cli, creds, monkeypatch) -> None:
    run = cli("--user", "frozen", "ping")
    assert (run.exit_code, run.stdout) == (3, "")
    assert run.stderr == (
        "Error: the Clickatell account is frozen: contact Clickatell support (ERR 004)\n"
    )
    port = point_at_closed_port(monkeypatch)
    run = cli("ping", "-o", "json")
    assert (run.exit_code, run.stdout) == (5, "")
    assert run.stderr == f"Error: cannot connect to 127.0.0.1:{port}: {REFUSED_4_TIMES}\n"
