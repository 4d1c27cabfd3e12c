"""Settling accepted cancellations (core/change/cancellation.py): :func:`settle` runs in every plan
session as it closes, before its gates open (``Orchestrator.close_hooks``).

A line pending cancellation whose work is all over (its undos completed, nothing running) is
cancelled: domain orders ``withdraw`` (or ``cancel``), the line ``cancel``, an add line's
placeholders cancelled (``settlement.cancel_line_products``). Work that was running at acceptance
is undone once it completes. When every line of a request is settled the request is ``done``
(result ``accepted``, ``effective_cancellation_date``) and a whole order fires ``cancel``. A line
cancellation leaves the order running with its other lines (they complete it; the roll-up skips
cancelled lines); the last live line cancelled cancels the order too.

A failed undo (its fallout given up: the task failed) fails the line's cancellation
(``cancellationFailed`` → inProgress); the request ends ``terminatedWithError`` and a whole order
goes back to ``inProgress``; the roll-up then fails the line and the order (their work is over,
with a failed undo): what it could not reverse is left to people.

:func:`on_rolled_up` (an ``Orchestrator.rolled_up_hooks`` entry) rejects a future-dated request
still waiting for its date when its order ends: there is nothing left to cancel.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change.compensation import cancel_open, needs_undo, undo_tasks
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.change.models import ACCEPTED, DENIED, OPEN_CANCEL_STATES, CancelRequest
from om_graph.core.change.states import CancelRequestStates
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, TaskModes, TaskStates
from om_graph.core.inventory.settlement import cancel_line_products
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import OrderLine
from om_graph.core.ordering.states import CANCELLABLE, ORDER, LineStates, OrderStates


def open_requests(uow: UnitOfWork, order_id: int) -> list[CancelRequest]:
    return list(
        uow.session.scalars(
            select(CancelRequest)
            .where(CancelRequest.order_id == order_id, CancelRequest.state.in_(OPEN_CANCEL_STATES))
            .order_by(CancelRequest.id)
        )
    )


def reject(session: PlanSession, request: CancelRequest, code: str, message: str) -> None:
    """A request waiting for its date that can no longer be carried out (TMF622 v5 ``rejected``)."""
    request.result = DENIED
    request.result_message = f"{code}: {message}"[:2000]
    request.completed_at = utcnow()
    session.fire(request, "reject", SYSTEM_ACTOR, {"code": code, "reason": message})


def on_rolled_up(session: PlanSession) -> None:
    """The order ended (completed, failed, cancelled): a dated request still waiting is rejected."""
    order = session.order
    if order.state not in ORDER.terminal:
        return
    for request in open_requests(session.uow, order.id):
        if request.state == CancelRequestStates.ACKNOWLEDGED:
            reject(
                session, request, ChangeErrorCode.NOT_CANCELLABLE, f"the order is {order.state}: there is nothing left to cancel"
            )


def settle(session: PlanSession) -> None:
    """Finish what the compensation finished (module docstring). Cheap when nothing of the order
    is pending cancellation: no query."""
    plan = session.plan
    pending = [line for line in plan.lines if line.state == LineStates.PENDING_CANCELLATION]
    if not pending:
        return
    by_line: dict[int, list[Task]] = defaultdict(list)
    for task in plan.tasks.values():
        by_line[plan.domain_order(task.domain_order_id).line_id].append(task)
    settled = False
    for line in pending:
        tasks = by_line[line.id]
        cancel_open(session, [t for t in tasks if t.mode != TaskModes.UNDO], reason="its line is being cancelled")
        # Ran while the cancellation was accepted; none once an undo failed (the compensation
        # is over: the undos it stopped stay cancelled, not planned again).
        failed = any(t.mode == TaskModes.UNDO and t.state == TaskStates.FAILED for t in tasks)
        late = [] if failed else [t for t in tasks if needs_undo(session.plan, t)]
        if late:
            try:
                undo_tasks(session, late, reason="completed while its line was being cancelled", defer_running=True)
            except ValidationFailed:
                failed = True
            tasks = [t for t in plan.tasks.values() if plan.domain_order(t.domain_order_id).line_id == line.id]
        undos = [t for t in tasks if t.mode == TaskModes.UNDO]
        if failed or any(t.state == TaskStates.FAILED for t in undos):
            session.fire(line, "cancellationFailed", SYSTEM_ACTOR, {"reason": "an undo failed"})
            settled = True
        elif all(t.state in TASK.terminal for t in tasks):
            _cancel_line(session, line)
            settled = True
    if settled:
        _finish_requests(session)


def _cancel_line(session: PlanSession, line: OrderLine) -> None:
    for domain_order in sorted(session.plan.domain_orders, key=lambda d: d.id, reverse=True):
        if domain_order.line_id != line.id:
            continue
        for event in ("withdraw", "cancel"):
            if DOMAIN_ORDER.can(domain_order.state, event):
                session.fire(domain_order, event, SYSTEM_ACTOR, {"reason": "its line was cancelled"})
                break
    session.fire(line, "cancel", SYSTEM_ACTOR)
    cancel_line_products(session.uow, session.order, line, SYSTEM_ACTOR)


def _finish_requests(session: PlanSession) -> None:
    order, uow = session.order, session.uow
    lines = {line.id: line for line in session.plan.lines}
    now = utcnow()
    for request in open_requests(uow, order.id):
        if request.state != CancelRequestStates.IN_PROGRESS:
            continue
        scope = [lines[i] for i in (request.compensation or {}).get("lines", []) if i in lines]
        if any(line.state == LineStates.PENDING_CANCELLATION for line in scope):
            continue  # still compensating
        request.completed_at = now
        if all(line.state == LineStates.CANCELLED for line in scope):
            if request.line_id is None and order.state == OrderStates.PENDING_CANCELLATION:
                session.fire(order, "cancel", SYSTEM_ACTOR, {"cancelRequestId": request.id})
            elif request.line_id is not None:
                _cancel_emptied_order(session, request)
            request.result = ACCEPTED
            request.effective_cancellation_date = now
            session.fire(request, "finish", SYSTEM_ACTOR, {"result": ACCEPTED})
        else:
            if request.line_id is None and order.state == OrderStates.PENDING_CANCELLATION:
                session.fire(order, "cancellationFailed", SYSTEM_ACTOR, {"cancelRequestId": request.id})
            request.result_message = "the compensation failed: an undo task failed (see the order's fallout)"
            session.fire(request, "terminateWithError", SYSTEM_ACTOR)


def _cancel_emptied_order(session: PlanSession, request: CancelRequest) -> None:
    """A line cancellation that cancelled the order's last live line cancels the order."""
    order = session.order
    if order.state not in CANCELLABLE or any(line.state != LineStates.CANCELLED for line in session.plan.lines):
        return
    payload = {"cancelRequestId": request.id, "reason": "its last line was cancelled"}
    order.previous_state = order.state
    session.fire(order, "requestCancellation", SYSTEM_ACTOR, payload)
    session.fire(order, "acceptCancellation", SYSTEM_ACTOR, payload)
    session.fire(order, "cancel", SYSTEM_ACTOR, payload)
