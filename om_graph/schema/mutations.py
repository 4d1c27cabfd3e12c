"""Mutations: decode input, call one core service, map domain errors to typed payload errors."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from om_graph.core.errors import DomainError
from om_graph.schema.context import Info
from om_graph.schema.inputs import (
    OrderCreateInput,
    OrderSubmitInput,
    OrderUpdateInput,
    TaskCompleteInput,
    characteristic_map,
    node_id,
    to_order_input,
)
from om_graph.schema.types import Order, Task


@strawberry.type(description="An expected problem with the input or the request; nothing was changed.")
class UserError:
    field: str | None
    message: str
    code: str


@strawberry.type
class OrderCreatePayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderUpdatePayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderSubmitPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TaskCompletePayload:
    task: Task | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _errors(exc: DomainError) -> list[UserError]:
    return [UserError(field=e.field or None, message=e.message, code=e.code) for e in exc.errors]


async def _order_detail(info: Info, order_id: int) -> Order:
    detail = await info.context.run(info.context.services.queries.order, info.context.actor, order_id)
    return Order.from_detail(detail)


async def _run(info: Info, payload: type, call: Callable[[], object]):
    try:
        return await info.context.call(call)
    except DomainError as exc:
        return payload(errors=_errors(exc))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a draft order.")
    async def order_create(self, info: Info, input: OrderCreateInput) -> OrderCreatePayload:
        ctx = info.context

        def call():
            data = to_order_input(input, input.customer_id, input.idempotency_key)
            return ctx.services.orders.create(ctx.actor, data)

        result = await _run(info, OrderCreatePayload, call)
        if isinstance(result, OrderCreatePayload):
            return result
        return OrderCreatePayload(order=await _order_detail(info, result.id))

    @strawberry.mutation(description="Replace a draft order's lines and header fields.")
    async def order_update(self, info: Info, input: OrderUpdateInput) -> OrderUpdatePayload:
        ctx = info.context

        def call():
            order_id = node_id(input.id, "Order", "id")
            return ctx.services.orders.update(ctx.actor, order_id, to_order_input(input, "", None), input.version)

        result = await _run(info, OrderUpdatePayload, call)
        if isinstance(result, OrderUpdatePayload):
            return result
        return OrderUpdatePayload(order=await _order_detail(info, result.id))

    @strawberry.mutation(description="Submit a draft order for processing.")
    async def order_submit(self, info: Info, input: OrderSubmitInput) -> OrderSubmitPayload:
        ctx = info.context

        def call():
            return ctx.services.orders.submit(ctx.actor, node_id(input.id, "Order", "id"), input.version)

        result = await _run(info, OrderSubmitPayload, call)
        if isinstance(result, OrderSubmitPayload):
            return result
        return OrderSubmitPayload(order=await _order_detail(info, result.id))

    @strawberry.mutation(description="Complete a manual task (a work order) as the person who did the work.")
    async def task_complete(self, info: Info, input: TaskCompleteInput) -> TaskCompletePayload:
        ctx = info.context

        def call():
            task_id = node_id(input.id, "Task", "id")
            return ctx.services.orders.complete_task(ctx.actor, task_id, characteristic_map(input.characteristics, "characteristics"))

        result = await _run(info, TaskCompletePayload, call)
        if isinstance(result, TaskCompletePayload):
            return result
        order = await _order_detail(info, result.order_id)
        task = next(t for d in order.domain_orders for t in d.tasks if t.id == result.id)
        return TaskCompletePayload(task=task, order=order)
