"""The core never prints: importing it loads neither the CLI nor its terminal libraries.

Every module of the core packages (and the core's top-level modules) is imported in a fresh
interpreter, found by walking the packages, so a module added later is checked too.
"""

from __future__ import annotations

import sys

import helpers

CORE = (
    "clicksms.gateway",
    "clicksms.message",
    "clicksms.bulk",
    "clicksms.send",
    "clicksms.tracking",
    "clicksms.preview",
    "clicksms.queries",
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
