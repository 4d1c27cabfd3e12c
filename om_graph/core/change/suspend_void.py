"""A resume voids its product's pending suspend (ordering/pending_suspend.py).

A ``RESUME`` of an active product whose ``SUSPEND`` (another open order's line, e.g. one waiting
for its requested start date) has not happened is accepted at capture when that suspend may
still be voided (:func:`refusal`: submitted, no task of it started, no cancellation or revision
of its order open) and the resume is not dated after it (``pending_suspend.dated_after``: such a
resume ends the suspension, placed once the product is suspended). When the resume's order is submitted, :meth:`SuspendVoiding.on_submitted`
(an ``OrderService.submitted_hooks`` entry, in the submit's transaction) cancels the suspend line
through the cancellation service (TMF622 CancelProductOrder of the line, reason "voided by resume
order N line M"): nothing of it had started, so no fee and no undo, and the line's cancellation
settles at once (the suspend order is cancelled too when that was its last live line). The
resume line records why it has nothing to do (a ``ProductOrderAttributeValueChangeEvent`` with
``voidedSuspend``); its decomposition leaves it out (lifecycle/pipeline.py) and it completes at
once, the product untouched. Anything that refuses the cancellation refuses the submit
(``SUSPEND_PENDING``, naming why): the transaction rolls back, nothing half-written.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from om_graph.core.access.actor import Actor
from om_graph.core.change.cancellation import CancellationService
from om_graph.core.change.models import ACCEPTED, OPEN_CANCEL_STATES, OPEN_REVISION_STATES, CancelRequest, OrderRevision
from om_graph.core.change.states import CancelRequestStates
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.inventory.models import Product
from om_graph.core.inventory.states import ProductStatuses
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.pending_suspend import PendingSuspend, dated_after, pending_suspends, suspend_pending_error
from om_graph.core.ordering.states import CANCELLABLE, OrderStates

_STARTED = (TaskStates.IN_PROGRESS, TaskStates.ON_HOLD, TaskStates.COMPLETED, TaskStates.FAILED)


def refusal(session: Session, pending: PendingSuspend) -> str | None:
    """Why a resume may not void ``pending`` (an ``OrderValidator.suspend_refusal``), or None."""
    if pending.order_state == OrderStates.DRAFT:
        return "that order is a draft (it suspends nothing until submitted): edit it instead"
    if pending.order_state not in CANCELLABLE or pending.line_state not in CANCELLABLE:
        return f"that order is {pending.order_state} and its line {pending.line_state}"
    started = session.execute(
        select(Task.key, Task.state)
        .join(DomainOrder, DomainOrder.id == Task.domain_order_id)
        .where(DomainOrder.line_id == pending.line_id, or_(Task.started_at.is_not(None), Task.state.in_(_STARTED)))
        .order_by(Task.id)
        .limit(1)
    ).first()
    if started is not None:
        return f"its work has started (task {started.key!r} is {started.state})"
    request = session.scalar(
        select(CancelRequest.id)
        .where(
            CancelRequest.order_id == pending.order_id,
            CancelRequest.state.in_(OPEN_CANCEL_STATES),
            or_(CancelRequest.line_id.is_(None), CancelRequest.line_id == pending.line_id),
        )
        .limit(1)
    )
    if request is not None:
        return f"cancel request {request} of that order is open"
    revision = session.scalar(
        select(OrderRevision.id)
        .where(OrderRevision.order_id == pending.order_id, OrderRevision.state.in_(OPEN_REVISION_STATES))
        .limit(1)
    )
    if revision is not None:
        return f"revision {revision} of that order is being applied"
    return None


class SuspendVoiding:
    def __init__(self, cancellations: CancellationService):
        self.cancellations = cancellations

    def on_submitted(self, uow: UnitOfWork, actor: Actor, order: Order, lines: list[OrderLine]) -> None:
        """Void the pending suspends of the submitted order's resume lines (module docstring).
        Cheap for orders without a resume line: no query."""
        resumes = {line.product_id: line for line in lines if line.action == "resume" and line.product_id is not None}
        if not resumes:
            return
        session = uow.session
        active = session.scalars(
            select(Product.id).where(Product.id.in_(resumes), Product.status == ProductStatuses.ACTIVE)
        ).all()
        found = pending_suspends(session, active, excluding=order.id)
        # The suspends' orders are older than this one: locked newest first, as every writer does.
        for product_id, pending in sorted(found.items(), key=lambda item: item[1].order_id, reverse=True):
            self._void(uow, actor, order, resumes[product_id], pending)

    def _void(self, uow: UnitOfWork, actor: Actor, order: Order, line: OrderLine, pending: PendingSuspend) -> None:
        field_path = f"lines.{line.line_number - 1}.productId"
        lock_order(uow, pending.order_id)
        # Read again under the suspend order's lock: it may have moved since.
        fresh = pending_suspends(uow.session, [pending.product_id], excluding=order.id).get(pending.product_id)
        if fresh is None:
            return  # finished meanwhile: the product's status says what the resume does
        why = dated_after(fresh, order.requested_start_date) or refusal(uow.session, fresh)
        if why is not None:
            raise ValidationFailed([suspend_pending_error(field_path, fresh, why)])
        reason = f"voided by resume order {order.id} line {line.line_number}"
        try:
            request = self.cancellations.request_within(uow, actor, fresh.order_id, line_id=fresh.line_id, reason=reason)
        except ValidationFailed as refused:
            raise ValidationFailed([suspend_pending_error(field_path, fresh, refused.errors[0].message)]) from refused
        if request.state != CancelRequestStates.DONE or request.result != ACCEPTED:
            why = request.result_message or f"its cancellation is {request.state}"
            raise ValidationFailed([suspend_pending_error(field_path, fresh, why)])
        uow.record(
            order,
            ev.ORDER_ATTRIBUTE_CHANGE,
            entity_kind="line",
            entity=line,
            actor=actor,
            payload={
                "lineNumber": line.line_number,
                "voidedSuspend": {
                    "orderId": fresh.order_id,
                    "lineId": fresh.line_id,
                    "lineNumber": fresh.line_number,
                    "cancelRequestId": request.id,
                },
                "reason": (
                    f"the pending suspend of order {fresh.order_id} line {fresh.line_number} was cancelled "
                    f"(cancel request {request.id}); the product stayed active: nothing to resume"
                ),
            },
        )
