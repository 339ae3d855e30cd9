"""The core never prints: importing it loads neither the CLI nor its terminal libraries, and
no core module writes to the terminal itself.

Every module of the core packages (and the core's top-level modules) is imported in a fresh
interpreter, found by walking the packages, so a module added later is checked too; the same
files are read for ``print(``, ``sys.stdout``, ``sys.stderr`` and ``input(``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import helpers
import pytest

import clicksms

CORE = (
    "clicksms.gateway",
    "clicksms.message",
    "clicksms.bulk",
    "clicksms.send",
    "clicksms.tracking",
    "clicksms.preview",
    "clicksms.queries",
    "clicksms.topup",
    "clicksms.config",
    "clicksms.profiles",
    "clicksms.errors",
    "clicksms.private_files",
)
UI = ("typer", "rich", "click", "clicksms.cli")

PROBE = f"""
import importlib, pkgutil, sys
imported = []
for name in {CORE!r}:
    module = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
ui = [m for m in sys.modules if m.split(".")[0] in {UI!r} or m.startswith("clicksms.cli")]
print(",".join(imported))
print(",".join(sorted(ui)))
"""


def test_importing_every_core_module_loads_no_cli() -> None:
    out = helpers.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    imported, ui = out.stdout.splitlines()
    assert {"clicksms.bulk.job", "clicksms.bulk.sender", "clicksms.gateway.client"} <= set(
        imported.split(",")
    )  # the walk found the modules that used to print
    assert ui == "", f"the core loaded {ui}"


def core_files() -> list[Path]:
    root = Path(clicksms.__file__).parent
    files: list[Path] = []
    for name in CORE:
        path = root.joinpath(*name.split(".")[1:])
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return files


def terminal_writes(source: str) -> list[str]:
    """Calls of print() or input(), and any use of sys.stdout or sys.stderr, with their line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("print", "input")
        ):
            found.append(f"line {node.lineno}: {node.func.id}()")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(f"line {node.lineno}: sys.{node.attr}")
    return found


def test_the_probe_sees_a_terminal_write() -> None:
    assert terminal_writes("import sys\nprint('x')\nsys.stderr.write('y')") == [
        "line 2: print()",
        "line 3: sys.stderr",
    ]


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.name)
def test_no_core_module_writes_to_the_terminal(path: Path) -> None:
    assert terminal_writes(path.read_text(encoding="utf-8")) == []
