"""RPC/Encoded in the client, against real loopback servers and against zeep itself.

What the client posts is held to the strict rules of ``rpc_wire`` and, where it comes from an
envelope template, must be byte-identical to what zeep (with the encoding plugin) builds for
the same call. Replies — string returns, inline arrays, multi-reference arrays — must read as
zeep reads them, whether a learned shape reads them or zeep does. Also: which style and
endpoint the settings choose, --max-credits per style, and that nothing is ever fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
import zeep
from rpc_wire import check_encoded
from test_transport import RawServer, fast_read, http, outcome
from zeep.cache import InMemoryCache
from zeep.transports import Transport

from clicksms.config import (
    DEFAULT_ENDPOINT,
    RPC_ENDPOINT,
    SettingsSource,
    load_settings,
)
from clicksms.errors import ConfigError, UsageError
from clicksms.gateway.rpc import BINDING, RPC_ENCODED, SOAP_ENC
from clicksms.gateway.shapes import MISS, Template
from clicksms.gateway.soap import SoapClient
from clicksms.message.options import parse_max_credits

SESSION = "0123456789abcdef0123456789abcdef"
TNS = "http://api.clickatell.com/soap/webservice"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Operations whose return the RPC WSDL types tns:ArrayOfString (API.md §2.3).
ARRAY_RETURNS = {"sendmsg", "querymsg", "delmsg", "getmsgcharge"}


def rpc_envelope(body: str, extra: str = "") -> bytes:
    """An RPC/Encoded answer as a PHP-like server writes it: every prefix on the Envelope."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:ns1="{TNS}" xmlns:xsd="{XSD}" xmlns:xsi="{XSI}" xmlns:SOAP-ENC="{SOAP_ENC}" '
        f'SOAP-ENV:encodingStyle="{SOAP_ENC}"{extra}><SOAP-ENV:Body>{body}'
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def inline(op: str, *items: str, item_type: str = ' xsi:type="xsd:string"') -> bytes:
    values = "".join(f"<item{item_type}>{i}</item>" for i in items)
    array = f'xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[{len(items)}]"'
    return rpc_envelope(f"<ns1:{op}Response><return {array}>{values}</return></ns1:{op}Response>")


def multiref(op: str, *items: str) -> bytes:
    """The array as an independent element the return points at (Axis, the sandbox's mode)."""
    values = "".join(f'<item xsi:type="xsd:string">{i}</item>' for i in items)
    array = f'xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[{len(items)}]"'
    return rpc_envelope(
        f'<ns1:{op}Response><return href="#id1"/></ns1:{op}Response>'
        f'<multiRef id="id1" SOAP-ENC:root="0" {array}>{values}</multiRef>'
    )


def axis(op: str, *items: str) -> bytes:
    """Multi-reference down to each string, in an order of their own."""
    refs = "".join(f'<item href="#s{n}"/>' for n in range(len(items)))
    strings = "".join(
        f'<multiRef id="s{n}" SOAP-ENC:root="0" xsi:type="xsd:string">{items[n]}</multiRef>'
        for n in reversed(range(len(items)))
    )
    array = f'xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[{len(items)}]"'
    return rpc_envelope(
        f'<ns1:{op}Response><return href="#a"/></ns1:{op}Response>'
        f'<multiRef id="a" SOAP-ENC:root="0" {array}>{refs}</multiRef>{strings}'
    )


def scalar(op: str, text: str, attributes: str = ' xsi:type="xsd:string"') -> bytes:
    return rpc_envelope(f"<ns1:{op}Response><return{attributes}>{text}</return></ns1:{op}Response>")


def answer_as_the_wsdl_types_it(head: bytes, body: bytes) -> bytes:
    """A plain RPC answer to whatever operation the request names: "OK: 42"."""
    match = re.search(rb"Body><(?:\w+:)?(\w+)", body)
    assert match is not None
    op = match.group(1).decode()
    return http(inline(op, "OK: 42") if op in ARRAY_RETURNS else scalar(op, "OK: 42"))


@pytest.fixture
def servers() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(answer: Callable[[bytes, bytes], bytes]) -> RawServer:
        started.append(RawServer(answer))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def rpc_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], SoapClient]]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    clients: list[SoapClient] = []

    def make(endpoint: str) -> SoapClient:
        clients.append(SoapClient(endpoint, 5.0, style=RPC_ENCODED))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def soap_action(head: bytes) -> str:
    return re.findall(r"(?im)^SOAPAction: (.*?)\r?$", head.decode())[0]


def zeep_bytes(client: SoapClient, operation: str, fields: dict[str, object]) -> bytes:
    """What zeep's public ``create_message`` builds (encoding plugin included)."""
    from lxml.etree import tostring

    name, wired = RPC_ENCODED.wire(operation, fields)
    complete = RPC_ENCODED.complete(name, wired)
    message = client.zeep.client.create_message(client.zeep.service, name, **complete)
    return tostring(message, xml_declaration=True, encoding="utf-8")


CREDENTIALS = {"api_id": 3512345, "user": "u<&>", "password": "p ]]> &amp; é"}
SHAPES = [
    ("auth", CREDENTIALS, {"api_id": 7, "user": "x", "password": "y"}),
    (
        "sendmsg",
        {"session_id": SESSION, "to": ["27821234567"], "text": "hello", "climsgid": "c1"},
        {"session_id": "f" * 32, "to": ["27830000000"], "text": "<b>&", "climsgid": "c2"},
    ),
    (
        "sendmsg",
        {**CREDENTIALS, "to": ["1", "2", "3"], "text": "", "concat": 3, "from": "Me"},
        {**CREDENTIALS, "to": ["4", "5", "6"], "text": "x" * 500, "concat": 1, "from": ""},
    ),
    (
        "sendmsg",
        {"session_id": SESSION, "to": ["1"], "text": "t", "max_credits": 1.5, "unicode": 1},
        {"session_id": SESSION, "to": ["2"], "text": "u", "max_credits": 0.8, "unicode": 0},
    ),
    ("delmsg", {**CREDENTIALS, "climsgid": "a"}, {**CREDENTIALS, "climsgid": "b"}),
    ("querymsg", {"session_id": SESSION, "climsgid": "c1"}, {"session_id": "s", "climsgid": "c"}),
    ("routecoverage", {**CREDENTIALS, "msisdn": "1"}, {**CREDENTIALS, "msisdn": "2"}),
    (
        "getmsgcharge",
        {"session_id": SESSION, "apimsgid": "x"},
        {"session_id": "s", "apimsgid": "y"},
    ),
    ("getbalance", {"session_id": SESSION}, {"session_id": "other"}),
    ("ping", {"session_id": SESSION}, {"session_id": "x"}),
]


@pytest.mark.parametrize(("operation", "first", "second"), SHAPES)
def test_requests_are_strict_rpc_and_templates_are_zeeps(
    servers, rpc_client, operation, first, second
) -> None:
    """Every request passes the strict reading; after the first, each is a template's copy,
    byte-identical to what zeep and the plugin build."""
    server = servers(answer_as_the_wsdl_types_it)
    client = rpc_client(server.endpoint)
    calls = (first, second, first)
    for fields in calls:
        assert client.call(operation, **fields) == ["OK: 42"]
    assert server.bodies == [zeep_bytes(client, operation, fields) for fields in calls]
    for head, body, fields in zip(server.heads, server.bodies, calls, strict=True):
        name, parts = check_encoded(body, soap_action(head))
        assert name.lower() == operation  # spelled routeCoverage, in the WSDL's own way
        sent = {"cliMsgId" if k == "climsgid" and name == "sendmsg" else k for k in fields}
        assert set(parts) == sent, "parts not set are left out, never sent as 0"
    assert [type(t) for t in client._templates._items.values()] == [Template]
    assert client.zeep_replies == 1, "replies after the first were read through its shape"


def test_an_encoded_array_of_another_length_is_built_by_zeep(servers, rpc_client) -> None:
    """RPC's arrays carry their length in an attribute: each length is zeep's own build."""
    server = servers(answer_as_the_wsdl_types_it)
    client = rpc_client(server.endpoint)
    calls = [{"session_id": SESSION, "to": ["1"] * count, "text": "t"} for count in (1, 2, 2)]
    for fields in calls:
        assert client.call("sendmsg", **fields) == ["OK: 42"]
    assert server.bodies == [zeep_bytes(client, "sendmsg", fields) for fields in calls]
    assert len(client._templates._items) == 2, "one template per length"


def test_values_take_their_part_types(servers, rpc_client) -> None:
    server = servers(answer_as_the_wsdl_types_it)
    client = rpc_client(server.endpoint)
    client.call("delmsg", api_id=12, user="u", password="p", climsgid="x")
    client.call("sendmsg", session_id=SESSION, to=["1"], text="t", max_credits=2, climsgid="c")
    (_, delmsg), (_, sendmsg) = (
        check_encoded(b, soap_action(h)) for h, b in zip(server.heads, server.bodies, strict=True)
    )
    assert delmsg["api_id"] == "12"  # xsd:string there, checked by check_encoded
    assert sendmsg["max_credits"] == "2.0" and sendmsg["cliMsgId"] == "c"


def test_nothing_is_fetched_to_load_the_rpc_wsdl(rpc_client) -> None:
    """The encoding schema comes with the package; any other download is refused."""
    client = rpc_client(f"http://127.0.0.1:{closed_port()}/soap/webservice_vs.php")
    zeep = client.zeep
    assert zeep.client.create_message(zeep.service, "ping", session_id="x") is not None
    with pytest.raises(ConfigError, match="refusing to fetch"):
        client.zeep.transport.load("http://schemas.xmlsoap.org/wsdl/")
    bundled = resources.files("clicksms").joinpath("data/soap-encoding.xsd").read_bytes()
    assert client.zeep.transport.load(SOAP_ENC) == bundled


def closed_port() -> int:
    import helpers

    return helpers.closed_port()


@pytest.fixture(scope="module")
def zeep_reference() -> zeep.Client:
    """A plain zeep.Client on the RPC WSDL, its cache seeded as API.md §10.2 shows."""
    cache = InMemoryCache()
    schema = resources.files("clicksms").joinpath("data/soap-encoding.xsd").read_bytes()
    cache.add(SOAP_ENC, schema)
    wsdl = resources.files("clicksms").joinpath("data/rpc_encoded_webservice_vs.wsdl")
    return zeep.Client(str(wsdl), transport=Transport(cache=cache))


def zeep_reads(servers, client: zeep.Client, operation: str, content: bytes) -> tuple[object, ...]:
    server = servers(lambda head, body: http(content))
    service = client.create_service(BINDING, server.endpoint)
    name, fields = RPC_ENCODED.wire(operation, {"session_id": SESSION, **CALLS[operation]})
    result = outcome(lambda: getattr(service, name)(**RPC_ENCODED.complete(name, fields)))
    if result[0] == "returned" and isinstance(result[2], list):
        return ("returned", list, list(result[2]))  # zeep's ArrayOfString is a list
    return result


CALLS = {
    "sendmsg": {"to": ["27821234567"], "text": "hi"},
    "getbalance": {},
    "querymsg": {"apimsgid": "a"},
}
ITEMS = [f"ID: {n:032x} To: 2782{n:07d}" for n in range(300)]
#: (operation, reply, whether a learned shape reads it without zeep)
REPLY_CORPUS: dict[str, tuple[str, bytes, bool]] = {
    "one item": ("sendmsg", inline("sendmsg", "ID: abc"), True),
    "300 items": ("sendmsg", inline("sendmsg", *ITEMS), True),
    "an error item": ("sendmsg", inline("sendmsg", "ERR: 105, Invalid Destination Address"), True),
    "entities and unicode": ("sendmsg", inline("sendmsg", "a &amp; &lt;b&gt; é 😀"), True),
    "string return": ("getbalance", scalar("getbalance", "Credit: 12.5"), True),
    "querymsg array": ("querymsg", inline("querymsg", "ID: a Status: 004"), True),
    "multi-ref array": ("sendmsg", multiref("sendmsg", "ID: a To: 1", "ID: b To: 2"), False),
    "multi-ref strings": ("sendmsg", axis("sendmsg", "ID: a To: 1", "ID: b To: 2"), False),
    "multi-ref string return": (
        "getbalance",
        rpc_envelope(
            '<ns1:getbalanceResponse><return href="#r"/></ns1:getbalanceResponse>'
            '<multiRef id="r" xsi:type="xsd:string">Credit: 3</multiRef>'
        ),
        False,
    ),
    "items typed otherwise": (
        "sendmsg",
        inline("sendmsg", "1", item_type=' xsi:type="xsd:int"'),
        False,
    ),
    "untyped items": ("sendmsg", inline("sendmsg", "ID: u", "ID: v", item_type=""), False),
    "arrayType miscounts": (
        "sendmsg",
        inline("sendmsg", "ID: a").replace(b"string[1]", b"string[2]"),
        False,
    ),
    "xsd prefix bound elsewhere": (
        "sendmsg",
        inline("sendmsg", "ID: a").replace(b"<item ", b'<item xmlns:xsd="urn:not-schema" '),
        False,
    ),
    "nil return": ("getbalance", scalar("getbalance", "", ' xsi:nil="true"'), False),
    "empty array": ("sendmsg", inline("sendmsg"), False),
}
PLAIN = {
    "sendmsg": inline("sendmsg", "ID: learned"),
    "getbalance": scalar("getbalance", "Credit: 1"),
    "querymsg": inline("querymsg", "ID: learned Status: 001"),
}


@pytest.mark.parametrize("case", list(REPLY_CORPUS))
def test_rpc_replies_read_as_zeep_reads_them(servers, rpc_client, zeep_reference, case) -> None:
    """A client that learned the shape from a plain reply answers as a fresh one does, and
    the learned shape reads only what it reads exactly as zeep."""
    operation, content, fast = REPLY_CORPUS[case]
    replies = [PLAIN[operation], content, content]
    server = servers(lambda head, body: http(replies.pop(0)))
    learned, fresh = rpc_client(server.endpoint), rpc_client(server.endpoint)

    def call(client: SoapClient) -> Callable[[], object]:
        return lambda: client.call(operation, session_id=SESSION, **CALLS[operation])

    assert outcome(call(learned))[0] == "returned"
    assert learned.zeep_replies == 1 and operation in learned._reply_shapes
    ours = outcome(call(learned))
    assert learned.zeep_replies == (1 if fast else 2), "the learned shape was (not) used"
    assert ours == outcome(call(fresh))
    read = outcome(lambda: fast_read(learned, operation, content))
    if fast:
        expected = zeep_reads(servers, zeep_reference, operation, content)
        assert read == expected
    else:
        assert read == ("returned", object, MISS)


def test_the_cli_reads_multi_ref_answers(cli, servers, monkeypatch) -> None:
    """send, status and balance over RPC, each answered with multi-reference values."""
    answers = [
        axis("sendmsg", *(f"ID: {str(n) * 32} To: 2782123456{n}" for n in (7, 8))),
        multiref("querymsg", f"ID: {'7' * 32} Status: 004"),
        rpc_envelope(
            '<ns1:getbalanceResponse><return href="#r"/></ns1:getbalanceResponse>'
            '<multiRef id="r" xsi:type="xsd:string">Credit: 3.5</multiRef>'
        ),
    ]
    server = servers(lambda head, body: http(answers.pop(0)))
    monkeypatch.setenv(
        "CLICKSMS_ENDPOINT", f"http://127.0.0.1:{server.port}/soap/webservice_vs.php"
    )
    monkeypatch.setenv("CLICKSMS_API_ID", "1")
    monkeypatch.setenv("CLICKSMS_USER", "u")
    monkeypatch.setenv("CLICKSMS_PASSWORD", "multi-ref-Pa55word")
    monkeypatch.setenv("CLICKSMS_NO_SESSION", "1")
    sent = cli("send", "27821234567", "27821234568", "-t", "hi", "-o", "json")
    assert sent.exit_code == 0, sent.stderr
    assert '"message_id": "' + "7" * 32 in sent.stdout and "8" * 32 in sent.stdout
    status = cli("status", "7" * 32, "-o", "json")
    assert status.exit_code == 0 and '"status": "004"' in status.stdout
    balance = cli("balance", "-o", "json")
    assert balance.stdout.strip() == '{\n  "balance": 3.5\n}'
    for head, body in zip(server.heads, server.bodies, strict=True):
        check_encoded(body, soap_action(head))


# -------------------------------------------------------------------------- settings
def settings(**environ: str):
    return load_settings(source=SettingsSource(environ=environ, read_dotenv=False))


@pytest.mark.parametrize(
    ("environ", "style", "endpoint"),
    [
        ({}, "document", DEFAULT_ENDPOINT),
        ({"CLICKSMS_SOAP_STYLE": "rpc"}, "rpc", RPC_ENDPOINT),
        ({"CLICKSMS_SOAP_STYLE": " RPC "}, "rpc", RPC_ENDPOINT),
        ({"CLICKSMS_SOAP_STYLE": "document"}, "document", DEFAULT_ENDPOINT),
        ({"CLICKSMS_ENDPOINT": RPC_ENDPOINT}, "rpc", RPC_ENDPOINT),
        ({"CLICKSMS_ENDPOINT": "http://127.0.0.1:9/soap/webservice_vs.php/"}, "rpc", None),
        ({"CLICKSMS_ENDPOINT": "http://127.0.0.1:9/x/webservice_vs.php/"}, "rpc", None),
        ({"CLICKSMS_ENDPOINT": "http://127.0.0.1:9/soap/webservice.php"}, "document", None),
        (
            {
                "CLICKSMS_ENDPOINT": "http://127.0.0.1:9/webservice_vs.php",
                "CLICKSMS_SOAP_STYLE": "document",
            },
            "document",
            None,
        ),
    ],
)
def test_the_style_follows_the_flag_else_the_endpoint(environ, style, endpoint) -> None:
    resolved = settings(**environ)
    assert resolved.soap_style == style
    assert resolved.endpoint == (endpoint or environ["CLICKSMS_ENDPOINT"])


def test_a_flag_wins_and_a_bad_style_is_named(tmp_path: Path, monkeypatch) -> None:
    source = SettingsSource(environ={"CLICKSMS_SOAP_STYLE": "document"}, read_dotenv=False)
    assert load_settings(soap_style="rpc", source=source).endpoint == RPC_ENDPOINT
    with pytest.raises(ConfigError, match=r"SOAP style must be document or rpc, got 'soap12'"):
        settings(CLICKSMS_SOAP_STYLE="soap12")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CLICKSMS_SOAP_STYLE=rpc\nCLICKSMS_NO_SESSION=yes\n")
    from_dotenv = load_settings()
    assert (from_dotenv.soap_style, from_dotenv.no_session) == ("rpc", True)


def test_the_cli_names_a_bad_style(cli, monkeypatch) -> None:
    run = cli("--soap-style", "soap12", "balance")
    assert run.exit_code == 2 and "--soap-style" in run.stderr
    monkeypatch.setenv("CLICKSMS_SOAP_STYLE", "soap12")
    run = cli("balance")
    assert run.exit_code == 2
    assert run.stderr == (
        "Error: SOAP style must be document or rpc, got 'soap12' "
        "(--soap-style or CLICKSMS_SOAP_STYLE)\n"
    )
    monkeypatch.setenv("CLICKSMS_SOAP_STYLE", "rpc")
    monkeypatch.setenv("CLICKSMS_NO_SESSION", "maybe")
    run = cli("balance")
    assert run.exit_code == 2
    assert "CLICKSMS_NO_SESSION must be 1 or 0 (true/false), got 'maybe'" in run.stderr


@pytest.mark.parametrize(
    ("value", "style", "expected"),
    [
        ("2", "document", 2),
        ("2", "rpc", 2),
        ("1.0", "document", 1),
        ("1.5", "rpc", 1.5),
        ("0.8", "rpc", 0.8),
        (" .5 ", "rpc", UsageError),
        ("1.5", "document", "--soap-style rpc"),
        ("0", "rpc", UsageError),
        ("-1", "rpc", UsageError),
        ("1e3", "rpc", UsageError),
        ("nan", "rpc", UsageError),
        ("1,5", "rpc", UsageError),
    ],
)
def test_max_credits_as_each_wsdl_types_it(value, style, expected) -> None:
    if isinstance(expected, str):
        with pytest.raises(UsageError, match=re.escape(expected)):
            parse_max_credits(value, style)
    elif expected is UsageError:
        with pytest.raises(UsageError):
            parse_max_credits(value, style)
    else:
        parsed = parse_max_credits(value, style)
        assert (type(parsed), parsed) == (type(expected), expected)


def test_the_wrong_style_for_the_endpoint_is_turned_away_and_nothing_is_sent(cli, creds) -> None:
    """RPC envelopes at the Document/Literal endpoint: the server's SOAP layer refuses them
    (as PHP's SoapServer does) before any operation runs, so the message is not sent, and
    not "may have been sent" either."""
    run = cli(
        "--no-session", "--soap-style", "rpc", "send", "27821234567", "-t", "hi", "-o", "json"
    )
    assert run.exit_code == 5
    assert run.stderr.endswith("answered with a SOAP fault: Procedure 'sendmsg' not present\n")
    assert run.stdout == ""  # as for a refused connection: nothing went out, nothing to list
    assert creds.ledger == []
