"""What the SOAP client learned from zeep, kept for the next run.

zeep and the WSDL it parses cost a one-shot command more than everything else it does (about
three quarters of ``clicksms send`` to one number). What the client learns from zeep's first
call of a shape (:mod:`clicksms.gateway.shapes`) is written here, one small JSON file per SOAP
style in the config dir, so that the next run of a known shape posts and reads without zeep.

Nothing in it is secret: a template is written with every value taken out (no session ID,
password, number or text), a reply shape is only element names. It is trusted only when:

* it is a regular file of ours, in a folder of ours, neither open to other users (0600 in a
  0700 folder, as clicksms writes them: another user could otherwise plant an envelope);
* it was written for the same clicksms (version, and the size and time of the modules that
  write requests), the same zeep and lxml (versions), the same WSDL and schemas (SHA-256)
  and the same style: any difference, and zeep builds everything again;
* each template or shape checks out as it is read (``from_json``): one that does not is
  simply not used, and zeep builds or reads that call.

Writing is best effort and atomic (a fresh 0600 file renamed over the old one); a config dir
that does not exist is not created for it, and a failure to read or write is never an error:
zeep is always there to fall back on.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clicksms import __version__
from clicksms.gateway.shapes import (
    EncodedReplyShape,
    ReplyShape,
    Template,
    key_from_json,
    key_to_json,
    stretchable,
)
from clicksms.private_files import is_private, write_json_atomically

if TYPE_CHECKING:
    from clicksms.gateway.soap import SoapStyle

#: Raise when what a template or shape holds changes meaning: older files are then ignored.
FORMAT = 1
#: Templates kept in the file, the most recently learned; a bulk run uses a handful of shapes.
MAX_TEMPLATES = 32
#: Far more than MAX_TEMPLATES envelopes of 300 recipients; a larger file is not read.
MAX_SIZE = 2 * 1024 * 1024
#: The modules whose code shapes what is kept (besides zeep and the WSDL).
_WRITERS = ("soap.py", "shapes.py", "rpc.py", "rpc_plugin.py")


def learned_path(config_dir: Path, style: SoapStyle) -> Path:
    return config_dir / f"soap-shapes-{style.name}.json"


class LearnedFile:
    """The learned templates and reply shapes of one style, read on first use."""

    def __init__(self, config_dir: Path, style: SoapStyle) -> None:
        self.config_dir = config_dir
        self.style = style
        self.path = learned_path(config_dir, style)
        self._lock = threading.Lock()
        self._identity: dict[str, Any] | None = None
        self._templates: dict[Hashable, Any] | None = None  # key -> its JSON, as read
        self._replies: dict[str, Any] = {}

    def template(self, key: Hashable) -> Template | None:
        """The template an earlier run learned for ``key``, if it checks out."""
        with self._lock:
            self._load()
            data = self._templates.get(key)  # type: ignore[union-attr]
        return None if data is None else Template.from_json(key, data)

    def templates_like(self, key: Hashable) -> list[tuple[Hashable, Template]]:
        """The templates earlier runs learned for the same call as ``key`` but for its lists'
        lengths (see :meth:`Template.stretched`) that check out, the most recent first."""
        with self._lock:
            self._load()
            assert self._templates is not None
            found = [(k, data) for k, data in self._templates.items() if stretchable(k, key)]
        usable = []
        for other, data in reversed(found):
            template = Template.from_json(other, data)
            if template is not None:
                usable.append((other, template))
        return usable

    def reply_shape(self, operation: str) -> ReplyShape | EncodedReplyShape | None:
        """The reply shape an earlier run learned for ``operation``, if it checks out."""
        with self._lock:
            self._load()
            data = self._replies.get(operation)
        if data is None:
            return None
        kind = EncodedReplyShape if self.style.encoded else ReplyShape
        return kind.from_json(data)

    def keep_template(self, key: Hashable, template: Template, lock: threading.Lock) -> None:
        """Add a template zeep's envelope just gave (``lock``: the one its copies are made
        under), and write the file."""
        data = template.to_json(key, lock)
        with self._lock:
            self._load()
            assert self._templates is not None
            self._templates.pop(key, None)
            self._templates[key] = data
            while len(self._templates) > MAX_TEMPLATES:
                del self._templates[next(iter(self._templates))]
            self._write()

    def keep_reply_shape(self, operation: str, shape: ReplyShape | EncodedReplyShape) -> None:
        """Add a reply shape zeep's reading just confirmed, and write the file."""
        with self._lock:
            self._load()
            self._replies[operation] = shape.to_json()
            self._write()

    # ------------------------------------------------------------------------------ file
    def _load(self) -> None:
        """Read the file once; anything not to be trusted reads as nothing learned."""
        if self._templates is not None:
            return
        self._templates = {}
        data = self._read()
        identity = self.identity()
        if not isinstance(data, dict) or identity is None or data.get("identity") != identity:
            return
        templates, replies = data.get("templates"), data.get("replies")
        if isinstance(templates, list):
            for entry in templates:
                key = key_from_json(entry[0]) if isinstance(entry, list) and entry else None
                if key is not None and len(entry) == 2:
                    self._templates[key] = entry[1]
        if isinstance(replies, dict):
            self._replies = {op: shape for op, shape in replies.items() if isinstance(op, str)}

    def _read(self) -> Any:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            if not is_private(os.stat(self.config_dir), stat.S_ISDIR):
                return None
            fd = os.open(self.path, flags)
        except OSError:  # none yet (the usual first time), or not ours to read
            return None
        try:
            info = os.fstat(fd)
            if not is_private(info, stat.S_ISREG) or info.st_size > MAX_SIZE:
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return json.loads(handle.read(MAX_SIZE + 1))
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def _write(self) -> None:
        """Replace the file with what is known now; quietly nothing where that cannot be done."""
        identity = self.identity()
        try:
            if identity is None or not is_private(os.stat(self.config_dir), stat.S_ISDIR):
                return
        except OSError:
            return
        data = {
            "identity": identity,
            "templates": [[key_to_json(k), v] for k, v in (self._templates or {}).items()],
            "replies": self._replies,
        }
        with contextlib.suppress(OSError):
            write_json_atomically(self.path, data)

    def identity(self) -> dict[str, Any] | None:
        """What the file must have been written for; None where that cannot be known (no
        zeep metadata, modules not in files): nothing is then read or written."""
        if self._identity is None:
            self._identity = _identity(self.style)
        return self._identity or None


def _identity(style: SoapStyle) -> dict[str, Any]:
    import hashlib
    from importlib import metadata, resources

    from lxml import etree

    try:
        zeep_version = metadata.version("zeep")
        data = resources.files("clicksms")
        wsdl = hashlib.sha256()
        for resource in (style.wsdl, *sorted(style.schemas.values())):
            wsdl.update(data.joinpath(resource).read_bytes())
        here = Path(__file__).parent
        code = []
        for name in _WRITERS:
            info = (here / name).stat()
            code.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    except (metadata.PackageNotFoundError, OSError):  # nothing to tell versions apart by
        return {}
    return {
        "format": FORMAT,
        "clicksms": __version__,
        "code": code,
        "zeep": zeep_version,
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "style": style.name,
        "wsdl": wsdl.hexdigest(),
    }
