"""The billing handler every TSM product uses.

Handler conventions in this pack (helpers from :mod:`om_graph.api`):

* identifiers come from :mod:`om_graph_tsm.southbound`, derived from ``ctx.idempotency_key``;
* a value the domain order already carries (for example ``ontSerial`` on a modify) is kept, not
  re-allocated (``keep_or``);
* everything done against a simulated system is recorded under the idempotency key
  (``recorded_outcome``), and ``undo`` releases exactly that record, so both are safe to repeat.
"""

from __future__ import annotations

from om_graph.api import (
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
    original,
    recorded_outcome,
    released_outcome,
    simulated_handler,
)
from om_graph_tsm import southbound as ids
from om_graph_tsm.southbound import BILLING

# Every action the billing task template opts into (catalog_common.BILLING_TASK: ALL_ACTIONS).
_BILLING_OPERATION = {"add": "start", "modify": "rerate", "delete": "stop", "suspend": "pause", "resume": "restart"}


def billing_sync(ctx: TaskContext) -> TaskOutcome:
    operation = _BILLING_OPERATION.get(ctx.action)
    if operation is None:
        raise TaskHandlerError(f"billing cannot handle action {ctx.action!r}", code="UNSUPPORTED_ACTION")
    reference = f"BIL-{operation.upper()}-{ids.token(ctx.idempotency_key, 'billing', 10)}"
    return recorded_outcome(
        BILLING,
        ctx,
        {"billingEventReference": reference},
        f"billing {operation} for line {ctx.line_id}",
        customerId=ctx.customer_id,
        operation=operation,
    )


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def reverse_billing_event(ctx: TaskContext) -> TaskOutcome:
    """Reverses the billing event (a start, re-rate or stop) the compensated task posted."""
    return released_outcome(BILLING, ctx, f"billing event {original(ctx, 'billingEventReference')} reversed")


COMMON_HANDLERS = (
    simulated_handler(
        "tsm.billing-sync",
        billing_sync,
        BILLING,
        "Starts, re-rates or stops charging for a product in the billing system.",
        undo=reverse_billing_event,
    ),
)
