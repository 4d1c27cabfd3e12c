"""The billing handler both TPSM products use (handler helpers come from :mod:`om_graph.api`)."""

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
from om_graph_tpsm import southbound as ids
from om_graph_tpsm.southbound import BILLING

_OPERATION = {"add": "start", "modify": "change", "delete": "stop"}


def billing_sync(ctx: TaskContext) -> TaskOutcome:
    operation = _OPERATION.get(ctx.action)
    if operation is None:
        raise TaskHandlerError(f"billing cannot handle action {ctx.action!r}", code="UNSUPPORTED_ACTION")
    reference = f"SUB-{operation.upper()}-{ids.token(ctx.idempotency_key, 'billing', 10)}"
    return recorded_outcome(
        BILLING, ctx, {"billingEventReference": reference}, f"subscription billing {operation}", customerId=ctx.customer_id
    )


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def reverse_billing_event(ctx: TaskContext) -> TaskOutcome:
    """Reverses the subscription event (a start, change or stop) the compensated task posted."""
    return released_outcome(BILLING, ctx, f"subscription event {original(ctx, 'billingEventReference')} reversed")


COMMON_HANDLERS = (
    simulated_handler(
        "tpsm.billing-sync",
        billing_sync,
        BILLING,
        "Starts, changes or stops the subscription in billing.",
        undo=reverse_billing_event,
    ),
)
