"""Every sandbox fault × `send`, `bulk`, `status`, `balance`, through the real CLI.

Each cell asserts the exit code README documents, one line on stderr naming the cause, and
no traceback. For `bulk` the fault strikes part-way (after two requests); then the fault is
cleared and `bulk --resume` must finish the job with every row in the sandbox ledger exactly
once. `python tests/fault_matrix_report.py` prints the matrix as a table from a pytest run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from clicksms.sandbox import Sandbox

NUMBER = "27821234567"
BULK_ROWS = 5
#: Timeouts short enough for the drip, long enough for the added latency.
TIMEOUT = "1"
LATENCY = 0.3


@dataclass(frozen=True)
class Fault:
    """How a matrix row injects its fault (keyword arguments of ``sandbox.faults.add``)."""

    kind: str
    once: bool = False  # one request only: shows a retry; otherwise until cleared
    sendmsg_only: bool = False  # faults only the gateway's sending side has
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, sandbox: Sandbox, op: str, after: int = 0) -> None:
        ops = {"sendmsg"} if self.sendmsg_only else {op}
        times = 1 if self.once else None
        sandbox.faults.add(self.kind, ops=ops, after=after, times=times, **self.extra)


@dataclass(frozen=True)
class Expect:
    exit_code: int
    cause: str = ""  # regex that one stderr line must match; "" = no error expected


FAULTS: dict[str, Fault] = {
    "latency": Fault("latency", extra={"seconds": LATENCY}),
    "drop-before": Fault("drop-before"),
    "drop-after": Fault("drop-after"),
    "http-500": Fault("http-500"),
    "http-503": Fault("http-503"),
    "malformed-xml": Fault("malformed-xml"),
    "soap-fault": Fault("soap-fault"),
    "slow-drip": Fault("slow-drip", extra={"seconds": 0.2}),
    "expire-session": Fault("expire-session", once=True),
    "err-130": Fault("err-130", sendmsg_only=True, extra={"seconds": 3600}),
    "no-credit": Fault("no-credit", sendmsg_only=True),
    "err-901": Fault("err-901"),
    "err-901-once": Fault("err-901", once=True),
    "http-503-once": Fault("http-503", once=True),
}

OK = Expect(0)
DROPPED = "closed the connection without answering"
NOT_SOAP = r"answered HTTP 50[03] instead of a SOAP response"
SOAP_FAULT = r"answered with a SOAP fault"
MALFORMED = r"malformed response"
TIMED_OUT = r"no answer from .* within 1s \(timeout\)"
INTERNAL = r"901|[Ii]nternal (gateway )?error"

#: What each command must do under each fault (bulk: its first run, before --resume).
EXPECTED: dict[str, dict[str, Expect]] = {
    "latency": {"send": OK, "bulk": OK, "status": OK, "balance": OK},
    "drop-before": {
        "send": Expect(5, DROPPED),
        "bulk": Expect(5, DROPPED),
        "status": Expect(5, DROPPED),
        "balance": Expect(5, DROPPED),
    },
    "drop-after": {
        "send": Expect(5, DROPPED),
        "bulk": Expect(5, DROPPED),
        "status": Expect(5, DROPPED),
        "balance": Expect(5, DROPPED),
    },
    "http-500": {
        "send": Expect(5, NOT_SOAP),
        "bulk": Expect(5, NOT_SOAP),
        "status": Expect(5, NOT_SOAP),
        "balance": Expect(5, NOT_SOAP),
    },
    "http-503": {
        "send": Expect(5, NOT_SOAP),
        "bulk": Expect(5, NOT_SOAP),
        "status": Expect(5, NOT_SOAP),
        "balance": Expect(5, NOT_SOAP),
    },
    "malformed-xml": {
        "send": Expect(5, MALFORMED),
        "bulk": Expect(5, MALFORMED),
        "status": Expect(5, MALFORMED),
        "balance": Expect(5, MALFORMED),
    },
    "soap-fault": {
        "send": Expect(5, SOAP_FAULT),
        "bulk": Expect(5, SOAP_FAULT),
        "status": Expect(5, SOAP_FAULT),
        "balance": Expect(5, SOAP_FAULT),
    },
    "slow-drip": {
        "send": Expect(5, TIMED_OUT),
        "bulk": Expect(5, TIMED_OUT),
        "status": Expect(5, TIMED_OUT),
        "balance": Expect(5, TIMED_OUT),
    },
    "expire-session": {"send": OK, "bulk": OK, "status": OK, "balance": OK},
    "err-130": {
        "send": Expect(4, r"MT limit"),
        "bulk": Expect(6, r"MT limit is reached until"),
        "status": OK,
        "balance": OK,
    },
    "no-credit": {
        "send": Expect(4, r"[Nn]o credit left"),
        "bulk": Expect(6, r"no credit left \(ERR 301\)"),
        "status": OK,
        "balance": OK,
    },
    "err-901": {
        "send": Expect(4, INTERNAL),
        "bulk": Expect(6, INTERNAL),
        "status": Expect(4, INTERNAL),
        "balance": Expect(4, INTERNAL),
    },
    "err-901-once": {"send": OK, "bulk": OK, "status": OK, "balance": OK},
    "http-503-once": {
        "send": Expect(5, NOT_SOAP),  # a send is never repeated once it may have arrived
        "bulk": Expect(5, NOT_SOAP),
        "status": OK,
        "balance": OK,
    },
}

COMMANDS = ("send", "bulk", "status", "balance")
CELLS = [
    pytest.param(fault, command, id=f"{fault}-{command}")
    for fault in FAULTS
    for command in COMMANDS
]


@pytest.fixture
def fast_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and retries without sleeping, so the whole matrix runs in seconds."""
    monkeypatch.setenv("CLICKSMS_TIMEOUT", TIMEOUT)
    monkeypatch.setenv("CLICKSMS_RETRY_DELAY", "0")


def check_one_line_cause(stderr: str, expect: Expect) -> None:
    assert "Traceback" not in stderr
    if not expect.cause:
        return
    naming = [line for line in stderr.splitlines() if re.search(expect.cause, line)]
    assert naming, f"no stderr line matches {expect.cause!r}:\n{stderr}"


def delivered(sandbox: Sandbox) -> Counter[str]:
    """How many times the gateway accepted a message for each number."""
    return Counter(record["to"] for record in sandbox.ledger)


@pytest.mark.parametrize(("fault", "command"), CELLS)
def test_fault_matrix(
    fault: str, command: str, cli, creds: Sandbox, fast_failures: None, tmp_path: Path
) -> None:
    sandbox, injected, expect = creds, FAULTS[fault], EXPECTED[fault][command]
    if command == "bulk":
        run_bulk_then_resume(cli, sandbox, injected, expect, tmp_path)
        return
    if command == "send":
        run = inject_and_run(cli, sandbox, injected, "sendmsg", "send", "-t", "hello", NUMBER)
        if expect.exit_code == 5:
            assert "status --client-id" in run.stdout + run.stderr  # how to find out
        assert delivered(sandbox)[NUMBER] <= 1  # never sent twice
    elif command == "status":
        message_id = send_one(cli)
        run = inject_and_run(cli, sandbox, injected, "querymsg", "status", message_id)
    else:
        run = inject_and_run(cli, sandbox, injected, "getbalance", "balance")
    assert run.exit_code == expect.exit_code, run.stdout + run.stderr
    check_one_line_cause(run.stderr, expect)


def inject_and_run(cli, sandbox: Sandbox, injected: Fault, op: str, *args: str):
    if injected.kind == "expire-session":
        cli("balance")  # a stored session for the fault to expire
    injected.add(sandbox, op)
    return cli(*args)


def send_one(cli) -> str:
    run = cli("send", "-t", "hello", NUMBER, "-o", "json")
    assert run.exit_code == 0, run.stderr
    return json.loads(run.stdout)[0]["message_id"]


def run_bulk_then_resume(
    cli, sandbox: Sandbox, injected: Fault, expect: Expect, tmp_path: Path
) -> None:
    numbers = [f"2782100000{i}" for i in range(BULK_ROWS)]
    rows = tmp_path / "rows.csv"
    rows.write_text("phone,name\n" + "".join(f"{n},n{i}\n" for i, n in enumerate(numbers)))
    if injected.kind == "expire-session":
        cli("balance")
    injected.add(sandbox, "sendmsg", after=2)
    run = cli("bulk", str(rows), "-t", "hi {name}", "--concurrency", "1", "--rate", "0")
    assert run.exit_code == expect.exit_code, run.stdout + run.stderr
    check_one_line_cause(run.stderr, expect)

    sandbox.faults.clear()
    if injected.kind == "no-credit":
        sandbox.gateway.add_credits(1000)
    (job,) = jobs(cli)
    assert job["sent"] + job["failed"] + job["pending"] + job.get("unknown", 0) <= BULK_ROWS
    if job["state"] != "done":
        resumed = cli("bulk", "--resume", str(job["id"]))
        assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
        assert "Traceback" not in resumed.stderr
        (job,) = jobs(cli)
    assert (job["state"], job["sent"]) == ("done", BULK_ROWS), job
    assert delivered(sandbox) == Counter(numbers)  # every row exactly once


def jobs(cli) -> list[dict[str, Any]]:
    run = cli("jobs", "-o", "json")
    assert run.exit_code == 0, run.stderr
    return json.loads(run.stdout)
