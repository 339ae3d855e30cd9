"""Bad input of every kind: one clear line on stderr, the documented exit code, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NUMBER = "27821234567"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["send", "", "-t", "hi"], "Error: no recipients: give at least one phone number"),
        (["send", ",", "-t", "hi"], "Error: no recipients: give at least one phone number"),
        (
            ["--endpoint", "", "send", NUMBER, "-t", "hi"],
            "Error: --endpoint was given an empty value: give one, or leave the option out",
        ),
        (
            ["--user", " ", "send", NUMBER, "-t", "hi"],
            "Error: --user was given an empty value: give one, or leave the option out",
        ),
        (
            ["--api-id", "", "auth"],
            "Error: --api-id was given an empty value: give one, or leave the option out",
        ),
        (
            ["--timeout", "nan", "send", NUMBER, "-t", "hi"],
            "Error: timeout must be more than 0 and at most 3600 seconds, got 'nan' "
            "(--timeout or CLICKSMS_TIMEOUT)",
        ),
        (
            ["--timeout", "0", "auth"],
            "Error: timeout must be more than 0 and at most 3600 seconds, got '0' "
            "(--timeout or CLICKSMS_TIMEOUT)",
        ),
        (
            ["send", NUMBER, "-t", "a\x01b\x0cc"],
            "Error: message text has control characters SOAP cannot carry: "
            "U+0001 at position 2, U+000C at position 4; remove them",
        ),
        (
            ["send", NUMBER, "-t", "hi", "--endpoint", "http://127.0.0.1:1/"],
            "Error: No such option: --endpoint "
            "(--endpoint goes before the command: clicksms --endpoint … send …)",
        ),
        (
            ["send", NUMBER, "-t", "hi", "--bogus"],
            "Error: No such option: --bogus (see `clicksms send --help`)",
        ),
        (
            ["--sandbox", "--endpoint", "http://127.0.0.1:1/", "send", NUMBER, "-t", "hi"],
            "Error: --sandbox runs its own endpoint: drop --endpoint",
        ),
        (
            ["validate-number", NUMBER, "--country", "UK"],
            "Error: unknown country 'UK' (--country or CLICKSMS_COUNTRY): "
            "use a two-letter region code such as ZA or GB (the United Kingdom is GB)",
        ),
        (
            ["sandbox", "--port", "99999"],
            "Error: --port 99999: use a whole number from 0 to 65535 "
            "(see `clicksms sandbox --help`)",
        ),
        (
            ["sandbox", "--port", "0", "--coverage", "44=cheap"],
            "Error: --coverage: coverage '44=cheap': charge 'cheap' is neither a number nor 'none'",
        ),
        (
            ["sandbox", "--port", "0", "--coverage", "+44=1"],
            "Error: --coverage: coverage '+44=1': coverage prefix '+44' must be 1-15 digits of "
            "an international number (no '+', no leading 0)",
        ),
    ],
)
def test_usage_errors(cli, creds, args, line) -> None:
    run = cli(*args)
    assert (run.exit_code, run.stderr.strip().splitlines()[-1]) == (2, line)
    assert "Traceback" not in run.stderr
    assert creds.ledger == []


def test_bare_command_shows_help(cli) -> None:
    run = cli()
    assert run.exit_code == 2
    assert run.stderr.startswith("Usage: clicksms [OPTIONS] COMMAND [ARGS]...")
    assert "Error" not in run.stderr


def test_config_dir_that_is_a_file(cli, creds, monkeypatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("CLICKSMS_CONFIG_DIR", str(blocker))
    run = cli("auth", "--logout")
    assert run.exit_code == 2
    assert run.stderr.strip() == f"Error: CLICKSMS_CONFIG_DIR {blocker} is not a directory"


def test_session_file_that_is_a_directory(cli, creds, config_dir: Path) -> None:
    (config_dir / "session.json").mkdir(parents=True)
    config_dir.chmod(0o700)
    run = cli("send", NUMBER, "-t", "hi")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        f"Error: session file {config_dir / 'session.json'} is not a regular file: remove it"
    )


def test_sandbox_ledger_that_cannot_be_written(cli, tmp_path: Path) -> None:
    run = cli("sandbox", "--port", "0", "--ledger", str(tmp_path))
    assert run.exit_code == 2
    assert run.stderr.strip() == f"Error: cannot write the ledger {tmp_path}: Is a directory"


def test_sandbox_flag_honours_user_for_the_frozen_account(cli) -> None:
    run = cli("--sandbox", "--user", "frozen", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 3
    assert run.stderr.strip().endswith(
        "Error: the Clickatell account is frozen: contact Clickatell support (ERR 004)"
    )


@pytest.mark.parametrize(
    "raw", ["++27821234567", "+27821234567x12", "27 82 123 4567 ext 5", "+27-82-abc-4567"]
)
def test_number_shapes_that_are_refused(cli, raw) -> None:
    run = cli("validate-number", raw, "-o", "json")
    assert run.exit_code == 4
    (row,) = json.loads(run.stdout)
    assert (row["valid"], row["number"]) == (False, None)
    assert row["error"] == (
        "not a phone number: use digits (spaces, dashes, dots, brackets allowed), + first"
    )


def test_invalid_numbers_carry_no_number(cli) -> None:
    run = cli("validate-number", "+27 82 123 45678", "-o", "json")
    (row,) = json.loads(run.stdout)
    assert (row["valid"], row["number"], row["region"]) == (False, None, "ZA")


def test_decomposed_accents_stay_gsm(cli, creds) -> None:
    decomposed = "Cafe\u0301"  # "e" + combining acute, as pasted from some editors
    assert cli("send", NUMBER, "-t", decomposed).exit_code == 0
    (request,) = [r["fields"] for r in creds.requests if r["op"] == "sendmsg"]
    assert request["text"] == "Café" and "unicode" not in request


def test_windows_line_ending_on_stdin_is_dropped(cli, creds) -> None:
    assert cli("send", NUMBER, input="deploy ok\r\n").exit_code == 0
    assert creds.ledger[0]["text"] == "deploy ok"


def test_endpoint_with_an_impossible_port(cli) -> None:
    run = cli("--endpoint", "http://127.0.0.1:99999/soap", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 2
    assert run.stderr.strip() == "Error: endpoint has an invalid port: 127.0.0.1:99999"


def test_logout_works_while_another_setting_is_broken(cli, creds, monkeypatch) -> None:
    assert cli("auth").exit_code == 0
    monkeypatch.setenv("CLICKSMS_TIMEOUT", "abc")
    run = cli("auth", "--logout")
    assert run.exit_code == 0, run.stderr
    assert run.stderr.strip() == "Session forgotten."


def test_sandbox_ignores_the_environments_country(cli, monkeypatch) -> None:
    monkeypatch.setenv("CLICKSMS_COUNTRY", "ZZ")
    run = cli("--sandbox", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 0, run.stderr


def test_terminal_output_never_carries_escape_sequences(cli) -> None:
    run = cli("validate-number", "\x1b[31mRED\x1b]0;pwned\x07")
    assert run.exit_code == 4
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "?[31mRED?]0;pwned?" in run.stdout


def test_undecodable_input_still_gives_valid_json(cli) -> None:
    run = cli("validate-number", "-o", "json", "caf\udce9")  # how Python keeps a stray 0xE9 byte
    assert run.exit_code == 4
    assert json.loads(run.stdout)[0]["input"] == "caf\ufffd"


def test_byte_order_mark_on_stdin(cli) -> None:
    run = cli("validate-number", "-o", "json", input="\ufeff27821234567\n")
    assert run.exit_code == 0
    assert json.loads(run.stdout)[0]["number"] == NUMBER


def test_expired_session_is_forgotten_even_when_renewal_fails(
    cli, creds, clock, monkeypatch
) -> None:
    assert cli("auth").exit_code == 0
    monkeypatch.delenv("CLICKSMS_PASSWORD")
    clock.advance(16 * 60)
    assert cli("send", NUMBER, "-t", "x").exit_code == 3
    status = cli("auth", "--status")
    assert status.exit_code == 3
    assert status.stdout.startswith("No session stored")


@pytest.mark.parametrize(
    "args",
    [
        ["send", NUMBER],  # no text: stdin is empty
        ["send", NUMBER, "-t", "hi", "--deliver-in", "8d"],
        ["send", NUMBER, "-t", "hi", "--from", "not a sender"],
        ["send", NUMBER, "-t", "hi", "--max-credits", "1.5"],
        ["send", "", "-t", "hi"],
        ["send", NUMBER, "-t", "hi", "--dry-run", "--country", "XX"],
        ["--timeout", "0", "send", NUMBER, "-t", "hi"],
        ["bulk", "missing.csv", "-t", "hi"],
        ["bulk", "--resume", "nosuchjob"],
        ["jobs", "--forget", "nosuchjob"],
        ["status", "not-an-id!"],
        ["cancel", "not-an-id!"],
        ["charge", "not-an-id!"],
        ["coverage", "--country", "XX", NUMBER],
        ["validate-number", "--country", "XX", NUMBER],
        ["--profile", "alerts", "balance"],
        ["auth", "--status", "--logout"],
        ["push", "wap", NUMBER, "--url", "ftp://x", "-t", "hi"],
        ["push", "wap", NUMBER, "--url", "https://x.example", "-t", "hi", "--deliver-in", "8d"],
        ["push", "mms", NUMBER, "--url", "https://x.example", "--subject", "s", "--expire", "9y"],
    ],
    ids=" ".join,
)
def test_sandbox_checks_the_input_before_it_starts(cli, args) -> None:
    """Bad input under --sandbox is the error line alone: no "Sandbox at …" before it."""
    run = cli("--sandbox", *args)
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: ") and len(run.stderr.splitlines()) == 1, run.stderr


def test_sandbox_starts_only_when_a_command_needs_the_gateway(cli) -> None:
    quiet = cli("--sandbox", "send", "123", "-t", "hi")  # no valid number: nothing to send
    assert quiet.exit_code == 4 and "Sandbox at" not in quiet.stderr
    sent = cli("--sandbox", "send", NUMBER, "-t", "hi")
    assert sent.exit_code == 0 and sent.stderr.startswith("Sandbox at http://127.0.0.1:")
