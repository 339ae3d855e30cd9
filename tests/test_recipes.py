"""README's cron and CI recipes, run as README gives them, against the sandbox.

The recipes are read from README's fenced blocks, never copied here: the crontab line runs
under ``env -i`` with only what cron sets (``PATH=/usr/bin:/bin``), the GitHub Actions step's
``run:`` block and the GitLab job's ``script:`` list with the variables each CI would set. The
one thing added is ``CLICKSMS_ENDPOINT``, pointing at the sandbox instead of Clickatell (as a
user would add a variable); everything else comes from README. No YAML parser is installed
with the test dependencies, so the two YAML blocks are read by :func:`nested`, which takes
only the shapes README uses and fails loudly on any other.
"""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import helpers
import pytest
from conftest import PASSWORD, sent_ops

from clicksms.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"
#: cron's own environment (Debian's cron, vixie and cronie alike), and nothing else.
CRON_PATH = "/usr/bin:/bin"
#: The console script of the clicksms under test: what `command -v clicksms` finds.
INSTALLED = Path(sys.executable).with_name("clicksms")


def fenced_blocks(language: str) -> list[str]:
    """README's fenced blocks in ``language`` (the fences start their lines), in order."""
    pattern = re.compile(rf"^```{re.escape(language)}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return pattern.findall(README.read_text(encoding="utf-8"))


def block_with(language: str, text: str) -> str:
    [block] = [b for b in fenced_blocks(language) if text in b]
    return block


def nested(lines: list[str], at: int) -> list[str]:
    """The lines under ``lines[at]`` (a ``key:`` line): those indented deeper, up to the
    first that is not; blank lines inside are kept, trailing ones dropped."""
    depth = len(lines[at]) - len(lines[at].lstrip())
    inside: list[str] = []
    for line in lines[at + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= depth:
            break
        inside.append(line)
    while inside and not inside[-1].strip():
        inside.pop()
    return inside


def line_index(lines: list[str], text: str, start: int = 0) -> int:
    return next(i for i in range(start, len(lines)) if lines[i].strip() == text)


def ci_variables(sandbox: Sandbox) -> dict[str, str]:
    """What a CI project's secret variables hold for these tests: the sandbox's account."""
    return {
        "CLICKSMS_API_ID": str(sandbox.config.api_id),
        "CLICKSMS_USER": sandbox.config.user,
        "CLICKSMS_PASSWORD": PASSWORD,
    }


def base_environment(home: Path) -> dict[str, str]:
    """A runner's environment: clicksms on PATH (installed), a home, the sandbox endpoint."""
    return {
        "HOME": str(home),
        "PATH": f"{INSTALLED.parent}:{CRON_PATH}",
        "LANG": "C.UTF-8",
        "CI": "true",
    }


def sent_by_recipe(sandbox: Sandbox) -> dict:
    """The one message the recipe sent, with per-request credentials (no login)."""
    assert sent_ops(sandbox, "auth") == [], "--no-session: no login, no session"
    [fields] = sent_ops(sandbox, "sendmsg")
    assert (fields["api_id"], fields["user"], fields["password"]) == (
        str(sandbox.config.api_id),
        sandbox.config.user,
        PASSWORD,
    )
    return fields


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- cron -------------------------------------------------------------------------------------


def cron_entry() -> tuple[list[str], str]:
    """README's crontab line: its five time fields and its command."""
    [block] = fenced_blocks("cron")
    entries = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(entries) == 1, entries
    *when, command = entries[0].split(None, 5)
    return when, command


def under_cron(command: str, home: Path) -> subprocess.CompletedProcess:
    """``command`` as cron runs it: /bin/sh -c, in the home directory, and this environment
    alone (cron sets HOME, LOGNAME, SHELL and PATH)."""
    environment = [f"HOME={home}", "LOGNAME=cron-test", "SHELL=/bin/sh", f"PATH={CRON_PATH}"]
    return helpers.run(
        ["/usr/bin/env", "-i", *environment, "/bin/sh", "-c", command],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env / "home"


def test_a_bare_clicksms_is_not_found_under_cron(home: Path) -> None:
    """Why README gives an absolute path: cron's PATH has no virtualenv or pipx bin."""
    if shutil.which("clicksms", path=CRON_PATH):
        pytest.skip("clicksms is installed in /usr/bin or /bin here")
    run = under_cron("clicksms --version", home)
    assert run.returncode == 127 and "not found" in run.stderr


def test_readmes_cron_line_runs_under_crons_environment(sandbox: Sandbox, home: Path) -> None:
    when, command = cron_entry()
    assert when == ["0", "7", "*", "*", "1-5"]
    assert "%" not in command  # cron would cut the line there
    # It runs clicksms by absolute path, never by name.
    assert not re.search(r"(^|&&|;|\|\|?)\s*clicksms\s", command), command
    [given] = re.findall(r"(?<!\S)(/\S+/clicksms)(?=\s)", command)
    assert INSTALLED.is_file(), INSTALLED
    command = command.replace(given, shlex.quote(str(INSTALLED)))

    # README's set-up: a private folder, an empty private .env in it ...
    setup = block_with("sh", "install -m 600")
    assert under_cron(setup, home).returncode == 0
    [folder] = re.findall(r"^cd (\S+) &&", command)
    env_file = Path(folder.replace("~", str(home), 1)) / ".env"
    assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
    # ... which the user then edits as README shows, with their account's values.
    dotenv = fenced_blocks("dotenv")[0].splitlines()
    assert dotenv[0] == f"# {folder}/.env", "the .env README shows is the one the job reads"
    ours = ci_variables(sandbox)
    settings = dict(line.split("=", 1) for line in dotenv[1:])
    assert set(ours) <= set(settings), "the .env holds the password and the account"
    settings.update(ours, CLICKSMS_ENDPOINT=sandbox.endpoint)
    with env_file.open("w") as handle:  # as an editor saves it: the mode stays
        handle.writelines(f"{key}={value}\n" for key, value in settings.items())
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    run = under_cron(command, home)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")  # cron mails nothing
    fields = sent_by_recipe(sandbox)
    words = shlex.split(command)
    assert fields["to"] == [words[words.index("send") + 1]]
    assert fields["text"] == words[words.index("-t") + 1]
    assert files_under(home) == [str(env_file.relative_to(home))]  # no session file


# -- CI ---------------------------------------------------------------------------------------


def github_step() -> tuple[dict[str, str], str]:
    """The GitHub Actions step that takes the secrets: its ``env:`` and its ``run:`` script."""
    lines = block_with("yaml", "${{ secrets.").splitlines()
    env_at = line_index(lines, "env:")
    env = {}
    for line in nested(lines, env_at):
        key, value = (part.strip() for part in line.split(":", 1))
        env[key] = value
    run_at = line_index(lines, "run: |", env_at)
    return env, textwrap.dedent("\n".join(nested(lines, run_at))) + "\n"


def test_readmes_github_actions_step_runs(sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    step_env, script = github_step()
    secrets = ci_variables(sandbox)
    environment = base_environment(home)
    for key, value in step_env.items():
        found = re.fullmatch(r"\$\{\{ secrets\.(\w+) \}\}", value)
        assert found, f"{key} comes from the repository's secrets: {value}"
        environment[key] = secrets[found.group(1)]
    assert set(secrets) <= set(step_env)
    assert "--no-session" in script
    environment.update(
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_SHA="0123456789abcdef0123456789abcdef01234567",
        GITHUB_WORKSPACE=str(tmp_path),
        RUNNER_TEMP=str(tmp_path),
        CLICKSMS_ENDPOINT=sandbox.endpoint,
    )
    step = tmp_path / "step.sh"
    step.write_text(script)
    # GitHub's shell for `run:` on Linux: bash --noprofile --norc -eo pipefail {0}
    run = helpers.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(step)],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    text = sent_by_recipe(sandbox)["text"]
    assert "acme/shop" in text and "0123456" in text and "$" not in text
    assert files_under(home) == []


def gitlab_job() -> tuple[dict[str, str], list[str]]:
    """The GitLab CI job: its ``variables:`` (if any) and its ``script:`` commands."""
    lines = block_with("yaml", "script:").splitlines()
    variables = {}
    if any(line.strip() == "variables:" for line in lines):
        for line in nested(lines, line_index(lines, "variables:")):
            key, value = (part.strip() for part in line.split(":", 1))
            variables[key] = value.strip("\"'")
    commands = []
    for line in nested(lines, line_index(lines, "script:")):
        item = line.strip()
        assert item.startswith("- "), f"one command per list item: {line!r}"
        command = item[2:]
        assert not command.startswith(("'", '"', "|", ">")), f"a plain scalar: {command!r}"
        commands.append(command)
    return variables, commands


def test_readmes_gitlab_job_runs(sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    variables, commands = gitlab_job()
    assert commands and all("--no-session" in c for c in commands if "clicksms" in c)
    assert not set(ci_variables(sandbox)) & set(variables), "secrets stay out of the YAML"
    environment = base_environment(home)
    environment.update(ci_variables(sandbox))  # project variables arrive as the environment
    environment.update(
        GITLAB_CI="true",
        CI_PROJECT_PATH="acme/shop",
        CI_COMMIT_SHORT_SHA="01234567",
        CI_PROJECT_DIR=str(tmp_path),
        CLICKSMS_ENDPOINT=sandbox.endpoint,
        **variables,
    )
    # The runner runs the script's lines in one shell that stops at the first failure.
    script = "\n".join(commands) + "\n"
    run = helpers.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    text = sent_by_recipe(sandbox)["text"]
    assert "acme/shop" in text and "01234567" in text and "$" not in text
    assert files_under(home) == []


def test_the_ci_recipes_fail_the_job_when_the_message_is_refused(
    sandbox: Sandbox, home: Path, tmp_path: Path
) -> None:
    """A recipe that always succeeds would hide a failed announcement: a wrong password fails
    the job, and shows no password."""
    _, commands = gitlab_job()
    environment = base_environment(home)
    environment.update(ci_variables(sandbox), CLICKSMS_PASSWORD="wrong-Pa55word-in-ci")
    environment.update(CLICKSMS_ENDPOINT=sandbox.endpoint, CI_PROJECT_PATH="acme/shop")
    run = helpers.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(commands)],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 3 and run.stdout == ""
    assert run.stderr.startswith("Error: ") and len(run.stderr.splitlines()) == 1
    assert sent_ops(sandbox, "sendmsg") != [] and sandbox.ledger == []
