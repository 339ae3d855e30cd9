"""A request as the operations see it: named string values, whatever SOAP style carried them.

A codec (``soapxml`` for Document/Literal, ``rpcxml`` for RPC/Encoded) turns an envelope into
``(name, value)`` pairs in the order sent, with ``None`` for an explicit nil; the operations
read those through ``Fields`` and never see XML. Repeated names (``to``) keep every value, and
the RPC spelling ``cliMsgId`` reads as ``climsgid`` (API.md §2.3).
"""

from __future__ import annotations

from typing import Any

Pairs = list[tuple[str, str | None]]

#: Spellings that mean the same field (API.md §2.3: RPC's ``cliMsgId``).
ALIASES = {"cliMsgId": "climsgid"}
#: Never copied into a ledger record's ``fields``: secrets, and ``to`` has its own key.
NOT_LOGGED = frozenset({"session_id", "api_id", "user", "password", "to"})


class Fields:
    """Request children by name; an absent or nil field reads as None.

    ``fractional``: the fields the request's WSDL types xsd:float rather than xsd:int, so a
    value with a fraction is legal in them (API.md §2.3: max_credits over RPC only)."""

    def __init__(self, pairs: Pairs, fractional: frozenset[str] = frozenset()) -> None:
        self.pairs = list(pairs)  # as sent, for the ledger
        self.fractional = fractional
        self._logged: dict[str, Any] | None = None
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if value is None:  # xsi:nil means "not sent"
                continue
            self._values.setdefault(ALIASES.get(name, name), []).append(value)

    @classmethod
    def from_logged(cls, fields: dict[str, Any], fractional: frozenset[str]) -> Fields:
        """The inverse of ``as_sent``: a ledger record's ``fields`` back into a request."""
        pairs: Pairs = []
        for name, value in fields.items():
            pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
        return cls(pairs, fractional)

    def has(self, name: str) -> bool:
        return name in self._values

    def first(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def logged(self) -> dict[str, Any]:
        """Every field as sent except credentials and recipients (computed once per request,
        a fresh copy per call: one per accepted message)."""
        if self._logged is None:
            self._logged = as_sent([(n, v) for n, v in self.pairs if n not in NOT_LOGGED])
        return dict(self._logged)


def as_sent(pairs: Pairs) -> dict[str, Any]:
    """Fields as sent (raw names): one value per name, a list when repeated; `to` always a list."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = [value] if name == "to" else value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields
