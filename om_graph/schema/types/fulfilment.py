"""Fulfilment output types: domain orders and their tasks, mapped from Core rows."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.states import TaskModes
from om_graph.core.reads.queries import Related
from om_graph.schema.enums import (
    DependencyType,
    DomainOrderKind,
    DomainOrderState,
    JeopardyLevel,
    TaskKind,
    TaskMode,
    TaskState,
    members_by_value,
)
from om_graph.schema.types.common import Characteristic, characteristics, gid

_TASK_KINDS = members_by_value(TaskKind)
_TASK_MODES = members_by_value(TaskMode)
_TASK_STATES = members_by_value(TaskState)
_JEOPARDY_LEVELS = members_by_value(JeopardyLevel)
_DOMAIN_ORDER_KINDS = members_by_value(DomainOrderKind)
_DOMAIN_ORDER_STATES = members_by_value(DomainOrderState)
_FINISH_TO_START = DependencyTypes.FINISH_TO_START
_DEPENDENCY_TYPES = members_by_value(DependencyType)


@strawberry.type
class TaskDependency:
    predecessor_id: relay.GlobalID
    type: DependencyType
    lag: int = strawberry.field(
        description="Seconds after the predecessor's start or finish (by type) the gate opens; negative: a lead."
    )


def _dependency(predecessor_id: int, kind: tuple[str, int]) -> TaskDependency:
    return TaskDependency(predecessor_id=gid("Task", predecessor_id), type=_DEPENDENCY_TYPES[kind[0]], lag=kind[1])


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
    order_id: relay.GlobalID = strawberry.field(description="The customer order it is work for (a work queue links to it).")
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    jeopardy: JeopardyLevel | None
    error_code: str | None
    error_message: str | None
    completed_by: str | None
    outcome: JSON | None
    # Schedule (core/fulfilment/schedule.py): actual dates are startedAt and finishedAt.
    duration_seconds: int | None = strawberry.field(description="The planned duration of its work.")
    planned_start_date: datetime | None = strawberry.field(
        description="Planned when the order was planned: forward from submit or the requested start, backward from a requested completion."
    )
    planned_end_date: datetime | None
    estimated_start_date: datetime | None = strawberry.field(
        description="Re-estimated as work starts and finishes (actuals fixed, remaining work from now)."
    )
    estimated_end_date: datetime | None
    actual_start_date: datetime | None = strawberry.field(description="startedAt.")
    actual_end_date: datetime | None = strawberry.field(description="finishedAt.")
    critical: bool = strawberry.field(description="On the order's critical path (no float).")
    total_float: int | None = strawberry.field(description="Seconds the task may slip before the order's end moves.")
    release_at: datetime | None = strawberry.field(description="A dependency's lag holds the task until then.")
    finish_blocked: bool = strawberry.field(
        description="Its work is done, but a finish-to-finish or start-to-finish dependency holds its completion."
    )
    assignment_group: str | None = strawberry.field(description="The group (a role) whose queue the task is in.")
    assignee: str | None = strawberry.field(description="Who has the task (taskClaim, taskAssign); null: nobody yet.")
    assigned_at: datetime | None = strawberry.field(description="When its assignee took it or was given it.")
    # Change management (core/change/compensation.py, revision.py)
    mode: TaskMode = strawberry.field(description="DO: its own work; UNDO: compensates a completed task; REDO: does one again.")
    compensates_id: relay.GlobalID | None = strawberry.field(description="The completed task an UNDO or REDO task is for.")

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
                _dependency(p, related.dependency_kinds.get((row.id, p), (_FINISH_TO_START, 0)))
                for p in sorted(related.dependencies.get(row.id, ()))
            ],
            domain_order_id=gid("DomainOrder", row.domain_order_id),
            order_id=gid("Order", row.order_id),
            started_at=row.started_at,
            finished_at=row.finished_at,
            due_at=row.due_at,
            jeopardy=_JEOPARDY_LEVELS[row.jeopardy] if row.jeopardy else None,
            error_code=row.error_code,
            error_message=row.error_message,
            completed_by=row.completed_by,
            outcome=row.outcome,
            duration_seconds=row.duration_seconds,
            planned_start_date=row.planned_start_at,
            planned_end_date=row.planned_end_at,
            estimated_start_date=row.estimated_start_at,
            estimated_end_date=row.estimated_end_at,
            actual_start_date=row.started_at,
            actual_end_date=row.finished_at,
            critical=bool(row.critical),
            total_float=row.total_float_seconds,
            release_at=row.release_at,
            finish_blocked=bool(row.finish_blocked),
            assignment_group=row.assignment_group,
            assignee=row.assignee,
            assigned_at=row.assigned_at,
            mode=_TASK_MODES[row.mode or TaskModes.DO],
            compensates_id=gid("Task", row.compensates_id) if row.compensates_id else None,
        )


@strawberry.type
class DomainOrder(relay.Node):
    id: relay.NodeID[int]
    kind: DomainOrderKind
    spec_key: str
    unit_index: int
    state: DomainOrderState
    line_number: int
    order_id: relay.GlobalID = strawberry.field(description="The customer order it decomposes.")
    parent_id: relay.GlobalID | None
    characteristics: list[Characteristic] | None
    completed_at: datetime | None
    tasks: list[Task]
    # Schedule (core/fulfilment/schedule.py): the span of its tasks and its children's.
    planned_start_date: datetime | None
    planned_end_date: datetime | None
    estimated_start_date: datetime | None
    estimated_end_date: datetime | None
    actual_start_date: datetime | None = strawberry.field(description="When its first task started.")
    actual_end_date: datetime | None = strawberry.field(description="When it completed (completedAt).")
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
            order_id=gid("Order", row.order_id),
            parent_id=gid("DomainOrder", row.parent_id) if row.parent_id else None,
            characteristics=characteristics(row.characteristics),
            completed_at=row.completed_at,
            tasks=tasks,
            planned_start_date=row.planned_start_at,
            planned_end_date=row.planned_end_at,
            estimated_start_date=row.estimated_start_at,
            estimated_end_date=row.estimated_end_at,
            actual_start_date=row.started_at,
            actual_end_date=row.completed_at,
            jeopardy=_JEOPARDY_LEVELS.get(row.jeopardy) if row.jeopardy else None,
        )
