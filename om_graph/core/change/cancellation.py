"""Cancellation (TMF622 ``CancelProductOrder``): of a whole order, or of one line.

``CancellationService.request`` runs in one plan session (the order locked):

1. The request is stored (``acknowledged``, a ``CancelProductOrderCreateEvent``), the order (a
   whole-order request) and the lines in scope store their ``previous_state`` and fire
   ``requestCancellation`` (→ ``assessingCancellation``).
2. Assessment: a line past a hard point of no return (change/ponr.py) denies it, naming the task;
   a soft one needs ``acknowledge_ponr`` (else ``PONR_ACKNOWLEDGEMENT_REQUIRED``, nothing stored)
   and its charge is written (``ponr.apply_charges``); a whole order with a completed line is
   denied (``LINE_COMPLETED``: a delivered line is disconnected by a new order); completed work
   whose handler cannot undo it denies it (``NOT_COMPENSABLE``). A denied request is ``done``
   with result ``denied`` and the order and lines go back exactly (``RESTORE_EVENTS``).
3. Accepted: the compensation is planned (change/compensation.py): open work cancelled, completed
   work with an effect undone (undo tasks, reverse dependency order), parked parts dropped; the
   order and lines ``acceptCancellation`` (→ ``pendingCancellation``) and the request goes
   ``inProgress``. The fee (the offerings' ``cancellation_fee`` × quantity, when any task of the
   scope had started) is stored on the request (``fee``), not written into the order's prices.
4. Settlement (:meth:`CancellationService.settle`, run by every plan session as it closes,
   before its gates open: ``Orchestrator.close_hooks``): a line pending cancellation whose work
   is all over (its undos completed, nothing running) is cancelled: domain orders ``withdraw``
   (or ``cancel``), the line ``cancel``, an add line's placeholders cancelled
   (``settlement.cancel_line_products``). Work that was running at acceptance is undone once it
   completes. When every line of a request is settled the request is ``done`` (result
   ``accepted``, ``effective_cancellation_date``) and a whole order fires ``cancel``. A line
   cancellation leaves the order running with its other lines (they complete it; the roll-up
   skips cancelled lines); the last live line cancelled cancels the order too.
   A failed undo (its fallout given up: the task failed) fails the line's cancellation
   (``cancellationFailed`` → inProgress); the request ends ``terminatedWithError`` and a whole
   order goes back to ``inProgress``; the roll-up then fails the line and the order (their work
   is over, with a failed undo): what it could not reverse is left to people.

A held order (or line) may be cancelled: the request takes it out of ``held`` (it goes
``assessingCancellation``), so its compensation runs; denied, it goes back to ``held``.
A requested cancellation date is stored; the cancellation runs at once (no scheduling).
One open request per order and line: a second one (or a retry of the same) while one is open gets
``CANCELLATION_IN_PROGRESS``; after it, the order is cancelled and a retry ``NOT_CANCELLABLE``.
A revision still being applied refuses a cancellation (``REVISION_IN_PROGRESS``): one change at
a time, so a revision's undo tasks and the cancellation's never reverse the same effect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.registry import Registry
from om_graph.core.change import ponr
from om_graph.core.change.compensation import cancel_open, needs_undo, refuse_not_compensable, undo_tasks
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.change.models import OPEN_CANCEL_STATES, OPEN_REVISION_STATES, CancelRequest, OrderRevision
from om_graph.core.change.states import CANCEL_REQUEST, CancelRequestStates
from om_graph.core.fulfilment.models import CANCELLED_WAIT, WAITING, Task
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, TaskModes, TaskStates
from om_graph.core.inventory.settlement import cancel_line_products
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import CANCELLABLE, LINE, RESTORE_EVENTS, LineStates, OrderStates
from om_graph.core.pricing.money import round_money, text

UowFactory = Callable[..., UnitOfWork]
REASON_MAX = 500
REASON_TYPES = ("commercial", "technical")  # MEF cancellation reason types
ACCEPTED, DENIED = "accepted", "denied"  # CancelRequest.result


def _open_requests(uow: UnitOfWork, order_id: int) -> list[CancelRequest]:
    return list(
        uow.session.scalars(
            select(CancelRequest)
            .where(CancelRequest.order_id == order_id, CancelRequest.state.in_(OPEN_CANCEL_STATES))
            .order_by(CancelRequest.id)
        )
    )


class CancellationService:
    def __init__(self, uow: UowFactory, orchestrator: Orchestrator, registry: Registry):
        self._uow = uow
        self.orchestrator = orchestrator
        self.registry = registry

    # -- reads ---------------------------------------------------------------------------------

    def get(self, actor: Actor, request_id: int) -> CancelRequest:
        """One request (ORDER_READ; a customer's own orders only): NOT_FOUND otherwise."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            found = uow.session.get(CancelRequest, request_id)
            if found is not None and actor.account_id is not None:
                owner = uow.session.scalar(select(Order.customer_id).where(Order.id == found.order_id))
                if owner != actor.account_id:
                    found = None
            if found is None:
                raise NotFound("no such cancel request", field="id")
            uow.session.expunge(found)
        return found

    def by_ids(self, actor: Actor, request_ids: Iterable[int]) -> dict[int, CancelRequest]:
        """The requests of ``request_ids`` the actor may see (node(id)), by id."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(request_ids))
        if not ids:
            return {}
        with self._uow(read_only=True) as uow:
            statement = select(CancelRequest).where(CancelRequest.id.in_(ids))
            if actor.account_id is not None:
                statement = statement.join(Order, Order.id == CancelRequest.order_id).where(Order.customer_id == actor.account_id)
            found = {request.id: request for request in uow.session.scalars(statement)}
            uow.session.expunge_all()
        return found

    def of_orders(self, actor: Actor, order_ids: Iterable[int]) -> dict[int, list[CancelRequest]]:
        """The requests of each order, oldest first (callers have read the orders already)."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(order_ids))
        found: dict[int, list[CancelRequest]] = {i: [] for i in ids}
        if not ids:
            return found
        with self._uow(read_only=True) as uow:
            statement = select(CancelRequest).where(CancelRequest.order_id.in_(ids)).order_by(CancelRequest.id)
            if actor.account_id is not None:
                statement = statement.join(Order, Order.id == CancelRequest.order_id).where(Order.customer_id == actor.account_id)
            for request in uow.session.scalars(statement):
                found[request.order_id].append(request)
            uow.session.expunge_all()
        return found

    def order_of_line(self, actor: Actor, line_id: int) -> int:
        """The order a line belongs to (NOT_FOUND for another account's)."""
        with self._uow(read_only=True) as uow:
            row = uow.session.execute(
                select(OrderLine.order_id, Order.customer_id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLine.id == line_id)
            ).first()
        if row is None or (actor.account_id is not None and row.customer_id != actor.account_id):
            raise NotFound("no such line", field="lineId")
        return int(row.order_id)

    # -- the request ---------------------------------------------------------------------------

    def request(
        self,
        actor: Actor,
        order_id: int,
        *,
        line_id: int | None = None,
        reason: str,
        reason_type: str | None = None,
        requested_date: datetime | None = None,
        acknowledge_ponr: bool = False,
        expected_version: int | None = None,
    ) -> CancelRequest:
        """Request the cancellation of an order (``line_id`` None) or of one of its lines (module
        docstring). Returns the stored request: ``inProgress`` (accepted, compensating), ``done``
        (accepted and cancelled already, or ``denied``)."""
        require(actor, Permission.ORDER_CANCEL)
        reason = _check(reason, reason_type)
        with self._uow() as uow:
            lock_for_write(uow, actor, order_id, expected_version)  # NOT_FOUND (other accounts), CONFLICT
            session = self.orchestrator.open(uow, order_id)
            assert session is not None  # locked just now
            with session:
                request = self._request(session, actor, line_id, reason, reason_type, requested_date, acknowledge_ponr)
            uow.session.flush()
            uow.session.refresh(request)
            uow.session.expunge(request)
        return request

    def _request(
        self,
        session: PlanSession,
        actor: Actor,
        line_id: int | None,
        reason: str,
        reason_type: str | None,
        requested_date: datetime | None,
        acknowledge_ponr: bool,
    ) -> CancelRequest:
        uow, plan, order = session.uow, session.plan, session.order
        line = None
        if line_id is not None:
            line = next((candidate for candidate in plan.lines if candidate.id == line_id), None)
            if line is None:
                raise NotFound("no such line in this order", field="lineId")
        for open_request in _open_requests(uow, order.id):
            if line is None or open_request.line_id in (None, line.id):
                raise ValidationFailed.single(
                    "id" if line is None else "lineId",
                    f"cancel request {open_request.id} of this order is still being worked",
                    ChangeErrorCode.CANCELLATION_IN_PROGRESS,
                )
        revising = uow.session.scalar(
            select(OrderRevision.id).where(OrderRevision.order_id == order.id, OrderRevision.state.in_(OPEN_REVISION_STATES))
        )
        if revising is not None:
            raise ValidationFailed.single(
                "id" if line is None else "lineId",
                f"revision {revising} of this order is still being applied: cancel once it is done",
                ChangeErrorCode.REVISION_IN_PROGRESS,
            )
        target: Order | OrderLine = order if line is None else line
        if target.state not in CANCELLABLE:
            if line is not None and line.state == LineStates.COMPLETED:
                raise ValidationFailed.single(
                    "lineId",
                    f"line {line.line_number} is completed: disconnect it with a new (delete) order",
                    ChangeErrorCode.LINE_COMPLETED,
                )
            raise ValidationFailed.single(
                "id" if line is None else "lineId",
                f"a {'line' if line is not None else 'order'} in state {target.state} cannot be cancelled",
                ChangeErrorCode.NOT_CANCELLABLE,
            )
        if line is not None:
            scope = [line]
            completed: list[OrderLine] = []
        else:
            scope = [candidate for candidate in plan.lines if candidate.state not in LINE.terminal]
            completed = [candidate for candidate in plan.lines if candidate.state == LineStates.COMPLETED]
            stuck = [candidate for candidate in scope if candidate.state not in CANCELLABLE]
            if stuck:
                raise ValidationFailed.single(
                    "id",
                    f"line {stuck[0].line_number} is {stuck[0].state}: it cannot be cancelled",
                    ChangeErrorCode.NOT_CANCELLABLE,
                )
        scope_ids = {candidate.id for candidate in scope}
        assessment = ponr.assess(plan, scope_ids, registry=self.registry)
        if not assessment.hard:
            ponr.refuse_past_ponr(assessment, acknowledged=acknowledge_ponr, field_name="acknowledgePointOfNoReturn")

        request = CancelRequest(
            order_id=order.id,
            line_id=line.id if line is not None else None,
            state=CANCEL_REQUEST.initial,
            cancellation_reason=reason,
            reason_type=reason_type,
            requested_cancellation_date=requested_date,
            previous_state=target.state,
            ponr_acknowledged=acknowledge_ponr,
            requested_by=actor.label,
            version=1,
            created_at=utcnow(),
        )
        uow.add_new([request])
        uow.record(
            order,
            ev.CANCEL_ORDER_CREATE,
            entity_kind="cancelRequest",
            entity_id=request.id,
            actor=actor,
            to_state=request.state,
            payload={"lineId": request.line_id, "reason": reason, "reasonType": reason_type},
        )
        if line is None:
            order.previous_state = order.state
            session.fire(order, "requestCancellation", actor, {"cancelRequestId": request.id})
        for candidate in scope:
            candidate.previous_state = candidate.state
            session.fire(candidate, "requestCancellation", actor, {"cancelRequestId": request.id})

        tasks = [t for t in plan.tasks.values() if plan.domain_order(t.domain_order_id).line_id in scope_ids]
        denial: tuple[str, str] | None = None
        if completed:
            denial = (
                ChangeErrorCode.LINE_COMPLETED,
                f"line {completed[0].line_number} is completed: disconnect it with a new (delete) order",
            )
        elif assessment.hard:
            hit = assessment.hard[0]
            denial = (ChangeErrorCode.PONR_PASSED, f"{hit.describe()}: it can no longer be cancelled")
        else:
            try:
                refuse_not_compensable(session, tasks)
            except ValidationFailed as refused:
                denial = (ChangeErrorCode.NOT_COMPENSABLE, refused.errors[0].message)
        if denial is not None:
            self._deny(session, request, order if line is None else None, scope, denial)
            return request

        started = any(t.started_at is not None for t in tasks)
        request.fee = self._fee(order, scope) if started else None
        charges = (
            ponr.apply_charges(uow, order, plan.lines, assessment, reason, actor=actor, registry=self.registry)
            if assessment.soft
            else []
        )
        why = f"cancel request {request.id}: {reason}"
        # Open undo work (a revision's, finished before this request) is kept: it reverses an effect
        # the cancellation would otherwise have to (a task is undone at most once).
        cancelled = cancel_open(session, [t for t in tasks if t.mode != TaskModes.UNDO], reason=why)
        undone = undo_tasks(session, [t for t in tasks if needs_undo(plan, t)], reason=why, defer_running=True)
        for wait in plan.waits:
            if wait.line_id in scope_ids and wait.state == WAITING:
                wait.state = CANCELLED_WAIT
        for candidate in scope:
            candidate.information_required = None
        request.compensation = {
            "lines": sorted(scope_ids),
            "cancelled": [t.id for t in cancelled],
            "undone": [{"task": t.compensates_id, "undo": t.id} for t in undone],
            "running": [t.id for t in tasks if t.state == TaskStates.IN_PROGRESS],
            "charges": charges,
        }
        if line is None:
            session.fire(order, "acceptCancellation", SYSTEM_ACTOR, {"cancelRequestId": request.id})
        for candidate in scope:
            session.fire(candidate, "acceptCancellation", SYSTEM_ACTOR, {"cancelRequestId": request.id})
        session.fire(request, "start", SYSTEM_ACTOR)
        return request

    def _fee(self, order: Order, lines: Sequence[OrderLine]) -> dict[str, Any] | None:
        total = Decimal(0)
        items = []
        for line in lines:
            offering = self.registry.offerings.get(line.offering_key)
            fee = offering.cancellation_fee if offering is not None else None
            if not fee:
                continue
            amount = round_money(fee * line.quantity, order.currency)
            total += amount
            items.append({"lineId": line.id, "lineNumber": line.line_number, "amount": text(amount)})
        if not items:
            return None
        return {
            "amount": text(round_money(total, order.currency)),
            "currency": order.currency,
            "reason": "cancellation fee: work had started",
            "lines": items,
        }

    @staticmethod
    def _deny(
        session: PlanSession, request: CancelRequest, order: Order | None, scope: Sequence[OrderLine], denial: tuple[str, str]
    ) -> None:
        code, message = denial
        for line in scope:
            session.fire(line, RESTORE_EVENTS[line.previous_state or ""], SYSTEM_ACTOR, {"cancelRequestId": request.id})
        if order is not None:
            session.fire(order, RESTORE_EVENTS[order.previous_state or ""], SYSTEM_ACTOR, {"cancelRequestId": request.id})
        request.result = DENIED
        request.result_message = f"{code}: {message}"[:2000]
        request.compensation = {"lines": [line.id for line in scope], "denied": {"code": code, "message": message}}
        request.completed_at = utcnow()
        session.fire(request, "finish", SYSTEM_ACTOR, {"result": DENIED, "code": code})

    # -- settlement (every plan session, before its gates open) ---------------------------------

    def settle(self, session: PlanSession) -> None:
        """Finish what the compensation finished (module docstring, 4). Cheap when nothing of
        the order is pending cancellation: no query."""
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
                self._cancel_line(session, line)
                settled = True
        if settled:
            self._finish_requests(session)

    @staticmethod
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

    def _finish_requests(self, session: PlanSession) -> None:
        order, uow = session.order, session.uow
        lines = {line.id: line for line in session.plan.lines}
        now = utcnow()
        for request in _open_requests(uow, order.id):
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
                    self._cancel_emptied_order(session, request)
                request.result = ACCEPTED
                request.effective_cancellation_date = now
                session.fire(request, "finish", SYSTEM_ACTOR, {"result": ACCEPTED})
            else:
                if request.line_id is None and order.state == OrderStates.PENDING_CANCELLATION:
                    session.fire(order, "cancellationFailed", SYSTEM_ACTOR, {"cancelRequestId": request.id})
                request.result_message = "the compensation failed: an undo task failed (see the order's fallout)"
                session.fire(request, "terminateWithError", SYSTEM_ACTOR)

    @staticmethod
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


def _check(reason: str, reason_type: str | None) -> str:
    errors = []
    reason = (reason or "").strip()
    if not reason:
        errors.append(FieldError("reason", "say why the order is cancelled", CommonErrorCode.REQUIRED))
    elif len(reason) > REASON_MAX:
        errors.append(FieldError("reason", f"at most {REASON_MAX} characters", CommonErrorCode.TOO_LONG))
    if reason_type is not None and reason_type not in REASON_TYPES:
        errors.append(FieldError("reasonType", f"one of {', '.join(REASON_TYPES)}", CommonErrorCode.INVALID))
    if errors:
        raise ValidationFailed(errors)
    return reason
