"""Staggered decomposition and line relationships on the order line (core/fulfilment/staggered.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from om_graph.schema.context import Info, batched
from om_graph.schema.types.common import gid


@strawberry.type(description="TMF622 productOrderItemRelationship: how a line relates to another line of the order.")
class LineRelationship:
    line_number: int = strawberry.field(description="The other line's number.")
    relationship_type: str = strawberry.field(
        description=(
            "reliesOn: this line's first tasks start once the other line's last tasks finished; bundles / bundledBy: "
            "this line contains the other, or is contained in it (a bundle is atomic: one member past its point of "
            "no return holds every member)."
        )
    )


@strawberry.type(description="A part of a line's decomposition parked until a characteristic is known.")
class DecompositionWait:
    spec_key: str = strawberry.field(description="The specification whose domain orders wait to be built.")
    characteristic: str = strawberry.field(description="The line characteristic it waits for.")
    field_path: str = strawberry.field(description="The InformationRequired field path of that characteristic.")
    unit_index: int
    since: datetime
    parent_domain_order_id: relay.GlobalID | None = strawberry.field(
        description="The domain order the part is built under when the value arrives."
    )


def line_relationships(raw) -> list[LineRelationship]:
    return [LineRelationship(line_number=int(r["lineNumber"]), relationship_type=str(r["relationshipType"])) for r in raw or ()]


async def line_decomposition_waits(root, info: Info) -> list[DecompositionWait]:
    """What the line's decomposition still waits for, oldest first (empty: nothing parked)."""
    rows = await batched(info, info.context.services.line_supply.line_waits).load(int(root.id.node_id))
    return [
        DecompositionWait(
            spec_key=r.spec_key,
            characteristic=r.characteristic,
            field_path=f"lines.{root.line_number}.characteristics.{r.characteristic}",
            unit_index=r.unit_index,
            since=r.created_at,
            parent_domain_order_id=gid("DomainOrder", r.parent_id) if r.parent_id else None,
        )
        for r in rows
    ]
