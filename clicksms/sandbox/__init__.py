"""A local, standard-library-only Clickatell Document/Literal SOAP server for tests and demos.

It follows the wire reference (shared API.md), not our client, so it can catch client bugs.
Magic destination numbers with fixed outcomes are listed in ``MAGIC_NUMBERS`` (send-time
errors) and ``MAGIC_STATUSES`` (accepted, fixed final status), plus one number whose
routecoverage answer is ``ERR: 901``; see ``clicksms.sandbox.gateway`` for them and the
message lifecycle. User ``frozen`` answers ``ERR: 004, Account frozen``.
"""

from __future__ import annotations

from clicksms.sandbox.clock import Clock, ManualClock
from clicksms.sandbox.config import DEFAULT_COVERAGE, SandboxConfig, parse_coverage
from clicksms.sandbox.gateway import MAGIC_NUMBERS, MAGIC_STATUSES, Gateway
from clicksms.sandbox.server import ENDPOINT_PATH, Sandbox

__all__ = [
    "DEFAULT_COVERAGE",
    "ENDPOINT_PATH",
    "MAGIC_NUMBERS",
    "MAGIC_STATUSES",
    "Clock",
    "Gateway",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
    "parse_coverage",
]
