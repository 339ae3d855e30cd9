"""``clicksms push wap`` and ``push mms`` against the sandbox, over both SOAP styles and both
ways to authenticate: send's recipients, results and exit codes, the push fields as sent,
and the input checks that stop a push before anything is sent."""

from __future__ import annotations

import json

import pytest
from conftest import sent_ops

NUMBER, OTHER, BLOCKED = "27821234567", "27831234567", "27820000121"
URL = "https://example.com/app/update"
#: The client message ID's part, as each WSDL spells it in the send operations.
CLIMSGID = {"document": "climsgid", "rpc": "cliMsgId"}


def rows(run) -> list[dict]:
    assert run.stdout, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize(
    ("style", "no_session"), [("document", False), ("rpc", True)], ids=["document", "rpc"]
)
def test_a_wap_push_to_several_numbers_reads_like_send(cli, on, style, no_session) -> None:
    sandbox = on(style, no_session)
    run = cli(
        *("push", "wap", NUMBER, f"+{OTHER}", BLOCKED, "0821", "--url", URL, "-t", "Update ready"),
        *("--si-id", "update7", "--action", "high", "--expires", "2099-01-01T12:00Z"),
        *("--from", "ACME", "--validity", "2h", "-o", "json"),
    )
    assert run.exit_code == 6, run.stderr
    found = rows(run)
    assert [(r["to"], r["status"], r["error_code"]) for r in found] == [
        (NUMBER, "accepted", None),
        (OTHER, "accepted", None),
        (BLOCKED, "rejected", "121"),
        ("0821", "invalid", None),
    ]
    assert set(found[0]) == {"to", "ok", "status", "message_id", "client_id", "error_code", "error"}
    (request,) = sent_ops(sandbox, "si_push")
    assert request["to"] == [NUMBER, OTHER, BLOCKED]
    assert {k: request[k] for k in ("si_id", "si_url", "si_text", "si_action", "si_expires")} == {
        "si_id": "update7",
        "si_url": URL,
        "si_text": "Update ready",
        "si_action": "signal-high",
        "si_expires": "2099-01-01T12:00:00Z",
    }
    assert (request["from"], request["validity"], request["req_feat"]) == ("ACME", "120", "16")
    assert "unicode" not in request and "msg_type" not in request and "concat" not in request
    assert bool(request.get("session_id")) is not no_session
    ledger = [(m["op"], m["to"], m["text"]) for m in sandbox.ledger]
    assert ledger == [("si_push", NUMBER, "Update ready"), ("si_push", OTHER, "Update ready")]


@pytest.mark.parametrize("style", ["document", "rpc"])
def test_an_mms_notification_with_its_defaults(cli, on, style) -> None:
    sandbox = on(style)
    run = cli("push", "mms", NUMBER, "--url", "https://mms.example.com/m/42", "--subject", "Photo")
    assert run.exit_code == 0, run.stderr
    assert "accepted" in run.stdout and "1 accepted" in run.stderr
    (request,) = sent_ops(sandbox, "ind_push")
    assert {k: v for k, v in request.items() if k.startswith("mms_")} == {
        "mms_subject": "Photo",
        "mms_class": "80",  # personal
        "mms_expire": "604800",  # 7 days
        "mms_from": "mms.example.com",  # the URL's host
        "mms_url": "https://mms.example.com/m/42",
    }
    assert request[CLIMSGID[style]].startswith("cs"), "one number: a client ID to ask about"
    assert "from" not in request


def test_mms_options_and_send_options(cli, on) -> None:
    sandbox = on("document")
    run = cli(
        *("push", "mms", NUMBER, "--url", "http://mms.example.com/m/7", "--subject", "Sale"),
        *("--from", "ACME", "--class", "advertisement", "--expire", "1d12h"),
        *("--client-id", "mms7", "--deliver-in", "2h", "--callback", "final", "--delivery-ack"),
        *("--queue", "1", "--escalate", "--mo", "--max-credits", "2", "-o", "json"),
    )
    assert run.exit_code == 0, run.stderr
    assert rows(run)[0]["client_id"] == "mms7"
    (request,) = sent_ops(sandbox, "ind_push")
    assert (request["mms_class"], request["mms_expire"], request["mms_from"]) == (
        "81",
        "129600",
        "ACME",
    )
    sent = {k: request[k] for k in ("from", "climsgid", "deliv_time", "msg_callback", "queue")}
    assert sent == {"from": "ACME", "climsgid": "mms7", "deliv_time": "120", "msg_callback": "2",
                    "queue": "1"}  # fmt: skip
    assert (request["deliv_ack"], request["escalate"], request["mo"]) == ("1", "1", "1")
    assert request["req_feat"] == str(16 | 8192)
    assert "Scheduled: Clickatell delivers in 2h" in run.stderr
    shown = cli("push", "mms", OTHER, "--url", "http://mms.example.com/m/8", "--subject", "S",
                "--from", "ACME", "--mms-from", "ACME Photos Ltd")  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    assert sent_ops(sandbox, "ind_push")[1]["mms_from"] == "ACME Photos Ltd"


def test_wap_text_beyond_gsm_is_ucs2_over_document_and_refused_over_rpc(cli, on) -> None:
    sandbox = on("document")
    assert cli("push", "wap", NUMBER, "--url", URL, "-t", "Обновление").exit_code == 0
    (request,) = sent_ops(sandbox, "si_push")
    assert (request["unicode"], request["si_text"]) == (
        "1",
        "Обновление".encode("utf-16-be").hex().upper(),
    )
    assert sandbox.ledger[0]["text"] == "Обновление"
    on("rpc")
    refused = cli("push", "wap", NUMBER, "--url", URL, "-t", "Обновление")
    assert refused.exit_code == 2
    assert "RPC/Encoded's si_push cannot send UCS-2" in refused.stderr
    assert len(sent_ops(sandbox, "si_push")) == 1, "nothing more was sent"


def test_a_push_to_more_than_300_numbers_goes_in_requests_of_300(cli, on) -> None:
    sandbox = on("document")
    numbers = [f"2783{n:07d}" for n in range(1, 302)]  # no magic number
    run = cli("push", "wap", *numbers, "--url", URL, "-t", "hi", "-o", "jsonl")
    assert run.exit_code == 0, run.stderr
    assert [len(r["to"]) for r in sent_ops(sandbox, "si_push")] == [300, 1]
    assert [json.loads(line)["to"] for line in run.stdout.splitlines()] == numbers


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["wap", "--url", "ftp://example.com/x", "-t", "x"],
            "--url 'ftp://example.com/x' is not an",
        ),
        (["wap", "--url", "example.com/x", "-t", "x"], "is not an http:// or https:// URL"),
        (["wap", "--url", "https://example.com/a b", "-t", "x"], "has spaces: encode them as %20"),
        (["wap", "--url", URL, "-t", "x", "--expires", "soon"], "--expires 'soon' is not a time"),
        (["wap", "--url", URL, "-t", "x", "--created", "2026-02-30T10:00"], "does not exist"),
        (["wap", "--url", URL, "-t", "x", "--expires", "2001-01-01T00:00Z"], "is in the past"),
        (
            [
                "wap",
                "--url",
                URL,
                "-t",
                "x",
                "--created",
                "2099-01-02T00:00Z",
                "--expires",
                "2099-01-01T00:00Z",
            ],
            "is not after --created",
        ),
        (["wap", "--url", URL, "-t", " "], "message text is empty"),
        (["wap", "--url", URL, "-t", "x", "--si-id", ""], "--si-id is empty"),
        (["wap", "--url", URL, "-t", "x", "--client-id", "a", OTHER], "--client-id names one"),
        (["mms", "--url", "mailto:a@b.c", "--subject", "x"], "is not an http:// or https:// URL"),
        (["mms", "--url", URL, "--subject", ""], "--subject is empty"),
        (["mms", "--url", URL, "--subject", "x", "--expire", "soon"], "--expire 'soon' is not a"),
        (["mms", "--url", URL, "--subject", "x", "--expire", "0"], "use 1 second to 365 days"),
        (["mms", "--url", URL, "--subject", "x", "--from", "A Company"], "invalid sender"),
        (["mms", "--url", URL, "--subject", "x", "--deliver-in", "8d"], "more than 7 days"),
    ],
)
def test_bad_input_stops_a_push_before_anything_is_sent(cli, creds, args, error) -> None:
    command, *rest = args
    run = cli("push", command, NUMBER, *rest)
    assert run.exit_code == 2, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("Error: ") and error in line, line
    assert creds.requests == []


def test_a_push_goes_from_the_sender_the_settings_name(cli, on, monkeypatch) -> None:
    """As for send: CLICKSMS_FROM (or .env, or the profile) when --from is not given."""
    sandbox = on("document")
    monkeypatch.setenv("CLICKSMS_FROM", "ACME")
    run = cli("push", "wap", NUMBER, "--url", URL, "-t", "Update ready", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert [f["from"] for f in sent_ops(sandbox, "si_push")] == ["ACME"]
