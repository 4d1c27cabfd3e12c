"""Work queues (core/fulfilment/queues.py, core/reads/work_queue.py): the ``tasks`` query,
merged into ``Query`` by ``schema.build``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.reads.error_codes import ReadsErrorCode
from om_graph.core.reads.queries import MAX_PAGE
from om_graph.core.reads.work_queue import TaskQueueFilter, encode_queue_cursor
from om_graph.schema.context import Info
from om_graph.schema.enums import JeopardyLevel, TaskKind, TaskState
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import node_id, too_long, utc_naive
from om_graph.schema.limits import MAX_CURSOR_LENGTH, MAX_STATE_FILTERS
from om_graph.schema.queries import check_arguments
from om_graph.schema.types.common import PageInfo
from om_graph.schema.types.fulfilment import Task

ME = "ME"
MAX_LABEL_LENGTH = 120  # order_task.assignee
MAX_GROUP_LENGTH = 64  # order_task.assignment_group


@strawberry.enum(description="How a task queue is ordered.")
class TaskQueueSort(Enum):
    DUE = "due"  # soonest due first, tasks with no due date last, then oldest first
    ID = "id"  # oldest first


@prepared_input
@strawberry.input(description="Which tasks a work queue shows; every given condition must hold.")
class TaskQueueFilterInput:
    assignee: str | None = strawberry.field(default=None, description='A person\'s id, or "ME" for the caller.')
    assignment_group: str | None = strawberry.field(default=None, description="A group (a role), e.g. order_fulfillment_agent.")
    mine: bool = strawberry.field(default=False, description="Assigned to me.")
    my_groups: bool = strawberry.field(default=False, description="Queued for one of my groups (my roles).")
    unassigned: bool = strawberry.field(default=False, description="Nobody has it yet (with myGroups: what I may claim).")
    states: list[TaskState] | None = strawberry.field(default=None, description="Default: READY and IN_PROGRESS.")
    due_before: datetime | None = None
    jeopardy: list[JeopardyLevel] | None = None
    kind: TaskKind | None = None
    order_id: strawberry.ID | None = None


@strawberry.type
class TaskEdge:
    cursor: str
    node: Task


@strawberry.type
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo


def _filter(info: Info, f: TaskQueueFilterInput | None) -> TaskQueueFilter:
    if f is None:
        return TaskQueueFilter()
    check_arguments(
        too_long(f.assignee, MAX_LABEL_LENGTH, "filter.assignee"),
        too_long(f.assignment_group, MAX_GROUP_LENGTH, "filter.assignmentGroup"),
        FieldError("filter.states", f"at most {MAX_STATE_FILTERS} states", CommonErrorCode.TOO_MANY)
        if f.states and len(f.states) > MAX_STATE_FILTERS
        else None,
    )
    assignee = info.context.acting.label if f.assignee == ME else f.assignee
    return TaskQueueFilter(
        assignee=assignee,
        assignment_group=f.assignment_group,
        mine=f.mine,
        my_groups=f.my_groups,
        unassigned=f.unassigned,
        states=tuple(sorted({s.value for s in f.states or []})),
        due_before=utc_naive(f.due_before),
        jeopardy=tuple(sorted({j.value for j in f.jeopardy or []})),
        kind=f.kind.value if f.kind is not None else None,
        order_id=node_id(f.order_id, "Order", "filter.orderId") if f.order_id is not None else None,
    )


@strawberry.type
class WorkQueueQueries:
    @strawberry.field(
        description=(
            f"Tasks as a work queue: mine, my groups', by assignee, group, state, due date, jeopardy, kind or order "
            f"(keyset pagination, at most {MAX_PAGE} per page). My groups are my roles."
        )
    )
    async def tasks(
        self,
        info: Info,
        filter: TaskQueueFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
        sort: TaskQueueSort = TaskQueueSort.DUE,
    ) -> TaskConnection:
        ctx = info.context
        check_arguments(
            FieldError("after", "not a cursor this API issued", ReadsErrorCode.INVALID_CURSOR)
            if after is not None and len(after) > MAX_CURSOR_LENGTH
            else None
        )

        def call():
            return ctx.services.work_queue.tasks(ctx.acting, _filter(info, filter), first=first, after=after, sort=sort.value)

        page = await ctx.call(call)
        edges = [
            TaskEdge(cursor=encode_queue_cursor(sort.value, row), node=Task.from_row(row, page.related)) for row in page.items
        ]
        return TaskConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
        )
