"""Raw SOAP for the sandbox tests, in both styles: envelopes written out by hand (not by our
client, not by zeep) so a test controls every attribute a strict server looks at, and answers
read with ElementTree so a test sees exactly what came back.

``rpc_request`` builds the fully encoded RPC request the WSDL asks for (``encodingStyle``,
``xsi:type`` on every part, SOAP-encoded ``to``); tests break one thing at a time from there.
``rpc_answer`` decodes an RPC answer, inline or multi-reference, and checks its encoding on
the way, so every RPC test also checks the reply's shape.
"""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from clicksms.sandbox import Sandbox

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DOC_NS = "http://api.clickatell.com/soap/document_literal/webservice"
RPC_NS = "http://api.clickatell.com/soap/webservice"
RPC_PATH = "/soap/webservice_vs.php"
RPC_ACTION = "http://api.clickatell.com/soap/webservice_vs.php/"
CREDS: dict[str, Any] = {"api_id": 3512345, "user": "sandbox", "password": "sandbox-secret"}

#: The RPC WSDL's xsd:int parts (delmsg's api_id is its one xsd:string api_id); max_credits
#: is its one xsd:float; everything else is xsd:string or, for lists, tns:ArrayOfString.
INT_PARTS = frozenset(
    {
        "api_id",
        "concat",
        "deliv_ack",
        "msg_callback",
        "deliv_time",
        "req_feat",
        "queue",
        "escalate",
        "mo",
        "unicode",
        "validity",
    }
)


def rpc_part(op: str, name: str, value: Any) -> str:
    """One part, typed as the WSDL types it; None is an xsi:nil part, a list an array."""
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, list):
        items = "".join(f'<item xsi:type="xsd:string">{escape(str(v))}</item>' for v in value)
        return (
            f'<{name} xsi:type="ns1:ArrayOfString" SOAP-ENC:arrayType="xsd:string[{len(value)}]">'
            f"{items}</{name}>"
        )
    if name == "max_credits":
        kind = "float"
    elif name in INT_PARTS and not (op == "delmsg" and name == "api_id"):
        kind = "int"
    else:
        kind = "string"
    return f'<{name} xsi:type="xsd:{kind}">{escape(str(value))}</{name}>'


def rpc_envelope(
    op: str,
    parts: str,
    *,
    encoding_style: str | None = SOAP_ENC,
    op_ns: str = RPC_NS,
    after_call: str = "",
    header: str = "",
) -> str:
    """An RPC envelope around ``parts`` (XML), encodingStyle on the Envelope as PHP puts it."""
    style = "" if encoding_style is None else f' SOAP-ENV:encodingStyle="{encoding_style}"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{op_ns}"'
        f' xmlns:xsd="{XSD}" xmlns:xsi="{XSI}" xmlns:SOAP-ENC="{SOAP_ENC}"{style}>'
        f"{header}<SOAP-ENV:Body><ns1:{op}>{parts}</ns1:{op}>{after_call}</SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>"
    )


def rpc_request(op: str, **parts: Any) -> str:
    """The fully encoded request (``from_`` stands for the ``from`` part)."""
    return rpc_envelope(
        op, "".join(rpc_part(op, name.rstrip("_"), value) for name, value in parts.items())
    )


def post(
    sb: Sandbox, path: str, body: str | bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    url = urlsplit(sb.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request(
            "POST", path, data, {"Content-Type": "text/xml; charset=utf-8", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def rpc_post(
    sb: Sandbox, op: str, body: str | bytes, action: str | None = "default"
) -> tuple[int, bytes]:
    """POST to the RPC server with the WSDL's SOAPAction (None: no header at all)."""
    headers = {}
    if action is not None:
        headers["SOAPAction"] = f'"{RPC_ACTION}{op}"' if action == "default" else action
    return post(sb, RPC_PATH, body, headers)


def rpc_call(sb: Sandbox, op: str, **parts: Any) -> list[str] | str:
    """Call an RPC operation (WSDL spelling); its return: a list for arrays, else a str."""
    status, body = rpc_post(sb, op, rpc_request(op, **parts))
    assert status == 200, body
    return rpc_answer(body, op)


def rpc_answer(body: bytes, op: str) -> list[str] | str:
    """Decode an RPC answer, checking its SOAP encoding: a ``return`` that is an xsi-typed
    string, or a SOAP-ENC:Array (inline, or the multiRef its href names) of xsi-typed
    strings whose arrayType counts them."""
    root = ET.fromstring(body)
    assert root.get(f"{{{SOAP_ENV}}}encodingStyle") == SOAP_ENC, body
    body_el = root.find(f"{{{SOAP_ENV}}}Body")
    assert body_el is not None, body
    response = body_el.find(f"{{{RPC_NS}}}{op}Response")
    assert response is not None, body
    (value,) = list(response)
    assert value.tag == "return", body
    href = value.get("href")
    if href is not None:
        assert href.startswith("#") and not len(value), body
        (value,) = [e for e in body_el if e.get("id") == href[1:]]
        assert value.get(f"{{{SOAP_ENC}}}root") == "0", body
    kind = value.get(f"{{{XSI}}}type")
    if kind == "xsd:string":
        return value.text or ""
    assert kind == "SOAP-ENC:Array", body
    items = list(value)
    assert value.get(f"{{{SOAP_ENC}}}arrayType") == f"xsd:string[{len(items)}]", body
    assert all(item.get(f"{{{XSI}}}type") == "xsd:string" for item in items), body
    return [item.text or "" for item in items]


def doc_envelope(op: str, **fields: Any) -> str:
    inner = "".join(
        f"<{name.rstrip('_')}>{escape(str(item))}</{name.rstrip('_')}>"
        for name, value in fields.items()
        for item in (value if isinstance(value, list) else [value])
    )
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{DOC_NS}">'
        f"<SOAP-ENV:Body><ns1:{op}>{inner}</ns1:{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def doc_call(sb: Sandbox, op: str, **fields: Any) -> list[str]:
    """Call a Document/Literal operation; its ``<return>`` strings."""
    status, body = post(sb, urlsplit(sb.endpoint).path, doc_envelope(op, **fields))
    assert status == 200, body
    wrapper = ET.fromstring(body).find(f"{{{SOAP_ENV}}}Body/{{{DOC_NS}}}{op}Response")
    assert wrapper is not None, body
    return [child.text or "" for child in wrapper]


def fault_of(body: bytes) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP Fault answer."""
    node = ET.fromstring(body).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert node is not None, body
    return node.findtext("faultcode") or "", node.findtext("faultstring") or ""


STYLES = ("document", "rpc")


def caller(sb: Sandbox, style: str) -> Any:
    """``call(op, **fields) -> list[str]`` over one style; ``to`` given as a list. Over RPC
    a string return comes back as a one-item list (``rpc_answer`` checked its shape)."""
    if style == "document":
        return lambda op, **fields: doc_call(sb, op, **fields)

    def call(op: str, **parts: Any) -> list[str]:
        answer = rpc_call(sb, "routeCoverage" if op == "routecoverage" else op, **parts)
        return answer if isinstance(answer, list) else [answer]

    return call
