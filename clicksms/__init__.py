"""clicksms: send SMS through Clickatell's SOAP API from the command line."""

from __future__ import annotations

__version__ = "0.1.0"
