"""The read side: what the API shows, loaded in few round trips, scoped to the actor's account."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.models import Offering
from om_graph.core.catalog.sync import list_offerings
from om_graph.core.fulfilment.models import DomainOrder, Task, TaskDependency
from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.kernel.models import EventRecord
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order, OrderLine

MAX_PAGE = 100


ORDER_CHILDREN = frozenset({"lines", "domain_orders", "tasks", "events", "products"})
_CHILD_MODELS = {"lines": OrderLine, "domain_orders": DomainOrder, "tasks": Task, "events": EventRecord, "products": Product}

# The read path's statements, built once (SQLAlchemy reuses their cache keys and compiled forms).
_IDS = bindparam("ids", expanding=True)
_ORDERS_BY_ID = select(Order.__table__).where(Order.id.in_(_IDS))
_ORDERS_BY_ID_OF_ACCOUNT = _ORDERS_BY_ID.where(Order.customer_id == bindparam("account"))
_CHILDREN = {
    child: select(model.__table__).where(model.order_id.in_(_IDS)).order_by(model.id) for child, model in _CHILD_MODELS.items()
}
_DEPENDENCIES = (
    select(TaskDependency.task_id, TaskDependency.predecessor_id)
    .join(Task, Task.id == TaskDependency.task_id)
    .where(Task.order_id.in_(_IDS))
)
_AGREEMENTS = select(Agreement.__table__).where(Agreement.id.in_(_IDS))
_ENTITLEMENTS = select(Entitlement.__table__).where(Entitlement.product_id.in_(_IDS)).order_by(Entitlement.id)


def _product_detail():
    """Load options for a product's contract and entitlements."""
    return [selectinload(Product.agreement), selectinload(Product.entitlements)]


@dataclass
class OrderDetail:
    """An order and the children a reader asked for. Rows are plain (Core rows or ORM objects
    read by attribute); children not asked for are empty."""

    order: Any
    lines: Sequence = ()
    domain_orders: Sequence = ()
    tasks: Sequence = ()
    events: Sequence = ()
    products: Sequence = ()
    dependencies: dict[int, list[int]] = field(default_factory=dict)  # task id -> predecessor ids
    agreements: dict[int, Any] = field(default_factory=dict)  # agreement id -> agreement
    entitlements: dict[int, list] = field(default_factory=dict)  # product id -> entitlements


@dataclass
class Page:
    items: list
    has_next: bool
    end_cursor: str | None
    start_cursor: str | None
    total_count: int | None = None  # rows matching the filters, whatever the cursor; when asked for


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"k:{value}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        prefix, value = raw.split(":", 1)
        number = key_number(value)
        if prefix != "k" or number is None:
            raise ValueError
        return number
    except Exception:
        raise ValidationFailed.single("after", "not a cursor this API issued", "INVALID_CURSOR") from None


class ChangeSeqProbe:
    """The current change_seq of orders (missing ones are absent): enough to tell whether a detail
    read earlier is still current. It sits on the path of every cached read, so it is one
    statement on a DBAPI connection, without a session. It reveals only existence and a
    counter, and callers ask it only about reads the asker was allowed to make.

    On SQLite the read costs less than a hand-over to a thread, so the web server calls it on its
    event loop (``blocking_is_cheap``), on a connection of its own so that it never waits for the
    pool; elsewhere each call borrows a pooled connection."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.blocking_is_cheap = engine.dialect.name == "sqlite"
        self._own = None

    def __call__(self, order_ids: Sequence[int]) -> dict[int, int]:
        sql = f"SELECT id, change_seq FROM customer_order WHERE id IN ({','.join([self._marker] * len(order_ids))})"
        if self.blocking_is_cheap:
            if self._own is None:
                self._own = self._engine.raw_connection()  # autocommit: each read sees the latest commit
            return self._read(self._own, sql, order_ids)
        connection = self._engine.raw_connection()
        try:
            return self._read(connection, sql, order_ids)
        finally:
            connection.close()  # back to the pool, which ends the read transaction

    @staticmethod
    def _read(connection, sql: str, order_ids: Sequence[int]) -> dict[int, int]:
        cursor = connection.cursor()
        cursor.execute(sql, tuple(order_ids))
        return dict(cursor.fetchall())

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None


class QueryService:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def offerings(self, actor: Actor) -> list[Offering]:
        require(actor, Permission.CATALOG_READ)
        with self._uow(read_only=True) as uow:
            return list_offerings(uow.session)

    def order(self, actor: Actor, order_id: int) -> OrderDetail | None:
        return self.orders_by_id(actor, [order_id]).get(order_id)

    def orders_by_id(
        self, actor: Actor, order_ids: list[int], include: frozenset[str] = ORDER_CHILDREN
    ) -> dict[int, OrderDetail]:
        """Orders with the children named in ``include`` loaded (one query per kind of child);
        children not loaded read as empty."""
        require(actor, Permission.ORDER_READ)
        if actor.account_id is None:
            stmt, params = _ORDERS_BY_ID, {"ids": list(order_ids)}
        else:
            stmt, params = _ORDERS_BY_ID_OF_ACCOUNT, {"ids": list(order_ids), "account": actor.account_id}
        with self._uow(read_only=True) as uow:
            return {d.order.id: d for d in self._details(uow.session, stmt, include, params)}

    def orders(
        self,
        actor: Actor,
        *,
        first: int,
        after: str | None,
        states: list[str] | None,
        customer_id: str | None,
        include: frozenset[str] = frozenset(),
        count: bool = False,
    ) -> Page:
        """Newest first, keyset-paginated on the primary key; items are OrderDetails with the
        children named in ``include``. ``count`` adds the number of orders matching the
        filters, counted over the (customer_id, id) or (state, id) index."""
        require(actor, Permission.ORDER_READ)
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE}", "OUT_OF_RANGE")
        filters = []
        if actor.account_id is not None:
            filters.append(Order.customer_id == actor.account_id)
        if customer_id:
            filters.append(Order.customer_id == customer_id)
        if states:
            filters.append(Order.state.in_(states))
        stmt = select(Order.__table__).where(*filters).order_by(Order.id.desc()).limit(first + 1)
        if after:
            stmt = stmt.where(Order.id < decode_cursor(after))
        with self._uow(read_only=True) as uow:
            details = self._details(uow.session, stmt, include)
            total = uow.session.scalar(select(func.count()).select_from(Order.__table__).where(*filters)) if count else None
        has_next = len(details) > first
        details = details[:first]
        return Page(
            details,
            has_next,
            encode_cursor(details[-1].order.id) if details else None,
            encode_cursor(details[0].order.id) if details else None,
            total,
        )

    @staticmethod
    def _details(session, stmt, include: frozenset[str], params: dict | None = None) -> list[OrderDetail]:
        """Plain rows (no ORM objects: this is the hot read path), one query per kind of child."""
        orders = list(session.execute(stmt, params or {}))
        if not orders:
            return []
        ids = [o.id for o in orders]
        children: dict[str, dict[int, list]] = {}
        for child in sorted(include & ORDER_CHILDREN):
            grouped: dict[int, list] = defaultdict(list)
            for row in session.execute(_CHILDREN[child], {"ids": ids}):
                grouped[row.order_id].append(row)
            children[child] = grouped
        deps: dict[int, list[int]] = defaultdict(list)
        if "tasks" in include:
            for task_id, predecessor_id in session.execute(_DEPENDENCIES, {"ids": ids}):
                deps[task_id].append(predecessor_id)
        agreements: dict[int, Any] = {}
        entitlements: dict[int, list] = defaultdict(list)
        products = [p for rows in children.get("products", {}).values() for p in rows]
        if products:
            agreement_ids = {p.agreement_id for p in products if p.agreement_id}
            if agreement_ids:
                agreements = {a.id: a for a in session.execute(_AGREEMENTS, {"ids": sorted(agreement_ids)})}
            for e in session.execute(_ENTITLEMENTS, {"ids": [p.id for p in products]}):
                entitlements[e.product_id].append(e)
        return [
            OrderDetail(
                o,
                **{child: children[child].get(o.id, []) for child in children},
                dependencies=deps,
                agreements=agreements,
                entitlements=entitlements,
            )
            for o in orders
        ]

    def products(
        self, actor: Actor, *, first: int, after: str | None, customer_id: str | None, order_id: int | None, count: bool = False
    ) -> Page:
        """Newest first, keyset-paginated; ``count`` adds the number of products matching the
        filters (over the (customer_id, id) or order_id index)."""
        require(actor, Permission.INVENTORY_READ)
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE}", "OUT_OF_RANGE")
        filters = []
        if actor.account_id is not None:
            filters.append(Product.customer_id == actor.account_id)
        if customer_id:
            filters.append(Product.customer_id == customer_id)
        if order_id is not None:
            filters.append(Product.order_id == order_id)
        stmt = select(Product).options(*_product_detail()).where(*filters).order_by(Product.id.desc()).limit(first + 1)
        if after:
            stmt = stmt.where(Product.id < decode_cursor(after))
        with self._uow(read_only=True) as uow:
            rows = list(uow.session.scalars(stmt))
            total = uow.session.scalar(select(func.count()).select_from(Product.__table__).where(*filters)) if count else None
        has_next = len(rows) > first
        rows = rows[:first]
        return Page(
            rows, has_next, encode_cursor(rows[-1].id) if rows else None, encode_cursor(rows[0].id) if rows else None, total
        )

    def product(self, actor: Actor, product_id: int) -> Product | None:
        require(actor, Permission.INVENTORY_READ)
        with self._uow(read_only=True) as uow:
            product = uow.session.get(Product, product_id, options=_product_detail())
        if product is None or (actor.account_id is not None and product.customer_id != actor.account_id):
            return None
        return product

    def task(self, actor: Actor, task_id: int) -> tuple[Task, list[int]] | None:
        """A task and the ids of its predecessors."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            task = uow.session.get(Task, task_id)
            if task is None:
                return None
            order = uow.session.get(Order, task.order_id)
            predecessors = list(
                uow.session.scalars(select(TaskDependency.predecessor_id).where(TaskDependency.task_id == task_id))
            )
        if actor.account_id is not None and order.customer_id != actor.account_id:
            return None
        return task, predecessors

    def events_since(self, actor: Actor, order_id: int | None, after_sequence: int, limit: int = 500) -> list[EventRecord]:
        """The caller's events committed after ``after_sequence``, in commit order."""
        require(actor, Permission.ORDER_READ)
        stmt = select(EventRecord).where(EventRecord.sequence > after_sequence).order_by(EventRecord.sequence).limit(limit)
        if order_id is not None:
            stmt = stmt.where(EventRecord.order_id == order_id)
        if actor.account_id is not None:
            stmt = stmt.where(EventRecord.customer_id == actor.account_id)
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(stmt))

    def event_sequence(self, actor: Actor, event_id: int) -> int | None:
        """Where an event stands in commit order (a resume position), or None when there is no
        such event. Any event marks a position: it shows no content, so it is not scoped."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            return uow.session.scalar(select(EventRecord.sequence).where(EventRecord.id == event_id))

    def domain_order(self, actor: Actor, domain_order_id: int) -> DomainOrder | None:
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            row = uow.session.get(DomainOrder, domain_order_id)
            if row is None:
                return None
            order = uow.session.get(Order, row.order_id)
        if actor.account_id is not None and order.customer_id != actor.account_id:
            return None
        return row
