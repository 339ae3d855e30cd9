"""A local, standard-library-only Clickatell Document/Literal SOAP server for tests and demos.

It follows the wire reference (shared API.md), not our client, so it can catch client bugs.
Magic destination numbers with fixed outcomes are listed in ``MAGIC_NUMBERS`` (see
``clicksms.sandbox.gateway``); user ``frozen`` answers ``ERR: 004, Account frozen``.
"""

from __future__ import annotations

from clicksms.sandbox.clock import Clock, ManualClock
from clicksms.sandbox.config import SandboxConfig
from clicksms.sandbox.gateway import MAGIC_NUMBERS, Gateway
from clicksms.sandbox.server import ENDPOINT_PATH, Sandbox

__all__ = [
    "ENDPOINT_PATH",
    "MAGIC_NUMBERS",
    "Clock",
    "Gateway",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
]
