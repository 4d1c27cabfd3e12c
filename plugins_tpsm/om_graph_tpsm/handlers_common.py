"""The billing handler both TPSM products use (handler helpers come from :mod:`om_graph.api`)."""

from __future__ import annotations

from om_graph.api import TaskContext, TaskHandlerError, TaskOutcome, recorded_outcome, simulated_handler
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


COMMON_HANDLERS = (
    simulated_handler("tpsm.billing-sync", billing_sync, BILLING, "Starts, changes or stops the subscription in billing."),
)
