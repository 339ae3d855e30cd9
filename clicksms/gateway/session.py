"""The stored session ID: one small JSON file, mode 0600, in a 0700 directory.

Keeping the session lets every command skip ``auth`` for 15 idle minutes (API.md §3), and means
the password need not be kept anywhere. The file holds no password, ever.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from clicksms.errors import ConfigError
from clicksms.private_files import (
    check_config_dir,
    check_private_file,
    make_private_dir,
    write_json_atomically,
)

#: Clickatell expires a session after 15 idle minutes; we stop trusting ours a little earlier,
#: because our clock starts after the gateway's did. ERR 003 still triggers one re-auth.
SESSION_IDLE_LIMIT = 15 * 60
_SAFETY_MARGIN = 30

SESSION_FILE = "session.json"
_OR_LOG_OUT = " or `clicksms auth --logout`"


@dataclass(frozen=True)
class StoredSession:
    """Who the session belongs to, and when it was last used."""

    endpoint: str
    api_id: str
    user: str
    session_id: str = field(repr=False)
    created_at: float
    last_used: float

    def idle_seconds(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.last_used)

    def is_fresh(self, now: float | None = None) -> bool:
        return self.idle_seconds(now) < SESSION_IDLE_LIMIT - _SAFETY_MARGIN

    def matches(self, endpoint: str, api_id: str | None, user: str | None) -> bool:
        """Same endpoint; api_id and user must match when they are configured."""
        return (
            self.endpoint == endpoint
            and (api_id is None or api_id == self.api_id)
            and (user is None or user == self.user)
        )


def session_file(profile: str | None = None) -> str:
    """The session file's name: each profile keeps its own (``session-NAME.json``)."""
    return SESSION_FILE if profile is None else f"session-{profile}.json"


class SessionStore:
    """Load, save and forget the session file under ``config_dir`` (one per profile)."""

    def __init__(self, config_dir: Path, profile: str | None = None) -> None:
        self.config_dir = config_dir
        self.path = config_dir / session_file(profile)

    def load(self) -> StoredSession | None:
        """The stored session, or None; refuses a file or directory others can read."""
        # Group or others could read the session (log in as the user) or plant their own.
        if (
            check_private_file(
                self.path,
                "session file ",
                remedy=_OR_LOG_OUT,
                not_regular=": remove it",
                unusable="; point CLICKSMS_CONFIG_DIR at a folder of yours, or pass --no-session",
            )
            is None
        ):
            return None
        check_config_dir(self.config_dir)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return StoredSession(**{k: data[k] for k in StoredSession.__dataclass_fields__})
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError):
            # A damaged file is not worth failing over: a fresh auth replaces it.
            return None

    def save(self, session: StoredSession) -> None:
        """Write atomically: a fresh 0600 file (mkstemp: O_EXCL, no symlinks), then rename."""
        self._ensure_dir()
        write_json_atomically(self.path, asdict(session))

    def touch(self, session: StoredSession, now: float | None = None) -> StoredSession:
        """Record a use: the gateway slid its idle clock, so we slide ours."""
        updated = replace(session, last_used=time.time() if now is None else now)
        self.save(updated)
        return updated

    def forget(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ConfigError(f"cannot remove {self.path}: {exc.strerror}") from None
        return True

    def _ensure_dir(self) -> None:
        """Create the directory (and missing parents) 0700; refuse one others can look into."""
        try:
            make_private_dir(self.config_dir)
        except OSError as exc:
            raise ConfigError(
                f"cannot use config dir {self.config_dir}: {exc.strerror}; set CLICKSMS_CONFIG_DIR"
            ) from None
        check_config_dir(self.config_dir)
