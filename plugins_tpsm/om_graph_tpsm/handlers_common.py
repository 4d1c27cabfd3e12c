"""Helpers shared by the TPSM handlers, and the billing handler both products use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from om_graph.core.catalog.extensions import (
    TaskContext,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
)
from om_graph_tpsm import southbound as ids
from om_graph_tpsm.southbound import BILLING, SimulatedSystem


def require(ctx: TaskContext, name: str, *, retryable: bool = False) -> Any:
    value = ctx.characteristics.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TaskHandlerError(
            f"{ctx.spec_key}: characteristic {name!r} is missing for task {ctx.task_key}",
            code="MISSING_CHARACTERISTIC",
            retryable=retryable,
        )
    return value


def outcome(system: SimulatedSystem, ctx: TaskContext, outputs: dict[str, Any], message: str, **extra: Any) -> TaskOutcome:
    """Record the operation under the idempotency key (a retry gets the first record back)."""
    recorded = system.allocate(
        ctx.idempotency_key, {"task": ctx.task_key, "action": ctx.action, "orderId": ctx.order_id, **extra, **outputs}
    )
    return TaskOutcome(characteristics={k: recorded[k] for k in outputs}, message=message)


def release_in(system: SimulatedSystem) -> Callable[[TaskContext], None]:
    def undo(ctx: TaskContext) -> None:
        system.release(ctx.idempotency_key)

    undo.__name__ = f"release_in_{system.name.replace('-', '_')}"
    return undo


def handler(key: str, do: Callable[[TaskContext], TaskOutcome], system: SimulatedSystem, description: str) -> TaskHandler:
    return TaskHandler(key=key, do=do, undo=release_in(system), description=description)


_OPERATION = {"add": "start", "modify": "change", "delete": "stop"}


def billing_sync(ctx: TaskContext) -> TaskOutcome:
    operation = _OPERATION.get(ctx.action)
    if operation is None:
        raise TaskHandlerError(f"billing cannot handle action {ctx.action!r}", code="UNSUPPORTED_ACTION")
    reference = f"SUB-{operation.upper()}-{ids.token(ctx.idempotency_key, 'billing', 10)}"
    return outcome(
        BILLING, ctx, {"billingEventReference": reference}, f"subscription billing {operation}", customerId=ctx.customer_id
    )


COMMON_HANDLERS = (handler("tpsm.billing-sync", billing_sync, BILLING, "Starts, changes or stops the subscription in billing."),)
