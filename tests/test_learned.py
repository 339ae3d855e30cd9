"""What the SOAP client learned from zeep, kept between runs (clicksms.gateway.learned).

A client that starts from what an earlier one kept must post, byte for byte, the envelope
zeep's public ``create_message`` builds and read replies as zeep reads them, without loading
zeep at all; anything it cannot trust (a file others could write, another zeep, a damaged or
edited entry) must leave the call to zeep, as if nothing had been kept.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import helpers
import pytest
from lxml.etree import tostring
from test_rpc_wire import SHAPES as RPC_SHAPES
from test_rpc_wire import answer_as_the_wsdl_types_it
from test_transport import REPLIES, SESSION, SHAPES, RawServer, answer_its_operation, http, outcome

from clicksms.gateway.learned import MAX_TEMPLATES, LearnedFile, learned_path
from clicksms.gateway.rpc import RPC_ENCODED
from clicksms.gateway.soap import DOCUMENT_LITERAL, SoapClient, SoapStyle

NUMBER = "27821234567"
ANSWERS = {"document": answer_its_operation, "rpc": answer_as_the_wsdl_types_it}
STYLES = {"document": DOCUMENT_LITERAL, "rpc": RPC_ENCODED}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A private config dir, as clicksms makes them."""
    path = tmp_path / "learned"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SoapClient]]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    made: list[SoapClient] = []

    def make(endpoint: str, style: SoapStyle, folder: Path | None) -> SoapClient:
        learned = None if folder is None else LearnedFile(folder, style)
        made.append(SoapClient(endpoint, 5.0, style=style, learned=learned))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[bytes, bytes], bytes]) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def zeeps_envelope(client: SoapClient, operation: str, fields: dict[str, object]) -> bytes:
    """What zeep's public ``create_message`` builds for the call, as zeep posts it."""
    name, wired = client.style.wire(operation, fields)
    zeep = client.zeep
    message = zeep.client.create_message(zeep.service, name, **client.style.complete(name, wired))
    return tostring(message, xml_declaration=True, encoding="utf-8")


CASES = [("document", *shape) for shape in SHAPES] + [("rpc", *shape) for shape in RPC_SHAPES]


@pytest.mark.parametrize(("style", "operation", "first", "second"), CASES)
def test_a_new_client_posts_what_zeep_builds_without_loading_zeep(
    serve, clients, folder, style, operation, first, second
) -> None:
    server = serve(ANSWERS[style])
    learner = clients(server.endpoint, STYLES[style], folder)
    assert learner.call(operation, **first) == ["OK: 42"]
    path = learned_path(folder, STYLES[style])
    assert path.stat().st_mode & 0o777 == 0o600

    later = clients(server.endpoint, STYLES[style], folder)
    assert later.call(operation, **second) == ["OK: 42"]
    assert later.call(operation, **first) == ["OK: 42"]
    assert later._zeep is None and later.zeep_replies == 0, "zeep was needed after all"
    reference = clients(server.endpoint, STYLES[style], None)
    assert server.bodies[1:] == [
        zeeps_envelope(reference, operation, second),
        zeeps_envelope(reference, operation, first),
    ]


@pytest.mark.parametrize(("style", "operation", "first", "second"), CASES)
def test_nothing_a_call_carried_is_written_down(
    serve, clients, folder, style, operation, first, second
) -> None:
    server = serve(ANSWERS[style])
    clients(server.endpoint, STYLES[style], folder).call(operation, **first)
    kept = learned_path(folder, STYLES[style]).read_text()
    for value in first.values():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and len(text) > 2:
                assert text not in kept


@pytest.mark.parametrize(("operation", "content"), REPLIES, ids=lambda v: str(v)[:30])
def test_replies_read_through_a_kept_shape_are_zeeps(
    serve, clients, folder, operation, content
) -> None:
    server = serve(lambda head, body: http(content))
    fields = {
        "session_id": SESSION,
        **({"to": [NUMBER], "text": "hi"} if operation == "sendmsg" else {}),
    }
    if operation == "auth":
        fields = {"api_id": 3512345, "user": "sandbox", "password": "not-kept"}
    zeeps = outcome(
        lambda: clients(server.endpoint, DOCUMENT_LITERAL, folder).call(operation, **fields)
    )
    later = clients(server.endpoint, DOCUMENT_LITERAL, folder)
    assert outcome(lambda: later.call(operation, **fields)) == zeeps
    assert later._zeep is None


def test_a_reply_only_zeep_may_read_still_goes_to_zeep(serve, clients, folder) -> None:
    fault = (
        b'<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<e:Body><e:Fault><faultcode>e:Server</faultcode><faultstring>Internal error"
        b"</faultstring></e:Fault></e:Body></e:Envelope>"
    )
    replies = [answer_its_operation, lambda head, body: http(fault, "500 Internal Server Error")]
    server = serve(lambda head, body: replies.pop(0)(head, body))
    fields = {"session_id": SESSION, "to": [NUMBER], "text": "hi"}
    assert clients(server.endpoint, DOCUMENT_LITERAL, folder).call("sendmsg", **fields)
    later = clients(server.endpoint, DOCUMENT_LITERAL, folder)
    with pytest.raises(Exception, match="SOAP fault: Internal error"):
        later.call("sendmsg", **fields)
    assert later._zeep is not None and len(server.bodies) == 2, "read by zeep, never resent"


def spoil_mode(path: Path) -> None:
    path.chmod(0o644)


def spoil_folder(path: Path) -> None:
    path.parent.chmod(0o755)


def spoil_version(path: Path) -> None:
    edit(path, lambda data: data["identity"].update(zeep="0.0.1"))


def spoil_envelope(path: Path) -> None:
    """An element zeep did not write, where a value goes."""
    edit(path, lambda data: _envelopes(data, lambda e: e.replace("<text>", "<extra/><text>", 1)))


def spoil_slots(path: Path) -> None:
    """Two values swapped: the slots no longer say where zeep put each one."""

    def swap(data: dict) -> None:
        for _, template in data["templates"]:
            slots = template["slots"]
            slots[0][2], slots[1][2] = slots[1][2], slots[0][2]

    edit(path, swap)


def spoil_doctype(path: Path) -> None:
    edit(path, lambda data: _envelopes(data, lambda e: '<!DOCTYPE x [<!ENTITY a "b">]>' + e))


def spoil_json(path: Path) -> None:
    path.write_text(path.read_text()[:-20])


def spoil_link(path: Path) -> None:
    """The file is a symbolic link (to a good copy): not followed."""
    copy = path.parent.parent / "elsewhere.json"
    copy.write_text(path.read_text())
    copy.chmod(0o600)
    path.unlink()
    path.symlink_to(copy)


def edit(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _envelopes(data: dict, change: Callable[[str], str]) -> None:
    for _, template in data["templates"]:
        template["envelope"] = change(template["envelope"])


SPOILS = [
    spoil_mode,
    spoil_folder,
    spoil_version,
    spoil_envelope,
    spoil_slots,
    spoil_doctype,
    spoil_json,
    spoil_link,
]


@pytest.mark.parametrize("spoil", SPOILS, ids=lambda f: f.__name__)
def test_what_cannot_be_trusted_is_left_to_zeep(serve, clients, folder, spoil) -> None:
    server = serve(answer_its_operation)
    fields = {"session_id": SESSION, "to": [NUMBER], "text": "hi", "climsgid": "c1"}
    assert clients(server.endpoint, DOCUMENT_LITERAL, folder).call("sendmsg", **fields)
    spoil(learned_path(folder, DOCUMENT_LITERAL))
    later = clients(server.endpoint, DOCUMENT_LITERAL, folder)
    other = {**fields, "text": "<b>", "climsgid": "c2"}
    assert later.call("sendmsg", **other) == ["OK: 42"]
    assert later._zeep is not None, "the spoilt file was used"
    assert server.bodies[1] == zeeps_envelope(later, "sendmsg", other)


def test_the_file_keeps_the_newest_templates(serve, clients, folder) -> None:
    server = serve(answer_its_operation)
    client = clients(server.endpoint, DOCUMENT_LITERAL, folder)
    options = ("concat", "deliv_time", "max_credits", "queue", "escalate", "validity")
    for shape in range(1, MAX_TEMPLATES + 6):  # each a set of options never sent before
        chosen = {name: 1 for bit, name in enumerate(options) if shape >> bit & 1}
        client.call("sendmsg", session_id=SESSION, to=[NUMBER], text="t", **chosen)
    kept = json.loads(learned_path(folder, DOCUMENT_LITERAL).read_text())["templates"]
    shapes = [
        sum(1 << bit for bit, name in enumerate(options) if name in dict(map(tuple, key[1])))
        for key, _ in kept
    ]
    assert shapes == list(range(6, MAX_TEMPLATES + 6))


def test_a_folder_that_does_not_exist_is_not_made_for_it(serve, clients, tmp_path) -> None:
    server = serve(answer_its_operation)
    client = clients(server.endpoint, DOCUMENT_LITERAL, tmp_path / "none")
    assert client.call("sendmsg", session_id=SESSION, to=[NUMBER], text="t") == ["OK: 42"]
    assert not (tmp_path / "none").exists()


# ------------------------------------------------------------------------ the CLI, for real

#: Runs clicksms as its console script does, then says which of zeep and requests it loaded
#: (just before the process ends: main() ends it with os._exit, past any atexit handler).
PROBE = (
    "import os, sys\n"
    "end = os._exit\n"
    "def report(code):\n"
    "    loaded = ','.join(m for m in ('zeep', 'requests') if m in sys.modules)\n"
    "    sys.stderr.write('loaded:' + loaded + '\\n')\n"
    "    sys.stderr.flush()\n"
    "    end(code)\n"
    "os._exit = report\n"
    "from clicksms.cli import main\n"
    "main()\n"
)


def clicksms(*args: str) -> tuple[int, str]:
    done = helpers.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stderr


def test_a_second_send_loads_no_zeep_and_sends_the_same(creds, config_dir) -> None:
    assert clicksms("auth")[0] == 0
    code, stderr = clicksms("send", NUMBER, "-t", "first one")
    assert code == 0 and "loaded:zeep,requests" in stderr
    code, stderr = clicksms("send", "+27 82 123 4567", "-t", "and the second")
    assert code == 0 and "loaded:\n" in stderr, stderr
    assert [(r["to"], r["text"]) for r in creds.ledger] == [
        (NUMBER, "first one"),
        (NUMBER, "and the second"),
    ]
    first, second = (r["fields"] for r in creds.requests if r["op"] == "sendmsg")
    assert set(first) == set(second)
    assert learned_path(config_dir, DOCUMENT_LITERAL).exists()


def test_no_session_keeps_nothing(creds, config_dir) -> None:
    for _ in range(2):
        code, stderr = clicksms("--no-session", "send", NUMBER, "-t", "from cron")
        assert code == 0 and "loaded:zeep,requests" in stderr
    assert not config_dir.exists() or os.listdir(config_dir) == []


def test_a_bulk_of_known_shapes_builds_no_zeep_and_sends_each_row_once(
    creds, config_dir, tmp_path
) -> None:
    def csv(name: str, numbers: list[str]) -> str:
        path = tmp_path / name
        path.write_text("phone,name\n" + "".join(f"{n},Ann\n" for n in numbers))
        return str(path)

    assert clicksms("auth")[0] == 0
    first = ["27821000001", "27821000002", "27821000003"]
    second = ["27821000004", "27821000005", "27821000006"]
    code, stderr = clicksms("bulk", csv("first.csv", first), "-t", "Hi {name}")
    assert code == 0 and "loaded:zeep,requests" in stderr, stderr
    code, stderr = clicksms("bulk", csv("second.csv", second), "-t", "Hi {name}")
    assert code == 0 and "loaded:\n" in stderr, stderr
    # One text to two numbers: a request of two recipients, the known shape stretched.
    third = ["27821000007", "27821000008"]
    code, stderr = clicksms("bulk", csv("third.csv", third), "-t", "Hi all")
    assert code == 0 and "loaded:\n" in stderr, stderr
    # A sender: a field never sent before, a shape zeep builds.
    fourth = ["27821000009", "27821000010"]
    code, stderr = clicksms("bulk", csv("fourth.csv", fourth), "-t", "Hi all", "--from", "Shop")
    assert code == 0 and "loaded:zeep,requests" in stderr, stderr
    assert sorted(r["to"] for r in creds.ledger) == first + second + third + fourth
    assert [r["from"] for r in creds.ledger[-2:]] == ["Shop", "Shop"]
