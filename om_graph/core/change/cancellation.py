"""Cancellation (TMF622 ``CancelProductOrder``): of a whole order, or of one line.

``CancellationService.request`` runs in one plan session (the order locked):

1. The request is checked (one open request per order and line, no revision being applied, the
   order or line in a cancellable state, a soft point of no return acknowledged: else a typed
   error and nothing stored) and stored (``acknowledged``, a ``CancelProductOrderCreateEvent``).
2. A request dated in the future (``requestedCancellationDate``) is assessed at once (what would
   deny it now denies it now) and then waits, ``acknowledged``, while the order runs on:
   :meth:`CancellationService.run_due` (a pass of the reconciler, every few seconds) carries it
   out once its date has come, under the order's lock, assessing it again (the point of no return
   may have been passed since); an order (or line) that ended meanwhile rejects it
   (``rejected``, ``NOT_CANCELLABLE``; cancellation_settlement.py ``on_rolled_up`` rejects it as
   the order ends). A revision being applied at the date holds it until the revision is done.
3. Carrying it out: the order (a whole-order request) and the lines in scope store their
   ``previous_state`` and fire ``requestCancellation`` (→ ``assessingCancellation``). A line past
   a hard point of no return (change/ponr.py) denies it, naming the task, as does a soft one not
   acknowledged (a dated request assessed again); a whole order with a completed line is denied
   (``LINE_COMPLETED``: a delivered line is disconnected by a new order); completed work whose
   handler cannot undo it denies it (``NOT_COMPENSABLE``). A denied request is ``done`` with
   result ``denied`` and the order and lines go back exactly (``RESTORE_EVENTS``).
4. Accepted: the compensation is planned (change/compensation.py): open work cancelled, completed
   work with an effect undone (undo tasks, reverse dependency order), parked parts dropped; the
   order and lines ``acceptCancellation`` (→ ``pendingCancellation``) and the request goes
   ``inProgress``. The charges are written on the order's prices (change/charges.py): the soft
   PONR charges, and the fee (the offerings' ``cancellation_fee`` × quantity, when any task of
   the scope had started; also stored on the request, ``fee``).
5. Settlement: cancellation_settlement.py, in every plan session as it closes.

A held order (or line) may be cancelled: the request takes it out of ``held`` (it goes
``assessingCancellation``), so its compensation runs; denied, it goes back to ``held``.
One open request per order and line: a second one (or a retry of the same) while one is open gets
``CANCELLATION_IN_PROGRESS``; after it, the order is cancelled and a retry ``NOT_CANCELLABLE``.
A revision still being applied refuses a cancellation (``REVISION_IN_PROGRESS``): one change at
a time, so a revision's undo tasks and the cancellation's never reverse the same effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.registry import Registry
from om_graph.core.change import charges as change_charges
from om_graph.core.change import ponr
from om_graph.core.change.cancellation_settlement import open_requests, reject
from om_graph.core.change.compensation import cancel_open, needs_undo, refuse_not_compensable, undo_tasks
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.change.models import DENIED, OPEN_REVISION_STATES, REASON_TYPES, CancelRequest, OrderRevision
from om_graph.core.change.states import CANCEL_REQUEST, CancelRequestStates
from om_graph.core.fulfilment.models import CANCELLED_WAIT, WAITING, Task
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import TaskModes, TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_for_write, lock_order
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import CANCELLABLE, LINE, RESTORE_EVENTS, LineStates

UowFactory = Callable[..., UnitOfWork]
REASON_MAX = 500
log = logging.getLogger(__name__)


class CancellationService:
    def __init__(self, uow: UowFactory, orchestrator: Orchestrator, registry: Registry):
        self._uow = uow
        self.orchestrator = orchestrator
        self.registry = registry

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
        docstring). Returns the stored request: ``acknowledged`` (dated in the future: waiting for
        its date), ``inProgress`` (accepted, compensating), ``done`` (accepted and cancelled
        already, or ``denied``)."""
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

    def request_within(
        self, uow: UnitOfWork, actor: Actor, order_id: int, *, line_id: int | None, reason: str, reason_type: str | None = None
    ) -> CancelRequest:
        """:meth:`request` (now, no soft point of no return acknowledged) inside the caller's unit
        of work, which another order's change locked first (a resume voiding a pending suspend:
        change/suspend_void.py): the plan session closes, settling what it can, before this
        returns; nothing is committed here, so the caller's failure leaves no request behind."""
        require(actor, Permission.ORDER_CANCEL)
        reason = _check(reason, reason_type)
        session = self.orchestrator.open(uow, order_id)
        if session is None:
            raise NotFound("no such order", field="id")
        with session:
            return self._request(session, actor, line_id, reason, reason_type, None, False)

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
        field_name = "id" if line is None else "lineId"
        for open_request in open_requests(uow, order.id):
            if line is None or open_request.line_id in (None, line.id):
                waiting = open_request.state == CancelRequestStates.ACKNOWLEDGED and open_request.requested_cancellation_date
                raise ValidationFailed.single(
                    field_name,
                    f"cancel request {open_request.id} of this order is "
                    + (
                        f"scheduled for {open_request.requested_cancellation_date:%Y-%m-%d %H:%M} UTC"
                        if waiting
                        else "still being worked"
                    ),
                    ChangeErrorCode.CANCELLATION_IN_PROGRESS,
                )
        revising = self._revising(session)
        if revising is not None:
            raise ValidationFailed.single(
                field_name,
                f"revision {revising} of this order is still being applied: cancel once it is done",
                ChangeErrorCode.REVISION_IN_PROGRESS,
            )
        scope, completed = _scope(plan, order, line)
        assessment = ponr.assess(plan, {candidate.id for candidate in scope}, registry=self.registry)
        if not assessment.hard:
            ponr.refuse_past_ponr(assessment, acknowledged=acknowledge_ponr, field_name="acknowledgePointOfNoReturn")

        request = CancelRequest(
            order_id=order.id,
            line_id=line.id if line is not None else None,
            state=CANCEL_REQUEST.initial,
            cancellation_reason=reason,
            reason_type=reason_type,
            requested_cancellation_date=requested_date,
            previous_state=order.state if line is None else line.state,
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
        if requested_date is not None and requested_date > utcnow():
            denial = self._denial(session, scope, completed, assessment, acknowledged=acknowledge_ponr)
            if denial is not None:
                _deny(session, request, None, [], denial)  # nothing was moved: nothing to restore
            return request  # waits for its date (run_due)
        self._carry_out(session, request, actor, scope, completed, assessment)
        return request

    def _revising(self, session: PlanSession) -> int | None:
        return session.uow.session.scalar(
            select(OrderRevision.id).where(
                OrderRevision.order_id == session.order.id, OrderRevision.state.in_(OPEN_REVISION_STATES)
            )
        )

    def _denial(
        self,
        session: PlanSession,
        scope: Sequence[OrderLine],
        completed: Sequence[OrderLine],
        assessment: ponr.PonrAssessment,
        *,
        acknowledged: bool,
    ) -> tuple[str, str] | None:
        """Why the cancellation of ``scope`` is denied, or None (module docstring, 3)."""
        if completed:
            return (
                ChangeErrorCode.LINE_COMPLETED,
                f"line {completed[0].line_number} is completed: disconnect it with a new (delete) order",
            )
        if assessment.hard:
            return (ChangeErrorCode.PONR_PASSED, f"{assessment.hard[0].describe()}: it can no longer be cancelled")
        if assessment.soft and not acknowledged:
            hit = assessment.soft[0]
            return (ChangeErrorCode.PONR_ACKNOWLEDGEMENT_REQUIRED, f"{hit.describe()}: the request did not acknowledge it")
        try:
            refuse_not_compensable(session, self._tasks(session, scope))
        except ValidationFailed as refused:
            return (ChangeErrorCode.NOT_COMPENSABLE, refused.errors[0].message)
        return None

    @staticmethod
    def _tasks(session: PlanSession, scope: Sequence[OrderLine]) -> list[Task]:
        plan, ids = session.plan, {line.id for line in scope}
        return [t for t in plan.tasks.values() if plan.domain_order(t.domain_order_id).line_id in ids]

    def _carry_out(
        self,
        session: PlanSession,
        request: CancelRequest,
        actor: Actor,
        scope: Sequence[OrderLine],
        completed: Sequence[OrderLine],
        assessment: ponr.PonrAssessment,
    ) -> None:
        """Assess and (accepted) compensate (module docstring, 3 and 4)."""
        uow, plan, order = session.uow, session.plan, session.order
        whole = request.line_id is None
        if whole:
            order.previous_state = order.state
            session.fire(order, "requestCancellation", actor, {"cancelRequestId": request.id})
        for candidate in scope:
            candidate.previous_state = candidate.state
            session.fire(candidate, "requestCancellation", actor, {"cancelRequestId": request.id})
        denial = self._denial(session, scope, completed, assessment, acknowledged=request.ponr_acknowledged)
        if denial is not None:
            _deny(session, request, order if whole else None, scope, denial)
            return

        tasks = self._tasks(session, scope)
        scope_ids = {candidate.id for candidate in scope}
        reason = request.cancellation_reason
        why = f"cancel request {request.id}: {reason}"
        started = any(t.started_at is not None for t in tasks)
        request.fee = change_charges.cancellation_fee(order, scope, self.registry) if started else None
        charges = (
            change_charges.charge_ponr(uow, order, plan.lines, assessment, reason, actor=actor, registry=self.registry)
            if assessment.soft
            else []
        )
        if request.fee is not None:
            change_charges.charge_fee(uow, order, plan.lines, request.fee, request.id, why, registry=self.registry)
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
        if whole:
            session.fire(order, "acceptCancellation", SYSTEM_ACTOR, {"cancelRequestId": request.id})
        for candidate in scope:
            session.fire(candidate, "acceptCancellation", SYSTEM_ACTOR, {"cancelRequestId": request.id})
        session.fire(request, "start", SYSTEM_ACTOR)

    # -- dated requests (a reconciler pass) ------------------------------------------------------

    def run_due(self, now: datetime | None = None, *, batch: int = 100) -> int:
        """Carry out the requests whose ``requestedCancellationDate`` has come (module docstring,
        2), each in its own transaction under its order's lock; returns how many were carried out
        or rejected. Any number of passes may run at once: each re-reads the request under the
        lock and leaves one another has taken."""
        now = now or utcnow()
        with self._uow(read_only=True) as uow:
            due = uow.session.execute(
                select(CancelRequest.id, CancelRequest.order_id)
                .where(
                    CancelRequest.state == CancelRequestStates.ACKNOWLEDGED,
                    CancelRequest.requested_cancellation_date <= now,
                )
                .order_by(CancelRequest.requested_cancellation_date, CancelRequest.id)
                .limit(batch)
            ).all()
        done = 0
        for request_id, order_id in due:
            try:
                with self._uow() as uow:
                    lock_order(uow, order_id)
                    session = self.orchestrator.open(uow, order_id)
                    if session is None:
                        continue
                    with session:
                        done += self._run_dated(session, request_id)
            except Exception:  # one request that cannot be carried out does not stop the others
                log.exception("carrying out cancel request %s failed; the next pass tries again", request_id)
        return done

    def _run_dated(self, session: PlanSession, request_id: int) -> int:
        request = session.uow.session.get(CancelRequest, request_id)
        if request is None or request.state != CancelRequestStates.ACKNOWLEDGED:
            return 0  # another pass carried it out
        if self._revising(session) is not None:
            return 0  # one change at a time: the next pass after the revision
        plan, order = session.plan, session.order
        line = plan.line(request.line_id) if request.line_id is not None else None
        try:
            scope, completed = _scope(plan, order, line)
        except ValidationFailed as refused:
            error = refused.errors[0]
            reject(session, request, str(error.code), error.message)
            return 1
        assessment = ponr.assess(plan, {candidate.id for candidate in scope}, registry=self.registry)
        self._carry_out(session, request, SYSTEM_ACTOR, scope, completed, assessment)
        return 1


def _scope(plan: OrderPlan, order: Order, line: OrderLine | None) -> tuple[list[OrderLine], list[OrderLine]]:
    """The lines a request cancels, and (a whole order) its completed lines; NOT_CANCELLABLE or
    LINE_COMPLETED when the order or line is in no state a cancellation may start from."""
    field_name = "id" if line is None else "lineId"
    target: Order | OrderLine = order if line is None else line
    if target.state not in CANCELLABLE:
        if line is not None and line.state == LineStates.COMPLETED:
            raise ValidationFailed.single(
                field_name,
                f"line {line.line_number} is completed: disconnect it with a new (delete) order",
                ChangeErrorCode.LINE_COMPLETED,
            )
        raise ValidationFailed.single(
            field_name,
            f"a {'line' if line is not None else 'order'} in state {target.state} cannot be cancelled",
            ChangeErrorCode.NOT_CANCELLABLE,
        )
    if line is not None:
        return [line], []
    scope = [candidate for candidate in plan.lines if candidate.state not in LINE.terminal]
    stuck = [candidate for candidate in scope if candidate.state not in CANCELLABLE]
    if stuck:
        raise ValidationFailed.single(
            "id", f"line {stuck[0].line_number} is {stuck[0].state}: it cannot be cancelled", ChangeErrorCode.NOT_CANCELLABLE
        )
    return scope, [candidate for candidate in plan.lines if candidate.state == LineStates.COMPLETED]


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
