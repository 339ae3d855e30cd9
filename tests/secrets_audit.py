"""The secrets audit: no output of the suite's runs may show a password or a session ID.

``AUDIT`` records what every clicksms run printed (the ``cli`` fixture, and subprocesses run
through ``helpers.run``/``helpers.Popen``) and learns every secret in play: the passwords
each sandbox knew or heard and the session IDs it issued (conftest watches
``Gateway.dispatch``), the passwords the tests put in the environment, and the constants of
servers that are not the sandbox. A password is looked for in the shapes a server may echo
it in, too: XML-escaped, and with its runs of whitespace collapsed. At the end of the session
conftest searches the records, and every file the tests left under pytest's base temp
directory, for every secret, and fails the run when one shows.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

#: Shorter stand-ins ("p", "nope", "wrong") would match ordinary words: too short to grep for.
MIN_LENGTH = 8
PASSWORD_KIND, SESSION_KIND = "password", "session ID"
_HEX_ID = re.compile(r"[0-9a-f]{32}")  # the shape of Clickatell's session IDs (API.md §11.3)
#: Every byte mapped to "h" (a hex digit) or "." (anything else): runs of 32 "h" are where a
#: session ID can be, found with bytes.find, much faster than a regular expression.
_HEX_MAP = bytes(ord("h") if chr(b) in "0123456789abcdef" else ord(".") for b in range(256))
_CONTEXT = 40  # characters shown either side of a leak


@dataclass(frozen=True)
class Leak:
    """One secret seen where it must not be; ``context`` has every secret masked."""

    test: str
    where: str
    kind: str
    context: str

    def __str__(self) -> str:
        return f"{self.test}: {self.where} shows a {self.kind}: …{self.context}…"


@dataclass
class SecretsAudit:
    """Outputs recorded in this session and the secrets they must not contain."""

    secrets: dict[str, str] = field(default_factory=dict)  # secret -> kind
    scopes: dict[str, set[str]] = field(default_factory=dict)  # secret -> the only tests
    outputs: list[tuple[str, str, str | bytes]] = field(default_factory=list)  # test, where
    test: str = "(no test)"  # node ID of the running test (conftest sets it)
    basetemp: Path | None = None  # scanned at the end when a test used tmp_path
    owners: dict[str, str] = field(default_factory=dict)  # tmp_path's name -> the test's ID
    found: list[Leak] = field(default_factory=list)  # the final scan's result

    # ---------------------------------------------------------------------- learning
    def secret(self, kind: str, *values: str | None, only_here: bool = False) -> None:
        """Remember secrets of ``kind``; values too short to grep for are ignored.

        ``only_here``: a secret only in the running test, such as a fixed fake session ID
        that other tests may use as a made-up message ID.
        """
        for given in values:
            shapes = echo_shapes(given) if given and kind == PASSWORD_KIND else {given}
            for value in shapes:
                self._learn(kind, value, only_here)

    def _learn(self, kind: str, value: str | None, only_here: bool) -> None:
        """One secret in one shape."""
        if not value or len(value) < MIN_LENGTH:
            return
        if value not in self.secrets and only_here:
            self.scopes[value] = set()
        if value in self.scopes:
            if only_here:
                self.scopes[value].add(self.test)
            else:
                del self.scopes[value]  # a secret everywhere after all
        self.secrets.setdefault(value, kind)

    def environment(self, env: Iterable[tuple[str, str]]) -> None:
        """The password a clicksms process is given through its environment."""
        self.secret(PASSWORD_KIND, *(v for k, v in env if k == "CLICKSMS_PASSWORD"))

    def record(self, where: str, *texts: str | bytes | None) -> None:
        """Keep what a run printed, for the final scan."""
        self.outputs.extend((self.test, where, text) for text in texts if text)

    # ---------------------------------------------------------------------- scanning
    def leaks(self) -> list[Leak]:
        """Every secret in a recorded output or in a file under the base temp directory."""
        scan = _Scan(self.secrets)
        found: list[Leak] = []
        for test, where, text in self.outputs:
            data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
            found.extend(self._leaks_in(scan, data, test, where, allowed=None))
        for path in _files(self.basetemp):
            try:
                data = path.read_bytes()
            except OSError:
                continue  # removed or unreadable meanwhile: nothing anyone could read either
            relative = path.relative_to(self.basetemp)  # type: ignore[arg-type]
            test = self.owners.get(relative.parts[0], "(no test)")
            found.extend(self._leaks_in(scan, data, test, f"file {relative}", may_hold(path.name)))
        return found

    def _leaks_in(
        self, scan: _Scan, data: bytes, test: str, where: str, allowed: str | None
    ) -> Iterator[Leak]:
        for secret, start in scan.find(data):
            kind = self.secrets[secret]
            if kind != allowed and test in self.scopes.get(secret, (test,)):
                yield Leak(test, where, kind, scan.masked(data, secret, start))
                return  # one leak per output is enough to find it


class _Scan:
    """Secrets as bytes, ready to be searched for."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.kinds = {s.encode(): kind for s, kind in secrets.items()}
        self.names = {s.encode(): s for s in secrets}
        self.hex_ids = {s for s in self.kinds if _HEX_ID.fullmatch(s.decode())}
        self.plain = [s for s in self.kinds if s not in self.hex_ids]
        self.longest = max(map(len, self.kinds), default=0)

    def find(self, data: bytes) -> Iterator[tuple[str, int]]:
        """(secret, byte offset) of the secrets in ``data``."""
        hexes = data.translate(_HEX_MAP)
        start = hexes.find(b"h" * 32)
        while start != -1:
            end = hexes.find(b".", start)
            end = len(data) if end == -1 else end
            for offset in range(start, end - 31):
                if data[offset : offset + 32] in self.hex_ids:
                    yield self.names[data[offset : offset + 32]], offset
            start = hexes.find(b"h" * 32, end)
        for secret in self.plain:
            if secret in data:
                yield self.names[secret], data.index(secret)

    def masked(self, data: bytes, secret: str, start: int) -> str:
        """Up to ``_CONTEXT`` characters either side, every whole secret in them masked."""
        margin = _CONTEXT + self.longest  # a secret cut at the margin is trimmed away below
        end = start + len(secret.encode())
        before = self._mask(data[max(0, start - margin) : start])[-_CONTEXT:]
        after = self._mask(data[end : end + margin])[:_CONTEXT]
        return " ".join(f"{before}<{self.kinds[secret.encode()]}>{after}".split())

    def _mask(self, data: bytes) -> str:
        for secret, kind in self.kinds.items():
            if secret in data:
                data = data.replace(secret, f"<{kind}>".encode())
        return data.decode("utf-8", "replace")


def echo_shapes(password: str) -> set[str]:
    """``password`` and the shapes a server may echo it in: with its whitespace collapsed,
    XML-escaped (quotes too, or not; named or numeric references, as PHP's and Python's
    escapers write them), and both."""
    forms = {password, " ".join(password.split())}
    escapes = ({}, _QUOTES, _PHP_QUOTES, _PY_QUOTES)
    return forms | {escape(f, extra) for f in forms for extra in escapes}


_QUOTES = {'"': "&quot;", "'": "&apos;"}
_PHP_QUOTES = {'"': "&quot;", "'": "&#039;"}  # htmlspecialchars(ENT_QUOTES)
_PY_QUOTES = {'"': "&quot;", "'": "&#x27;"}  # html.escape


_SESSION_FILE = re.compile(r"session(-[\w-]+)?\.json|\.session(-[\w-]+)?\.json\..+")


def may_hold(name: str) -> str | None:
    """The kind of secret a file of this name may hold: the stored session holds its ID (never
    the password; ``.session.json.*`` is its temporary copy; a profile's is
    ``session-NAME.json``), and tests write passwords into ``.env`` files as a user would
    (never a session ID)."""
    if _SESSION_FILE.fullmatch(name):
        return SESSION_KIND
    return PASSWORD_KIND if name == ".env" else None


def _files(root: Path | None) -> Iterator[Path]:
    """Regular files under ``root``; never follows symlinks or opens a FIFO a test left."""
    if root is None:
        return
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    yield path
            except OSError:
                continue


#: The one audit of this test session (conftest fills and checks it).
AUDIT = SecretsAudit()
