"""Decision tables: the read side of the admin surface (merged into ``Query`` by ``schema.build``)."""

from __future__ import annotations

import strawberry

from om_graph.schema.context import Info
from om_graph.schema.types.decisions import DecisionTable


@strawberry.type
class DecisionQueries:
    @strawberry.field(description="Every decision table, by name, with its versions and audit trail.")
    async def decision_tables(self, info: Info) -> list[DecisionTable]:
        ctx = info.context
        return [DecisionTable.from_view(t) for t in await ctx.call(ctx.services.decisions.list_tables, ctx.acting)]

    @strawberry.field(description="One decision table by name (an error UNKNOWN_DECISION_TABLE when there is none).")
    async def decision_table(self, info: Info, name: str) -> DecisionTable:
        ctx = info.context
        return DecisionTable.from_view(await ctx.call(ctx.services.decisions.get_table, ctx.acting, name))
