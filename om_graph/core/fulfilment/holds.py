"""Hold, resume and pending: stopping an order's or a line's work, and the clock while it stops.

A manager (``order:hold``) or fallout (the system) *holds* an in-flight order or line: while it
is held no task of it is claimed (``claim_wave``, the reconciler's re-dispatch), none is released
when its predecessors finish, and its manual tasks cannot be completed. Work already running
finishes and is recorded. *Resuming* it lets the work continue: the plan session releases what
became releasable, and an advance job runs the automatic work that is ready.

A line is *pending* while decomposition waits for information it needs (TMF622
``ProductOrderInformationRequiredEvent``, with the field paths): the work already built runs, the
line cannot complete, and it resumes when the information arrives (``information_provided``).
The order stays ``inProgress``: an order with a pending line is paused through that line
(``order_paused``). The ORDER machine's ``pending`` state is not entered by this module.

Pauses: held and pending stop the SLA clock. Entering one sets ``paused_at``; leaving it adds the
elapsed seconds to ``paused_seconds``, clears ``paused_at`` and moves the ``due_at`` of the open
tasks and domain orders under it later by the pause. When an order and one of its lines are both
paused, a task under both is moved by the union of the two pauses (the first to end moves it by
its own pause less the overlap with the other, still running, one), so no second is counted twice.

Every function here works inside a :class:`PlanSession` (the order is locked, its plan loaded)
and fires the machines through it, so every change is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, exists, or_, select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.fulfilment.decomposition import CANCELLED_WAIT, WAITING
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import RUNNABLE
from om_graph.core.fulfilment.states import DOMAIN_ORDER_DONE, OPEN_TASK_STATES, TaskKinds
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import InvalidTransition, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import Acting, UnitOfWork
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import LineStates, OrderStates

if TYPE_CHECKING:
    from om_graph.core.fulfilment.orchestration import Orchestrator
    from om_graph.core.fulfilment.session import PlanSession

REASON_MAX = 500  # order.hold_reason / order_line.hold_reason


# -- queries over a plan (no writes) ---------------------------------------------------------


def is_paused(order: Order, line: OrderLine | None = None) -> bool:
    """Whether the SLA clock of work under ``order`` (and ``line``, if given) is stopped: the
    order or the line is held or pending."""
    return order.paused_at is not None or (line is not None and line.paused_at is not None)


def is_held(order: Order, line: OrderLine | None = None) -> bool:
    """Whether work under ``order`` (and ``line``) must not be claimed, released or completed."""
    return order.state == OrderStates.HELD or (line is not None and line_held(line))


def order_paused(plan: OrderPlan) -> bool:
    """The order's own clock: stopped while it is held or any of its lines is held or pending."""
    return plan.order.paused_at is not None or any(line.paused_at is not None for line in plan.lines)


# A line whose work is withheld in place: it keeps its state, its hold_reason says why (a
# revision waiting for approval, core/change/revision.py: :func:`withhold`, :func:`release`).
WITHHELD_LINE_STATES = frozenset({LineStates.ACKNOWLEDGED, LineStates.IN_PROGRESS, LineStates.PENDING})


def line_held(line: OrderLine) -> bool:
    """Whether the line's work is held: the line is held, or withheld with a reason."""
    return line.state == LineStates.HELD or (line.hold_reason is not None and line.state in WITHHELD_LINE_STATES)


def held_domain_orders(plan: OrderPlan) -> frozenset[int]:
    """Ids of the plan's domain orders whose work is held (their order or line is held or withheld)."""
    if plan.order.state == OrderStates.HELD:
        return frozenset(d.id for d in plan.domain_orders)
    held_lines = {line.id for line in plan.lines if line_held(line)}
    if not held_lines:
        return frozenset()
    return frozenset(d.id for d in plan.domain_orders if d.line_id in held_lines)


def not_held(tasks: Iterable[Task], plan: OrderPlan) -> list[Task]:
    """``tasks`` less those of a held order or line."""
    held = held_domain_orders(plan)
    return [task for task in tasks if task.domain_order_id not in held] if held else list(tasks)


def task_held(plan: OrderPlan, task: Task) -> bool:
    return task.domain_order_id in held_domain_orders(plan)


def not_held_sql() -> ColumnElement[bool]:
    """SQL over ``order_task`` rows: the task's order and line are not held (the reconciler's
    re-dispatch must not send advance jobs that would only find the work held)."""
    held_order = exists(select(Order.id).where(Order.id == Task.order_id, Order.state == OrderStates.HELD))
    held_line = exists(
        select(DomainOrder.id)
        .join(OrderLine, OrderLine.id == DomainOrder.line_id)
        .where(
            DomainOrder.id == Task.domain_order_id,
            or_(
                OrderLine.state == LineStates.HELD,
                and_(OrderLine.hold_reason.is_not(None), OrderLine.state.in_(WITHHELD_LINE_STATES)),
            ),
        )
    )
    return and_(~held_order, ~held_line)


# -- hold and resume -------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.single("reason", "say why the work is held", CommonErrorCode.REQUIRED)
    if len(reason) > REASON_MAX:
        raise ValidationFailed.single("reason", f"at most {REASON_MAX} characters", CommonErrorCode.TOO_LONG)
    return reason


def hold(session: PlanSession, entity: Order | OrderLine, actor: Acting, reason: str) -> None:
    """Hold an in-flight order or line (``actor``: a manager with ``order:hold``, or
    ``SYSTEM_ACTOR`` for fallout). Its clock stops unless already stopped (a pending line)."""
    reason = _reason(reason)
    session.fire(entity, "hold", actor, {"reason": reason})
    entity.hold_reason = reason
    if entity.paused_at is None:
        entity.paused_at = utcnow()


def resume(session: PlanSession, entity: Order | OrderLine, actor: Acting) -> None:
    """Resume a held order or line: its clock runs again (due dates moved by the pause), the
    session releases what became releasable and sends the advance job for ready automatic work."""
    session.fire(entity, "resume", actor, {"reason": entity.hold_reason} if entity.hold_reason else None)
    entity.hold_reason = None
    for hook in session.orchestrator.resume_hooks:
        hook(session)
    _end_pause(session, entity)
    _wake(session)


def withhold(lines: Iterable[OrderLine], reason: str) -> None:
    """The lines' work is not claimed, released or completed until :func:`release`, while the
    lines keep their state (a revision waiting for approval). A held line keeps its own reason."""
    for line in lines:
        if line.state in WITHHELD_LINE_STATES:
            line.hold_reason = _reason(reason)


def release(session: PlanSession, lines: Iterable[OrderLine]) -> None:
    """End :func:`withhold`: the lines' ready automatic work is sent to a worker."""
    released = False
    for line in lines:
        if line.state in WITHHELD_LINE_STATES and line.hold_reason is not None:
            line.hold_reason = None
            released = True
    if released:
        _wake(session)


def await_information(session: PlanSession, line: OrderLine, paths: list[str], reason: str) -> None:
    """The line waits for information (``paths``: the field paths that are missing, e.g.
    ``productOrderItem[1].product.productCharacteristic[installationDate]``). Its built work
    runs; it cannot complete before ``information_provided``. Records the TMF622
    ``ProductOrderInformationRequiredEvent`` with ``{"fieldPath": paths, "reason": reason}``.
    A line already pending gets the new paths added (one more event)."""
    if not paths:
        raise ValueError("await_information needs at least one field path")
    known = list(line.information_required or [])
    merged = known + [p for p in paths if p not in known]
    if line.state != LineStates.PENDING:
        session.fire(line, "awaitInformation", SYSTEM_ACTOR, {"fieldPath": list(paths), "reason": reason})
        if line.paused_at is None:
            line.paused_at = utcnow()
    line.information_required = merged
    session.uow.record(
        session.order,
        ev.INFORMATION_REQUIRED,
        entity_kind="line",
        entity_id=line.id,
        actor=SYSTEM_ACTOR,
        payload={"fieldPath": list(paths), "reason": reason, "lineNumber": line.line_number},
    )


def information_provided(session: PlanSession, line: OrderLine, actor: Acting = SYSTEM_ACTOR) -> None:
    """The information a pending line waited for arrived: it is in progress again, its clock runs."""
    if line.state != LineStates.PENDING:
        raise InvalidTransition(f"line {line.line_number} is not pending (it is {line.state})", field="lineNumber")
    session.fire(line, "informationProvided", actor, {"fieldPath": list(line.information_required or [])})
    line.information_required = None
    _end_pause(session, line)
    _wake(session)


def abandon_waits(session: PlanSession, line: OrderLine, parents: set[int] | None, reason: str) -> None:
    """The parked parts under ``parents`` (all of the line's with None) will never be built (the
    line was given up, their parent domain order closed by hand): cancel their waits, and a
    pending line waiting for nothing else continues (its pause ends) so it can roll up."""
    waiting = [w for w in session.plan.waits if w.line_id == line.id and w.state == WAITING]
    for wait in waiting:
        if parents is None or wait.parent_id in parents:
            wait.state = CANCELLED_WAIT
    if line.state == LineStates.PENDING and not any(w.state == WAITING for w in waiting):
        session.fire(line, "informationProvided", SYSTEM_ACTOR, {"fieldPath": [], "reason": reason})
        line.information_required = None
        _end_pause(session, line)


# -- the clock -------------------------------------------------------------------------------


def _overlap(start: datetime, other: datetime | None, now: datetime) -> float:
    """Seconds of [start, now] during which a pause that began at ``other`` (still running) also ran."""
    if other is None:
        return 0.0
    return max(0.0, (now - max(start, other)).total_seconds())


def _end_pause(session: PlanSession, entity: Order | OrderLine) -> None:
    """Close ``entity``'s pause: count it, and move the open work under it by the part of it not
    covered by another pause still running over the same work."""
    started = entity.paused_at
    if started is None:
        return
    now = utcnow()
    elapsed = max(0.0, (now - started).total_seconds())
    entity.paused_seconds = (entity.paused_seconds or 0) + int(round(elapsed))
    entity.paused_at = None
    plan = session.plan
    lines = plan.lines if isinstance(entity, Order) else [entity]
    for line in lines:
        other = line.paused_at if isinstance(entity, Order) else plan.order.paused_at
        shift = elapsed - _overlap(started, other, now)
        if shift <= 0:
            continue
        _shift_line(plan, line, timedelta(seconds=shift), now)


def end_pause(session: PlanSession, entity: Order | OrderLine) -> None:
    """Close a pause another context started (change management: a revision waiting for
    approval stops the order's clock like a hold): due dates move by its length."""
    _end_pause(session, entity)


def _shift_line(plan: OrderPlan, line: OrderLine, by: timedelta, now: datetime) -> None:
    """Move the line's open due dates by ``by`` (the pause that ended at ``now``); a task whose
    clock started during the pause (released meanwhile: due_at - planned_seconds) moves only by
    the part of the pause after its start."""
    domain_orders = {d.id: d for d in plan.domain_orders if d.line_id == line.id}
    for domain_order in domain_orders.values():
        if domain_order.due_at is not None and domain_order.state not in DOMAIN_ORDER_DONE:
            domain_order.due_at = domain_order.due_at + by
    for task in plan.tasks.values():
        if task.domain_order_id in domain_orders and task.due_at is not None and task.state in OPEN_TASK_STATES:
            task_by = by
            if task.planned_seconds:
                clock_started = task.due_at - timedelta(seconds=task.planned_seconds)
                task_by = max(timedelta(0), min(by, now - clock_started))
            task.due_at = task.due_at + task_by


def _wake(session: PlanSession) -> None:
    """Ready automatic work no longer held is sent to a worker when the session closes."""
    now = utcnow()
    for task in not_held(session.plan.tasks.values(), session.plan):
        if task.kind == TaskKinds.AUTOMATIC and RUNNABLE.matches(task, now):
            task.dispatched_at = now
            session.automatic_work_ready = True


def refuse_held(plan: OrderPlan, task: Task) -> None:
    """A manual task of a held order or line cannot be completed (a typed ``HELD`` error)."""
    if task_held(plan, task):
        raise InvalidTransition(
            f"task {task.id} belongs to a held order or line: resume it first", field="id", code=FulfilmentErrorCode.HELD
        )


# -- the use cases (managers through the API) ------------------------------------------------


class HoldService:
    """Hold and resume orders and lines for people (``order:hold``). ``stage_resume`` is the
    lifecycle's resume of an order waiting in a stage: ``resume_order`` continues a held order
    and hands any other to it, so one ``orderResume`` continues whatever stopped an order."""

    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        orchestrator: Orchestrator,
        stage_resume: Callable[[Actor, int, int | None], Order] | None = None,
    ):
        self._uow = uow
        self.orchestrator = orchestrator
        self.stage_resume = stage_resume

    def _open(self, uow: UnitOfWork, actor: Actor, order_id: int, expected_version: int | None) -> PlanSession:
        lock_for_write(uow, actor, order_id, expected_version)  # NOT_FOUND (other accounts too), CONFLICT
        session = self.orchestrator.open(uow, order_id)
        assert session is not None  # locked just now
        return session

    def hold_order(self, actor: Actor, order_id: int, reason: str, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_HOLD)
        reason = _reason(reason)
        with self._uow() as uow, self._open(uow, actor, order_id, expected_version) as session:
            hold(session, session.order, actor, reason)
        return session.order

    def resume_order(self, actor: Actor, order_id: int, expected_version: int | None = None) -> Order:
        """Resume a held order; an order waiting in a stage goes to ``stage_resume``."""
        with self._uow(read_only=True) as uow:
            state = uow.session.scalar(select(Order.state).where(Order.id == order_id))
        if state != OrderStates.HELD and self.stage_resume is not None:
            return self.stage_resume(actor, order_id, expected_version)
        require(actor, Permission.ORDER_HOLD)
        with self._uow() as uow, self._open(uow, actor, order_id, expected_version) as session:
            resume(session, session.order, actor)
        return session.order

    def hold_line(self, actor: Actor, order_id: int, line: LineRef, reason: str, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_HOLD)
        reason = _reason(reason)
        with self._uow() as uow, self._open(uow, actor, order_id, expected_version) as session:
            hold(session, find_line(session.plan, line), actor, reason)
        return session.order

    def resume_line(self, actor: Actor, order_id: int, line: LineRef, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_HOLD)
        with self._uow() as uow, self._open(uow, actor, order_id, expected_version) as session:
            resume(session, find_line(session.plan, line), actor)
        return session.order


@dataclass(frozen=True)
class LineRef:
    """A line named by its number in the order or by its id (exactly one)."""

    line_number: int | None = None
    line_id: int | None = None


def find_line(plan: OrderPlan, ref: LineRef) -> OrderLine:
    if (ref.line_number is None) == (ref.line_id is None):
        raise ValidationFailed.single(
            "lineNumber", "name the line by lineNumber or by lineId (one of them)", CommonErrorCode.INVALID
        )
    for line in plan.lines:
        if (ref.line_id is not None and line.id == ref.line_id) or (
            ref.line_number is not None and line.line_number == ref.line_number
        ):
            return line
    raise NotFound("no such line in this order", field="lineNumber" if ref.line_number is not None else "lineId")
