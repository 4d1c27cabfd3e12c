"""Fallout records (core/fulfilment/fallout.py): staff only, mapped from Core rows."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.fulfilment.fallout_states import FALLOUT
from om_graph.schema.context import Info, batched
from om_graph.schema.enums import _enum, members_by_value
from om_graph.schema.types.common import PageInfo, gid

if TYPE_CHECKING:

    class FalloutState(Enum): ...

else:
    FalloutState = _enum(
        "FalloutState", FALLOUT.states, "A fallout record's state (open .. resolved, closed; cancelled with its task)."
    )

_STATES = members_by_value(FalloutState)


@strawberry.type(description="A failure routed to people: the task waits on hold while the record is open.")
class Fallout(relay.Node):
    id: relay.NodeID[int]
    order_id: relay.GlobalID
    line_id: relay.GlobalID | None
    domain_order_id: relay.GlobalID | None
    task_id: relay.GlobalID | None
    type: str = strawberry.field(
        description="provisioning, inventoryAllocation, billing, manualClose (a domain order closed by hand) or a pack's."
    )
    priority: int = strawberry.field(description="1 (highest) to 5.")
    state: FalloutState
    assignment_group: str | None
    assignee: str | None
    error_code: str | None
    error_message: str | None
    handler: str | None
    attempt: int | None = strawberry.field(description="The task's attempt that failed last.")
    southbound_response: JSON | None = strawberry.field(description="What the external system answered, if the handler said.")
    resolution: str | None = strawberry.field(
        description="retried, skipped, resolved, gaveUp, cancelled or domainOrderClosed, once it is not open."
    )
    note: str | None
    version: int = strawberry.field(description="Send it back as version in the fallout mutations (optimistic lock).")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row) -> Fallout:
        return cls(
            id=row.id,
            order_id=gid("Order", row.order_id),
            line_id=gid("OrderLine", row.line_id) if row.line_id else None,
            domain_order_id=gid("DomainOrder", row.domain_order_id) if row.domain_order_id else None,
            task_id=gid("Task", row.task_id) if row.task_id else None,
            type=row.fallout_type,
            priority=row.priority,
            state=_STATES[row.state],
            assignment_group=row.assignment_group,
            assignee=row.assignee,
            error_code=row.error_code,
            error_message=row.error_message,
            handler=row.handler,
            attempt=row.attempt,
            southbound_response=row.southbound_response,
            resolution=row.resolution,
            note=row.note,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
        )


@strawberry.type
class FalloutEdge:
    cursor: str
    node: Fallout


@strawberry.type
class FalloutConnection:
    edges: list[FalloutEdge]
    page_info: PageInfo


@strawberry.type(description="How many records are in one state, of one type, at one priority.")
class FalloutCount:
    state: FalloutState
    type: str
    priority: int
    count: int

    @classmethod
    def from_row(cls, state: str, fallout_type: str, priority: int, count: int) -> FalloutCount:
        return cls(state=_STATES[state], type=fallout_type, priority=priority, count=count)


async def order_fallouts(root, info: Info) -> list[Fallout]:
    """The order's fallout records, oldest first (staff: FULFILMENT_READ)."""
    rows = await batched(info, info.context.services.fallout.of_orders).load(root.id)
    return [Fallout.from_row(r) for r in rows]
