"""Hold and resume of orders and lines (core/fulfilment/holds.py): the mutations, merged into
``Mutation`` by ``schema.build``. ``orderResume`` (schema/mutations.py) resumes a held order as
well as one waiting in a stage."""

from __future__ import annotations

import strawberry

from om_graph.core.fulfilment.holds import LineRef
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import node_id
from om_graph.schema.mutations import UserError, _mutation, _order_detail
from om_graph.schema.types.ordering import Order

_VERSION = "The order version you saw (optimistic lock): CONFLICT when it changed since."


@prepared_input
@strawberry.input
class OrderHoldInput:
    id: strawberry.ID
    reason: str = strawberry.field(description="Why the work stops (required, at most 500 characters).")
    version: int | None = strawberry.field(default=None, description=_VERSION)


@prepared_input
@strawberry.input
class OrderLineHoldInput:
    order_id: strawberry.ID
    line_number: int | None = strawberry.field(default=None, description="The line by its number (or give lineId).")
    line_id: strawberry.ID | None = strawberry.field(default=None, description="The line by its id (or give lineNumber).")
    reason: str = strawberry.field(description="Why the line's work stops (required, at most 500 characters).")
    version: int | None = strawberry.field(default=None, description=_VERSION)


@prepared_input
@strawberry.input
class OrderLineResumeInput:
    order_id: strawberry.ID
    line_number: int | None = strawberry.field(default=None, description="The line by its number (or give lineId).")
    line_id: strawberry.ID | None = strawberry.field(default=None, description="The line by its id (or give lineNumber).")
    version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.type
class OrderHoldPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderLineHoldPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderLineResumePayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _line(input: OrderLineHoldInput | OrderLineResumeInput) -> LineRef:
    line_id = node_id(input.line_id, "OrderLine", "lineId") if input.line_id is not None else None
    return LineRef(line_number=input.line_number, line_id=line_id)


@strawberry.type
class HoldMutations:
    @_mutation(
        "Hold an in-progress order (order:hold): none of its tasks is claimed, released or completed until "
        "orderResume; running work finishes. Its SLA clock stops (due dates move by the time held)."
    )
    async def order_hold(self, info: Info, input: OrderHoldInput) -> OrderHoldPayload:
        ctx = info.context

        def call():
            return ctx.services.holds.hold_order(ctx.acting, node_id(input.id, "Order", "id"), input.reason, input.version)

        order = await ctx.call(call)
        return OrderHoldPayload(order=await _order_detail(info, order.id))

    @_mutation(
        "Hold an in-progress line of an order (order:hold), as orderHold does the whole order; orderLineResume resumes it."
    )
    async def order_line_hold(self, info: Info, input: OrderLineHoldInput) -> OrderLineHoldPayload:
        ctx = info.context

        def call():
            order_id = node_id(input.order_id, "Order", "orderId")
            return ctx.services.holds.hold_line(ctx.acting, order_id, _line(input), input.reason, input.version)

        order = await ctx.call(call)
        return OrderLineHoldPayload(order=await _order_detail(info, order.id))

    @_mutation("Resume a held line (order:hold): its work continues and its due dates move by the time held.")
    async def order_line_resume(self, info: Info, input: OrderLineResumeInput) -> OrderLineResumePayload:
        ctx = info.context

        def call():
            order_id = node_id(input.order_id, "Order", "orderId")
            return ctx.services.holds.resume_line(ctx.acting, order_id, _line(input), input.version)

        order = await ctx.call(call)
        return OrderLineResumePayload(order=await _order_detail(info, order.id))
