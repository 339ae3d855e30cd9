"""The command line: the only package that imports Typer and rich.

Commands parse flags, call the core and render what it returns. Like ``app.py``, the command
modules do without ``from __future__ import annotations`` (Typer would ``eval()`` every string
annotation at start-up) and import core modules inside each command, so ``clicksms --help``
and tab completion load none of zeep, lxml, requests or phonenumbers.
"""

from clicksms.cli.app import app, main

__all__ = ["app", "main"]
