"""Sandbox configuration (one place for every knob the CLI and tests may turn)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class SandboxConfig:
    """Settings for one sandbox server and its single Clickatell account.

    Defaults mirror the 2009 API spec where it states one (15-minute sessions,
    ``concat`` default 1); the rest are sandbox conveniences.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral; read the real one from Sandbox.port
    api_id: int = 3512345
    user: str = "sandbox"
    password: str = "sandbox-secret"
    credits: float = 1000.0  # starting balance
    route_price: float = 1.0  # credits charged per message part
    session_timeout: float = 900.0  # idle seconds before ERR 003
    default_concat: int = 1  # used when concat is absent or 0
    delivery_seconds: float = 5.0  # status 003 -> 004 after this long
    latency: float = 0.0  # seconds slept before answering each POST
    ledger_path: Path | None = None  # JSON-lines file, one record per accepted message

    def __post_init__(self) -> None:
        if self.ledger_path is not None and not isinstance(self.ledger_path, Path):
            self.ledger_path = Path(self.ledger_path)
        if self.default_concat < 1:
            raise ValueError("default_concat must be >= 1")
        if self.route_price < 0 or self.credits < 0:
            raise ValueError("credits and route_price must not be negative")
