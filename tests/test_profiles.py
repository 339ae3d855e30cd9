"""Profiles: named settings in config.toml, below flags, the environment and .env.

Each test writes the config dir's config.toml as a user would (0600 in a 0700 dir) and drives
the real CLI against the sandbox; the profile, not the environment, names the account.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PASSWORD, sent_ops

from clicksms.sandbox import Sandbox

NUMBER = "27821234567"


@pytest.fixture
def config(config_dir: Path):
    """Write config.toml (private, as it must be); returns its path."""

    def write(text: str) -> Path:
        config_dir.mkdir(mode=0o700, exist_ok=True)
        path = config_dir / "config.toml"
        path.write_text(text)
        path.chmod(0o600)
        return path

    return write


def profile(name: str, sandbox: Sandbox, **extra: object) -> str:
    """A [profiles.NAME] table for ``sandbox``'s account, with ``extra`` keys."""
    values = {
        "endpoint": sandbox.endpoint,
        "api_id": sandbox.config.api_id,
        "user": sandbox.config.user,
        **extra,
    }
    lines = [f"[profiles.{name}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def password_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the password in the environment: the profile must name the account."""
    monkeypatch.setenv("CLICKSMS_PASSWORD", PASSWORD)


def error_line(run) -> str:
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


# -- choosing a profile -----------------------------------------------------------------------


def test_a_profile_names_the_account_and_keeps_its_own_session(
    cli, sandbox: Sandbox, config, config_dir: Path, password_only
) -> None:
    config(profile("alerts", sandbox))
    run = cli("--profile", "alerts", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 0, run.stderr
    assert sent_ops(sandbox, "auth")[0]["api_id"] == str(sandbox.config.api_id)
    assert (config_dir / "session-alerts.json").exists()
    assert not (config_dir / "session.json").exists()
    status = cli("--profile", "alerts", "auth", "--status", "-o", "json")
    assert json.loads(status.stdout)["file"] == str(config_dir / "session-alerts.json")
    assert cli("auth", "--status").exit_code == 3  # no profile: its own session, none yet


def test_each_profile_keeps_its_session_and_logs_out_alone(
    cli, make_sandbox, config, config_dir: Path, password_only
) -> None:
    first = make_sandbox(host="127.0.0.1", port=0, password=PASSWORD)
    second = make_sandbox(host="127.0.0.1", port=0, password=PASSWORD)
    config(profile("one", first) + profile("two", second))
    for name in ("one", "two", "one", "two"):
        run = cli("--profile", name, "balance")
        assert run.exit_code == 0, run.stderr
    # One login each: switching profiles did not throw the other's session away.
    assert (len(sent_ops(first, "auth")), len(sent_ops(second, "auth"))) == (1, 1)
    sessions = {
        name: json.loads((config_dir / f"session-{name}.json").read_text())
        for name in ("one", "two")
    }
    assert sessions["one"]["endpoint"] == first.endpoint
    assert sessions["two"]["endpoint"] == second.endpoint
    run = cli("--profile", "one", "auth", "--logout")
    assert run.exit_code == 0, run.stderr
    assert not (config_dir / "session-one.json").exists()
    assert (config_dir / "session-two.json").exists()


def test_the_profile_may_be_chosen_by_the_environment_and_by_dotenv(
    cli, sandbox: Sandbox, config, password_only, monkeypatch, isolated_env: Path
) -> None:
    config(profile("alerts", sandbox))
    monkeypatch.setenv("CLICKSMS_PROFILE", "alerts")
    assert cli("balance").exit_code == 0
    monkeypatch.delenv("CLICKSMS_PROFILE")
    (isolated_env / "work" / ".env").write_text("CLICKSMS_PROFILE=alerts\n")
    run = cli("balance")
    assert run.exit_code == 0, run.stderr
    assert "Using profile alerts from ./.env." in run.stderr  # it changes the account


@pytest.mark.parametrize(
    ("levels", "sent_from"),
    [
        ({"flag", "environment", "dotenv", "profile"}, "FLAG"),
        ({"environment", "dotenv", "profile"}, "ENVIRON"),
        ({"dotenv", "profile"}, "DOTENV"),
        ({"profile"}, "PROFILE"),
        (set(), None),
    ],
)
def test_flags_then_environment_then_dotenv_then_profile_then_default(
    cli, sandbox: Sandbox, config, password_only, monkeypatch, isolated_env, levels, sent_from
) -> None:
    """The sender ID stands for every setting: all are looked up the same way."""
    config(profile("alerts", sandbox, **({"from": "PROFILE"} if "profile" in levels else {})))
    if "dotenv" in levels:
        (isolated_env / "work" / ".env").write_text("CLICKSMS_FROM=DOTENV\n")
    if "environment" in levels:
        monkeypatch.setenv("CLICKSMS_FROM", "ENVIRON")
    flag = ["--from", "FLAG"] if "flag" in levels else []
    run = cli("--profile", "alerts", "send", NUMBER, "-t", "hi", *flag)
    assert run.exit_code == 0, run.stderr
    assert sent_ops(sandbox, "sendmsg")[0].get("from") == sent_from


def test_an_empty_environment_variable_hides_the_profile_too(
    cli, sandbox: Sandbox, config, password_only, monkeypatch
) -> None:
    config(profile("alerts", sandbox, country="ZA"))
    assert cli("--profile", "alerts", "send", "0821234567", "-t", "hi").exit_code == 0
    monkeypatch.setenv("CLICKSMS_COUNTRY", "")
    run = cli("--profile", "alerts", "send", "0821234567", "-t", "hi", "-o", "json")
    assert run.exit_code == 4
    assert json.loads(run.stdout)[0]["status"] == "invalid"  # national, and no country now


def test_a_profile_sets_per_request_credentials_and_the_soap_style(
    cli, sandbox: Sandbox, config, config_dir: Path, password_only
) -> None:
    config(profile("ci", sandbox, no_session=True, soap_style="rpc", endpoint=sandbox.rpc_endpoint))
    run = cli("--profile", "ci", "send", NUMBER, "-t", "hi", "--max-credits", "1.5")
    assert run.exit_code == 0, run.stderr
    assert sent_ops(sandbox, "auth") == []
    [request] = [r for r in sandbox.requests if r["op"] == "sendmsg"]
    assert request["fields"]["password"] == PASSWORD and request["fields"]["max_credits"] == "1.5"
    assert not list(config_dir.glob("session*.json"))


def test_flags_win_over_the_profile(cli, sandbox: Sandbox, config, password_only) -> None:
    config(profile("alerts", sandbox, user="someone-else"))
    assert cli("--profile", "alerts", "balance").exit_code == 3  # ERR 001: not the user
    run = cli("--profile", "alerts", "--user", sandbox.config.user, "balance")
    assert run.exit_code == 0, run.stderr


# -- clicksms profiles ------------------------------------------------------------------------


def test_profiles_lists_every_profile_and_the_one_in_use(
    cli, sandbox: Sandbox, config, monkeypatch
) -> None:
    path = config(
        profile("alerts", sandbox, country="ZA", no_session=True)
        + '[profiles.marketing]\napi_id = "3512399"\nuser = "mkt"\nsoap_style = "rpc"\n'
    )
    monkeypatch.setenv("CLICKSMS_PROFILE", "marketing")
    run = cli("profiles", "-o", "json")
    assert run.exit_code == 0, run.stderr
    rows = {row["name"]: row for row in json.loads(run.stdout)}
    assert rows["marketing"] == {
        "name": "marketing",
        "active": True,
        "api_id": "3512399",
        "user": "mkt",
        "endpoint": None,
        "soap_style": "rpc",
        "no_session": None,
        "country": None,
        "from": None,
        "timeout": None,
        "connect_timeout": None,
        "retries": None,
    }
    assert rows["alerts"]["active"] is False and rows["alerts"]["no_session"] is True
    assert rows["alerts"]["api_id"] == str(sandbox.config.api_id)  # a TOML number, as text
    table = cli("profiles")
    assert table.exit_code == 0
    assert "marketing" in table.stdout and "3512399" in table.stdout
    assert table.stderr.strip() == f"From {path}."


def test_profiles_without_a_config_file(cli, config_dir: Path) -> None:
    run = cli("profiles")
    assert (run.exit_code, run.stdout) == (0, "")
    assert run.stderr.strip() == (
        f"No profiles: add a [profiles.NAME] table to {config_dir / 'config.toml'}."
    )
    assert cli("profiles", "-o", "json").stdout.strip() == "[]"


def test_profile_names_complete(config, sandbox: Sandbox) -> None:
    from clicksms.cli.profiles import profile_names

    config(profile("alerts", sandbox) + profile("archive", sandbox) + profile("live", sandbox))
    assert [name for name, _ in profile_names(None, "a")] == ["alerts", "archive"]


# -- refused ----------------------------------------------------------------------------------


def test_an_unknown_profile_lists_the_known_ones(cli, sandbox: Sandbox, config) -> None:
    path = config(profile("alerts", sandbox) + profile("marketing", sandbox))
    run = cli("--profile", "alert", "balance")
    assert run.exit_code == 2
    assert error_line(run) == (
        f"Error: unknown profile 'alert': {path} has alerts, marketing "
        "(`clicksms profiles` lists them)"
    )


def test_an_unknown_profile_without_a_config_file(cli, config_dir: Path) -> None:
    run = cli("--profile", "alerts", "balance")
    assert run.exit_code == 2
    assert error_line(run) == (
        f"Error: unknown profile 'alerts': {config_dir / 'config.toml'} does not exist; "
        "add a [profiles.alerts] table there"
    )


@pytest.mark.parametrize("where", ["alerts", "top"])
def test_a_password_in_config_toml_is_refused_and_never_shown(
    cli, sandbox: Sandbox, config, where
) -> None:
    written = "hunter2-written-down"  # not a password of the audit's: the file holds it
    secret = f'password = "{written}"\n'
    text = profile("alerts", sandbox) + secret if where == "alerts" else secret + "\n"
    path = config(text + profile("other", sandbox))
    for command in (["--profile", "other", "balance"], ["profiles"]):
        run = cli(*command)
        assert run.exit_code == 2
        inside = " in [profiles.alerts]" if where == "alerts" else ""
        assert error_line(run) == (
            f"Error: {path} has a password ('password'{inside}): clicksms keeps no password on "
            "disk; remove it and give the password by CLICKSMS_PASSWORD, `auth "
            "--password-stdin` or the prompt"
        )
        assert written not in run.stdout + run.stderr
    assert sandbox.requests == []


def test_a_config_toml_open_to_others_is_refused(
    cli, sandbox: Sandbox, config, config_dir: Path, password_only
) -> None:
    path = config(profile("alerts", sandbox))
    path.chmod(0o644)
    run = cli("--profile", "alerts", "balance")
    assert run.exit_code == 2
    assert error_line(run) == (
        f"Error: {path} is open to other users (mode 644); run `chmod 600 {path}`"
    )
    path.chmod(0o600)
    config_dir.chmod(0o755)
    run = cli("--profile", "alerts", "balance")
    assert run.exit_code == 2
    assert f"config dir {config_dir} is open to other users (mode 755)" in error_line(run)
    config_dir.chmod(0o700)
    assert cli("--profile", "alerts", "balance").exit_code == 0
    assert len(sent_ops(sandbox, "auth")) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "[profiles.a]\napi-id = 1\n",
            "profile 'a' has an unknown setting 'api-id'; a profile takes",
        ),
        ('[profiles.a]\nno_session = "yes"\n', "profile 'a': no_session must be true or false"),
        ('[profiles.a]\napi_id = "abc"\n', "profile 'a': api_id must be a number, got 'abc'"),
        ('[profiles.a]\nsoap_style = "soap"\n', 'soap_style must be "document" or "rpc"'),
        ("[profiles.a]\nretries = 1.5\n", "profile 'a': retries must be a whole number, got 1.5"),
        ('[profiles.a]\nuser = ""\n', "profile 'a': user must be a quoted, non-empty text"),
        ("[profiles.'a b']\nuser = \"x\"\n", "profile name 'a b': use up to 64 letters"),
        ('user = "x"\n', "unknown setting 'user' outside a profile"),
        ("[profiles.a\n", "is not valid TOML"),
    ],
)
def test_a_malformed_config_is_one_clear_line(cli, config, text, problem) -> None:
    config(text)
    run = cli("--profile", "a", "balance")
    assert run.exit_code == 2
    assert problem in error_line(run)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            {"timeout": 0},
            "timeout must be more than 0 and at most 3600 seconds, got '0' (timeout in profile",
        ),
        ({"retries": 11}, "retries must be a whole number from 0 to 10, got '11' (retries in"),
        ({"country": "UK"}, "unknown country 'UK' (country in profile 'alerts' of "),
        ({"from": "not a sender"}, "invalid sender 'not a sender' (from in profile 'alerts' of "),
        ({"endpoint": "ftp://x"}, "endpoint must be an http(s) URL, got 'ftp://x' (endpoint in"),
    ],
)
def test_a_wrong_value_names_the_profile_and_its_file(
    cli, sandbox: Sandbox, config, password_only, extra, problem
) -> None:
    path = config(profile("alerts", sandbox, **extra))
    run = cli("--profile", "alerts", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 2
    line = error_line(run)
    assert problem in line and str(path) in line
    assert sandbox.requests == []


def test_sandbox_refuses_a_profile_flag_and_ignores_the_variable(cli, monkeypatch) -> None:
    run = cli("--sandbox", "--profile", "alerts", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 2
    assert error_line(run) == "Error: --sandbox runs its own account: drop --profile"
    monkeypatch.setenv("CLICKSMS_PROFILE", "no-such-profile")
    run = cli("--sandbox", "send", NUMBER, "-t", "hi")
    assert run.exit_code == 0, run.stderr


# -- where the password may go ----------------------------------------------------------------


def test_an_endpoint_from_the_profile_was_chosen_by_the_user(
    cli, sandbox: Sandbox, config, monkeypatch
) -> None:
    """Unlike one from ./.env: the password from --password-stdin goes there unasked."""
    monkeypatch.delenv("CLICKSMS_PASSWORD", raising=False)
    config(profile("alerts", sandbox))
    run = cli("--profile", "alerts", "auth", "--password-stdin", input=PASSWORD + "\n")
    assert run.exit_code == 0, run.stderr
    assert sent_ops(sandbox, "auth")[0]["password"] == PASSWORD


def test_a_dotenv_endpoint_over_the_profile_is_still_guarded(
    cli, sandbox: Sandbox, config, monkeypatch, isolated_env: Path
) -> None:
    monkeypatch.delenv("CLICKSMS_PASSWORD", raising=False)
    config(profile("alerts", sandbox, endpoint="https://api.clickatell.com/soap/x"))
    (isolated_env / "work" / ".env").write_text(f"CLICKSMS_ENDPOINT={sandbox.endpoint}\n")
    run = cli("--profile", "alerts", "auth", "--password-stdin", input=PASSWORD + "\n")
    assert run.exit_code == 2
    assert error_line(run).startswith(f"Error: ./.env sets CLICKSMS_ENDPOINT={sandbox.endpoint}")
    assert sandbox.requests == []


# -- bulk jobs belong to an account ------------------------------------------------------------


def test_a_job_resumes_under_a_profile_of_its_account_only(
    cli, sandbox: Sandbox, config, password_only, isolated_env: Path
) -> None:
    config(
        profile("alerts", sandbox)
        + profile("same-account", sandbox, country="ZA")
        + profile("other-account", sandbox, api_id=999, user="marketing")
    )
    sandbox.faults.add("err-130", ops={"sendmsg"}, after=1, times=1)  # an MT limit stops it
    people = isolated_env / "people.csv"
    people.write_text("number\n" + "".join(f"2782{n:07d}\n" for n in range(4000000, 4000004)))
    run = cli("--profile", "alerts", "bulk", str(people), "-t", "hi {number}", "--concurrency", "1")
    assert run.exit_code != 0 and "--resume" in run.stderr, run.stderr
    job = json.loads(cli("jobs", "-o", "json").stdout)[0]["id"]
    sent_before = len(sandbox.ledger)
    run = cli("--profile", "other-account", "bulk", "--resume", job)
    assert run.exit_code == 2
    assert f"job {job} was started as {sandbox.config.user} (api_id" in run.stderr
    assert len(sandbox.ledger) == sent_before
    run = cli("--profile", "same-account", "bulk", "--resume", job, "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert sorted(r["to"] for r in sandbox.ledger) == [
        f"2782{n:07d}" for n in range(4000000, 4000004)
    ]
