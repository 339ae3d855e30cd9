"""``bulk --dry-run``: what a job would send and cost, reading the whole file, sending nothing.

Memory stays flat however long the file: rows are counted as they stream past, and only the
first problems are kept in detail. The charge is estimated as ``send --dry-run`` does it
(:func:`clicksms.preview.ask_routes` and :func:`~clicksms.preview.price`), asking once per
number prefix (the route's lowest single-part charge × the parts on that prefix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clicksms.bulk.events import EventSink, ignore
from clicksms.bulk.job import NewJob, planned_rows
from clicksms.bulk.plan import PlanSummary
from clicksms.errors import ClickSmsError, ExitCode, UsageError, counts_exit_code
from clicksms.preview import ChargeEstimate, ask_routes, price

if TYPE_CHECKING:
    from clicksms.gateway.client import GatewayClient


@dataclass(frozen=True)
class DryRun:
    """What the job would do: the plan's counts and, when the account answered, the charge."""

    plan: PlanSummary
    charge: ChargeEstimate | None  # None: nothing to send, or offline
    offline: ClickSmsError | None = None  # why the charge was not estimated

    @property
    def exit_code(self) -> ExitCode:
        """As the real run would end for the rows themselves."""
        plan, not_covered = self.plan, self.charge.not_covered if self.charge else 0
        return counts_exit_code(
            plan.messages - not_covered, plan.invalid + plan.duplicates + not_covered
        )


def dry_run(
    new: NewJob, *, client: Callable[[], GatewayClient], on_event: EventSink = ignore
) -> DryRun:
    """Plan every row of ``new`` and estimate its charge; ``client`` must never prompt."""
    summary = PlanSummary()
    with planned_rows(new, on_event) as planner:
        for planned in planner.rows():
            summary.add(planned)
        if summary.rows == 0:
            raise UsageError(f"{planner.source.name} has no data rows")
    if not summary.prefixes:
        return DryRun(summary, None)
    routes = ask_routes(client, (summary.examples[p] for p in summary.prefixes))
    if routes.offline is not None:
        return DryRun(summary, None, routes.offline)
    charge = ChargeEstimate()
    for prefix, parts in summary.prefixes.items():
        number = summary.examples[prefix]  # the first number seen on that prefix
        priced = price(routes.answers.get(number), parts)
        charge.add(priced.status, priced.charge, summary.prefix_messages[prefix])
    return DryRun(summary, charge)
