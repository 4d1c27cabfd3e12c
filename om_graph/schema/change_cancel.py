"""Cancellation (core/change/cancellation.py, TMF622 CancelProductOrder): ``orderCancel``,
``orderLineCancel`` and ``cancelRequest(id)``, merged into the roots by ``schema.build``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from om_graph.core.kernel.errors import NotFound
from om_graph.core.kernel.ids import key_number
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import node_id, parse_global_id, utc_naive
from om_graph.schema.mutations import UserError, _mutation, _order_detail
from om_graph.schema.types.change import CancellationReasonType, CancelRequest
from om_graph.schema.types.ordering import Order

_VERSION = "The order version you saw (optimistic lock): CONFLICT when it changed since."
_REASON = "Why it is cancelled (required, at most 500 characters)."
_REASON_TYPE = "MEF cancellation reason type."
_DATE = (
    "When the requester wants it cancelled: a future date is assessed now, then the request waits (ACKNOWLEDGED) "
    "and runs at that date (assessed again); it is rejected if the order ends first. Absent or past: at once."
)
_ACK = "Acknowledge a soft point of no return and its charge (else PONR_ACKNOWLEDGEMENT_REQUIRED)."


@prepared_input
@strawberry.input
class OrderCancelInput:
    id: strawberry.ID
    reason: str = strawberry.field(description=_REASON)
    version: int | None = strawberry.field(default=None, description=_VERSION)
    reason_type: CancellationReasonType | None = strawberry.field(default=None, description=_REASON_TYPE)
    requested_cancellation_date: datetime | None = strawberry.field(default=None, description=_DATE)
    acknowledge_point_of_no_return: bool = strawberry.field(default=False, description=_ACK)


@prepared_input
@strawberry.input
class OrderLineCancelInput:
    line_id: strawberry.ID
    reason: str = strawberry.field(description=_REASON)
    version: int | None = strawberry.field(default=None, description=_VERSION)
    reason_type: CancellationReasonType | None = strawberry.field(default=None, description=_REASON_TYPE)
    requested_cancellation_date: datetime | None = strawberry.field(default=None, description=_DATE)
    acknowledge_point_of_no_return: bool = strawberry.field(default=False, description=_ACK)


@strawberry.type
class OrderCancelPayload:
    cancel_request: CancelRequest | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderLineCancelPayload:
    cancel_request: CancelRequest | None = None
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


_CANCEL_DOC = (
    "(order:cancel; a customer their own orders). The request is assessed at once: denied (a hard point of "
    "no return, a completed line, work that cannot be undone: result denied, the state restored) or accepted: "
    "open work is cancelled, completed work undone in reverse dependency order, then the {what} is cancelled "
    "(cancelRequest's state done, result accepted). One open request per order and line: CANCELLATION_IN_PROGRESS."
)


@strawberry.type
class CancelMutations:
    @_mutation("Request the cancellation of a submitted order " + _CANCEL_DOC.format(what="order"))
    async def order_cancel(self, info: Info, input: OrderCancelInput) -> OrderCancelPayload:
        ctx = info.context

        def call():
            return ctx.services.cancellations.request(
                ctx.acting,
                node_id(input.id, "Order", "id"),
                reason=input.reason,
                reason_type=input.reason_type.value if input.reason_type is not None else None,
                requested_date=utc_naive(input.requested_cancellation_date),
                acknowledge_ponr=input.acknowledge_point_of_no_return,
                expected_version=input.version,
            )

        request = await ctx.call(call)
        return OrderCancelPayload(
            cancel_request=CancelRequest.from_row(request), order=await _order_detail(info, request.order_id)
        )

    @_mutation(
        "Request the cancellation of one line of a submitted order "
        + _CANCEL_DOC.format(what="line")
        + " The order goes on with its other lines."
    )
    async def order_line_cancel(self, info: Info, input: OrderLineCancelInput) -> OrderLineCancelPayload:
        ctx = info.context

        def call():
            line_id = node_id(input.line_id, "OrderLine", "lineId")
            order_id = ctx.services.cancel_requests.order_of_line(ctx.acting, line_id)
            return ctx.services.cancellations.request(
                ctx.acting,
                order_id,
                line_id=line_id,
                reason=input.reason,
                reason_type=input.reason_type.value if input.reason_type is not None else None,
                requested_date=utc_naive(input.requested_cancellation_date),
                acknowledge_ponr=input.acknowledge_point_of_no_return,
                expected_version=input.version,
            )

        request = await ctx.call(call)
        return OrderLineCancelPayload(
            cancel_request=CancelRequest.from_row(request), order=await _order_detail(info, request.order_id)
        )


@strawberry.type
class CancelQueries:
    @strawberry.field(
        description="A cancellation request (TMF622 CancelProductOrder) by id; null when there is none you may see."
    )
    async def cancel_request(self, info: Info, id: strawberry.ID) -> CancelRequest | None:
        global_id = parse_global_id(id, "id")
        request_id = key_number(global_id.node_id) if global_id.type_name == "CancelRequest" else None
        if request_id is None:
            return None
        ctx = info.context

        def call():
            try:
                return ctx.services.cancel_requests.get(ctx.acting, request_id)
            except NotFound:
                return None

        found = await ctx.call(call)
        return CancelRequest.from_row(found) if found is not None else None
