"""Hostile answers: DTDs, entities (XXE, billion laughs), deep nesting and absurd sizes.

Each is refused with one line and exit 5, without being retried (waiting cannot make such an
answer safe), and without expanding anything: the billion laughs run in a child process whose
address space is capped far below what the expansion would need.
"""

from __future__ import annotations

import re
import resource
import sys

import pytest
from helpers import run
from impostor import Reply, envelope

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
BODY = envelope("getbalance", "Credit: &lol9;").decode()


def answer(text: str) -> Reply:
    return Reply(body=text.encode())


HOSTILE = {
    "billion laughs": answer(LAUGHS + BODY),
    "external entity (XXE)": answer(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + envelope("getbalance", "Credit: &xxe;").decode()
    ),
    "external DTD": answer(
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">'
        + envelope("getbalance", "Credit: 1").decode()
    ),
    "internal DTD": answer(
        '<?xml version="1.0"?><!DOCTYPE x [<!ELEMENT x ANY>]>'
        + envelope("getbalance", "Credit: 1").decode()
    ),
}
REFUSED_XML = r"sent XML with a DTD or entities; refused for safety"
TOO_LARGE = r"sent a response too large for a SOAP answer \(over 10 MiB\); refused"


@pytest.mark.parametrize("reply", HOSTILE.values(), ids=HOSTILE.keys())
def test_dtd_and_entities_are_refused_once(cli, impostor, reply: Reply) -> None:
    impostor.replies = [reply] * 5
    result = cli("balance")
    assert result.exit_code == 5, result.stderr
    (line,) = result.stderr.splitlines()
    assert REFUSED_XML in line
    assert "root:" not in result.stdout + result.stderr  # nothing of /etc/passwd
    assert impostor.seen.count("getbalance") == 1  # not retried


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"<" * 11 * 1024 * 1024),
        Reply(body=envelope("getbalance", "Credit: " + "9" * 11 * 1024 * 1024)),
    ],
    ids=["11 MiB of junk", "an 11 MiB answer"],
)
def test_absurd_sizes_are_refused_once(cli, impostor, reply: Reply) -> None:
    impostor.replies = [reply] * 5
    result = cli("balance")
    assert result.exit_code == 5, result.stderr
    (line,) = result.stderr.splitlines()
    assert re.search(TOO_LARGE, line), line
    assert impostor.seen.count("getbalance") == 1


def test_deep_nesting_is_a_malformed_answer(cli, impostor) -> None:
    deep = "<a>" * 100_000 + "</a>" * 100_000
    impostor.replies = [answer(envelope("getbalance", "x").decode().replace("x", deep))] * 5
    result = cli("balance")
    assert result.exit_code == 5, result.stderr
    (line,) = result.stderr.splitlines()
    assert "malformed response" in line


def _cap_memory() -> None:
    limit = 1536 * 1024 * 1024  # far above clicksms's needs, far below the ~3 GB expansion
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_billion_laughs_cannot_expand_in_a_capped_process(impostor) -> None:
    impostor.replies = [HOSTILE["billion laughs"]]
    proc = run(
        [sys.executable, "-m", "clicksms", "--debug", "balance"],
        capture_output=True, text=True, timeout=120, preexec_fn=_cap_memory,
    )  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    assert REFUSED_XML in proc.stderr
    assert "MemoryError" not in proc.stderr


def test_an_html_entity_is_malformed_not_hostile(cli, impostor) -> None:
    """A captive portal's page with &nbsp; is not an attack: ping asks again, then gives up."""
    page = Reply(body=b"<html><body>Sign in&nbsp;first</body></html>", content_type="text/html")
    impostor.replies = [page] * 4
    result = cli("ping")
    assert result.exit_code == 5, result.stderr
    (line,) = result.stderr.splitlines()
    assert "malformed response" in line and "(after 4 attempts)" in line
    assert impostor.seen.count("ping") == 4
