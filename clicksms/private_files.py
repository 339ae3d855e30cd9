"""Files and folders that clicksms creates for itself, private to the user.

Sessions, the bulk journal, its lock files and ``--results`` hold session IDs, numbers and
texts. So a missing folder is created 0700, its missing parents too (``mkdir -p`` would make
them 0777 under umask 000), and a file is created 0600 or stricter, never through a symbolic
link: in a shared folder a planted link could send it anywhere. Folders and files that already
exist are left as they are; the checks below tell their callers whether they may be used.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO, Any

from clicksms.errors import ConfigError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: What open(2) says for a symbolic link under O_NOFOLLOW (FreeBSD says EMLINK).
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)
#: Permission bits that let anyone but the owner read, change or enter.
OTHERS = stat.S_IRWXG | stat.S_IRWXO
LINK_REFUSED = (
    "it is a symbolic link, which clicksms does not follow for a file it writes; give the real path"
)


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700 whatever the umask.

    OSError as mkdir raises it; a folder that exists already (even one racing us) is fine.
    """
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # a strict umask (0277) must not leave it unusable


def create_private(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open(path, O_CREAT | flags, mode)``, refusing to follow a symbolic link.

    The umask still applies to ``mode``, so a stricter one wins. A link, dangling or not,
    is an OSError whose ``strerror`` says so (:data:`LINK_REFUSED`); with ``O_EXCL`` in
    ``flags`` it is FileExistsError, as for any existing file.
    """
    try:
        return os.open(path, os.O_CREAT | _NOFOLLOW | _CLOEXEC | flags, mode)
    except OSError as exc:
        if exc.errno in _LINK_ERRORS:
            raise OSError(exc.errno, LINK_REFUSED, str(path)) from None
        raise


def open_private(path: Path, mode: str = "w") -> IO[str]:
    """A text file opened for writing (``"w"``) or appending (``"a"``), created 0600 or
    stricter if missing; never through a symbolic link (see :func:`create_private`)."""
    if mode not in ("w", "a"):
        raise ValueError(f"open_private writes: mode 'w' or 'a', not {mode!r}")
    flags = os.O_WRONLY | (os.O_TRUNC if mode == "w" else os.O_APPEND)
    fd = create_private(path, flags)
    try:
        return os.fdopen(fd, mode, encoding="utf-8", newline="")
    except BaseException:
        os.close(fd)
        raise


def check_private_file(
    path: Path,
    label: str = "",
    *,
    remedy: str = "",
    not_regular: str = "",
    unusable: str = "",
) -> os.stat_result | None:
    """``path``'s status, or None when it does not exist; ConfigError when it is no regular
    file, or group or others have any access to it (they could read what it holds or plant
    their own). ``label`` names it in the messages ("journal "); ``remedy`` adds another way
    out to the ``chmod`` advice, ``not_regular`` the advice for what is no regular file, and
    ``unusable`` for a path that cannot be looked at (a parent that is a file, no access)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot use {label}{path}: {exc.strerror}{unusable}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{label}{path} is not a regular file{not_regular}")
    if info.st_mode & OTHERS:
        raise ConfigError(
            f"{label}{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod 600 {path}`{remedy}"
        )
    return info


def check_config_dir(folder: Path) -> None:
    """ConfigError unless ``folder`` is closed to group and others (files in a folder others
    may enter can be swapped or read)."""
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"cannot use config dir {folder}: {exc.strerror}") from None
    if mode & OTHERS:
        raise ConfigError(
            f"config dir {folder} is open to other users (mode {mode:o}); "
            f"run `chmod 700 {folder}` or point CLICKSMS_CONFIG_DIR elsewhere"
        )


def write_json_atomically(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON: a fresh 0600 file beside it (mkstemp: O_EXCL,
    no symbolic links), then a rename, so a reader sees the old file or the new, whole.
    OSError as the writing raises it; no temporary file is left behind."""
    import json
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_private(info: os.stat_result, is_kind: Any) -> bool:
    """Of the right kind (``stat.S_ISREG``, ``stat.S_ISDIR``), ours, and closed to group and
    others: the quiet form of the checks above, for what is merely not used otherwise."""
    owner = getattr(os, "geteuid", None)
    mine = owner is None or info.st_uid == owner()
    return bool(is_kind(info.st_mode)) and mine and not info.st_mode & OTHERS
