"""Schedule output types: an order's timeline (grouped by line and domain order) and its expected
completion revisions, mapped from the plain rows of core/reads/timeline.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from om_graph.core.reads.timeline import Timeline as TimelineRows
from om_graph.schema.context import batched
from om_graph.schema.enums import (
    DependencyType,
    DomainOrderKind,
    DomainOrderState,
    JeopardyLevel,
    OrderLineState,
    OrderState,
    TaskKind,
    TaskState,
    members_by_value,
)
from om_graph.schema.types.common import gid

_DEPENDENCY_TYPES = members_by_value(DependencyType)
_TASK_KINDS = members_by_value(TaskKind)
_TASK_STATES = members_by_value(TaskState)
_JEOPARDY_LEVELS = members_by_value(JeopardyLevel)
_DOMAIN_ORDER_KINDS = members_by_value(DomainOrderKind)
_DOMAIN_ORDER_STATES = members_by_value(DomainOrderState)
_LINE_STATES = members_by_value(OrderLineState)
_ORDER_STATES = members_by_value(OrderState)


def _jeopardy(value: str | None) -> JeopardyLevel | None:
    return _JEOPARDY_LEVELS.get(value) if value else None


@strawberry.type(description="A dependency of a task on the timeline: its type and lag (seconds; negative: a lead).")
class TimelineDependency:
    predecessor_id: relay.GlobalID
    type: DependencyType
    lag: int


@strawberry.type(description="A task on the timeline: its planned, estimated and actual dates.")
class TimelineTask:
    id: relay.GlobalID
    key: str
    name: str
    kind: TaskKind
    state: TaskState
    jeopardy: JeopardyLevel | None
    duration_seconds: int | None
    planned_start_date: datetime | None
    planned_end_date: datetime | None
    estimated_start_date: datetime | None
    estimated_end_date: datetime | None
    actual_start_date: datetime | None
    actual_end_date: datetime | None
    due_at: datetime | None
    critical: bool = strawberry.field(description="On the order's critical path (no float).")
    total_float: int | None = strawberry.field(description="Seconds it may slip before the order's end moves.")
    release_at: datetime | None = strawberry.field(description="A dependency's lag holds it until then.")
    finish_blocked: bool = strawberry.field(
        description="Its work is done, but a finish-to-finish or start-to-finish dependency holds its completion."
    )
    assignee: str | None
    dependencies: list[TimelineDependency]


@strawberry.type(description="A domain order on the timeline: the span of its tasks (and its children's).")
class TimelineDomainOrder:
    id: relay.GlobalID
    parent_id: relay.GlobalID | None
    kind: DomainOrderKind
    spec_key: str
    unit_index: int
    state: DomainOrderState
    jeopardy: JeopardyLevel | None
    planned_start_date: datetime | None
    planned_end_date: datetime | None
    estimated_start_date: datetime | None
    estimated_end_date: datetime | None
    actual_start_date: datetime | None
    actual_end_date: datetime | None
    tasks: list[TimelineTask]


@strawberry.type(description="A line on the timeline, with its domain orders (parents before children).")
class TimelineLine:
    id: relay.GlobalID
    line_number: int
    offering_key: str
    state: OrderLineState
    jeopardy: JeopardyLevel | None
    expected_completion_date: datetime | None
    domain_orders: list[TimelineDomainOrder]


@strawberry.type(description="An order's schedule (a Gantt chart): every domain order and task, grouped by line.")
class OrderTimeline:
    state: OrderState
    jeopardy: JeopardyLevel | None
    start_date: datetime | None = strawberry.field(
        description="Where planning started: submit, or the requested start date when later."
    )
    requested_completion_date: datetime | None
    committed_completion_date: datetime | None
    expected_completion_date: datetime | None
    completed_at: datetime | None
    lines: list[TimelineLine]

    @classmethod
    def from_rows(cls, timeline: TimelineRows) -> OrderTimeline:
        o, deps = timeline.order, timeline.dependencies
        start = o.submitted_at
        if o.requested_start_date is not None and (start is None or o.requested_start_date > start):
            start = o.requested_start_date

        def task(t) -> TimelineTask:
            return TimelineTask(
                id=gid("Task", t.id),
                key=t.key,
                name=t.name,
                kind=_TASK_KINDS[t.kind],
                state=_TASK_STATES[t.state],
                jeopardy=_jeopardy(t.jeopardy),
                duration_seconds=t.duration_seconds,
                planned_start_date=t.planned_start_at,
                planned_end_date=t.planned_end_at,
                estimated_start_date=t.estimated_start_at,
                estimated_end_date=t.estimated_end_at,
                actual_start_date=t.started_at,
                actual_end_date=t.finished_at,
                due_at=t.due_at,
                critical=bool(t.critical),
                total_float=t.total_float_seconds,
                release_at=t.release_at,
                finish_blocked=bool(t.finish_blocked),
                assignee=t.assignee,
                dependencies=[
                    TimelineDependency(predecessor_id=gid("Task", p), type=_DEPENDENCY_TYPES[kind], lag=lag or 0)
                    for p, kind, lag in deps.get(t.id, ())
                ],
            )

        def domain_order(entry) -> TimelineDomainOrder:
            d = entry.row
            return TimelineDomainOrder(
                id=gid("DomainOrder", d.id),
                parent_id=gid("DomainOrder", d.parent_id) if d.parent_id else None,
                kind=_DOMAIN_ORDER_KINDS[d.kind],
                spec_key=d.spec_key,
                unit_index=d.unit_index,
                state=_DOMAIN_ORDER_STATES[d.state],
                jeopardy=_jeopardy(d.jeopardy),
                planned_start_date=d.planned_start_at,
                planned_end_date=d.planned_end_at,
                estimated_start_date=d.estimated_start_at,
                estimated_end_date=d.estimated_end_at,
                actual_start_date=d.started_at,
                actual_end_date=d.completed_at,
                tasks=[task(t) for t in entry.tasks],
            )

        return cls(
            state=_ORDER_STATES[o.state],
            jeopardy=_jeopardy(o.jeopardy),
            start_date=start,
            requested_completion_date=o.requested_completion_date,
            committed_completion_date=o.committed_completion_at,
            expected_completion_date=o.expected_completion_at,
            completed_at=o.completed_at,
            lines=[
                TimelineLine(
                    id=gid("OrderLine", line.row.id),
                    line_number=line.row.line_number,
                    offering_key=line.row.offering_key,
                    state=_LINE_STATES[line.row.state],
                    jeopardy=_jeopardy(line.row.jeopardy),
                    expected_completion_date=line.row.expected_completion_at,
                    domain_orders=[domain_order(d) for d in line.domain_orders],
                )
                for line in timeline.lines
            ],
        )


@strawberry.type(description="One revision of an expected completion date (TMF expectedCompletionDate), with its reason.")
class CompletionEstimate:
    line_number: int | None = strawberry.field(description="The line revised; null: the order.")
    expected_completion_date: datetime | None
    previous: datetime | None
    reason: str = strawberry.field(
        description="planned, replanned, taskStartedLate, taskStartedEarly, taskFinishedLate, taskFinishedEarly, taskRunningLate, rescheduled."
    )
    detail: str | None = strawberry.field(description="What moved it (the task, by key and id).")
    recorded_at: datetime

    @classmethod
    def from_row(cls, row) -> CompletionEstimate:
        return cls(
            line_number=row.line_number,
            expected_completion_date=row.expected_at,
            previous=row.previous_at,
            reason=row.reason,
            detail=row.detail,
            recorded_at=row.recorded_at,
        )


async def order_timeline(root, info: Info) -> OrderTimeline | None:
    """The order's timeline (five statements for any number of tasks)."""
    found = await batched(info, info.context.services.timelines.of_orders).load(root.id)
    return OrderTimeline.from_rows(found[0]) if found else None


async def order_completion_estimates(root, info: Info) -> list[CompletionEstimate]:
    """The order's and its lines' expected completion revisions, oldest first."""
    rows = await batched(info, info.context.services.timelines.completion_estimates).load(root.id)
    return [CompletionEstimate.from_row(r) for r in rows]


async def line_completion_estimates(root, info: Info) -> list[CompletionEstimate]:
    """The line's expected completion revisions, oldest first."""
    rows = await batched(info, info.context.services.timelines.line_completion_estimates).load(root.row_id)
    return [CompletionEstimate.from_row(r) for r in rows]
