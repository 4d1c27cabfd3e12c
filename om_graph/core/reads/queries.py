"""The read side: what the API shows, loaded in few round trips, scoped to the actor's account.

Every read returns plain Core rows (see ``rows``); the schema maps them to API objects with one
mapper per type, whichever read reached them."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import PoolProxiedConnection

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.models import Offering
from om_graph.core.catalog.sync import list_offerings
from om_graph.core.inventory.models import Product
from om_graph.core.kernel.criteria import Criterion, where
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.kernel.models import EventRecord
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order
from om_graph.core.reads import rows
from om_graph.core.reads.error_codes import ReadsErrorCode
from om_graph.core.reads.rows import ORDER_CHILDREN, DbRow, OrderDetail, Related

__all__ = [
    "MAX_PAGE",
    "ORDER_CHILDREN",
    "STAFF_EVENT_KINDS",
    "ChangeSeqProbe",
    "NodeRows",
    "OrderDetail",
    "Page",
    "Slice",
    "QueryService",
    "Related",
    "event_visible",
]

MAX_PAGE = 100

_EVENTS = select(EventRecord.__table__)
_PRODUCTS = select(Product.__table__)
_ORDERS = select(Order.__table__)

# Events about staff-only records (fulfilment/fallout.py): readers without fulfilment:read
# (customers) never see them, in an order's events, a replay or the live stream. Task events
# stay (task states are the customer's too); their actor and payload are staff fields.
STAFF_EVENT_KINDS = frozenset({"fallout"})


def event_visible(actor: Actor, entity_kind: str) -> bool:
    """Whether ``actor`` may see an event about an entity of ``entity_kind``."""
    return entity_kind not in STAFF_EVENT_KINDS or actor.can(Permission.FULFILMENT_READ)


def _hide_staff_events(actor: Actor, details: Sequence[OrderDetail]) -> None:
    if actor.can(Permission.FULFILMENT_READ):
        return
    for detail in details:
        if detail.events:
            detail.events = [e for e in detail.events if e.entity_kind not in STAFF_EVENT_KINDS]


@dataclass
class Page:
    items: list[Any]  # rows, or OrderDetails for orders
    has_next: bool
    end_cursor: str | None
    start_cursor: str | None
    total_count: int | None = None  # rows matching the filters, whatever the cursor; when asked for
    related: Related = field(default_factory=Related)


@dataclass
class Slice:
    """A part of a filtered list (offset reads: the TMF facade): its items and how many match."""

    items: list[Any]  # OrderDetails for orders, rows for products
    total: int
    related: Related = field(default_factory=Related)


# The fields a list read may be filtered on (core/kernel/criteria.py), by read.
ORDER_FIELDS = {
    "id": Order.id,
    "state": Order.state,
    "external_id": Order.external_id,
    "customer_id": Order.customer_id,
    "created_by": Order.created_by,
    "created_at": Order.created_at,
    "submitted_at": Order.submitted_at,
    "completed_at": Order.completed_at,
    "requested_start_date": Order.requested_start_date,
    "requested_completion_date": Order.requested_completion_date,
    "priority": Order.priority,
    "segment": Order.segment,
    "channel": Order.channel,
}
PRODUCT_FIELDS = {
    "id": Product.id,
    "status": Product.status,
    "customer_id": Product.customer_id,
    "offering_key": Product.offering_key,
    "spec_key": Product.spec_key,
    "name": Product.name,
    "order_id": Product.order_id,
    "start_date": Product.start_date,
    "termination_date": Product.termination_date,
}


@dataclass
class NodeRows:
    """Rows asked for by id, by kind; ids missing or not visible to the actor are absent."""

    orders: dict[int, OrderDetail] = field(default_factory=dict)
    domain_orders: dict[int, Any] = field(default_factory=dict)
    tasks: dict[int, Any] = field(default_factory=dict)
    products: dict[int, Any] = field(default_factory=dict)
    offerings: dict[int, Offering] = field(default_factory=dict)
    related: Related = field(default_factory=Related)


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
        raise ValidationFailed.single("after", "not a cursor this API issued", ReadsErrorCode.INVALID_CURSOR) from None


def _page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE}", CommonErrorCode.OUT_OF_RANGE)


def _page(items: list[Any], first: int, total: int | None, key: Callable[[Any], int], related: Related | None = None) -> Page:
    """A page from ``first + 1`` rows read newest first (the extra one tells whether there is more)."""
    has_next = len(items) > first
    items = items[:first]
    return Page(
        items,
        has_next,
        encode_cursor(key(items[-1])) if items else None,
        encode_cursor(key(items[0])) if items else None,
        total,
        related or Related(),
    )


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
        self._own: PoolProxiedConnection | None = None

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
    def _read(connection: PoolProxiedConnection, sql: str, order_ids: Sequence[int]) -> dict[int, int]:
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
        return self.nodes(actor, orders=order_ids, include=include).orders

    def nodes(
        self,
        actor: Actor,
        *,
        orders: Sequence[int] = (),
        include: frozenset[str] = ORDER_CHILDREN,
        domain_orders: Sequence[int] = (),
        tasks: Sequence[int] = (),
        products: Sequence[int] = (),
        offerings: Sequence[int] = (),
    ) -> NodeRows:
        """Rows of several kinds by id, in one transaction and one statement per kind (plus
        what the rows' fields need: a domain order's tasks, a task's predecessors, a product's
        contract). ``include`` names the children to load: an order's (``ORDER_CHILDREN``), and
        "tasks" for a domain order's. Ids of other accounts than the actor's are left out, like
        missing ones."""
        for wanted, permission in (
            (orders or domain_orders or tasks, Permission.ORDER_READ),
            (products, Permission.INVENTORY_READ),
            (offerings, Permission.CATALOG_READ),
        ):
            if wanted:
                require(actor, permission)
        account, found = actor.account_id, NodeRows()
        with self._uow(read_only=True) as uow:
            session = uow.session
            found.orders = {d.order.id: d for d in rows.orders_by_id(session, orders, account, include)}
            _hide_staff_events(actor, list(found.orders.values()))
            found.domain_orders = rows.by_id(session, "domain_orders", domain_orders, account)
            found.tasks = rows.by_id(session, "tasks", tasks, account)
            found.products = rows.by_id(session, "products", products, account)
            if "tasks" in include:
                found.related.add_domain_order_tasks(session, found.domain_orders.values())
            found.related.add_dependencies(session, found.tasks.values())
            found.related.add_contracts(session, list(found.products.values()))
            if offerings:
                wanted_offerings = set(offerings)
                found.offerings = {o.id: o for o in list_offerings(session) if o.id in wanted_offerings}
        return found

    def orders(
        self,
        actor: Actor,
        *,
        first: int,
        after: str | None,
        states: list[str] | None,
        customer_id: str | None,
        jeopardy: list[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        include: frozenset[str] = frozenset(),
        count: bool = False,
    ) -> Page:
        """Newest first, keyset-paginated on the primary key; items are OrderDetails with the
        children named in ``include``. ``jeopardy`` keeps orders at one of those levels;
        ``created_from`` (inclusive) and ``created_to`` (exclusive, naive UTC) bound the creation time.
        ``count`` adds the number of orders matching the filters, counted over the
        (customer_id, id) or (state, id) index."""
        require(actor, Permission.ORDER_READ)
        _page_size(first)
        filters = []
        if actor.account_id is not None:
            filters.append(Order.customer_id == actor.account_id)
        if customer_id:
            filters.append(Order.customer_id == customer_id)
        if states:
            filters.append(Order.state.in_(states))
        if jeopardy:
            filters.append(Order.jeopardy.in_(jeopardy))
        if created_from is not None:
            filters.append(Order.created_at >= created_from)
        if created_to is not None:
            filters.append(Order.created_at < created_to)
        stmt = _ORDERS.where(*filters).order_by(Order.id.desc()).limit(first + 1)
        if after:
            stmt = stmt.where(Order.id < decode_cursor(after))
        with self._uow(read_only=True) as uow:
            details = rows.order_details(uow.session, list(rows.execute(uow.session, stmt, {})), include)
            _hide_staff_events(actor, details)
            total = uow.session.scalar(select(func.count()).select_from(Order.__table__).where(*filters)) if count else None
        return _page(details, first, total, lambda d: d.order.id)

    def order_slice(
        self,
        actor: Actor,
        *,
        offset: int,
        limit: int,
        criteria: Sequence[Criterion] = (),
        include: frozenset[str] = ORDER_CHILDREN,
    ) -> Slice:
        """Orders matching ``criteria`` (over ``ORDER_FIELDS``), newest first, from ``offset``;
        discarded drafts are left out (the TMF facade's lists)."""
        require(actor, Permission.ORDER_READ)
        filters = [*where(ORDER_FIELDS, criteria), Order.discarded_at.is_(None)]
        if actor.account_id is not None:
            filters.append(Order.customer_id == actor.account_id)
        stmt = _ORDERS.where(*filters).order_by(Order.id.desc()).offset(offset).limit(limit)
        with self._uow(read_only=True) as uow:
            details = rows.order_details(uow.session, list(rows.execute(uow.session, stmt, {})), include)
            _hide_staff_events(actor, details)
            total = uow.session.scalar(select(func.count()).select_from(Order.__table__).where(*filters)) or 0
        return Slice(details, total)

    def product_slice(self, actor: Actor, *, offset: int, limit: int, criteria: Sequence[Criterion] = ()) -> Slice:
        """Products matching ``criteria`` (over ``PRODUCT_FIELDS``), newest first, from ``offset``."""
        require(actor, Permission.INVENTORY_READ)
        filters = where(PRODUCT_FIELDS, criteria)
        if actor.account_id is not None:
            filters.append(Product.customer_id == actor.account_id)
        stmt = _PRODUCTS.where(*filters).order_by(Product.id.desc()).offset(offset).limit(limit)
        related = Related()
        with self._uow(read_only=True) as uow:
            found = list(rows.execute(uow.session, stmt, {}))
            related.add_contracts(uow.session, found)
            total = uow.session.scalar(select(func.count()).select_from(Product.__table__).where(*filters)) or 0
        return Slice(found, total, related)

    def products(
        self, actor: Actor, *, first: int, after: str | None, customer_id: str | None, order_id: int | None, count: bool = False
    ) -> Page:
        """Newest first, keyset-paginated; items are product rows (their contracts in the page's
        ``related``). ``count`` adds the number of products matching the filters (over the
        (customer_id, id) or order_id index)."""
        require(actor, Permission.INVENTORY_READ)
        _page_size(first)
        filters = []
        if actor.account_id is not None:
            filters.append(Product.customer_id == actor.account_id)
        if customer_id:
            filters.append(Product.customer_id == customer_id)
        if order_id is not None:
            filters.append(Product.order_id == order_id)
        stmt = _PRODUCTS.where(*filters).order_by(Product.id.desc()).limit(first + 1)
        if after:
            stmt = stmt.where(Product.id < decode_cursor(after))
        related = Related()
        with self._uow(read_only=True) as uow:
            found = list(rows.execute(uow.session, stmt, {}))
            related.add_contracts(uow.session, found[:first])
            total = uow.session.scalar(select(func.count()).select_from(Product.__table__).where(*filters)) if count else None
        return _page(found, first, total, lambda p: p.id, related)

    def events_since(self, actor: Actor, order_id: int | None, after_sequence: int, limit: int = 500) -> list[DbRow]:
        """The caller's events (rows) committed after ``after_sequence``, in commit order."""
        require(actor, Permission.ORDER_READ)
        stmt = _EVENTS.where(EventRecord.sequence > after_sequence).order_by(EventRecord.sequence).limit(limit)
        if order_id is not None:
            stmt = stmt.where(EventRecord.order_id == order_id)
        if actor.account_id is not None:
            stmt = stmt.where(EventRecord.customer_id == actor.account_id)
        if not actor.can(Permission.FULFILMENT_READ):
            stmt = stmt.where(EventRecord.entity_kind.not_in(STAFF_EVENT_KINDS))
        with self._uow(read_only=True) as uow:
            return list(rows.execute(uow.session, stmt, {}))

    def event_sequence(self, actor: Actor, event_id: int) -> int | None:
        """Where an event stands in commit order (a resume position), or None when there is no
        such event. Any event marks a position: it shows no content, so it is not scoped."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            return uow.session.scalar(select(EventRecord.sequence).where(EventRecord.id == event_id))
