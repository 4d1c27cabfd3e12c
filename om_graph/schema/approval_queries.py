"""Manual enrichment tasks and approval: the work queues (merged into ``Query`` by ``schema.build``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from om_graph.schema.context import Info
from om_graph.schema.inputs import node_id
from om_graph.schema.queries import requested_children
from om_graph.schema.types.approval import EnrichmentTask, EnrichmentTaskState
from om_graph.schema.types.ordering import Order


async def _orders(info: Info, ids: list[int]) -> list[Order]:
    """The orders, in the queue's order, as the selection asks for them."""
    if not ids:
        return []
    ctx = info.context
    found = await ctx.call(ctx.services.queries.orders_by_id, ctx.acting, ids, requested_children(info))
    return [Order.from_detail(found[i]) for i in ids if i in found]


@strawberry.type
class ApprovalQueries:
    @strawberry.field(description="Manual enrichment tasks, oldest first: a work queue (at most 100 per call).")
    async def enrichment_tasks(
        self,
        info: Info,
        state: EnrichmentTaskState | None = None,
        role: str | None = None,
        first: int = 50,
        after: Annotated[strawberry.ID | None, strawberry.argument(description="The last task of the previous call.")] = None,
    ) -> list[EnrichmentTask]:
        ctx = info.context

        def call():
            after_id = node_id(after, "EnrichmentTask", "after") if after is not None else None
            return ctx.services.enrichment.queue(
                ctx.acting, state=state.value if state is not None else None, role=role, first=first, after=after_id
            )

        return [EnrichmentTask.from_row(row) for row in await ctx.call(call)]

    @strawberry.field(description="Orders waiting for approval at a level the role approves, longest waiting first.")
    async def approval_queue(self, info: Info, role: str, first: int = 50) -> list[Order]:
        ctx = info.context
        return await _orders(info, await ctx.call(ctx.services.approvals.queue, ctx.acting, role, first=first))

    @strawberry.field(
        description=(
            "Orders waiting for approval at a level one of my roles approves, except those I submitted or created "
            "and those I already approved a level of in this round."
        )
    )
    async def orders_awaiting_my_approval(self, info: Info, first: int = 50) -> list[Order]:
        ctx = info.context
        return await _orders(info, await ctx.call(ctx.services.approvals.awaiting, ctx.acting, first=first))
