"""Fallout actions and closing a domain order by hand (merged into ``Mutation`` by ``schema.build``).
Thin: decode the input, one core call (core/fulfilment/fallout.py), the record read back."""

from __future__ import annotations

from enum import Enum

import strawberry

from om_graph.core.fulfilment.fallout import WorkActions
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import CharacteristicInput, characteristic_map, node_id
from om_graph.schema.mutations import UserError, _mutation
from om_graph.schema.types.fallout import Fallout


@strawberry.enum(description="What an agent does with the record itself.")
class FalloutWorkAction(Enum):
    TAKE = WorkActions.TAKE  # assign it to me and work it (also back from ON_HOLD / AWAITING_INFORMATION)
    HOLD = WorkActions.HOLD
    REQUEST_INFORMATION = WorkActions.REQUEST_INFORMATION
    CLOSE = WorkActions.CLOSE  # a RESOLVED record, reviewed


@strawberry.type
class FalloutPayload:
    fallout: Fallout | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@prepared_input
@strawberry.input
class FalloutWorkInput:
    id: strawberry.ID
    action: FalloutWorkAction
    version: int | None = strawberry.field(default=None, description="The record's version you saw (CONFLICT when it changed).")
    note: str | None = None


@prepared_input
@strawberry.input
class FalloutActionInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="The record's version you saw (CONFLICT when it changed).")
    note: str | None = None


@prepared_input
@strawberry.input
class FalloutSkipInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="The record's version you saw (CONFLICT when it changed).")
    characteristics: list[CharacteristicInput] = strawberry.field(
        default_factory=list, description="The outputs the handler would have produced (its specification's values)."
    )
    note: str | None = None


@prepared_input
@strawberry.input
class FalloutReassignInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="The record's version you saw (CONFLICT when it changed).")
    assignee: str | None = strawberry.field(default=None, description="A person (none: unassigned, in the group).")
    assignment_group: str | None = None
    note: str | None = None


@prepared_input
@strawberry.input
class DomainOrderCloseInput:
    id: strawberry.ID
    reason: str
    version: int | None = strawberry.field(default=None, description="The order's version you saw (CONFLICT when it changed).")


def _id(input) -> int:
    return node_id(input.id, "Fallout", "id")


@strawberry.type
class FalloutMutations:
    @_mutation("Work a fallout record: take it, hold it, ask for information, or close a resolved one.")
    async def fallout_work(self, info: Info, input: FalloutWorkInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.work(ctx.acting, _id(input), input.version, input.action.value, input.note)

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation(
        "Run the task's handler again, with its idempotency key. The record is IN_PROGRESS meanwhile: RESOLVED "
        "when the attempt succeeds, OPEN again with the new attempt's error when it fails."
    )
    async def fallout_retry(self, info: Info, input: FalloutActionInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.retry(ctx.acting, _id(input), input.version, input.note)

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation(
        "Complete the task with the outputs entered by hand (checked against its specification) instead of running "
        "its handler; its successors go on."
    )
    async def fallout_skip(self, info: Info, input: FalloutSkipInput) -> FalloutPayload:
        ctx = info.context

        def call():
            values = characteristic_map(input.characteristics, "characteristics")
            return ctx.services.fallout.skip(ctx.acting, _id(input), input.version, values, input.note)

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation("The problem was fixed outside: the task completes without running its handler (no outputs).")
    async def fallout_resolve(self, info: Info, input: FalloutActionInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.resolve(ctx.acting, _id(input), input.version, input.note)

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation("Reassign a record to a person and/or a group (fallout managers); it goes back to OPEN.")
    async def fallout_reassign(self, info: Info, input: FalloutReassignInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.reassign(
                ctx.acting, _id(input), input.version, input.assignee, input.assignment_group, input.note
            )

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation(
        "Give up (fallout managers): the task fails, its successors and its line's other open work are cancelled, "
        "so the line fails and the order ends PARTIAL or FAILED."
    )
    async def fallout_give_up(self, info: Info, input: FalloutActionInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.give_up(ctx.acting, _id(input), input.version, input.note)

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))

    @_mutation(
        "Close a domain order by hand (fulfilment managers): its open tasks, and those of the domain orders under "
        "it, complete without running; a RESOLVED fallout record of type manualClose keeps the reason for review."
    )
    async def domain_order_close(self, info: Info, input: DomainOrderCloseInput) -> FalloutPayload:
        ctx = info.context

        def call():
            return ctx.services.fallout.close_domain_order(
                ctx.acting, node_id(input.id, "DomainOrder", "id"), input.reason, input.version
            )

        return FalloutPayload(fallout=Fallout.from_row(await ctx.call(call)))
