"""Change management output types (core/change): cancellation requests (TMF622 CancelProductOrder),
revisions. Each part appends its own types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.change.states import CANCEL_REQUEST
from om_graph.schema.context import Info, batched
from om_graph.schema.enums import _enum, members_by_value
from om_graph.schema.types.common import gid

# -- cancellation (core/change/cancellation.py) -----------------------------------------------

if TYPE_CHECKING:

    class CancelRequestState(Enum): ...

else:
    CancelRequestState = _enum(
        "CancelRequestState",
        CANCEL_REQUEST.states,
        "TMF622 CancelProductOrder state: done means assessed with a result (accepted or denied).",
    )
_CANCEL_STATES = members_by_value(CancelRequestState)


@strawberry.type(description="A cancellation fee or charge: an amount in the order's currency, and why.")
class CancellationFee:
    amount: Decimal
    currency: str
    reason: str | None


@strawberry.type(
    description="TMF622 CancelProductOrder: a request to cancel an order (line null) or one of its lines, "
    "with its state, result and fee."
)
class CancelRequest(relay.Node):
    id: relay.NodeID[int]
    state: CancelRequestState
    cancellation_reason: str
    reason_type: str | None = strawberry.field(description="MEF cancellation reason type: commercial or technical.")
    requested_cancellation_date: datetime | None = strawberry.field(
        description="When the requester asked for it (stored; the cancellation runs at once)."
    )
    effective_cancellation_date: datetime | None = strawberry.field(description="When the order or line was cancelled.")
    result: str | None = strawberry.field(description="accepted or denied, once done.")
    result_message: str | None = strawberry.field(description="Why it was denied (the error code first) or failed.")
    fee: CancellationFee | None = strawberry.field(
        description="The cancellation fee (the offerings' cancellationFee x quantity, when work had started)."
    )
    point_of_no_return_acknowledged: bool
    compensation: JSON | None = strawberry.field(
        description="What the cancellation did: lines, cancelled tasks, undone tasks (task -> undo task), soft PONR charges."
    )
    order_id: relay.GlobalID
    line_id: relay.GlobalID | None
    requested_by: str
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> CancelRequest:
        fee = row.fee
        return cls(
            id=row.id,
            state=_CANCEL_STATES[row.state],
            cancellation_reason=row.cancellation_reason,
            reason_type=row.reason_type,
            requested_cancellation_date=row.requested_cancellation_date,
            effective_cancellation_date=row.effective_cancellation_date,
            result=row.result,
            result_message=row.result_message,
            fee=CancellationFee(amount=Decimal(fee["amount"]), currency=fee["currency"], reason=fee.get("reason"))
            if fee
            else None,
            point_of_no_return_acknowledged=bool(row.ponr_acknowledged),
            compensation=row.compensation,
            order_id=gid("Order", row.order_id),
            line_id=gid("OrderLine", row.line_id) if row.line_id is not None else None,
            requested_by=row.requested_by,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


async def order_cancel_requests(root: Any, info: Info) -> list[CancelRequest]:
    """The order's cancellation requests, oldest first."""
    rows = await batched(info, info.context.services.cancellations.of_orders).load(root.id)
    return [CancelRequest.from_row(r) for r in rows]
