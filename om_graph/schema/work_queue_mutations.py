"""Work queues (core/fulfilment/queues.py): claim, assign and release manual tasks; merged into
``Mutation`` by ``schema.build``. Thin: decode, one core call, the task read back."""

from __future__ import annotations

import strawberry

from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import node_id
from om_graph.schema.mutations import UserError, _mutation
from om_graph.schema.types import Task


@prepared_input
@strawberry.input
class TaskClaimInput:
    id: strawberry.ID


@prepared_input
@strawberry.input
class TaskAssignInput:
    id: strawberry.ID
    assignee: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The person's id; null: nobody (the task goes back to its group); omitted: whoever has it keeps it.",
    )
    assignment_group: str | None = strawberry.field(
        default=None,
        description=(
            "Move the task to this group: a role, a task template's role or a group of the fulfilment.task.assignment "
            "table (NOT_IN_GROUP otherwise)."
        ),
    )


@prepared_input
@strawberry.input
class TaskReleaseInput:
    id: strawberry.ID


@strawberry.type
class TaskClaimPayload:
    task: Task | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TaskAssignPayload:
    task: Task | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TaskReleasePayload:
    task: Task | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _task(info: Info, task_id: int) -> Task | None:
    ctx = info.context
    found = await ctx.call(ctx.services.queries.nodes, ctx.actor, tasks=[task_id])
    row = found.tasks.get(task_id)
    return Task.from_row(row, found.related) if row is not None else None


@strawberry.type
class WorkQueueMutations:
    @_mutation(
        "Take an unassigned manual task queued for one of my groups (my roles): it becomes mine. CONFLICT when "
        "someone else has it; NOT_IN_GROUP when it is another group's."
    )
    async def task_claim(self, info: Info, input: TaskClaimInput) -> TaskClaimPayload:
        ctx = info.context

        def call():
            return ctx.services.work_queues.claim(ctx.acting, node_id(input.id, "Task", "id"))

        task = await ctx.call(call)
        return TaskClaimPayload(task=await _task(info, task.id))

    @_mutation(
        "Assign a manual task to a person, or to nobody (assignee null), and/or move it to another known group "
        "(task:assign): an omitted assignee keeps the task's."
    )
    async def task_assign(self, info: Info, input: TaskAssignInput) -> TaskAssignPayload:
        ctx = info.context

        def call():
            task_id = node_id(input.id, "Task", "id")
            keep = input.assignee is strawberry.UNSET
            assignee = None if keep else input.assignee
            return ctx.services.work_queues.assign(ctx.acting, task_id, assignee, input.assignment_group, keep_assignee=keep)

        task = await ctx.call(call)
        return TaskAssignPayload(task=await _task(info, task.id))

    @_mutation("Put a manual task back in its group's queue: my own, or (task:assign) someone else's (NOT_ASSIGNEE otherwise).")
    async def task_release(self, info: Info, input: TaskReleaseInput) -> TaskReleasePayload:
        ctx = info.context

        def call():
            return ctx.services.work_queues.release(ctx.acting, node_id(input.id, "Task", "id"))

        task = await ctx.call(call)
        return TaskReleasePayload(task=await _task(info, task.id))
