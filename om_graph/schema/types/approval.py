"""Lifecycle output types: manual enrichment tasks and approval steps (core/lifecycle), and the
resolvers of ``Order.enrichmentTasks`` / ``Order.approvals`` (one read of the order's rows each)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry import relay

from om_graph.core.lifecycle.states import APPROVAL_STEP, ENRICHMENT_TASK
from om_graph.schema.context import Info, batched
from om_graph.schema.enums import _enum, members_by_value
from om_graph.schema.types.common import Characteristic, characteristics, gid

if TYPE_CHECKING:

    class EnrichmentTaskState(Enum): ...

    class ApprovalState(Enum): ...

else:
    EnrichmentTaskState = _enum("EnrichmentTaskState", ENRICHMENT_TASK.states, "A manual enrichment task's state.")
    ApprovalState = _enum("ApprovalState", APPROVAL_STEP.states, "An approval level's state in its round.")

_TASK_STATES = members_by_value(EnrichmentTaskState)
_APPROVAL_STATES = members_by_value(ApprovalState)


@strawberry.type(description="A manual enrichment task: a person captures technical characteristics of an order line.")
class EnrichmentTask:
    id: relay.GlobalID
    order_id: relay.GlobalID
    line_id: relay.GlobalID | None = strawberry.field(description="Null once a draft edit replaced the line.")
    line_number: int
    key: str
    name: str
    role: str = strawberry.field(description="The role whose work queue the task is in.")
    state: EnrichmentTaskState
    capture: list[str] = strawberry.field(description="The characteristics the task captures.")
    captured: list[Characteristic] = strawberry.field(description="The values recorded when it was completed.")
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None

    @classmethod
    def from_row(cls, row) -> EnrichmentTask:
        return cls(
            id=gid("EnrichmentTask", row.id),
            order_id=gid("Order", row.order_id),
            line_id=gid("OrderLine", row.line_id) if row.line_id is not None else None,
            line_number=row.line_number,
            key=row.key,
            name=row.name,
            role=row.role,
            state=_TASK_STATES[row.state],
            capture=list(row.capture),
            captured=characteristics(row.captured or {}),
            created_at=row.created_at,
            completed_at=row.completed_at,
            completed_by=row.completed_by,
        )


@strawberry.type(description="One level of one approval round of an order: who approves it, why, and what they decided.")
class OrderApproval:
    id: relay.GlobalID
    round: int = strawberry.field(description="Each submit starts a new round.")
    level: int
    levels: int = strawberry.field(description="How many levels the round has.")
    role: str = strawberry.field(description="The role that decides this level.")
    reasons: str = strawberry.field(description="Why the approval policy asked for approval.")
    state: ApprovalState
    actor: str | None = strawberry.field(description="Who decided.")
    comment: str | None = strawberry.field(description="The approver's comment, or the reason of a rejection.")
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def from_row(cls, row) -> OrderApproval:
        return cls(
            id=gid("OrderApproval", row.id),
            round=row.round,
            level=row.level,
            levels=row.levels,
            role=row.role,
            reasons=row.reasons,
            state=_APPROVAL_STATES[row.state],
            actor=row.actor,
            comment=row.comment,
            created_at=row.created_at,
            decided_at=row.decided_at,
        )


async def order_enrichment_tasks(root, info: Info) -> list[EnrichmentTask]:
    """The order's manual enrichment tasks, by line."""
    rows = await batched(info, info.context.services.enrichment.of_orders).load(root.id)
    return [EnrichmentTask.from_row(r) for r in rows]


async def order_approvals(root, info: Info) -> list[OrderApproval]:
    """Every approval round of the order, oldest first, level by level."""
    rows = await batched(info, info.context.services.approvals.of_orders).load(root.id)
    return [OrderApproval.from_row(r) for r in rows]
