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

from om_graph.core.change.models import CANCEL_RESULTS, REASON_TYPES
from om_graph.core.change.states import CANCEL_REQUEST, REVISION
from om_graph.schema.context import Info, batched
from om_graph.schema.enums import _enum, members_by_value
from om_graph.schema.types.common import gid

# -- cancellation (core/change/cancellation.py) -----------------------------------------------

if TYPE_CHECKING:

    class CancelRequestState(Enum): ...

    class CancellationReasonType(Enum): ...

    class CancellationResult(Enum): ...

else:
    CancelRequestState = _enum(
        "CancelRequestState",
        CANCEL_REQUEST.states,
        "TMF622 CancelProductOrder state: done means assessed with a result (accepted or denied).",
    )
    CancellationReasonType = _enum(
        "CancellationReasonType", REASON_TYPES, "MEF cancellation reason type: why the requester cancels."
    )
    CancellationResult = _enum("CancellationResult", CANCEL_RESULTS, "What the assessment of a cancellation request decided.")
_CANCEL_STATES = members_by_value(CancelRequestState)
_REASON_TYPES = members_by_value(CancellationReasonType)
_RESULTS = members_by_value(CancellationResult)


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
    reason_type: CancellationReasonType | None
    requested_cancellation_date: datetime | None = strawberry.field(
        description="When the requester wants it cancelled: until then the request waits, acknowledged."
    )
    effective_cancellation_date: datetime | None = strawberry.field(description="When the order or line was cancelled.")
    result: CancellationResult | None = strawberry.field(description="Once assessed: accepted or denied (rejected too).")
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
            reason_type=_REASON_TYPES[row.reason_type] if row.reason_type is not None else None,
            requested_cancellation_date=row.requested_cancellation_date,
            effective_cancellation_date=row.effective_cancellation_date,
            result=_RESULTS[row.result] if row.result is not None else None,
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
    rows = await batched(info, info.context.services.cancel_requests.of_orders).load(root.id)
    return [CancelRequest.from_row(r) for r in rows]


# -- revision (core/change/revision.py, versions.py) ---------------------------------------------

if TYPE_CHECKING:

    class RevisionState(Enum): ...

else:
    RevisionState = _enum(
        "RevisionState",
        REVISION.states,
        "An in-flight revision's state: assessing, pendingApproval (the approval policy asks), inProgress "
        "(applied: its compensation runs), completed, rejected, failed.",
    )
_REVISION_STATES = members_by_value(RevisionState)


@strawberry.type(description="One field-level difference between two order versions.")
class VersionChange:
    path: str = strawberry.field(description="e.g. lines.2.characteristics.address, lines.3 (a line), requestedCompletionDate.")
    kind: str = strawberry.field(
        description="characteristic, quantity, lineAdded, lineRemoved, requestedDate, price, relationship or attribute."
    )
    before: JSON | None = strawberry.field(name="from", description="The value in the first version (null: none).")
    after: JSON | None = strawberry.field(name="to", description="The value in the second version (null: none).")

    @classmethod
    def from_change(cls, change: Any) -> VersionChange:
        data = change if isinstance(change, dict) else change.as_json()
        return cls(path=data["path"], kind=data["kind"], before=data["from"], after=data["to"])


@strawberry.type(description="One version of an order: 1 as submitted, one more per applied revision.")
class OrderVersion:
    number: int
    created_at: datetime
    created_by: str
    reason: str | None
    revision_id: relay.GlobalID | None = strawberry.field(description="The revision that made it (null: the submitted order).")
    snapshot: JSON = strawberry.field(description="The header fields a revision may change and the lines, as they were.")

    @classmethod
    def from_row(cls, row: Any) -> OrderVersion:
        return cls(
            number=row.number,
            created_at=row.created_at,
            created_by=row.created_by,
            reason=row.reason,
            revision_id=gid("OrderRevision", row.revision_id) if row.revision_id is not None else None,
            snapshot=row.snapshot,
        )


@strawberry.type(
    description="An in-flight revision of a running order: the change, its diff, the compensation plan "
    "(tasks cancelled, undone, redone, added) and the soft point-of-no-return charges."
)
class OrderRevision:
    id: relay.GlobalID
    state: RevisionState
    reason: str
    base_version: int = strawberry.field(description="The order version it revises.")
    new_version: int | None = strawberry.field(description="The version it made, once applied.")
    diff: list[VersionChange]
    compensation: JSON | None = strawberry.field(
        description="The compensation plan: cancel, undo (the original tasks), redo and add (the new tasks), each {id key name mode}; "
        "dropped: the domain orders the new version no longer has (withdrawn once their undos are done)."
    )
    charges: JSON | None = strawberry.field(description="Soft point-of-no-return charges applied (one-time surcharges).")
    point_of_no_return_acknowledged: bool
    requested_by: str
    order_id: relay.GlobalID
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> OrderRevision:
        return cls(
            id=gid("OrderRevision", row.id),
            state=_REVISION_STATES[row.state],
            reason=row.reason,
            base_version=row.base_version,
            new_version=row.new_version,
            diff=[VersionChange.from_change(c) for c in row.diff or ()],
            compensation=_task_ids(row.compensation),
            charges=row.charges,
            point_of_no_return_acknowledged=bool(row.ponr_acknowledged),
            requested_by=row.requested_by,
            order_id=gid("Order", row.order_id),
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


def _task_ids(compensation: dict[str, Any] | None) -> Any:
    """The compensation summary with the tasks' global ids (as Task.id shows them)."""
    if not compensation:
        return compensation
    return {
        part: [{**t, "id": str(gid("Task", t["id"]))} for t in tasks] if isinstance(tasks, list) else tasks
        for part, tasks in compensation.items()
    }


async def order_revisions(root: Any, info: Info) -> list[OrderRevision]:
    """The order's revisions, oldest first."""
    rows = await batched(info, info.context.services.revisions.revisions_of_orders).load(root.id)
    return [OrderRevision.from_row(r) for r in rows]


async def order_versions(root: Any, info: Info) -> list[OrderVersion]:
    """The order's versions, by number."""
    rows = await batched(info, info.context.services.revisions.versions_of_orders).load(root.id)
    return [OrderVersion.from_row(r) for r in rows]
