"""`clicksms send` end to end against the sandbox: wire fields, results, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re

from conftest import sent_ops

from clicksms.sandbox import MAGIC_NUMBERS

NUMBER = "27821234567"
OTHER = "27831234567"
KEYS = {"to", "ok", "status", "message_id", "error_code", "error"}


def magic(code: int) -> str:
    (number,) = [n for n, c in MAGIC_NUMBERS.items() if c == code]
    return number


def test_single_send_table(cli, creds) -> None:
    run = cli("send", NUMBER, "--text", "deploy ok")
    assert run.exit_code == 0, run.stderr
    (record,) = creds.ledger
    assert record["to"] == NUMBER and record["text"] == "deploy ok"
    assert NUMBER in run.stdout and "accepted" in run.stdout
    assert record["apimsgid"] in run.stdout
    assert run.stderr.strip().endswith("1 accepted, 0 rejected.")
    (fields,) = sent_ops(creds, "sendmsg")
    assert fields["to"] == [NUMBER]
    assert fields["text"] == "deploy ok"
    assert fields["concat"] == "1"
    assert "unicode" not in fields and "from" not in fields


def test_json_output_has_documented_keys(cli, creds) -> None:
    run = cli("send", NUMBER, "+27 83 123 4567", "-t", "hi", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["to"] for r in rows] == [NUMBER, OTHER]
    assert all(set(r) >= KEYS for r in rows)
    assert all(r["ok"] is True and len(r["message_id"]) == 32 for r in rows)
    assert {r["message_id"] for r in rows} == {m["apimsgid"] for m in creds.ledger}


def test_csv_output(cli, creds) -> None:
    run = cli("send", NUMBER, "-t", "hi", "-o", "csv")
    assert run.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert rows[0]["to"] == NUMBER and rows[0]["ok"] == "true"
    assert list(rows[0]) == [
        "to", "ok", "status", "message_id", "client_id", "error_code", "error"
    ]  # fmt: skip
    assert rows[0]["client_id"] == creds.ledger[0]["climsgid"]  # the automatic one


def test_text_from_stdin(cli, creds) -> None:
    run = cli("send", NUMBER, input="deploy ok\n")
    assert run.exit_code == 0, run.stderr
    assert creds.ledger[0]["text"] == "deploy ok"


def test_text_dash_reads_stdin_keeping_inner_newlines(cli, creds) -> None:
    run = cli("send", NUMBER, "--text", "-", input="line one\nline two\n")
    assert run.exit_code == 0, run.stderr
    assert creds.ledger[0]["text"] == "line one\nline two"


def test_empty_text_is_refused_before_any_call(cli, creds) -> None:
    for args, stdin in ((["-t", ""], None), (["-t", "   "], None), ([], ""), ([], "\n")):
        run = cli("send", NUMBER, *args, input=stdin)
        assert run.exit_code == 2
        assert run.stderr.strip() == (
            "Error: message text is empty: pass --text or pipe the text on stdin"
        )
    assert creds.requests == []


def test_national_numbers_need_a_country(cli, creds) -> None:
    run = cli("send", "082 123 4567", "-t", "x", "-o", "json")
    assert run.exit_code == 4
    (row,) = json.loads(run.stdout)
    assert row["ok"] is False
    assert row["error"] == (
        "invalid number: national number without a country: use +<country code> or --country"
    )
    assert creds.requests == []
    ok = cli("send", "082 123 4567", "--country", "za", "-t", "x", "-o", "json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["to"] == NUMBER


def test_country_from_environment(cli, creds, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_COUNTRY", "ZA")
    run = cli("send", "0821234567", "-t", "x")
    assert run.exit_code == 0, run.stderr
    assert creds.ledger[0]["to"] == NUMBER


def test_invalid_and_valid_mix_is_partial(cli, creds) -> None:
    run = cli("send", NUMBER, "12", "-t", "x", "-o", "json")
    assert run.exit_code == 6
    rows = {r["to"]: r for r in json.loads(run.stdout)}
    assert rows[NUMBER]["ok"] is True
    assert rows["12"]["ok"] is False and rows["12"]["error"].startswith("invalid number:")
    assert [m["to"] for m in creds.ledger] == [NUMBER]


def test_rows_follow_input_order(cli, creds) -> None:
    run = cli("send", "bad", NUMBER, magic(121), "082", OTHER, "-t", "x", "-o", "json")
    assert run.exit_code == 6
    rows = json.loads(run.stdout)
    assert [r["to"] for r in rows] == ["bad", NUMBER, magic(121), "082", OTHER]
    assert [r["ok"] for r in rows] == [False, True, False, False, True]


def test_multi_recipient_errors_are_matched_to_numbers(cli, creds) -> None:
    blocked, routeless = magic(121), magic(114)
    run = cli("send", NUMBER, blocked, OTHER, routeless, "-t", "x", "-o", "json")
    assert run.exit_code == 6
    rows = {r["to"]: r for r in json.loads(run.stdout)}
    assert rows[NUMBER]["ok"] and rows[OTHER]["ok"]
    assert (rows[blocked]["error_code"], rows[blocked]["error"]) == (
        "121",
        "destination number is blocked",
    )
    assert (rows[routeless]["error_code"], rows[routeless]["error"]) == (
        "114",
        "cannot route message to this number",
    )
    assert sorted(m["to"] for m in creds.ledger) == sorted([NUMBER, OTHER])


def test_single_recipient_rejected_exits_4(cli, creds) -> None:
    run = cli("send", magic(105), "-t", "x", "-o", "json")
    assert run.exit_code == 4
    (row,) = json.loads(run.stdout)
    assert (row["ok"], row["error_code"], row["error"]) == (
        False,
        "105",
        "invalid destination number",
    )


def test_no_credit(cli, creds) -> None:
    run = cli("send", magic(301), "-t", "x", "-o", "json")
    assert run.exit_code == 4
    assert json.loads(run.stdout)[0]["error"] == "no credit left: top up the account"


def test_more_than_300_recipients_are_chunked(cli, creds) -> None:
    numbers = [f"2782{n:07d}" for n in range(1000000, 1000650)]
    run = cli("send", *numbers, "-t", "bulk hello", "-o", "json")
    assert run.exit_code == 0, run.stderr
    chunks = [f["to"] for f in sent_ops(creds, "sendmsg")]
    assert [len(c) for c in chunks] == [300, 300, 50]
    assert [n for c in chunks for n in c] == numbers
    rows = json.loads(run.stdout)
    assert [r["to"] for r in rows] == numbers
    assert len({r["message_id"] for r in rows}) == 650
    assert len(creds.ledger) == 650


def test_comma_separated_and_duplicate_recipients(cli, creds) -> None:
    run = cli("send", f"{NUMBER},{OTHER}", "+27 82 123 4567", "-t", "x", "-o", "json")
    assert run.exit_code == 0
    assert [r["to"] for r in json.loads(run.stdout)] == [NUMBER, OTHER]
    assert "Skipping +27 82 123 4567: same number as an earlier recipient." in run.stderr
    assert len(creds.ledger) == 2


def test_unicode_text_goes_as_ucs2_hex(cli, creds) -> None:
    run = cli("send", NUMBER, "-t", "Привет 😀")
    assert run.exit_code == 0, run.stderr
    (fields,) = sent_ops(creds, "sendmsg")
    assert fields["unicode"] == "1"
    assert fields["text"] == "041F044004380432043504420020D83DDE00"
    assert fields["concat"] == "1"
    assert creds.ledger[0]["text"] == "Привет 😀"


def test_long_unicode_sets_concat_to_parts(cli, creds) -> None:
    text = "ж" * 135  # 67 + 67 + 1 UCS-2 units: three parts
    assert cli("send", NUMBER, "-t", text).exit_code == 0
    (fields,) = sent_ops(creds, "sendmsg")
    assert (fields["unicode"], fields["concat"]) == ("1", "3")
    assert creds.ledger[0]["parts"] == 3 and creds.ledger[0]["text"] == text


def test_gsm_extension_characters_count_double(cli, creds) -> None:
    text = "€" * 81  # 162 septets: two parts, still GSM (no unicode flag)
    assert cli("send", NUMBER, "-t", text).exit_code == 0
    (fields,) = sent_ops(creds, "sendmsg")
    assert fields["text"] == text and "unicode" not in fields
    assert fields["concat"] == "2"
    assert creds.ledger[0]["parts"] == 2 and creds.ledger[0]["text"] == text


def test_gsm_accented_letters_stay_gsm(cli, creds) -> None:
    text = "Grüße aus Köln: 5€ für Café"
    assert cli("send", NUMBER, "-t", text).exit_code == 0
    (fields,) = sent_ops(creds, "sendmsg")
    assert "unicode" not in fields and fields["text"] == text
    assert creds.ledger[0]["text"] == text


def test_long_gsm_message_is_not_rejected(cli, creds) -> None:
    text = "x" * 459  # 3 × 153
    run = cli("send", NUMBER, "-t", text)
    assert run.exit_code == 0, run.stderr
    assert creds.ledger[0]["parts"] == 3


def test_too_many_parts_is_refused_locally(cli, creds) -> None:
    run = cli("send", NUMBER, "-t", "x" * (153 * 35 + 1))
    assert run.exit_code == 2
    assert run.stderr.strip() == ("Error: message needs 36 SMS parts; Clickatell allows at most 35")
    assert creds.requests == []


def test_sender_id(cli, creds) -> None:
    assert cli("send", NUMBER, "-t", "x", "--from", "Deploys").exit_code == 0
    assert sent_ops(creds, "sendmsg")[0]["from"] == "Deploys"
    assert creds.ledger[0]["from"] == "Deploys"


def test_bad_sender_id(cli, creds) -> None:
    run = cli("send", NUMBER, "-t", "x", "--from", "Far too long a name")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "Error: invalid sender 'Far too long a name': "
        "use up to 16 digits or up to 11 letters and digits"
    )
    assert creds.requests == []


def test_missing_recipient_is_usage_error(cli, creds) -> None:
    run = cli("send", "-t", "x")
    assert run.exit_code == 2
    assert run.stderr.strip() == "Error: NUMBER is required (see `clicksms send --help`)"


def test_summary_names_a_cause_only_when_every_failure_shares_it(cli, creds) -> None:
    same = cli("send", "-t", "x", "27820000105")
    assert same.exit_code == 4
    assert re.fullmatch(r"0 accepted, 1 rejected: .*\.", same.stderr.strip()), same.stderr
    mixed = cli("send", "-t", "x", "27820000105", "27820000121")
    assert mixed.exit_code == 4
    assert mixed.stderr.strip() == "0 accepted, 2 rejected."


def test_a_byte_order_mark_before_the_text_is_not_sent(cli, creds) -> None:
    """Pasted along with the text, it is invisible, and the gateway would answer ERR 116."""
    run = cli("send", NUMBER, "-t", "\ufeffhello")
    assert run.exit_code == 0, run.stderr
    assert [(m["text"], m["unicode"]) for m in creds.ledger] == [("hello", 0)]
