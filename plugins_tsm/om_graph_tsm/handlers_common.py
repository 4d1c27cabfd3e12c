"""Helpers shared by the TSM task handlers, and the billing handler every product uses.

Handler conventions in this pack:

* identifiers come from :mod:`om_graph_tsm.southbound`, derived from ``ctx.idempotency_key``;
* a value the domain order already carries (for example ``ontSerial`` on a modify) is kept, not
  re-allocated;
* everything done against a simulated system is recorded under the idempotency key, and ``undo``
  releases exactly that record, so both are safe to repeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from om_graph.core.catalog.extensions import (
    TaskContext,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
)
from om_graph_tsm import southbound as ids
from om_graph_tsm.southbound import BILLING, SimulatedSystem


def require(ctx: TaskContext, name: str, *, retryable: bool = False) -> Any:
    """The characteristic ``name`` of the domain order, or a handler error naming it."""
    value = ctx.characteristics.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TaskHandlerError(
            f"{ctx.spec_key}: characteristic {name!r} is missing for task {ctx.task_key}",
            code="MISSING_CHARACTERISTIC",
            retryable=retryable,
        )
    return value


def slug(text: str, max_length: int = 24) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_length].strip("-")


def record(system: SimulatedSystem, ctx: TaskContext, outputs: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Record the operation in ``system`` (a retry gets the first record back) and return it."""
    return system.allocate(
        ctx.idempotency_key,
        {"task": ctx.task_key, "action": ctx.action, "orderId": ctx.order_id, **extra, **outputs},
    )


def release_in(system: SimulatedSystem) -> Callable[[TaskContext], None]:
    """An ``undo`` that releases what ``do`` recorded in ``system`` for the same idempotency key."""

    def undo(ctx: TaskContext) -> None:
        system.release(ctx.idempotency_key)

    undo.__name__ = f"release_in_{system.name.replace('-', '_')}"
    return undo


def keep_or(ctx: TaskContext, name: str, make: Callable[[], Any]) -> Any:
    """The value the domain order already has for ``name`` (modify), or a newly derived one."""
    existing = ctx.characteristics.get(name)
    return existing if existing not in (None, "") else make()


def outcome(system: SimulatedSystem, ctx: TaskContext, outputs: dict[str, Any], message: str, **extra: Any) -> TaskOutcome:
    recorded = record(system, ctx, outputs, **extra)
    return TaskOutcome(characteristics={k: recorded[k] for k in outputs}, message=message)


# --- billing -------------------------------------------------------------------------------------

_BILLING_OPERATION = {"add": "start", "modify": "rerate", "delete": "stop"}


def billing_sync(ctx: TaskContext) -> TaskOutcome:
    operation = _BILLING_OPERATION.get(ctx.action)
    if operation is None:
        raise TaskHandlerError(f"billing cannot handle action {ctx.action!r}", code="UNSUPPORTED_ACTION")
    reference = f"BIL-{operation.upper()}-{ids.token(ctx.idempotency_key, 'billing', 10)}"
    return outcome(
        BILLING,
        ctx,
        {"billingEventReference": reference},
        f"billing {operation} for line {ctx.line_id}",
        customerId=ctx.customer_id,
        operation=operation,
    )


COMMON_HANDLERS = (
    TaskHandler(
        key="tsm.billing-sync",
        do=billing_sync,
        undo=release_in(BILLING),
        description="Starts, re-rates or stops charging for a product in the billing system.",
    ),
)
