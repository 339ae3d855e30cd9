"""One module per group of Typer commands; :mod:`clicksms.cli` registers them on the app.

Like ``cli.py`` these modules do without ``from __future__ import annotations`` (Typer would
``eval()`` every string annotation at start-up) and import core modules inside each command,
so ``clicksms --help`` and tab completion load none of zeep, lxml, requests or phonenumbers.
"""
