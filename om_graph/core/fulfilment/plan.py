"""The order's fulfilment plan as one transaction sees it: loaded once under the order lock.

Claims, completions, releases, cascades and the roll-up all work on these objects in memory,
so a transaction costs a handful of queries however many tasks it touches, and its changes are
flushed together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session

from om_graph.core.fulfilment.models import WAITING, DecompositionWait, DomainOrder, Task, TaskDependency
from om_graph.core.fulfilment.rules import DEPENDENCY_RULES, OPEN, Gates, gate_opens
from om_graph.core.fulfilment.states import TASK
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.lines import load_lines
from om_graph.core.ordering.models import Order, OrderLine

# Built once (SQLAlchemy reuses their cache keys and compiled forms): they run in every transaction.
_ORDER_ID: BindParameter[int] = bindparam("order_id")
_DOMAIN_ORDERS = select(DomainOrder).where(DomainOrder.order_id == _ORDER_ID).order_by(DomainOrder.id)
_TASKS = select(Task).where(Task.order_id == _ORDER_ID).order_by(Task.id)
_EDGES = (
    select(TaskDependency.task_id, TaskDependency.predecessor_id, TaskDependency.dependency_type, TaskDependency.lag_seconds)
    .join(Task, Task.id == TaskDependency.task_id)
    .where(Task.order_id == _ORDER_ID)
)
# Staggered decomposition: the parked parts of the order's pending lines (read only when a line
# waits for information: decomposition parks parts only with the line pending).
_WAITS = select(DecompositionWait).where(DecompositionWait.order_id == _ORDER_ID, DecompositionWait.state == WAITING)


@dataclass
class OrderPlan:
    order: Order
    lines: list[OrderLine]
    domain_orders: list[DomainOrder]
    tasks: dict[int, Task]
    successors: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Per task: (predecessor id, dependency type).
    predecessors: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    # Per (task id, predecessor id): the dependency's lag in seconds, when not zero.
    lags: dict[tuple[int, int], int] = field(default_factory=dict)
    # Parts of lines' decomposition parked until a characteristic is known (core/fulfilment/staggered.py).
    waits: list[DecompositionWait] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, order: Order) -> OrderPlan:
        params = {"order_id": order.id}
        lines = load_lines(session, order)
        domain_orders = session.scalars(_DOMAIN_ORDERS, params).all()
        tasks = session.scalars(_TASKS, params).all()
        edges = session.execute(_EDGES, params).all()
        plan = cls.build(order, lines, domain_orders, tasks, edges)
        if any(line.information_required for line in lines):
            plan.waits = list(session.scalars(_WAITS, params))
        return plan

    def parked(self, *, building_only: bool = False) -> frozenset[int]:
        """Ids of the domain orders a parked part hangs under, and their ancestors: they do not
        roll up while it waits; those of lines that build (not delete) do not start either, as
        they are built bottom-up. Empty when nothing is parked (the common case, no work)."""
        waiting = [w for w in self.waits if w.state == WAITING and w.parent_id is not None]
        if not waiting:
            return frozenset()
        lines = {line.id: line for line in self.lines}
        found: set[int] = set()
        for wait in waiting:
            line = lines.get(wait.line_id)
            if building_only and line is not None and line.action == "delete":
                continue
            at: int | None = wait.parent_id
            while at is not None and at not in found:
                found.add(at)
                at = self._domain_orders_by_id[at].parent_id if at in self._domain_orders_by_id else None
        return frozenset(found)

    @classmethod
    def build(
        cls,
        order: Order,
        lines: Iterable[OrderLine],
        domain_orders: Iterable[DomainOrder],
        tasks: Iterable[Task],
        edges: Iterable[tuple[Any, ...]],
    ) -> OrderPlan:
        """``edges`` are (task id, predecessor id, dependency type[, lag seconds]) rows."""
        plan = cls(order, list(lines), list(domain_orders), {t.id: t for t in tasks})
        for task_id, predecessor_id, dependency_type, *lag in edges:
            plan.successors[predecessor_id].append(task_id)
            plan.predecessors[task_id].append((predecessor_id, dependency_type))
            if lag and lag[0]:
                plan.lags[(task_id, predecessor_id)] = int(lag[0])
        return plan

    def extend(
        self,
        domain_orders: Iterable[DomainOrder] = (),
        tasks: Iterable[Task] = (),
        dependencies: Iterable[TaskDependency] = (),
    ) -> None:
        """Rows added to the plan in this transaction (a parked part built, undo and redo work, a
        revision's new work): into its indexes; the caller inserts them (``uow.add_new``)."""
        added = list(domain_orders)
        if added:
            self.domain_orders.extend(added)
            self.__dict__.pop("_domain_orders_by_id", None)  # the cached index misses the new ones
        for task in tasks:
            self.tasks[task.id] = task
        for dependency in dependencies:
            self.successors[dependency.predecessor_id].append(dependency.task_id)
            self.predecessors[dependency.task_id].append((dependency.predecessor_id, dependency.dependency_type))
            if dependency.lag_seconds:
                self.lags[(dependency.task_id, dependency.predecessor_id)] = dependency.lag_seconds

    def drop_edge(self, task_id: int, predecessor_id: int) -> None:
        """A dependency removed in this transaction (the caller deletes its row), out of the indexes."""
        self.predecessors[task_id] = [p for p in self.predecessors.get(task_id, []) if p[0] != predecessor_id]
        self.successors[predecessor_id] = [s for s in self.successors.get(predecessor_id, []) if s != task_id]
        self.lags.pop((task_id, predecessor_id), None)

    def domain_order(self, domain_order_id: int) -> DomainOrder:
        return self._domain_orders_by_id[domain_order_id]

    def line(self, line_id: int) -> OrderLine:
        return self._lines_by_id[line_id]

    @cached_property
    def _domain_orders_by_id(self) -> dict[int, DomainOrder]:
        return {d.id: d for d in self.domain_orders}

    @cached_property
    def _lines_by_id(self) -> dict[int, OrderLine]:
        return {line.id: line for line in self.lines}

    def attach(self, session: Session) -> None:
        """Make this plan's objects (detached after their transaction) part of ``session``."""
        for obj in (*self.lines, *self.domain_orders, *self.tasks.values()):
            session.add(obj)

    def transitive_successors(self, task_id: int) -> list[Task]:
        seen: set[int] = set()
        frontier = [task_id]
        while frontier:
            frontier = [s for t in frontier for s in self.successors.get(t, ()) if s not in seen]
            seen.update(frontier)
        return [self.tasks[i] for i in sorted(seen)]

    def gate(self, task_id: int, gate: str) -> datetime | None:
        """When the task's dependencies of ``gate`` (start or finish) all let it go: the latest
        of their opening times (``rules.OPEN`` with none), or None while one is still shut."""
        opens = OPEN
        for predecessor_id, kind in self.predecessors.get(task_id, ()):
            if DEPENDENCY_RULES[kind].gate != gate:
                continue
            at = gate_opens(kind, self.lags.get((task_id, predecessor_id), 0), self.tasks[predecessor_id])
            if at is None:
                return None
            opens = max(opens, at)
        return opens

    @property
    def start_gate(self) -> datetime | None:
        """The plan's start gate: no task of an order with a requested start date (TMF622
        ``requestedStartDate``, e.g. a future-dated suspend) is released before it. The gate is
        a task's ``release_at`` like a lag's, so the delayed advance job releases the order on
        time and the reconciler's sweep of gates past due catches a lost job after a restart;
        the release itself is a fired transition (once)."""
        start: datetime | None = getattr(self.order, "requested_start_date", None)  # (a bare plan in tests has none)
        return start

    def release_gates(self, now: datetime) -> tuple[list[Task], list[tuple[Task, datetime]]]:
        """Pending tasks whose start dependencies let them go now, and those that will at a
        known later time (a lag still running), with that time."""
        due: list[Task] = []
        later: list[tuple[Task, datetime]] = []
        parked = self.parked(building_only=True)  # a part they are built on is not built yet
        start = self.start_gate
        for task_id, task in sorted(self.tasks.items()):
            if not TASK.can(task.state, "release") or (parked and task.domain_order_id in parked):
                continue
            opens = self.gate(task_id, Gates.START)
            if opens is None:
                continue
            if start is not None and opens < start:
                opens = start
            if opens <= now:
                due.append(task)
            else:
                later.append((task, opens))
        return due, later

    def releasable(self, now: datetime | None = None) -> list[Task]:
        """Tasks that may be released now: each of their dependencies lets them go (by its type and lag)."""
        return self.release_gates(now or utcnow())[0]
