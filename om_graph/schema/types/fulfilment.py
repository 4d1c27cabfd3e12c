"""Fulfilment output types: domain orders and their tasks, mapped from Core rows."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.reads.queries import Related
from om_graph.schema.enums import (
    DependencyType,
    DomainOrderKind,
    DomainOrderState,
    JeopardyLevel,
    TaskKind,
    TaskState,
    members_by_value,
)
from om_graph.schema.types.common import Characteristic, characteristics, gid

_TASK_KINDS = members_by_value(TaskKind)
_TASK_STATES = members_by_value(TaskState)
_JEOPARDY_LEVELS = members_by_value(JeopardyLevel)
_DOMAIN_ORDER_KINDS = members_by_value(DomainOrderKind)
_DOMAIN_ORDER_STATES = members_by_value(DomainOrderState)
_FINISH_TO_START = DependencyType(DependencyTypes.FINISH_TO_START)


@strawberry.type
class TaskDependency:
    predecessor_id: relay.GlobalID
    type: DependencyType


@strawberry.type
class Task(relay.Node):
    id: relay.NodeID[int]
    key: str
    name: str
    kind: TaskKind
    state: TaskState
    handler: str | None
    attempts: int
    max_attempts: int
    dependencies: list[TaskDependency]
    domain_order_id: relay.GlobalID
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    jeopardy: JeopardyLevel | None
    error_code: str | None
    error_message: str | None
    completed_by: str | None
    outcome: JSON | None
    assignment_group: str | None = strawberry.field(description="The group (a role) whose queue the task is in.")
    assignee: str | None = strawberry.field(description="Who has the task (taskClaim, taskAssign); null: nobody yet.")
    assigned_at: datetime | None = strawberry.field(description="When its assignee took it or was given it.")

    @classmethod
    def from_row(cls, row, related: Related) -> Task:
        """From a task row; its predecessors from ``related``."""
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            kind=_TASK_KINDS[row.kind],
            state=_TASK_STATES[row.state],
            handler=row.handler,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            dependencies=[
                TaskDependency(predecessor_id=gid("Task", p), type=_FINISH_TO_START)
                for p in sorted(related.dependencies.get(row.id, ()))
            ],
            domain_order_id=gid("DomainOrder", row.domain_order_id),
            started_at=row.started_at,
            finished_at=row.finished_at,
            due_at=row.due_at,
            jeopardy=_JEOPARDY_LEVELS[row.jeopardy] if row.jeopardy else None,
            error_code=row.error_code,
            error_message=row.error_message,
            completed_by=row.completed_by,
            outcome=row.outcome,
            assignment_group=row.assignment_group,
            assignee=row.assignee,
            assigned_at=row.assigned_at,
        )


@strawberry.type
class DomainOrder(relay.Node):
    id: relay.NodeID[int]
    kind: DomainOrderKind
    spec_key: str
    unit_index: int
    state: DomainOrderState
    line_number: int
    parent_id: relay.GlobalID | None
    characteristics: list[Characteristic] | None
    completed_at: datetime | None
    tasks: list[Task]
    jeopardy: JeopardyLevel | None = strawberry.field(
        description="The highest of its own SLA share's, its open tasks' and its children's jeopardy (null: none)."
    )

    @classmethod
    def from_row(cls, row, tasks: list[Task]) -> DomainOrder:
        """From a domain order row (which carries its line's number) and its tasks."""
        return cls(
            id=row.id,
            kind=_DOMAIN_ORDER_KINDS[row.kind],
            spec_key=row.spec_key,
            unit_index=row.unit_index,
            state=_DOMAIN_ORDER_STATES[row.state],
            line_number=row.line_number,
            parent_id=gid("DomainOrder", row.parent_id) if row.parent_id else None,
            characteristics=characteristics(row.characteristics),
            completed_at=row.completed_at,
            tasks=tasks,
            jeopardy=_JEOPARDY_LEVELS.get(row.jeopardy) if row.jeopardy else None,
        )
