"""What clicksms creates for itself stays private: folders 0700, files 0600, no symlinks followed.

Sessions, journals and ``--results`` files hold session IDs, numbers and texts. A missing
parent folder is created 0700 too (``mkdir -p`` would make it 0777 under umask 000), and a file
being created is never created through a symbolic link, which in a shared folder could point
it anywhere.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from clicksms.sandbox import Sandbox


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def umask() -> Iterator[object]:
    """Set the process umask for one test (CliRunner runs clicksms in this process)."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_to(value: int) -> None:
        os.umask(value)

    yield set_to
    os.umask(saved)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.csv"
    path.write_text("phone\n27821234567\n27831234567\n")
    return path


def test_missing_parents_of_the_config_dir_are_created_0700(
    cli, creds: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask
) -> None:
    config = tmp_path / "deep" / "er" / "clicksms"
    monkeypatch.setenv("CLICKSMS_CONFIG_DIR", str(config))
    existing = mode(tmp_path)
    umask(0o000)
    run = cli("auth")
    assert run.exit_code == 0, run.stderr
    assert [mode(p) for p in (tmp_path / "deep", tmp_path / "deep" / "er", config)] == [0o700] * 3
    assert mode(config / "session.json") == 0o600
    assert mode(tmp_path) == existing  # a folder that existed is never changed


def test_missing_parents_of_a_journal_are_created_0700(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path, umask
) -> None:
    journal = tmp_path / "jobs" / "here" / "journal.sqlite3"
    umask(0o000)
    run = cli("bulk", str(csv_file), "-t", "hi", "--journal", str(journal))
    assert run.exit_code == 0, run.stderr
    assert mode(tmp_path / "jobs") == 0o700
    assert mode(journal.parent) == 0o700
    assert mode(journal) == 0o600


@pytest.mark.parametrize(("mask", "expected"), [(0o000, 0o600), (0o022, 0o600), (0o277, 0o400)])
def test_results_are_created_0600_unless_the_umask_is_stricter(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path, umask, mask: int, expected: int
) -> None:
    out = tmp_path / "results.csv"
    umask(mask)
    run = cli("bulk", str(csv_file), "-t", "hi", "--results", str(out))
    assert run.exit_code == 0, run.stderr
    assert mode(out) == expected
    assert out.read_text().count("accepted") == 2


def test_results_are_never_written_through_a_symlink(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "somewhere-else.csv"
    target.write_text("precious\n")
    link = tmp_path / "results.csv"
    link.symlink_to(target)
    run = cli("bulk", str(csv_file), "-t", "hi", "--results", str(link))
    assert run.exit_code == 2
    assert run.stderr.splitlines()[-1] == (
        f"Error: cannot write --results {link}: it is a symbolic link, which clicksms does not "
        "follow for a file it writes; give the real path"
    )
    assert target.read_text() == "precious\n"
    assert creds.ledger == []  # refused before anything was sent


def test_results_through_a_dangling_symlink_create_nothing(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "planted.csv"
    link = tmp_path / "results.json"
    link.symlink_to(target)
    run = cli("bulk", str(csv_file), "-t", "hi", "--results", str(link))
    assert run.exit_code == 2
    assert "is a symbolic link" in run.stderr
    assert not target.exists()
    assert creds.ledger == []


def test_a_journal_that_is_a_dangling_symlink_is_refused(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "planted.sqlite3"
    link = tmp_path / "journal.sqlite3"
    link.symlink_to(target)
    run = cli("bulk", str(csv_file), "-t", "hi", "--journal", str(link))
    assert run.exit_code == 2
    assert run.stderr.splitlines()[-1] == (
        f"Error: journal {link} is a symbolic link to a file that does not exist: clicksms "
        "does not create a file through a link; give the real path or create the file first"
    )
    assert not target.exists()
    assert creds.ledger == []


def test_a_journal_linked_to_an_existing_private_file_still_works(
    cli, creds: Sandbox, csv_file: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real" / "journal.sqlite3"
    first = cli("bulk", str(csv_file), "-t", "hi", "--journal", str(real))
    assert first.exit_code == 0, first.stderr
    link = tmp_path / "journal.sqlite3"
    link.symlink_to(real)
    listed = cli("jobs", "--journal", str(link), "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert '"sent": 2' in listed.stdout
