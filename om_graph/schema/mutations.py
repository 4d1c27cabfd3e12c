"""Mutations: decode input, call one core service, map domain errors to typed payload errors."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from om_graph.core.kernel.errors import FieldError
from om_graph.core.reads.queries import OrderDetail
from om_graph.schema.context import ErrorsInPayload, Info
from om_graph.schema.enums import OrderInitialState
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import (
    OrderCreateInput,
    OrderSubmitInput,
    OrderUpdateInput,
    TaskCompleteInput,
    characteristic_map,
    node_id,
    to_order_input,
)
from om_graph.schema.queries import requested_children
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


@prepared_input
@strawberry.input
class OrderResumeInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.type
class OrderResumePayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TaskCompletePayload:
    task: Task | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _user_error(e: FieldError) -> UserError:
    return UserError(field=e.field or None, message=e.message, code=e.code)


def _mutation(description: str):
    """A mutation whose expected domain errors are its payload's errors."""
    return strawberry.mutation(description=description, extensions=[ErrorsInPayload(_user_error)])


async def _order_detail(info: Info, order_id: int, path: tuple[str, ...] = ("order",)) -> Order:
    """The order as the payload's selection asks for it (children loaded only when selected)."""
    include = requested_children(info, path)
    found = await info.context.call(info.context.services.queries.orders_by_id, info.context.actor, [order_id], include)
    return Order.from_detail(found[order_id])


async def _order_payload(info: Info, payload: type, call: Callable[[], object]):
    order = await info.context.call(call)
    if requested_children(info, ("order",)) <= {"lines"}:
        # The service returned the order with its lines: no need to read it back.
        return payload(order=Order.from_detail(OrderDetail(order, lines=order.lines)))
    return payload(order=await _order_detail(info, order.id))


@strawberry.type
class Mutation:
    @_mutation("Create a draft order.")
    async def order_create(self, info: Info, input: OrderCreateInput) -> OrderCreatePayload:
        ctx = info.context

        def call():
            data = to_order_input(input, input.customer_id, input.idempotency_key)
            submit = input.requested_initial_state is OrderInitialState.ACKNOWLEDGED
            return ctx.services.orders.create(ctx.acting, data, submit=submit)

        return await _order_payload(info, OrderCreatePayload, call)

    @_mutation("Replace a draft order's lines and header fields.")
    async def order_update(self, info: Info, input: OrderUpdateInput) -> OrderUpdatePayload:
        ctx = info.context

        def call():
            order_id = node_id(input.id, "Order", "id")
            return ctx.services.orders.update(ctx.acting, order_id, to_order_input(input, "", None), input.version)

        return await _order_payload(info, OrderUpdatePayload, call)

    @_mutation("Submit a draft order for processing.")
    async def order_submit(self, info: Info, input: OrderSubmitInput) -> OrderSubmitPayload:
        ctx = info.context

        def call():
            return ctx.services.orders.submit(ctx.acting, node_id(input.id, "Order", "id"), input.version)

        return await _order_payload(info, OrderSubmitPayload, call)

    @_mutation(
        "Resume an order: a held one (state HELD; order:hold) continues its work, its due dates moved by the time "
        "held; one waiting in a stage (stage ENRICHMENT_WAITING) runs the stage again."
    )
    async def order_resume(self, info: Info, input: OrderResumeInput) -> OrderResumePayload:
        ctx = info.context

        def call():
            return ctx.services.holds.resume_order(ctx.acting, node_id(input.id, "Order", "id"), input.version)

        order = await ctx.call(call)  # without its lines: read back as the selection asks
        return OrderResumePayload(order=await _order_detail(info, order.id))

    @_mutation("Complete a manual task (a work order) as the person who did the work.")
    async def task_complete(self, info: Info, input: TaskCompleteInput) -> TaskCompletePayload:
        ctx = info.context

        def call():
            task_id = node_id(input.id, "Task", "id")
            return ctx.services.processing.complete_task(
                ctx.acting, task_id, characteristic_map(input.characteristics, "characteristics")
            )

        task_row = await ctx.call(call)
        found = await ctx.call(ctx.services.queries.nodes, ctx.actor, tasks=[task_row.id])
        task = found.tasks.get(task_row.id)
        order = await _order_detail(info, task_row.order_id)
        return TaskCompletePayload(task=Task.from_row(task, found.related) if task else None, order=order)
