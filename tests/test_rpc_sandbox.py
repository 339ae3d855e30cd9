"""Every command over RPC/Encoded against the sandbox's strict RPC server, with a session.

The sandbox's RPC server (``/soap/webservice_vs.php``) answers a SOAP Fault for anything a
strict server of that era would refuse (a missing encodingStyle, xsi:type or arrayType, a
wrong spelling), so each command passing here is one the strictest servers accept. Its array
answers come inline or, with ``rpc_arrays="multiref"``, as multi-reference values. These
tests skip until the sandbox serves RPC (``Sandbox.rpc_endpoint``); until then
tests/test_php_soapserver.py and tests/test_rpc_wire.py cover the same ground against PHP's
SoapServer and scripted servers. (--no-session over RPC: tests/test_no_session.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PASSWORD, sent_ops
from helpers import point_at

NUMBER = "27821234567"


def rpc_endpoint(sandbox) -> str:
    return sandbox.rpc_endpoint


@pytest.fixture(params=["inline", "multiref"])
def rpc_sandbox(request, make_sandbox, monkeypatch, tmp_path):
    """A sandbox whose RPC server sends arrays inline or as multi-reference values; the
    CLI's settings point at its RPC endpoint."""
    sandbox = make_sandbox(host="127.0.0.1", port=0, password=PASSWORD, rpc_arrays=request.param)
    point_at(monkeypatch, sandbox)
    monkeypatch.setenv("CLICKSMS_ENDPOINT", rpc_endpoint(sandbox))
    return sandbox


def test_every_command_over_rpc(cli, rpc_sandbox, config_dir, tmp_path: Path) -> None:
    run = cli("auth")
    assert run.exit_code == 0, run.stderr
    sent = cli(
        *("send", NUMBER, "-t", "Grüße, Жизнь", "--client-id", "rpc1", "--max-credits", "1.5"),
        *("--from", "ACME", "--deliver-in", "2h", "--validity", "1h", "--callback", "all"),
        *("--delivery-ack", "--queue", "1", "--escalate", "--mo", "--flash", "-o", "json"),
    )
    assert sent.exit_code == 0, sent.stderr
    message_id = json.loads(sent.stdout)[0]["message_id"]
    (request,) = sent_ops(rpc_sandbox, "sendmsg")
    assert request["max_credits"] == "1.5" and request["cliMsgId"] == "rpc1"
    assert request["unicode"] == "1" and request["to"] == [NUMBER]
    two = cli("send", NUMBER, "27831234567", "27820000122", "-t", "hi", "-o", "json")
    assert [r["status"] for r in json.loads(two.stdout)] == ["accepted", "accepted", "rejected"]
    for command in (
        ["status", message_id],
        ["status", "--client-id", "rpc1"],
        ["charge", message_id],
        ["cancel", message_id],
        ["balance"],
        ["coverage", NUMBER, "27820000000"],
        ["ping"],
        ["send", NUMBER, "-t", "x", "--dry-run"],
    ):
        run = cli(*command, "-o", "json")
        assert run.exit_code == 0, (command, run.stderr)
    status = json.loads(cli("status", message_id, "-o", "json").stdout)[0]
    assert status["status"] == "006"  # cancelled: delmsg went through
    rows = ["number,name", "27821234567,Ann", "27831234567,Bob"]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
    dry = cli("bulk", str(tmp_path / "people.csv"), "-t", "Hi {name}", "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["charge"] == 2.0, "priced by routeCoverage over RPC"
    bulk = cli("bulk", str(tmp_path / "people.csv"), "-t", "Hi {name}", "--max-credits", "0.8")
    assert bulk.exit_code == 0, bulk.stderr
    assert len(sent_ops(rpc_sandbox, "auth")) == 1, "one login, reused by every command"
    jobs = json.loads(cli("jobs", "-o", "json").stdout)
    assert (jobs[0]["state"], jobs[0]["sent"]) == ("done", 2)


def test_the_throwaway_sandbox_speaks_rpc_too(cli) -> None:
    run = cli("--sandbox", "--soap-style", "rpc", "send", NUMBER, "-t", "hi", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert "/soap/webservice_vs.php" in run.stderr
    assert json.loads(run.stdout)[0]["status"] == "accepted"
