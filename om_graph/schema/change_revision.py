"""In-flight revision (core/change/revision.py): ``orderRevise``, ``revisionApprove``,
``revisionReject`` and ``orderVersionDiff``, merged into the roots by ``schema.build``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from om_graph.core.change.revision_input import LineRevision, RevisionInput
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import CharacteristicInput, OrderLineInput, characteristic_map, node_id, to_lines, utc_naive
from om_graph.schema.mutations import UserError, _mutation, _order_detail
from om_graph.schema.types.change import OrderRevision, VersionChange
from om_graph.schema.types.ordering import Order

_VERSION = "The order version you saw (optimistic lock): CONFLICT when it changed since."


@prepared_input
@strawberry.input(description="A change to one line of the order: its characteristics, its quantity, or its removal.")
class OrderLineRevisionInput:
    line_number: int = strawberry.field(description="The line's number in the order.")
    characteristics: list[CharacteristicInput] = strawberry.field(
        default_factory=list, description="Characteristics set to new values (a null value removes one); the others stay."
    )
    quantity: int | None = strawberry.field(default=None, description="The new quantity (fewer: the highest units go).")
    remove: bool = strawberry.field(default=False, description="Remove the line: its work is cancelled or undone.")


@prepared_input
@strawberry.input
class OrderReviseInput:
    id: strawberry.ID
    reason: str = strawberry.field(description="Why the order is revised (required, at most 500 characters).")
    version: int | None = strawberry.field(default=None, description=_VERSION)
    lines: list[OrderLineRevisionInput] = strawberry.field(default_factory=list)
    add_lines: list[OrderLineInput] = strawberry.field(
        default_factory=list, description="New lines, as orderCreate's (numbered after the order's last line)."
    )
    requested_completion_date: datetime | None = strawberry.field(default=None, description="A new requested completion date.")
    requested_start_date: datetime | None = strawberry.field(default=None, description="A new requested start date.")
    manual_discount_percent: Decimal | None = strawberry.field(
        default=None, description="A manual discount on the order's recurring charges, in percent (price:adjust, limits apply)."
    )
    acknowledge_point_of_no_return: bool = strawberry.field(
        default=False, description="Acknowledge a soft point of no return and its charge (else PONR_ACKNOWLEDGEMENT_REQUIRED)."
    )


@prepared_input
@strawberry.input
class RevisionDecisionInput:
    id: strawberry.ID = strawberry.field(description="The revision.")
    comment: str | None = strawberry.field(default=None, description="Why (stored with the decision's event).")


@strawberry.type
class OrderRevisePayload:
    revision: OrderRevision | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevisionDecisionPayload:
    revision: OrderRevision | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def to_revision(input: OrderReviseInput) -> RevisionInput:
    errors: list[FieldError] = []
    changes: list[LineRevision] = []
    for index, line in enumerate(input.lines):
        try:
            characteristics = characteristic_map(line.characteristics, f"lines.{index}.characteristics")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        changes.append(LineRevision(line.line_number, characteristics, line.quantity, line.remove))
    try:
        added = to_lines(input.add_lines) if input.add_lines else ()
    except ValidationFailed as exc:
        errors.extend(FieldError("addLines" + e.field[len("lines") :], e.message, e.code) for e in exc.errors)
        added = ()
    if errors:
        raise ValidationFailed(errors)
    return RevisionInput(
        lines=tuple(changes),
        add_lines=added,
        requested_completion_date=utc_naive(input.requested_completion_date),
        requested_start_date=utc_naive(input.requested_start_date),
        manual_discount_percent=input.manual_discount_percent,
    )


@strawberry.type
class RevisionMutations:
    @_mutation(
        "Revise a running order (order:revise): characteristics, quantities, lines added or removed, requested dates, a "
        "manual discount. Validated and priced as capture does; refused past a hard point of no return (PONR_PASSED, "
        "naming the task), a soft one needs acknowledgePointOfNoReturn (its charge is applied). When the approval "
        "policy asks, the revision waits (pendingApproval, the order's clock paused); else it is applied at once: open "
        "work of what changed is cancelled and replaced, completed work undone (reverse dependency order) and redone "
        "with the new values, the rest untouched, and the order gets a new version. One revision at a time "
        "(REVISION_IN_PROGRESS); a running task it would touch: WORK_RUNNING (revise when it has finished)."
    )
    async def order_revise(self, info: Info, input: OrderReviseInput) -> OrderRevisePayload:
        ctx = info.context

        def call():
            return ctx.services.revisions.revise(
                ctx.acting,
                node_id(input.id, "Order", "id"),
                to_revision(input),
                expected_version=input.version,
                reason=input.reason,
                acknowledge_ponr=input.acknowledge_point_of_no_return,
            )

        revision = await ctx.call(call)
        return OrderRevisePayload(revision=OrderRevision.from_row(revision), order=await _order_detail(info, revision.order_id))

    @_mutation(
        "Approve a revision waiting for approval (order:approve; not its requester): it is computed again on the order "
        "as it now is and applied."
    )
    async def revision_approve(self, info: Info, input: RevisionDecisionInput) -> RevisionDecisionPayload:
        ctx = info.context

        def call():
            return ctx.services.revisions.approve(ctx.acting, node_id(input.id, "OrderRevision", "id"), input.comment)

        revision = await ctx.call(call)
        return RevisionDecisionPayload(
            revision=OrderRevision.from_row(revision), order=await _order_detail(info, revision.order_id)
        )

    @_mutation("Reject a revision waiting for approval (order:approve): nothing changes, the order's clock runs again.")
    async def revision_reject(self, info: Info, input: RevisionDecisionInput) -> RevisionDecisionPayload:
        ctx = info.context

        def call():
            return ctx.services.revisions.reject(ctx.acting, node_id(input.id, "OrderRevision", "id"), input.comment)

        revision = await ctx.call(call)
        return RevisionDecisionPayload(
            revision=OrderRevision.from_row(revision), order=await _order_detail(info, revision.order_id)
        )


@strawberry.type
class RevisionQueries:
    @strawberry.field(description="Revisions waiting for approval (PENDING_APPROVAL), oldest first: the approvers' queue.")
    async def revisions_awaiting_approval(
        self, info: Info, first: Annotated[int, strawberry.argument(description="At most this many (up to 100).")] = 50
    ) -> list[OrderRevision]:
        ctx = info.context
        rows = await ctx.call(ctx.services.revisions.awaiting_approval, ctx.acting, first)
        return [OrderRevision.from_row(r) for r in rows]

    @strawberry.field(
        description="What changed between two versions of an order (Order.versions), field by field; "
        "UNKNOWN_ORDER_VERSION for a version it does not have."
    )
    async def order_version_diff(
        self,
        info: Info,
        order_id: strawberry.ID,
        from_version: Annotated[int, strawberry.argument(name="from", description="The first version's number.")],
        to_version: Annotated[int, strawberry.argument(name="to", description="The second version's number.")],
    ) -> list[VersionChange]:
        ctx = info.context

        def call():
            return ctx.services.revisions.version_diff(
                ctx.acting, node_id(order_id, "Order", "orderId"), from_version, to_version
            )

        changes = await ctx.call(call)
        return [VersionChange.from_change(c) for c in changes]
