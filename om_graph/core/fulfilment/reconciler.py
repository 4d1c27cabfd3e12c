"""The reconciler: the database says what should be running; make the queue agree.

It re-enqueues orders in an active (not waiting) stage and runnable tasks whose message was lost
(a restart, a broker flush, a worker killed mid-task whose lease ran out), and raises jeopardy
levels on tasks running late against their SLA. Every action is conditional on the row's current
state, so any number of reconcilers may run at once; duplicate messages are harmless because
claims and stage writes are fenced.

Jeopardy policies are pack code: their levels are computed on rows read in a read transaction,
with none open, and written per order in a short one that skips a task changed since the read
and locks (bumps) only an order that really changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.extensions import JeopardyPolicy, TaskTiming
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.holds import not_held_sql
from om_graph.core.fulfilment.rules import RUNNABLE
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel import metrics
from om_graph.core.kernel.errors import PluginCallFailed, call_plugin
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, Job
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import OrderStates

log = logging.getLogger(__name__)

LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


@dataclass
class ReconcileReport:
    orders_requeued: int = 0
    tasks_requeued: int = 0
    jeopardy_changes: int = 0


def jeopardy_level(elapsed_share: float, thresholds: tuple[float, float, float, float]) -> str | None:
    level = None
    for name, threshold in zip(LEVELS, thresholds):
        if elapsed_share >= threshold:
            level = name
    return level


class Reconciler:
    def __init__(self, uow: Callable[..., UnitOfWork], registry: Registry, *, redispatch_after: float = 30.0, batch: int = 500):
        self._uow = uow
        self.registry = registry
        self.redispatch_after = timedelta(seconds=redispatch_after)
        self.batch = batch

    def run_once(self) -> ReconcileReport:
        report = ReconcileReport()
        now = utcnow()
        stale = now - self.redispatch_after
        with self._uow() as uow:
            session = uow.session
            # Dispatch bookkeeping is not part of any order's detail, so it is written with plain
            # statements: it neither locks the orders nor invalidates their cached reads.
            order_ids = session.scalars(
                select(Order.id)
                .where(
                    Order.state == OrderStates.ACKNOWLEDGED,
                    Order.stage_waiting_for.is_(None),  # a waiting stage is resumed, not re-run
                    or_(Order.processing_dispatched_at.is_(None), Order.processing_dispatched_at < stale),
                )
                .limit(self.batch)
            ).all()
            if order_ids:
                session.execute(update(Order.__table__).where(Order.id.in_(order_ids)).values(processing_dispatched_at=now))
            for order_id in order_ids:
                uow.enqueue(Job(PROCESS_ORDER, {"order_id": order_id}))
            report.orders_requeued = len(order_ids)

            tasks = session.execute(
                select(Task.id, Task.order_id)
                .where(RUNNABLE.sql(now), or_(Task.dispatched_at.is_(None), Task.dispatched_at < stale), not_held_sql())
                .limit(self.batch)
            ).all()
            if tasks:
                session.execute(update(Task.__table__).where(Task.id.in_([t.id for t in tasks])).values(dispatched_at=now))
            for task in tasks:
                uow.enqueue(Job(ADVANCE_ORDER, {"order_id": task.order_id}))
            report.tasks_requeued = len(tasks)
        # Counted after the commit (a send that fails then also counts as a job send failure).
        metrics.RECONCILER_REQUEUED.labels("order").inc(report.orders_requeued)
        metrics.RECONCILER_REQUEUED.labels("task").inc(report.tasks_requeued)
        report.jeopardy_changes = self.evaluate_jeopardy(now)
        return report

    def evaluate_jeopardy(self, now: datetime) -> int:
        """Raise the jeopardy level of tasks running late; returns the number raised. Levels are
        computed on one read (newest orders first when there are more than a batch) with no
        transaction open, then written per order in a short transaction that locks the order only
        when one of its tasks really changes (re-checked under the lock)."""
        with self._uow(read_only=True) as uow:
            rows = uow.session.execute(_LATE_TASKS.limit(self.batch * 4)).all()
        by_order: dict[int, list[_Raise]] = {}
        for row in rows:
            if (raised := self._raised_level(row, now)) is not None:
                by_order.setdefault(row.order_id, []).append(raised)
        changes = 0
        for order_id in sorted(by_order, reverse=True):
            try:
                changes += self._write_jeopardy(order_id, by_order[order_id])
            except _NothingToWrite:
                pass  # they moved on since the read: the next pass looks again
        return changes

    def _write_jeopardy(self, order_id: int, raised: list[_Raise]) -> int:
        with self._uow() as uow:
            session = uow.session
            if not _unchanged(session, raised):
                raise _NothingToWrite
            order = lock_order(uow, order_id)  # bumps change_seq: rolled back if nothing is written
            current = _unchanged(session, raised)
            if order is None or not current:
                raise _NothingToWrite
            for item in current:
                task = session.get(Task, item.row.id)
                assert task is not None and task.due_at is not None  # _unchanged read it so
                task.jeopardy = item.level
                uow.record(
                    order,
                    ev.JEOPARDY_ALERT,
                    entity_kind="task",
                    entity_id=task.id,
                    actor=SYSTEM_ACTOR,
                    payload={
                        "jeopardyType": item.level,
                        "previous": item.row.jeopardy,
                        "policy": item.policy.key,
                        "taskKey": task.key,
                        "dueAt": task.due_at.isoformat(),
                        "slaConsumed": round(item.share, 3),
                    },
                )
            return len(current)

    def _raised_level(self, row: _TaskRow, now: datetime) -> _Raise | None:
        """The policy and level a task row has reached, if higher than its recorded one. The
        policies are asked what decomposition asked them (the task's planning timing), so the
        thresholds are those of the policy that gave the task its SLA."""
        timing = TaskTiming(row.key, row.kind, row.spec_key, None)
        try:
            found = call_plugin("jeopardy policies", self.registry.policy_for, timing)
        except PluginCallFailed:
            log.exception("jeopardy policies failed for task %s", row.id)
            return None
        if found is None:
            return None
        policy, _ = found
        opened = row.due_at - timedelta(seconds=row.planned_seconds)
        share = (now - opened).total_seconds() / row.planned_seconds
        level = jeopardy_level(share, policy.thresholds)
        if level is None or level == row.jeopardy:
            return None
        if row.jeopardy and LEVELS.index(level) < LEVELS.index(row.jeopardy):
            return None
        return _Raise(row, policy, level, share)


# A row of _LATE_TASKS: id, order_id, key, kind, state, due_at, planned_seconds, jeopardy, spec_key.
_TaskRow = Row[int, int, str, str, str, datetime | None, int | None, str | None, str]


@dataclass(frozen=True)
class _Raise:
    row: _TaskRow  # the task as the read saw it
    policy: JeopardyPolicy
    level: str
    share: float


class _NothingToWrite(Exception):
    """The order's raised tasks all moved on since the read: roll back (the lock's bump too)."""


_LATE_TASKS = (
    select(
        Task.id,
        Task.order_id,
        Task.key,
        Task.kind,
        Task.state,
        Task.due_at,
        Task.planned_seconds,
        Task.jeopardy,
        DomainOrder.spec_key,
    )
    .join(DomainOrder, DomainOrder.id == Task.domain_order_id)
    .where(Task.state.in_((TaskStates.READY, TaskStates.IN_PROGRESS)), Task.due_at.is_not(None), Task.planned_seconds > 0)
    .order_by(Task.order_id.desc(), Task.id)
)


def _unchanged(session: Session, raised: list[_Raise]) -> list[_Raise]:
    """The raises whose task is still as the read saw it."""
    ids = [item.row.id for item in raised]
    now = {r.id: (r.state, r.jeopardy, r.due_at) for r in session.execute(_TASK_STATE.where(Task.id.in_(ids)))}
    return [item for item in raised if now.get(item.row.id) == (item.row.state, item.row.jeopardy, item.row.due_at)]


_TASK_STATE = select(Task.id, Task.state, Task.jeopardy, Task.due_at)
