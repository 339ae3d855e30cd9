"""What one bulk request sends: the seam between the sender and the operation that carries a
request's rows.

:class:`~clicksms.bulk.sender.BulkSender` decides which rows go together, when, under which
client message ID, and what the answer means for the journal; a :class:`Requests` decides how
those rows go on the wire. :class:`Sendmsg` sends each request as one ``sendmsg``;
:class:`~clicksms.bulk.batch.BatchRequests` (``bulk --batch``) as an item of a batch kept at
the gateway. Either way the answer is sendmsg's: one ``ID``/``ERR`` item per recipient, or one
``ERR`` for the whole request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from clicksms.message.options import SendOptions, sendmsg_fields

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient
    from clicksms.message.text import EncodedMessage


@dataclass(frozen=True)
class Outgoing:
    """One request's content: its recipients, their text (and its encoding), its client ID."""

    numbers: list[str]
    text: str
    message: EncodedMessage
    client_id: str


class Requests(Protocol):
    """How a job's requests go out; the run calls :meth:`open`, then :meth:`send` from its
    workers, and :meth:`close` once the job has no row left to send."""

    def open(self, account: GatewayClient) -> None:
        """Be ready to send, before the first request (nothing is sent if this fails)."""

    def kept(self) -> dict[str, Any]:
        """What the job's record keeps of this run (merged into its stored options)."""

    def shared_client_id(self, text: str) -> str | None:
        """The client message ID a request of this text carries when it is not the request's
        own (a batch's, shared by all its items); None: the sender gives it its own."""

    def prepare(self, account: GatewayClient, request: Outgoing) -> None:
        """Have what :meth:`send` of the same request needs, before its rate slot is taken
        (zeep, when the request's shape was never learned, nor stretches one). Nothing is sent."""

    def send(self, account: GatewayClient, request: Outgoing) -> list[str]:
        """Send ``request``: the answer's items."""

    def close(self, account: GatewayClient) -> None:
        """The job is finished: let go of what :meth:`open` made."""


class Sendmsg:
    """Each request is one ``sendmsg`` with the job's sender and options."""

    def __init__(self, sender: str | None, options: SendOptions) -> None:
        self.sender = sender
        self.options = options

    def open(self, account: GatewayClient) -> None:
        pass

    def kept(self) -> dict[str, Any]:
        return {}

    def shared_client_id(self, text: str) -> str | None:
        return None

    def prepare(self, account: GatewayClient, request: Outgoing) -> None:
        account.prepare("sendmsg", to=request.numbers, **self._fields(request))

    def send(self, account: GatewayClient, request: Outgoing) -> list[str]:
        return account.call("sendmsg", to=request.numbers, **self._fields(request))

    def _fields(self, request: Outgoing) -> dict[str, Any]:
        fields = sendmsg_fields(request.message, self.sender, self.options)
        fields["climsgid"] = request.client_id  # what options.client_id gives, uncopied
        return fields

    def close(self, account: GatewayClient) -> None:
        pass
