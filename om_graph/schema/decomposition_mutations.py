"""Staggered decomposition (core/fulfilment/staggered.py): supplying the characteristics a line's
parked parts wait for. Merged into ``Mutation`` by ``schema.build``."""

from __future__ import annotations

import strawberry

from om_graph.core.fulfilment.holds import LineRef
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import CharacteristicInput, characteristic_map, node_id
from om_graph.schema.mutations import UserError, _mutation, _order_detail
from om_graph.schema.types.ordering import Order


@prepared_input
@strawberry.input
class OrderLineCharacteristicsSupplyInput:
    order_id: strawberry.ID
    line_number: int | None = strawberry.field(default=None, description="The line by its number (or give lineId).")
    line_id: strawberry.ID | None = strawberry.field(default=None, description="The line by its id (or give lineNumber).")
    characteristics: list[CharacteristicInput] = strawberry.field(
        description="Values the line does not have yet, checked against its offering."
    )
    version: int | None = strawberry.field(
        default=None, description="The order version you saw (optimistic lock): CONFLICT when it changed since."
    )


@strawberry.type
class OrderLineCharacteristicsSupplyPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecompositionMutations:
    @_mutation(
        "Supply characteristics an in-flight line lacks (order:capture; a customer on their own orders): the parts "
        "of its decomposition waiting for them are built and run, and the line leaves PENDING once nothing waits. "
        "A value the line already holds is refused (ALREADY_SET): changing one is a modify order."
    )
    async def order_line_characteristics_supply(
        self, info: Info, input: OrderLineCharacteristicsSupplyInput
    ) -> OrderLineCharacteristicsSupplyPayload:
        ctx = info.context

        def call():
            order_id = node_id(input.order_id, "Order", "orderId")
            line_id = node_id(input.line_id, "OrderLine", "lineId") if input.line_id is not None else None
            values = characteristic_map(input.characteristics, "characteristics")
            ref = LineRef(line_number=input.line_number, line_id=line_id)
            return ctx.services.line_supply.supply(ctx.acting, order_id, ref, values, input.version)

        order = await ctx.call(call)
        return OrderLineCharacteristicsSupplyPayload(order=await _order_detail(info, order.id))
