"""The sandbox's RPC/Encoded server (/soap/webservice_vs.php): requests checked as strictly as
the strictest SOAP stacks of the era checked them, answers shaped as its WSDL says (API.md
§2.2, §2.3, §10.2), one account shared with the Document/Literal server.

Requests are written by hand (sandbox_wire) so each test breaks exactly one thing; zeep only
reads answers, to show the client's stack decodes both array forms."""

from __future__ import annotations

import http.client
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib import resources
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import zeep
from sandbox_wire import (
    CREDS,
    DOC_NS,
    RPC_NS,
    RPC_PATH,
    SOAP_ENC,
    doc_call,
    fault_of,
    rpc_answer,
    rpc_call,
    rpc_envelope,
    rpc_part,
    rpc_post,
    rpc_request,
)
from zeep.cache import InMemoryCache
from zeep.transports import Transport

from clicksms.sandbox import Sandbox, SandboxConfig, spec

GOOD, GOOD2 = "27821234567", "27831234567"
ID = re.compile(r"ID: ([0-9a-f]{32})")
SEND = {**CREDS, "to": [GOOD, GOOD2], "text": "hello"}


@pytest.fixture
def multiref(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox(rpc_arrays="multiref")


def sendmsg_parts(**changes: Any) -> str:
    """sendmsg's parts, each rendered as the WSDL types it, with ``changes`` as raw XML."""
    parts = {name: rpc_part("sendmsg", name, value) for name, value in SEND.items()}
    parts.update(changes)
    return "".join(value for value in parts.values() if value)


def refused(sb: Sandbox, op: str, body: str, action: str | None = "default") -> str:
    """The faultstring of a request the server must refuse as the client's fault."""
    before = len(sb.requests)
    status, answer = rpc_post(sb, op, body, action)
    assert status == 500, answer
    code, message = fault_of(answer)
    assert code == "SOAP-ENV:Client", answer
    assert len(sb.requests) == before, "a refused request must never reach the gateway"
    return message


# ------------------------------------------------------------------ what is accepted
def test_a_fully_encoded_request_is_answered(sb: Sandbox) -> None:
    answers = rpc_call(sb, "sendmsg", **SEND)
    assert isinstance(answers, list) and len(answers) == 2
    assert all(re.fullmatch(r"ID: [0-9a-f]{32} To: \d+", a) for a in answers), answers
    assert [m["to"] for m in sb.messages.values()] == [GOOD, GOOD2]


def test_what_php_soapclient_sends_is_accepted(sb: Sandbox) -> None:
    """Every part sent, the unset ones as untyped xsi:nil (PHP's SoapClient), and empty
    strings for others (as generated clients fill them): both mean "not set"."""
    parts = {
        "session_id": None,
        **CREDS,
        "to": [GOOD],
        "from": None,
        "text": "hi",
        "concat": "",
        "deliv_ack": None,
        "msg_callback": "",
        "max_credits": "",
        "cliMsgId": "",
        "unicode": None,
        "msg_type": "",
        "udh": "",
        "data": None,
        "validity": "",
    }
    body = rpc_envelope("sendmsg", "".join(rpc_part("sendmsg", n, v) for n, v in parts.items()))
    status, answer = rpc_post(sb, "sendmsg", body)
    assert status == 200, answer
    (item,) = rpc_answer(answer, "sendmsg")
    assert ID.fullmatch(item), item


def test_encoding_style_on_the_call_element_and_soap_enc_array_type_are_accepted(
    sb: Sandbox,
) -> None:
    to = (
        '<to xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[1]">'
        f"<number>{GOOD}</number></to>"  # member names are free, their xsi:type optional
    )
    parts = sendmsg_parts(to=to)
    body = rpc_envelope("sendmsg", parts, encoding_style=None).replace(
        "<ns1:sendmsg>", f'<ns1:sendmsg SOAP-ENV:encodingStyle="{SOAP_ENC} other:uri">'
    )
    status, answer = rpc_post(sb, "sendmsg", body)
    assert status == 200, answer
    assert ID.fullmatch(rpc_answer(answer, "sendmsg")[0])


def test_multi_reference_parts_are_followed(sb: Sandbox) -> None:
    """As Axis sends them: the part points at an independent element of the Body."""
    multiref = (
        '<multiRef id="id0" SOAP-ENC:root="0" xsi:type="ns1:ArrayOfString"'
        ' SOAP-ENC:arrayType="xsd:string[2]">'
        f'<item href="#id1"/><item xsi:type="xsd:string">{GOOD2}</item></multiRef>'
        f'<multiRef id="id1" SOAP-ENC:root="0" xsi:type="xsd:string">{GOOD}</multiRef>'
    )
    body = rpc_envelope("sendmsg", sendmsg_parts(to='<to href="#id0"/>'), after_call=multiref)
    status, answer = rpc_post(sb, "sendmsg", body)
    assert status == 200, answer
    assert [a[-11:] for a in rpc_answer(answer, "sendmsg")] == [GOOD, GOOD2]


@pytest.mark.parametrize(
    "action", ['""', '"http://api.clickatell.com/soap/webservice_vs.php/auth"']
)
def test_an_empty_or_the_wsdl_soapaction_is_accepted(sb: Sandbox, action: str) -> None:
    status, answer = rpc_post(sb, "auth", rpc_request("auth", **CREDS), action)
    assert status == 200 and rpc_answer(answer, "auth").startswith("OK: "), answer


# ------------------------------------------------------------- what a strict server refuses
BREAKAGES = {
    "no encodingStyle": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(), encoding_style=None),
        "SOAP-ENV:encodingStyle is missing: this server wants " + SOAP_ENC,
    ),
    "literal encodingStyle": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(), encoding_style="urn:literal"),
        "'sendmsg' is not SOAP-encoded (SOAP-ENV:encodingStyle='urn:literal')",
    ),
    "part un-encoded": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(text='<text SOAP-ENV:encodingStyle="">hello</text>')
        ),
        "'text' is not SOAP-encoded (SOAP-ENV:encodingStyle='')",
    ),
    "part without xsi:type": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(text="<text>hello</text>")),
        "Part 'text' has no xsi:type (the WSDL types it xsd:string)",
    ),
    "int part without xsi:type": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(api_id="<api_id>3512345</api_id>")),
        "Part 'api_id' has no xsi:type (the WSDL types it xsd:int)",
    ),
    "to without xsi:type": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(to=f'<to SOAP-ENC:arrayType="xsd:string[1]"><item>{GOOD}</item></to>'),
        ),
        "Part 'to' has no xsi:type (the WSDL types it tns:ArrayOfString)",
    ),
    "to as zeep sends it": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(to=f'<to><item xsi:type="xsd:string">{GOOD}</item></to>'),
        ),
        "Part 'to' has no xsi:type (the WSDL types it tns:ArrayOfString)",
    ),
    "to without arrayType": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(to=f'<to xsi:type="SOAP-ENC:Array"><item>{GOOD}</item></to>'),
        ),
        "Array 'to' has no SOAP-ENC:arrayType (xsd:string[N])",
    ),
    "arrayType miscounted": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts().replace("xsd:string[2]", "xsd:string[3]")),
        "Array 'to': SOAP-ENC:arrayType says 3 item(s), it holds 2",
    ),
    "arrayType unsized": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts().replace("xsd:string[2]", "xsd:string[]")),
        "Array 'to': SOAP-ENC:arrayType 'xsd:string[]' is not xsd:string[N]",
    ),
    "arrayType of ints": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts().replace("xsd:string[2]", "xsd:int[2]")),
        "Array 'to': SOAP-ENC:arrayType 'xsd:int[2]' is not xsd:string[N]",
    ),
    "array item of another type": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts().replace(
                f'<item xsi:type="xsd:string">{GOOD}', f'<item xsi:type="xsd:long">{GOOD}'
            ),
        ),
        "Array 'to': an item is xsi:type 'xsd:long', not xsd:string",
    ),
    "array item of an unbound prefix": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts().replace(
                f'<item xsi:type="xsd:string">{GOOD}', f'<item xsi:type="xs:string">{GOOD}'
            ),
        ),
        "Array 'to': item xsi:type 'xs:string' uses an undeclared prefix",
    ),
    "sparse array": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts().replace("<to ", '<to SOAP-ENC:offset="[1]" ')
        ),
        "Array 'to': partial or sparse arrays are not supported",
    ),
    "to typed as a string": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(to=f'<to xsi:type="xsd:string">{GOOD}</to>')),
        "Part 'to' is xsi:type xsd:string but the WSDL types it tns:ArrayOfString",
    ),
    "int typed as a string": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(concat='<concat xsi:type="xsd:string">2</concat>')
        ),
        "Part 'concat' is xsi:type xsd:string but the WSDL types it xsd:int",
    ),
    "float typed as an int": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(max_credits='<max_credits xsi:type="xsd:int">2</max_credits>')
        ),
        "Part 'max_credits' is xsi:type xsd:int but the WSDL types it xsd:float",
    ),
    "not an int": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(concat='<concat xsi:type="xsd:int">two</concat>')
        ),
        "Part 'concat': 'two' is not an xsd:int",
    ),
    "not a float": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(max_credits='<max_credits xsi:type="xsd:float">1,5</max_credits>'),
        ),
        "Part 'max_credits': '1,5' is not an xsd:float",
    ),
    "undeclared prefix": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(text='<text xsi:type="xs:string">hello</text>')
        ),
        "Part 'text': xsi:type 'xs:string' uses an undeclared prefix",
    ),
    "1999 schema types": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(
                text='<text xmlns:old="http://www.w3.org/1999/XMLSchema"'
                ' xsi:type="old:string">hello</text>'
            ),
        ),
        "Part 'text' is xsi:type {http://www.w3.org/1999/XMLSchema}string but the WSDL "
        "types it xsd:string",
    ),
    "doc/literal spelling of cliMsgId": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(x='<climsgid xsi:type="xsd:string">A1</climsgid>')
        ),
        "Operation 'sendmsg' has no part 'climsgid' (its parts: session_id, api_id, user, "
        "password, to, from, text, concat, deliv_ack, msg_callback, deliv_time, max_credits, "
        "req_feat, queue, escalate, mo, cliMsgId, unicode, msg_type, udh, data, validity)",
    ),
    "qualified part": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(text='<ns1:text xsi:type="xsd:string">hello</ns1:text>')
        ),
        f"Part 'text' must be unqualified, not in namespace {RPC_NS}",
    ),
    "part twice": (
        lambda: rpc_envelope(
            "sendmsg", sendmsg_parts(x='<text xsi:type="xsd:string">again</text>')
        ),
        "Part 'text' is given more than once",
    ),
    "doc/literal namespace": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(), op_ns=DOC_NS),
        f"Operation 'sendmsg' must be in {RPC_NS}, not namespace {DOC_NS}",
    ),
    "href to nothing": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(to='<to href="#nowhere"/>')),
        "'to' refers to '#nowhere', which the Body does not hold",
    ),
    "stray body element": (
        lambda: rpc_envelope("sendmsg", sendmsg_parts(), after_call="<extra/>"),
        "Body element 'extra' after the call has no id",
    ),
    "header it must understand": (
        lambda: rpc_envelope(
            "sendmsg",
            sendmsg_parts(),
            header='<SOAP-ENV:Header><t:Tx xmlns:t="urn:tx" SOAP-ENV:mustUnderstand="1"/>'
            "</SOAP-ENV:Header>",
        ),
        "Header 'Tx' is not understood",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_request_a_strict_server_could_not_read_is_a_client_fault(
    sb: Sandbox, breakage: str
) -> None:
    build, expected = BREAKAGES[breakage]
    status, answer = rpc_post(sb, "sendmsg", build())
    assert status == 500, answer
    code, message = fault_of(answer)
    assert message == expected
    assert code == ("SOAP-ENV:MustUnderstand" if "understand" in breakage else "SOAP-ENV:Client")
    assert sb.requests == [] and sb.messages == {}


def test_the_soapaction_must_be_there_and_name_the_operation(sb: Sandbox) -> None:
    body = rpc_request("auth", **CREDS)
    assert refused(sb, "auth", body, action=None) == (
        "SOAPAction HTTP header is missing (SOAP 1.1 §6.1.1)"
    )
    assert refused(sb, "auth", body, action=f'"{RPC_NS}/auth"') == (
        f"SOAPAction '{RPC_NS}/auth' does not match operation 'auth' "
        "(http://api.clickatell.com/soap/webservice_vs.php/auth)"
    )


def test_operations_are_spelled_as_the_rpc_wsdl_spells_them(sb: Sandbox) -> None:
    body = rpc_request("routecoverage", **CREDS, msisdn=GOOD)
    assert refused(sb, "routecoverage", body) == (
        "Procedure 'routecoverage' not present (this server spells it 'routeCoverage')"
    )
    body = rpc_request("sendsms", **CREDS)
    assert refused(sb, "sendsms", body) == "Procedure 'sendsms' not present"
    answer = rpc_call(sb, "routeCoverage", **CREDS, msisdn=GOOD)
    assert answer == f"{spec.COVERAGE_OK} Charge: 1.0"


def test_parts_are_spelled_as_each_operation_declares_them(sb: Sandbox) -> None:
    """cliMsgId in the send operations, but querymsg and delmsg say climsgid (API.md §2.3)."""
    (sent,) = rpc_call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi", cliMsgId="Rpc1")
    apimsgid = ID.fullmatch(sent).group(1)
    assert rpc_call(sb, "querymsg", **CREDS, climsgid="Rpc1") == [f"ID: {apimsgid} Status: 003"]
    body = rpc_request("querymsg", **CREDS, cliMsgId="Rpc1")
    assert refused(sb, "querymsg", body) == (
        "Operation 'querymsg' has no part 'cliMsgId' "
        "(its parts: session_id, api_id, user, password, apimsgid, climsgid)"
    )


def test_delmsg_api_id_is_a_string_in_the_rpc_wsdl(sb: Sandbox) -> None:
    (sent,) = rpc_call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi", deliv_time=60)
    apimsgid = ID.fullmatch(sent).group(1)
    typed_int = rpc_request("delmsg", **CREDS, apimsgid=apimsgid).replace(
        '<api_id xsi:type="xsd:string">', '<api_id xsi:type="xsd:int">'
    )
    assert refused(sb, "delmsg", typed_int) == (
        "Part 'api_id' is xsi:type xsd:int but the WSDL types it xsd:string"
    )
    assert rpc_call(sb, "delmsg", **CREDS, apimsgid=apimsgid) == [f"ID: {apimsgid} Status: 006"]


# ------------------------------------------------------------------------ answers
def test_each_operation_answers_in_the_shape_its_wsdl_declares(sb: Sandbox) -> None:
    """ArrayOfString returns are arrays even with one item; string returns are strings."""
    session = rpc_call(sb, "auth", **CREDS)
    assert isinstance(session, str) and re.fullmatch(r"OK: [0-9a-f]{32}", session)
    sid = session[4:]
    assert rpc_call(sb, "ping", session_id=sid) == "OK: "
    (one,) = rpc_call(sb, "sendmsg", session_id=sid, to=[GOOD], text="hi", deliv_time=60)
    apimsgid = ID.fullmatch(one).group(1)
    assert rpc_call(sb, "querymsg", session_id=sid, apimsgid=apimsgid) == [
        f"ID: {apimsgid} Status: 011"
    ]
    assert rpc_call(sb, "getmsgcharge", session_id=sid, apimsgid=apimsgid) == [
        f"apiMsgId: {apimsgid} charge: 1.0 status: 011"
    ]
    assert rpc_call(sb, "delmsg", session_id=sid, apimsgid=apimsgid) == [
        f"ID: {apimsgid} Status: 006"
    ]
    assert rpc_call(sb, "getbalance", session_id=sid) == "Credit: 999.0"
    assert rpc_call(sb, "routeCoverage", session_id=sid, msisdn="27820000114") == (
        spec.COVERAGE_NONE
    )
    # Errors come back in the same shapes.
    assert rpc_call(sb, "querymsg", session_id=sid) == ["ERR: 109, Missing message ID"]
    assert rpc_call(sb, "getbalance", session_id="0" * 32) == "ERR: 003, Session ID expired"


def test_multi_reference_answers(multiref: Sandbox) -> None:
    status, body = rpc_post(multiref, "sendmsg", rpc_request("sendmsg", **SEND))
    assert status == 200
    root = ET.fromstring(body)
    (response, array) = list(root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body"))
    assert response.find("return").attrib == {"href": "#id1"}
    assert array.tag == "multiRef" and array.get("id") == "id1"
    assert len(rpc_answer(body, "sendmsg")) == 2
    # String returns stay inline.
    assert rpc_call(multiref, "getbalance", **CREDS) == "Credit: 998.0"


def test_answers_escape_what_they_carry(sb: Sandbox) -> None:
    (answer,) = rpc_call(sb, "sendmsg", **CREDS, to=["27<82>&"], text="hi")
    assert answer == "ERR: 105, Invalid Destination Address"


@pytest.fixture(scope="module")
def zeep_rpc() -> zeep.Client:
    """zeep on the bundled RPC WSDL, its SOAP-encoding import served from the bundled xsd."""
    data = resources.files("clicksms").joinpath("data")
    cache = InMemoryCache()
    cache.add(SOAP_ENC, data.joinpath("soap-encoding.xsd").read_bytes())
    with resources.as_file(data.joinpath("rpc_encoded_webservice_vs.wsdl")) as path:
        return zeep.Client(str(path), transport=Transport(cache=cache))


@pytest.mark.parametrize("arrays", ["inline", "multiref"])
def test_zeep_decodes_both_array_forms(
    make_sandbox: Callable[..., Sandbox], zeep_rpc: zeep.Client, arrays: str
) -> None:
    """The client's SOAP stack reads an ArrayOfString as a list of str, inline or multiRef."""
    sb = make_sandbox(rpc_arrays=arrays)
    binding = zeep_rpc.service._binding

    def decoded(op: str, body: bytes) -> Any:
        reply = SimpleNamespace(
            status_code=200, content=body, headers={"Content-Type": "text/xml"}, encoding="utf-8"
        )
        return binding.process_reply(zeep_rpc, binding.get(op), reply)

    _, body = rpc_post(sb, "sendmsg", rpc_request("sendmsg", **SEND))
    answers = decoded("sendmsg", body)
    assert isinstance(answers, list) and all(isinstance(a, str) for a in answers)
    assert [a[-11:] for a in answers] == [GOOD, GOOD2]
    _, body = rpc_post(sb, "getbalance", rpc_request("getbalance", **CREDS))
    assert decoded("getbalance", body) == "Credit: 998.0"


# -------------------------------------------------------------------- max_credits
def test_max_credits_is_a_float_over_rpc(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(coverage={"44": 2.0})
    (capped,) = rpc_call(sb, "sendmsg", **CREDS, to=["447700900123"], text="hi", max_credits=1.5)
    (routed,) = rpc_call(sb, "sendmsg", **CREDS, to=[GOOD], text="hi", max_credits=1.5)
    statuses = [sb.status(ID.fullmatch(a).group(1)) for a in (capped, routed)]
    assert statuses == ["009", "003"]
    assert sb.ledger[0]["fields"]["max_credits"] == "1.5"
    # The same 1.5 over Document/Literal, whose WSDL says xsd:int, is an invalid parameter.
    assert doc_call(sb, "sendmsg", **CREDS, to=GOOD, text="hi", max_credits="1.5") == [
        "ERR: 101, Invalid or missing parameters"
    ]


def test_a_restart_takes_up_messages_sent_over_rpc(
    make_sandbox: Callable[..., Sandbox], tmp_path: Any
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    first = make_sandbox(ledger_path=ledger, route_price=2.0)
    (capped,) = rpc_call(first, "sendmsg", **CREDS, to=[GOOD], text="hi", max_credits=1.5)
    first.stop()
    second = make_sandbox(ledger_path=ledger, route_price=2.0)
    assert second.messages == first.messages
    assert second.status(ID.fullmatch(capped).group(1)) == "009"


# ------------------------------------------------------------------ shared account
def test_both_servers_share_one_account(sb: Sandbox) -> None:
    sid = rpc_call(sb, "auth", **CREDS)[4:]
    (sent,) = doc_call(sb, "sendmsg", session_id=sid, to=GOOD, text="hi", climsgid="Both1")
    apimsgid = ID.fullmatch(sent).group(1)
    assert rpc_call(sb, "querymsg", session_id=sid, climsgid="Both1") == [
        f"ID: {apimsgid} Status: 003"
    ]
    doc_sid = doc_call(sb, "auth", **CREDS)[0][4:]
    assert rpc_call(sb, "getbalance", session_id=doc_sid) == "Credit: 999.0"
    assert doc_call(sb, "getbalance", session_id=sid) == ["Credit: 999.0"]


def test_empty_credentials_beside_a_session_are_not_set(sb: Sandbox) -> None:
    sid = rpc_call(sb, "auth", **CREDS)[4:]
    assert rpc_call(sb, "getbalance", session_id=sid, api_id="", user="", password="") == (
        "Credit: 1000.0"
    )
    assert rpc_call(sb, "getbalance", session_id="", api_id="", user="", password="") == (
        "ERR: 005, Missing session ID"
    )


# ----------------------------------------------------------------------- WSDL, faults
def test_each_server_serves_its_own_wsdl(sb: Sandbox) -> None:
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", RPC_PATH + "?WSDL")
        rpc_wsdl = conn.getresponse().read()
        conn.request("GET", url.path + "?wsdl")
        doc_wsdl = conn.getresponse().read()
    finally:
        conn.close()
    assert b'<soap:address location="' + sb.rpc_endpoint.encode() + b'" />' in rpc_wsdl
    assert b"PushServerWSBinding" in rpc_wsdl and b"PushServerWSBinding" not in doc_wsdl
    assert sb.rpc_wsdl_url == sb.rpc_endpoint + "?wsdl"
    assert sb.wsdl(RPC_PATH) == rpc_wsdl


def test_injected_faults_answer_in_the_rpc_shapes(sb: Sandbox) -> None:
    sb.faults.add("err-901", times=2)
    assert rpc_call(sb, "sendmsg", **SEND) == ["ERR: 901, Internal error"]
    assert rpc_call(sb, "getbalance", **CREDS) == "ERR: 901, Internal error"
    sb.faults.add("soap-fault", ops={"routecoverage"}, times=1)
    status, body = rpc_post(sb, "routeCoverage", rpc_request("routeCoverage", **CREDS, msisdn=GOOD))
    assert status == 500 and fault_of(body)[0] == "SOAP-ENV:Server"
    sb.faults.add("err-130", times=1)
    assert rpc_call(sb, "sendmsg", **SEND) == [
        f"ERR: 130, Maximum MT limit exceeded until {1_700_000_060} To: {GOOD}",
        f"ERR: 130, Maximum MT limit exceeded until {1_700_000_060} To: {GOOD2}",
    ]


def test_the_array_style_is_checked() -> None:
    with pytest.raises(ValueError, match="rpc_arrays must be one of inline, multiref"):
        SandboxConfig(rpc_arrays="nested")


def test_the_sandbox_command_takes_the_array_style(cli: Any) -> None:
    run = cli("sandbox", "--rpc-arrays", "nested")
    assert run.exit_code == 2
    assert "Error: --rpc-arrays nested: use inline or multiref" in run.stderr
