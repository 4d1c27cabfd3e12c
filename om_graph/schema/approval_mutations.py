"""Manual enrichment tasks and approval: the mutations (merged into ``Mutation`` by
``schema.build``). Thin: decode the input, one core call, the payload read back."""

from __future__ import annotations

import strawberry

from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import CharacteristicInput, characteristic_map, node_id
from om_graph.schema.mutations import UserError, _mutation, _order_detail
from om_graph.schema.types.approval import EnrichmentTask
from om_graph.schema.types.ordering import Order


@prepared_input
@strawberry.input
class EnrichmentTaskCompleteInput:
    id: strawberry.ID
    characteristics: list[CharacteristicInput] = strawberry.field(
        default_factory=list, description="The values of every characteristic the task captures."
    )


@strawberry.type
class EnrichmentTaskCompletePayload:
    task: EnrichmentTask | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@prepared_input
@strawberry.input
class OrderApproveInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="The order version you reviewed (optimistic lock).")
    comment: str | None = None


@prepared_input
@strawberry.input
class OrderRejectInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="The order version you reviewed (optimistic lock).")
    reason: str = strawberry.field(description="Why the order goes back to its agent (required).")


@strawberry.type
class OrderApprovePayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderRejectPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApprovalMutations:
    @_mutation(
        "Complete a manual enrichment task with the characteristics it captures (written to its order line); "
        "the last open task of an order moves the order on."
    )
    async def enrichment_task_complete(self, info: Info, input: EnrichmentTaskCompleteInput) -> EnrichmentTaskCompletePayload:
        ctx = info.context

        def call():
            task_id = node_id(input.id, "EnrichmentTask", "id")
            values = characteristic_map(input.characteristics, "characteristics")
            return ctx.services.enrichment.complete(ctx.acting, task_id, values)

        task = await ctx.call(call)
        order = await _order_detail(info, task.order_id)
        return EnrichmentTaskCompletePayload(task=EnrichmentTask.from_row(task), order=order)

    @_mutation(
        "Approve the level an order waiting for approval is at (stage APPROVAL_WAITING). The last level moves the "
        "order on. The submitter never approves their own order, and one person approves one level of a round."
    )
    async def order_approve(self, info: Info, input: OrderApproveInput) -> OrderApprovePayload:
        ctx = info.context

        def call():
            return ctx.services.approvals.approve(ctx.acting, node_id(input.id, "Order", "id"), input.version, input.comment)

        order = await ctx.call(call)
        return OrderApprovePayload(order=await _order_detail(info, order.id))

    @_mutation(
        "Reject an order waiting for approval, with a reason: it returns to its agent as a draft (editable with "
        "orderUpdate, resubmitted with orderSubmit, which starts a new approval round)."
    )
    async def order_reject(self, info: Info, input: OrderRejectInput) -> OrderRejectPayload:
        ctx = info.context

        def call():
            return ctx.services.approvals.reject(ctx.acting, node_id(input.id, "Order", "id"), input.version, input.reason)

        order = await ctx.call(call)
        return OrderRejectPayload(order=await _order_detail(info, order.id))
