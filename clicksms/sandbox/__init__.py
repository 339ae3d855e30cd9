"""A local, standard-library-only Clickatell Document/Literal SOAP server for tests and demos.

It follows the wire reference (shared API.md), not our client, so it can catch client bugs.
Magic destination numbers with fixed outcomes are listed in ``MAGIC_NUMBERS`` (send-time
errors) and ``MAGIC_STATUSES`` (accepted, fixed final status), plus one number whose
routecoverage answer is ``ERR: 901``; see ``clicksms.sandbox.gateway`` for them and the
message lifecycle. User ``frozen`` answers ``ERR: 004, Account frozen``. ``Sandbox.faults``
injects network and gateway failures (see ``clicksms.sandbox.faults``).
"""

from __future__ import annotations

from clicksms.sandbox.clock import Clock, ManualClock
from clicksms.sandbox.config import DEFAULT_COVERAGE, SandboxConfig, parse_coverage
from clicksms.sandbox.faults import KINDS as FAULT_KINDS
from clicksms.sandbox.faults import Fault, Faults, parse_spec
from clicksms.sandbox.gateway import MAGIC_NUMBERS, MAGIC_STATUSES, Gateway
from clicksms.sandbox.server import CONTROL_PATH, ENDPOINT_PATH, Sandbox

__all__ = [
    "CONTROL_PATH",
    "DEFAULT_COVERAGE",
    "ENDPOINT_PATH",
    "FAULT_KINDS",
    "MAGIC_NUMBERS",
    "MAGIC_STATUSES",
    "Clock",
    "Fault",
    "Faults",
    "Gateway",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
    "parse_coverage",
    "parse_spec",
]
