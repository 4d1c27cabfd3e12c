"""The read side's statements: plain Core rows (no ORM objects), each kind of row loaded for many
ids in one statement, scoped to the actor's account where one is given.

Every read the API makes (order detail, pages, ``node``/``nodes``, mutation payloads) goes
through these loaders, so a row reads the same whichever way it is reached."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from sqlalchemy import BindParameter, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from om_graph.core.fulfilment.models import DomainOrder, Task, TaskDependency
from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel.models import EventRecord
from om_graph.core.ordering.models import Order, OrderLine

DbRow: TypeAlias = "Row[*tuple[Any, ...]]"  # a row of any statement here: columns by attribute

ORDER_CHILDREN = frozenset({"lines", "domain_orders", "tasks", "events", "products"})

# Built once: SQLAlchemy reuses their cache keys and compiled forms.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_ACCOUNT: BindParameter[str] = bindparam("account")
_ORDERS = select(Order.__table__).where(Order.id.in_(_IDS))
# Domain orders carry their line's number, whichever way they are read.
_DOMAIN_ORDERS = select(DomainOrder.__table__, OrderLine.line_number).join(OrderLine, OrderLine.id == DomainOrder.line_id)
_CHILDREN = {
    "lines": select(OrderLine.__table__).where(OrderLine.order_id.in_(_IDS)).order_by(OrderLine.id),
    "domain_orders": _DOMAIN_ORDERS.where(DomainOrder.order_id.in_(_IDS)).order_by(DomainOrder.id),
    "tasks": select(Task.__table__).where(Task.order_id.in_(_IDS)).order_by(Task.id),
    "events": select(EventRecord.__table__).where(EventRecord.order_id.in_(_IDS)).order_by(EventRecord.id),
    "products": select(Product.__table__).where(Product.order_id.in_(_IDS)).order_by(Product.id),
}
_DEPENDENCIES = select(
    TaskDependency.task_id, TaskDependency.predecessor_id, TaskDependency.dependency_type, TaskDependency.lag_seconds
).where(TaskDependency.task_id.in_(_IDS))
_AGREEMENTS = select(Agreement.__table__).where(Agreement.id.in_(_IDS))
_ENTITLEMENTS = select(Entitlement.__table__).where(Entitlement.product_id.in_(_IDS)).order_by(Entitlement.id)
_OWNED_BY = Order.customer_id == _ACCOUNT
_BY_ID = {
    "orders": _ORDERS,
    "domain_orders": _DOMAIN_ORDERS.join(Order, Order.id == DomainOrder.order_id).where(DomainOrder.id.in_(_IDS)),
    "tasks": select(Task.__table__).join(Order, Order.id == Task.order_id).where(Task.id.in_(_IDS)),
    "products": select(Product.__table__).where(Product.id.in_(_IDS)),
}
_BY_ID_OF_ACCOUNT = {
    "orders": _ORDERS.where(_OWNED_BY),
    "domain_orders": _BY_ID["domain_orders"].where(_OWNED_BY),
    "tasks": _BY_ID["tasks"].where(_OWNED_BY),
    "products": _BY_ID["products"].where(Product.customer_id == _ACCOUNT),
}
_TASKS_OF_DOMAIN_ORDERS = select(Task.__table__).where(Task.domain_order_id.in_(_IDS)).order_by(Task.id)


def execute(session: Session, statement: Select[*tuple[Any, ...]], params: dict[str, object]) -> Any:
    """Run a read statement on the session's connection (its transaction) as Core: these
    statements select tables, not entities, so the ORM's result machinery would only add cost."""
    return session.connection().execute(statement, params)


@dataclass
class Related:
    """What the mappers need beside the rows themselves, for every row of one read."""

    dependencies: dict[int, list[int]] = field(default_factory=dict)  # task id -> predecessor ids
    # (task id, predecessor id) -> (dependency type, lag seconds)
    dependency_kinds: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    agreements: dict[int, DbRow] = field(default_factory=dict)  # agreement id -> agreement
    entitlements: dict[int, list[DbRow]] = field(default_factory=dict)  # product id -> entitlements
    domain_order_tasks: dict[int, list[DbRow]] = field(default_factory=dict)  # domain order id -> tasks

    def add_dependencies(self, session: Session, tasks: Iterable[DbRow]) -> None:
        ids = [t.id for t in tasks]
        if ids:
            for task_id, predecessor_id, kind, lag in execute(session, _DEPENDENCIES, {"ids": ids}):
                self.dependencies.setdefault(task_id, []).append(predecessor_id)
                self.dependency_kinds[(task_id, predecessor_id)] = (kind, lag or 0)

    def add_contracts(self, session: Session, products: Sequence[DbRow]) -> None:
        """The agreements and entitlements of ``products``."""
        if not products:
            return
        agreement_ids = sorted({p.agreement_id for p in products if p.agreement_id})
        if agreement_ids:
            self.agreements.update((a.id, a) for a in execute(session, _AGREEMENTS, {"ids": agreement_ids}))
        for e in execute(session, _ENTITLEMENTS, {"ids": [p.id for p in products]}):
            self.entitlements.setdefault(e.product_id, []).append(e)

    def add_domain_order_tasks(self, session: Session, domain_orders: Iterable[DbRow]) -> None:
        ids = [d.id for d in domain_orders]
        if not ids:
            return
        tasks = list(execute(session, _TASKS_OF_DOMAIN_ORDERS, {"ids": ids}))
        for t in tasks:
            self.domain_order_tasks.setdefault(t.domain_order_id, []).append(t)
        self.add_dependencies(session, tasks)


@dataclass
class OrderDetail:
    """An order and the children a reader asked for (children not asked for are empty)."""

    order: DbRow
    lines: Sequence[DbRow] = ()
    domain_orders: Sequence[DbRow] = ()
    tasks: Sequence[DbRow] = ()
    events: Sequence[DbRow] = ()
    products: Sequence[DbRow] = ()
    related: Related = field(default_factory=Related)


def _scoped(account_id: str | None, ids: Sequence[int]) -> tuple[dict[str, Select[*tuple[Any, ...]]], dict[str, object]]:
    """The by-id statements and parameters for an actor of ``account_id`` (None: every account)."""
    if account_id is None:
        return _BY_ID, {"ids": list(ids)}
    return _BY_ID_OF_ACCOUNT, {"ids": list(ids), "account": account_id}


def by_id(session: Session, kind: str, ids: Sequence[int], account_id: str | None) -> dict[int, DbRow]:
    """Rows of ``kind`` (orders, domain_orders, tasks, products) by id, those of other accounts left out."""
    if not ids:
        return {}
    statements, params = _scoped(account_id, ids)
    return {row.id: row for row in execute(session, statements[kind], params)}


def orders_by_id(session: Session, ids: Sequence[int], account_id: str | None, include: frozenset[str]) -> list[OrderDetail]:
    if not ids:
        return []
    statements, params = _scoped(account_id, ids)
    return order_details(session, list(execute(session, statements["orders"], params)), include)


def order_details(session: Session, orders: list[DbRow], include: frozenset[str]) -> list[OrderDetail]:
    """The children named in ``include`` of ``orders`` (order rows), one statement per kind."""
    if not orders:
        return []
    ids = [o.id for o in orders]
    children: dict[str, dict[int, list[DbRow]]] = {}
    for child in sorted(include & ORDER_CHILDREN):
        grouped: dict[int, list[DbRow]] = defaultdict(list)
        for row in execute(session, _CHILDREN[child], {"ids": ids}):
            grouped[row.order_id].append(row)
        children[child] = grouped
    related = Related()
    related.add_dependencies(session, [t for rows in children.get("tasks", {}).values() for t in rows])
    related.add_contracts(session, [p for rows in children.get("products", {}).values() for p in rows])
    return [OrderDetail(o, **{child: rows.get(o.id, []) for child, rows in children.items()}, related=related) for o in orders]
