"""Fast start: the CLI module and --help load none of the heavy libraries."""

from __future__ import annotations

import sys

import helpers

HEAVY = ("zeep", "lxml", "requests", "phonenumbers")


def loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = helpers.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [m for m in out.stdout.strip().split(",") if m]


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert loaded_after("import clicksms.cli") == []


def test_help_and_completion_load_no_heavy_module() -> None:
    help_run = (
        "from typer.testing import CliRunner\n"
        "from clicksms.cli import app\n"
        "r = CliRunner().invoke(app, ['send', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['validate-number', '--help'])\n"
        "assert r.exit_code == 0, r.output"
    )
    assert loaded_after(help_run) == []


def test_completion_request_loads_no_heavy_module(monkeypatch) -> None:
    probe = (
        "import sys, os\n"
        "os.environ.update(_CLICKSMS_COMPLETE='complete_bash',\n"
        "                  COMP_WORDS='clicksms se', COMP_CWORD='1')\n"
        "from clicksms.cli import app\n"
        "try:\n"
        "    app(prog_name='clicksms')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('|' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = helpers.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    completions, _, loaded = out.stdout.rpartition("|")
    assert "send" in completions.split()
    assert loaded.strip() == ""


def test_completing_job_ids_reads_the_journal_without_the_bulk_package(config_dir) -> None:
    from clicksms.bulk.journal import Journal, default_journal_path

    config_dir.mkdir(mode=0o700)
    with Journal(default_journal_path(config_dir)) as journal:
        job = journal.create_job("/data/list.csv", {})
        journal.set_state(job.id, "stopped")
    probe = (
        "import sys, os\n"
        "os.environ.update(_CLICKSMS_COMPLETE='complete_bash',\n"
        "                  COMP_WORDS='clicksms bulk --resume ', COMP_CWORD='3')\n"
        "from clicksms.cli import app\n"
        "try:\n"
        "    app(prog_name='clicksms')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.startswith('clicksms.bulk')]\n"
        f"heavy += [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('|' + ','.join(heavy))\n"
    )
    out = helpers.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    offered, _, loaded = out.stdout.rpartition("|")
    assert offered.split() == [job.id]
    assert loaded.strip() == ""


def test_a_command_builds_and_loads_only_its_own_module() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from clicksms.cli import app\n"
        "r = CliRunner().invoke(app, ['ping', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('clicksms.cli.'))))\n"
    )
    out = helpers.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stdout.strip().split(","))
    assert "clicksms.cli.queries" in loaded  # ping's
    others = {"bulk", "bulk_view", "send", "sandbox", "tracking", "jobs", "auth", "numbers"}
    assert not loaded & {f"clicksms.cli.{name}" for name in others}


def test_help_lists_every_command_of_the_table_with_its_summary(cli) -> None:
    from clicksms.cli.app import COMMANDS
    from clicksms.cli.lazy import build_command

    listing = cli("--help").stdout.split("Commands:")[1]
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    assert names == list(COMMANDS)
    for name, target in COMMANDS.items():
        summary = build_command(name, target).get_short_help_str(limit=40)
        assert summary[:20] in listing
