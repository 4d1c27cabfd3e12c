"""The order timeline (a Gantt chart's rows) and its expected completion revisions.

Plain rows, one statement per table (the order, its lines, domain orders, tasks and dependencies;
only the columns a timeline shows), grouped with dicts: a 500-task order costs five statements
and no ORM objects. The dates are the ones the plan sessions wrote
(:mod:`om_graph.core.fulfilment.schedule`): planned (fixed when planned), estimated (as of the
order's last plan session) and actual (the tasks' started and finished times).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, bindparam, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.fulfilment.models import CompletionEstimate, DomainOrder, Task, TaskDependency
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order, OrderLine

_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_ORDERS = select(
    Order.id,
    Order.customer_id,
    Order.state,
    Order.jeopardy,
    Order.submitted_at,
    Order.requested_start_date,
    Order.requested_completion_date,
    Order.committed_completion_at,
    Order.expected_completion_at,
    Order.completed_at,
).where(Order.id.in_(_IDS))
_LINES = (
    select(
        OrderLine.id,
        OrderLine.order_id,
        OrderLine.line_number,
        OrderLine.offering_key,
        OrderLine.state,
        OrderLine.jeopardy,
        OrderLine.expected_completion_at,
    )
    .where(OrderLine.order_id.in_(_IDS))
    .order_by(OrderLine.order_id, OrderLine.line_number)
)
_DOMAIN_ORDERS = (
    select(
        DomainOrder.id,
        DomainOrder.order_id,
        DomainOrder.line_id,
        DomainOrder.parent_id,
        DomainOrder.kind,
        DomainOrder.spec_key,
        DomainOrder.unit_index,
        DomainOrder.state,
        DomainOrder.jeopardy,
        DomainOrder.planned_start_at,
        DomainOrder.planned_end_at,
        DomainOrder.estimated_start_at,
        DomainOrder.estimated_end_at,
        DomainOrder.started_at,
        DomainOrder.completed_at,
    )
    .where(DomainOrder.order_id.in_(_IDS))
    .order_by(DomainOrder.id)
)
_TASKS = (
    select(
        Task.id,
        Task.order_id,
        Task.domain_order_id,
        Task.key,
        Task.name,
        Task.kind,
        Task.state,
        Task.jeopardy,
        Task.duration_seconds,
        Task.planned_start_at,
        Task.planned_end_at,
        Task.estimated_start_at,
        Task.estimated_end_at,
        Task.started_at,
        Task.finished_at,
        Task.due_at,
        Task.total_float_seconds,
        Task.critical,
        Task.release_at,
        Task.finish_blocked,
        Task.assignee,
    )
    .where(Task.order_id.in_(_IDS))
    .order_by(Task.id)
)
_DEPENDENCIES = (
    select(
        Task.order_id,
        TaskDependency.task_id,
        TaskDependency.predecessor_id,
        TaskDependency.dependency_type,
        TaskDependency.lag_seconds,
    )
    .join(Task, Task.id == TaskDependency.task_id)
    .where(Task.order_id.in_(_IDS))
)
_ESTIMATES = (
    select(CompletionEstimate.__table__, OrderLine.line_number)
    .outerjoin(OrderLine, OrderLine.id == CompletionEstimate.line_id)
    .where(CompletionEstimate.order_id.in_(_IDS))
    .order_by(CompletionEstimate.order_id, CompletionEstimate.id)
)

Row = Any  # a SQL row of one of the statements above


@dataclass
class TimelineDomainOrder:
    row: Row
    tasks: list[Row] = field(default_factory=list)


@dataclass
class TimelineLine:
    row: Row
    domain_orders: list[TimelineDomainOrder] = field(default_factory=list)


@dataclass
class Timeline:
    order: Row
    lines: list[TimelineLine]
    # task id -> (predecessor id, dependency type, lag seconds)
    dependencies: dict[int, list[tuple[int, str, int]]]


class Timelines:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def of_orders(self, actor: Actor, order_ids: Sequence[int]) -> dict[int, list[Timeline]]:
        """Each order's timeline (a one-item list, for the per-request loaders), orders of other
        accounts than the actor's left out."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        params = {"ids": ids}
        with self._uow(read_only=True) as uow:
            session = uow.session
            orders = {
                o.id: o for o in session.execute(_ORDERS, params) if actor.account_id is None or o.customer_id == actor.account_id
            }
            if not orders:
                return {}
            params = {"ids": sorted(orders)}
            lines = session.execute(_LINES, params).all()
            domain_orders = session.execute(_DOMAIN_ORDERS, params).all()
            tasks = session.execute(_TASKS, params).all()
            dependencies = session.execute(_DEPENDENCIES, params).all()
        by_line: dict[int, TimelineLine] = {}
        per_order: dict[int, list[TimelineLine]] = {i: [] for i in orders}
        for line in lines:
            by_line[line.id] = entry = TimelineLine(line)
            per_order[line.order_id].append(entry)
        by_domain_order: dict[int, TimelineDomainOrder] = {}
        for domain_order in domain_orders:
            by_domain_order[domain_order.id] = entry_d = TimelineDomainOrder(domain_order)
            by_line[domain_order.line_id].domain_orders.append(entry_d)
        for task in tasks:
            by_domain_order[task.domain_order_id].tasks.append(task)
        deps: dict[int, dict[int, list[tuple[int, str, int]]]] = {i: {} for i in orders}
        for dep in dependencies:
            deps[dep.order_id].setdefault(dep.task_id, []).append((dep.predecessor_id, dep.dependency_type, dep.lag_seconds))
        for per_task in deps.values():
            for edges in per_task.values():
                edges.sort()
        return {i: [Timeline(orders[i], per_order[i], deps[i])] for i in orders}

    def completion_estimates(self, actor: Actor, order_ids: Sequence[int]) -> dict[int, list[Row]]:
        """Each order's expected completion revisions (the order's and its lines'), oldest first."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        with self._uow(read_only=True) as uow:
            session = uow.session
            if actor.account_id is not None:
                owned = select(Order.id).where(Order.id.in_(ids), Order.customer_id == actor.account_id)
                ids = list(session.scalars(owned))
                if not ids:
                    return {}
            found: dict[int, list[Row]] = {}
            for row in session.execute(_ESTIMATES, {"ids": ids}):
                found.setdefault(row.order_id, []).append(row)
        return found

    def line_completion_estimates(self, actor: Actor, line_ids: Sequence[int]) -> dict[int, list[Row]]:
        """Each line's expected completion revisions, oldest first."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(line_ids))
        if not ids:
            return {}
        statement = (
            select(CompletionEstimate.__table__, OrderLine.line_number)
            .join(OrderLine, OrderLine.id == CompletionEstimate.line_id)
            .where(CompletionEstimate.line_id.in_(ids))
        )
        if actor.account_id is not None:
            statement = statement.join(Order, Order.id == CompletionEstimate.order_id).where(
                Order.customer_id == actor.account_id
            )
        found: dict[int, list[Row]] = {}
        with self._uow(read_only=True) as uow:
            for row in uow.session.execute(statement.order_by(CompletionEstimate.id)):
                found.setdefault(row.line_id, []).append(row)
        return found
