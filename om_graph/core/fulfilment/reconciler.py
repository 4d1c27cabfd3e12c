"""The reconciler: the database says what should be running; make the queue agree.

It re-enqueues orders in an active (not waiting) stage and runnable tasks whose message was lost
(a restart, a broker flush, a worker killed mid-task whose lease ran out), and runs the jeopardy
pass. Every action is conditional on the row's current state, so any number of reconcilers may run
at once; duplicate messages are harmless because claims and stage writes are fenced.

It then runs the scheduled passes other contexts register (``passes``: services.py gives it change
management's dated cancellations, which fulfilment may not import), each ``pass(now) -> count``.

Jeopardy is core/fulfilment/jeopardy.py's :class:`JeopardyEvaluator`: the reconciler runs a
full pass at most every ``jeopardy_interval`` seconds (the first run at once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.holds import not_held_sql
from om_graph.core.fulfilment.jeopardy import JeopardyEvaluator, JeopardyReport, SlaTables
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.rules import RUNNABLE, gates_due_sql
from om_graph.core.kernel import metrics
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, Job
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import OrderStates

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JeopardySettings:
    """OM_GRAPH_JEOPARDY_BATCH, OM_GRAPH_JEOPARDY_WRITE_GROUP, OM_GRAPH_JEOPARDY_INTERVAL."""

    batch: int = 500
    write_group: int = 5
    interval_seconds: float = 60.0


@dataclass
class ReconcileReport:
    orders_requeued: int = 0
    tasks_requeued: int = 0
    scheduled: int = 0  # what the scheduled passes carried out
    jeopardy_changes: int = 0


class Reconciler:
    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        registry: Registry,
        *,
        redispatch_after: float = 30.0,
        batch: int = 500,
        tables: Callable[[Session], SlaTables] | None = None,
        jeopardy_batch: int = 500,
        jeopardy_write_group: int = 5,
        jeopardy_interval: float = 60.0,
        passes: tuple[Callable[[datetime], int], ...] = (),
    ):
        self._uow = uow
        self.registry = registry
        self.redispatch_after = timedelta(seconds=redispatch_after)
        self.batch = batch
        self.jeopardy = JeopardyEvaluator(uow, registry, tables=tables, batch=jeopardy_batch, write_group=jeopardy_write_group)
        self.jeopardy_interval = jeopardy_interval
        self.passes = passes
        self._jeopardy_at: float | None = None  # monotonic time of the last pass
        self.last_jeopardy: JeopardyReport | None = None

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
                .where(
                    or_(RUNNABLE.sql(now), gates_due_sql(now)),  # runnable, or a lag ran out (schedule)
                    or_(Task.dispatched_at.is_(None), Task.dispatched_at < stale),
                    not_held_sql(),
                )
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
        for scheduled in self.passes:
            report.scheduled += scheduled(now)
        if self._jeopardy_at is None or time.monotonic() - self._jeopardy_at >= self.jeopardy_interval:
            report.jeopardy_changes = self.evaluate_jeopardy(now)
        return report

    def evaluate_jeopardy(self, now: datetime | None = None) -> int:
        """One full jeopardy pass (core/fulfilment/jeopardy.py); returns the number of tasks raised."""
        report = self.jeopardy.run(now)
        self.last_jeopardy = report
        self._jeopardy_at = time.monotonic()
        return report.tasks_changed
