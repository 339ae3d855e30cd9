"""A local, standard-library-only Clickatell SOAP server for tests and demos: the
Document/Literal server and the RPC/Encoded one (``webservice_vs.php``), on one port and one
account.

It follows the wire reference (shared API.md) and the bundled WSDLs, not our client, so it can
catch client bugs.
Magic destination numbers with fixed outcomes are listed in ``MAGIC_NUMBERS`` (send-time
errors) and ``MAGIC_STATUSES`` (accepted, fixed final status), plus one number whose
routecoverage answer is ``ERR: 901``; README's sandbox section tables them and describes the
message lifecycle. User ``frozen`` answers ``ERR: 004, Account frozen``. ``Sandbox.faults``
injects network and gateway failures (see ``clicksms.sandbox.faults``).

The modules, from the wire inwards: ``server`` (HTTP, faults acted out), ``soapxml`` (the
Document/Literal envelope codec), ``rpcxml`` (the RPC/Encoded one, strict), ``wsdl`` (what the
bundled WSDLs declare), ``gateway`` (account state and the command table),
``sendmsg`` (its checks in order, then acceptance), ``messages`` (a message's lifecycle),
``batch`` (startbatch, senditem, quicksend, endbatch), ``push`` (si_push, ind_push),
``ledger`` (the file of accepted messages, read back at start), ``fields`` (a request as
names and values), ``xmltree`` (safe XML reading), ``spec`` (API.md's tables), ``gsm`` (text
and parts), ``faults``, ``config``, ``clock``, and ``foreground`` (what ``clicksms sandbox``
runs).
"""

from __future__ import annotations

from clicksms.sandbox.clock import Clock, ManualClock
from clicksms.sandbox.config import DEFAULT_COVERAGE, SandboxConfig, parse_coverage
from clicksms.sandbox.faults import KINDS as FAULT_KINDS
from clicksms.sandbox.faults import Fault, Faults, parse_spec
from clicksms.sandbox.gateway import Gateway
from clicksms.sandbox.ledger import LedgerError
from clicksms.sandbox.server import CONTROL_PATH, CREDITS_PATH, ENDPOINT_PATH, RPC_PATH, Sandbox
from clicksms.sandbox.spec import MAGIC_NUMBERS, MAGIC_STATUSES

__all__ = [
    "CONTROL_PATH",
    "CREDITS_PATH",
    "DEFAULT_COVERAGE",
    "ENDPOINT_PATH",
    "FAULT_KINDS",
    "MAGIC_NUMBERS",
    "MAGIC_STATUSES",
    "RPC_PATH",
    "Clock",
    "Fault",
    "Faults",
    "Gateway",
    "LedgerError",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
    "parse_coverage",
    "parse_spec",
]
