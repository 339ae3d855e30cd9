"""Who runs a bulk job: a lock the kernel holds for that process, and drops when it dies.

Two runs of one job would send its rows twice, so a job is run by one process at a time. A
recorded process ID cannot prove that: after a crash or a reboot the number often belongs to
another program, and the job would stay blocked for good. So the process running a job holds an
exclusive ``flock`` on a small file next to the journal (``journal.sqlite3-JOB.lock``), from
creating or claiming the job until it stops running it. The kernel drops the lock when the
process ends, however it ends (``kill -9``, a crash, a reboot), and no other process can hold
it meanwhile, whatever its ID.

A job with no lock file was recorded by a clicksms from before these locks (or its file was
deleted): its process ID counts only if that process started before the job was claimed, as its
real owner had. Where ``flock`` is missing (Windows), the process ID alone decides.

Locks belong to the process, not to one :class:`~clicksms.bulk.journal.Journal`: two journals
of one process share them, and a job this process ran counts as nobody else's.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from clicksms.private_files import create_private

try:
    import fcntl
except ImportError:  # Windows: no flock; see the module docstring
    fcntl = None  # type: ignore[assignment]

#: How long taking a lock may wait for a process that only peeks at it (``clicksms jobs``
#: holds it shared for microseconds); an owner holds it for its whole run.
PATIENCE = 0.5
#: Process start times come from /proc in clock ticks after a boot time in whole seconds.
_START_SLACK = 1.0

_held: dict[str, int] = {}  # lock path -> open descriptor holding it, for this process
_registry = threading.Lock()


def lock_path(journal: Path, job_id: str) -> Path:
    return journal.with_name(f"{journal.name}-{job_id}.lock")


def take(path: Path, *, new: bool = False) -> bool:
    """Hold the job's lock for this process; False if another process holds it.

    ``new``: the file must not exist yet (a fresh job ID), else FileExistsError. A lock this
    process holds already (an earlier Journal of ours) is simply kept.
    """
    if fcntl is None:
        return True
    with _registry:
        if str(path) in _held:
            return True
    deadline = time.monotonic() + PATIENCE
    while True:
        fd = create_private(path, os.O_RDWR | (os.O_EXCL if new else 0))
        new = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _still_named(fd, path):
            with _registry:
                _held[str(path)] = fd
            return True
        os.close(fd)  # its holder removed it as we opened it: take the one there now


def holds(path: Path) -> bool:
    """Whether this process holds the lock at ``path``."""
    with _registry:
        return str(path) in _held


def release(path: Path) -> None:
    """The job stopped running here: remove its lock file, then let go of the lock.

    In that order, so that whoever opened the old file finds it gone once they hold it
    (see :func:`_still_named`). A lock this process does not hold is left alone.
    """
    with _registry:
        fd = _held.pop(str(path), None)
    if fd is None:
        return
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def runs_elsewhere(path: Path, pid: int | None, claimed_at: float) -> bool:
    """Whether another live process runs the job whose lock file is ``path``."""
    if fcntl is None:
        return _process_alive(pid)
    with _registry:
        if str(path) in _held:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
    except FileNotFoundError:
        return _process_alive(pid) and _started_by(pid, claimed_at)
    except OSError:
        return True  # cannot tell: never guess "free", that could send rows twice
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held (BlockingIOError), or it cannot tell: either way, not free
        return True
    finally:
        os.close(fd)  # drops the shared lock at once
    return False


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` holds (a released lock's file is gone)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _process_alive(pid: int | None) -> bool:
    """Whether a process other than this one runs under ``pid``.

    A job recorded with our own pid that this process did not create or claim was run by an
    earlier process whose pid we got again (a container's clicksms is often pid 1 every time),
    so our pid counts as gone. So does a zombie. A process we may not signal exists: alive.
    """
    if pid is None or pid <= 0 or pid == os.getpid():
        return False
    if os.name == "nt":  # os.kill would terminate it there; assume it is alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _started_by(pid: int | None, claimed_at: float) -> bool:
    """Whether process ``pid`` started before ``claimed_at``, as the job's owner did: one that
    started later got the number after the owner died. True when /proc cannot tell."""
    started = _start_time(pid)
    return started is None or started <= claimed_at + _START_SLACK


def _start_time(pid: int | None) -> float | None:
    """When process ``pid`` started (epoch seconds), from /proc; None where there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
        with open("/proc/stat", "rb") as handle:
            boot = next(line for line in handle if line.startswith(b"btime "))
        return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
