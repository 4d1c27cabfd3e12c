"""Unit of work: one transaction; its jobs and events are released only after commit.

The write path, one for every order row (kernel.models.ORDER_ROWS: lines, domain orders, tasks
and their dependencies, products, agreements, entitlements, events, and the order row): a unit of
work's session. Loaded objects are changed, new ones added (``session.add``) and removed ones
deleted (``session.delete`` or a delete-orphan cascade), and the ORM flushes them. Its one
shortcut is :meth:`UnitOfWork.add_new`, the same path for new rows built in bulk: one INSERT per
table instead of the flush's bookkeeping, after which the rows are session objects like any
loaded one. No other Core DML touches order rows except the declared statements that are not
changes of an order's detail: the event insert and its sequence (here), the order lock's bump
(``ordering.locking``) and the dispatch bookkeeping (``fulfilment.dispatch``, the reconciler);
tests/test_write_path.py scans for any other. A writer of an order locks it first
(``ordering.locking.lock_order``).

The change_seq rule, which the response cache and the plan re-attach rely on, is kept by the
database, not by the writers: triggers on every one of those tables (migrations/change_seq.py)
bump the owning order's ``change_seq`` once per transaction, whatever wrote the row (ORM,
Core or raw SQL). The one exception is structural: events have a single writer,
:meth:`UnitOfWork._write_events`, which bumps the orders of its events that the transaction has
not marked yet (kernel.models.BUMPED_BY_THEIR_WRITER; no statement when the order is locked). Bookkeeping is what no detail shows and may be written by plain statements
without the order's lock: kernel.models.BOOKKEEPING_COLUMNS (dispatch times), the one list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import cache
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, column, func, insert, select, table, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker
from sqlalchemy.sql.dml import Insert

from om_graph.core.kernel import metrics
from om_graph.core.kernel.db import READ_ONLY
from om_graph.core.kernel.events import OrderEvent
from om_graph.core.kernel.ids import reserve_ids
from om_graph.core.kernel.models import ORDER_TABLE, EventRecord, EventSequence, utcnow, write_xact
from om_graph.core.kernel.ports import EventSink, Job, JobSink

log = logging.getLogger(__name__)

# Hot statements are built once: SQLAlchemy then reuses their cache key and compiled form instead
# of constructing and traversing a new statement on every call (a large share of its cost).
_EVENTS = EventRecord.__table__
# The kernel knows no context's models: another order's row is locked through the bare table.
_ORDER_ROW = table(ORDER_TABLE, column("id"), column("change_seq"), column("change_xact"))
_LOCK_ORDER_ROW = select(_ORDER_ROW.c.id).where(_ORDER_ROW.c.id == bindparam("order_id")).with_for_update()
# Events have no change_seq trigger (kernel.models.BUMPED_BY_THEIR_WRITER): their writer bumps, as
# the triggers do, the orders that this transaction has not marked already.
_MARK = write_xact()
_BUMP_FOR_EVENTS = (
    update(_ORDER_ROW)
    .where(_ORDER_ROW.c.id.in_(bindparam("order_ids", expanding=True)), _ORDER_ROW.c.change_xact.is_distinct_from(_MARK))
    .values(change_seq=_ORDER_ROW.c.change_seq + 1, change_xact=_MARK)
)
_INSERT_EVENTS = insert(_EVENTS)
_INSERT_EVENTS_RETURNING = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
_SEQUENCE = EventSequence.__table__
_TAKE_SEQUENCE = (
    update(_SEQUENCE).where(_SEQUENCE.c.id == 1).values(last=_SEQUENCE.c.last + bindparam("count")).returning(_SEQUENCE.c.last)
)
# SQLite: the same statement also returns the largest event id, so the events are inserted with
# explicit ids (this transaction holds the write lock: the next ids are ours until commit).
_TAKE_SEQUENCE_AND_IDS = _TAKE_SEQUENCE.returning(select(func.max(_EVENTS.c.id)).scalar_subquery())


_THREAD = threading.local()


def write_transaction_open() -> bool:
    """Whether this thread has a writing unit of work open (pack code must not run then: on
    SQLite it would hold the process's single write lock, on PostgreSQL the order's row)."""
    return getattr(_THREAD, "writing", 0) > 0


@cache
def _insert_into(table: Table) -> Insert:
    return insert(table)  # built once per table: SQLAlchemy reuses its compiled form


@cache
def _insert_returning_id(table: Table) -> Insert:
    return insert(table).returning(table.c.id)


_COLUMNS: dict[type, tuple[tuple[str, str, Any], ...]] = {}


def _columns_of(model: type) -> tuple[tuple[str, str, Any], ...]:
    """Per mapped column of ``model``: (attribute, column key, its default or None), read once."""
    found = _COLUMNS.get(model)
    if found is None:
        attrs: Any = sa_inspect(model).column_attrs
        found = _COLUMNS[model] = tuple((a.key, a.columns[0].key, a.columns[0].default) for a in attrs)
    return found


def _row_of(obj: Any) -> dict[str, Any]:
    """A new object's column values, with its columns' Python defaults where it has none (what
    the ORM would apply at flush), also set on the object so that it reads like its row. A SQL
    expression default is left to the INSERT (the attribute then loads on first access)."""
    values = {}
    state = obj.__dict__
    for key, column_key, default in _columns_of(type(obj)):
        value = state.get(key)
        if value is None and default is not None and default.is_clause_element:
            continue  # a deferred column (the order's change mark), never read back
        if value is None and default is not None:
            value = default.arg(None) if default.is_callable else default.arg
            setattr(obj, key, value)
        elif key not in state:
            setattr(obj, key, value)  # loaded as NULL: once persistent, it must not load again
        values[column_key] = value
    return values


class OrderRef(Protocol):
    """The order an event belongs to (``ordering.models.Order``)."""

    id: int
    customer_id: str
    currency: str  # what its lines' captured prices are in


class Acting(Protocol):
    """Whoever acts (``access.actor.Actor``): events record its label."""

    @property
    def label(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...


class UnitOfWork:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        jobs: JobSink,
        events: EventSink,
        *,
        unsent: Callable[[Session, Sequence[Job]], None] | None = None,
        read_only: bool = False,
    ):
        self._unsent = unsent  # marks the work of jobs that could not be sent for the reconciler
        self._sessions = sessions
        self._job_sink = jobs
        self._event_sink = events
        self._read_only = read_only
        self.jobs: list[Job] = []
        self._events: list[dict[str, Any]] = []
        self._announced: list[OrderEvent] = []
        self.locked: dict[int, object] = {}  # orders this transaction locked (ordering.locking)
        self._inserted_orders: set[int] = set()  # new orders (add_new): their INSERT carries the mark
        self._rows_locked: set[int] = set()  # other orders' rows locked (lock_other_order)
        self._refs: list[tuple[OrderRef, Any]] = []  # per event: the order and entity whose ids it carries

    def __enter__(self) -> UnitOfWork:
        # No back-reference from the session to the unit of work: it would make every transaction's
        # session, locked orders and events cyclic garbage, freed only by the cyclic collector in
        # 40-100 ms pauses that land inside later transactions (the jeopardy pass measured them).
        self.session = self._sessions()
        if self._read_only:
            self.session.connection(execution_options={READ_ONLY: True})
        else:
            _THREAD.writing = getattr(_THREAD, "writing", 0) + 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        committing = False
        try:
            if exc_type is not None:
                self.session.rollback()
                return
            if self._read_only:
                return  # close() ends the transaction and keeps what was loaded readable
            self._write_events()
            committing = True
            self.session.commit()
            committing = False
        finally:
            self.session.close()  # first: on SQLite this frees the process's write lock
            if not self._read_only:
                _THREAD.writing -= 1
            if committing:
                self._commit_failed()
        self._release()

    def _release(self) -> None:
        """Hand the committed transaction's jobs and events on. Nothing here may fail the
        caller: the transaction is committed, so its answer is what was committed. An unsent
        job is left to the reconciler, an unannounced event to the store (subscribers replay)."""
        if self.jobs:
            self._send_jobs()
        if self._announced:
            try:
                self._event_sink.publish(self._announced)
            except Exception:
                metrics.EVENT_PUBLISH_FAILURES.inc(len(self._announced))
                log.exception("announcing %d committed events failed; they stay in the store", len(self._announced))

    def _commit_failed(self) -> None:
        """A commit that raised may still have committed (the connection died after COMMIT was
        sent), and its jobs were not sent: leave them to the reconciler's next pass. If it did
        not commit, the rows are as they were, and at worst get one more (harmless) message."""
        if self.jobs:
            self._forget_dispatch(self.jobs)

    def _send_jobs(self) -> None:
        for index, job in enumerate(self.jobs):
            try:
                self._job_sink.send([job])
            except Exception as exc:
                failure, unsent = exc, self.jobs[index:]  # the broker is down: do not wait on it once per job
                break
            metrics.JOBS_ENQUEUED.labels(job.name).inc()
        else:
            return
        for job in unsent:
            metrics.JOB_SEND_FAILURES.labels(job.name).inc()
        log.warning("sending %d jobs after commit failed (%s); the reconciler delivers them", len(unsent), failure)
        self._forget_dispatch(unsent)

    def _forget_dispatch(self, jobs: list[Job]) -> None:
        try:
            with self._sessions() as session, session.begin():
                if self._unsent is not None:
                    self._unsent(session, jobs)
        except Exception:  # then they go out after the redispatch age instead
            log.exception("could not mark %d unsent jobs for the reconciler", len(jobs))

    def add_new(self, objects: Sequence[Any]) -> None:
        """The write path's bulk insert of new rows (a captured order and its lines, a contract
        and its entitlements): one Core executemany per table, without the ORM's flush
        bookkeeping (most of a small transaction's cost; it keeps orderCreate fast). The objects
        then are persistent session objects like loaded ones: a later change to one is flushed
        as an UPDATE, a delete as a DELETE.
        Ids that others point at are reserved by the caller first (``kernel.ids.reserve_many``)
        or come from adding the row alone first (a single row's INSERT returns its id); the rest
        are reserved here. Objects go table by table in the order given (parents first), without
        flushing the session's pending changes first."""
        by_table: dict[Table, list[Any]] = {}
        for obj in objects:
            by_table.setdefault(obj.__table__, []).append(obj)
        # Core statements on the session's connection (its transaction), without the session's
        # ORM execution layer, which plain Core statements do not need.
        connection = self.session.connection()
        with self.session.no_autoflush:
            for table, group in by_table.items():
                if "id" not in table.c:  # a composite key of the row's own columns (task_dependency)
                    connection.execute(_insert_into(table), [_row_of(obj) for obj in group])
                    continue
                if len(group) == 1 and group[0].id is None:  # one row: its id comes back from the INSERT
                    row = _row_of(group[0])
                    del row["id"]
                    group[0].id = connection.execute(_insert_returning_id(table), row).scalar_one()
                    continue
                unnamed = [obj for obj in group if obj.id is None]
                for obj, reserved in zip(unnamed, reserve_ids(self.session, type(unnamed[0]), len(unnamed)) if unnamed else ()):
                    obj.id = reserved
                connection.execute(_insert_into(table), [_row_of(obj) for obj in group])
        self._inserted_orders.update(obj.id for obj in objects if obj.__table__.name == ORDER_TABLE)
        for obj in objects:
            make_transient_to_detached(obj)
        self.session.add_all(objects)

    def _write_events(self) -> None:
        """All of the transaction's events in one statement, just before commit, numbered in
        commit order.

        The sequence block is taken last, after every other write of the transaction: the
        counter row stays locked from this statement to commit (on PostgreSQL; SQLite's single
        writer already serialises), so a transaction that takes a later block commits later,
        and a rolled-back transaction gives its block back. Subscribers can therefore resume
        and order by sequence, and detect a gap as a missed event. Taking it last keeps the
        serialised part to the events' insert and the commit."""
        if not self._events:
            return
        self.session.flush()
        for body, (order, entity) in zip(self._events, self._refs):
            body["order_id"] = order.id
            if entity is not None:
                body["entity_id"] = entity.id
        connection, events = self.session.connection(), self._events  # Core statements: no ORM layer needed
        unmarked = {body["order_id"] for body in events} - self.locked.keys() - self._inserted_orders
        if unmarked:  # (the lock and a new order's INSERT mark the order already: no statement)
            connection.execute(_BUMP_FOR_EVENTS, {"order_ids": sorted(unmarked)})
        if connection.dialect.name == "sqlite":
            # SQLite cannot batch an INSERT whose RETURNING rows must come back in order, so the
            # ids come with the sequence block: this transaction holds the database write lock,
            # so max(id) + 1 onwards are ours (what SQLite would allocate), no statement more.
            last, last_id = connection.execute(_TAKE_SEQUENCE_AND_IDS, {"count": len(events)}).one()
            first = last - len(events) + 1
            for offset, body in enumerate(events):
                body["id"], body["sequence"] = (last_id or 0) + 1 + offset, first + offset
            connection.execute(_INSERT_EVENTS, events)
        else:
            last = connection.execute(_TAKE_SEQUENCE, {"count": len(events)}).scalar_one()
            for number, body in enumerate(events, last - len(events) + 1):
                body["sequence"] = number
            for event_id, body in zip(connection.execute(_INSERT_EVENTS_RETURNING, events).scalars(), events, strict=True):
                body["id"] = event_id
        self._announced = [OrderEvent(**body) for body in events]

    def lock_other_order(self, order_id: int) -> None:
        """This transaction is about to write a row another order's detail shows (a product a
        later order modifies). The trigger bumps that order, but locks its row only after the
        written row: lock it now, before the row is read. Callers keep one order of locks: a
        transaction takes the order it works on first, then every other order it will write in
        descending id order, all before writing any (``inventory.settlement.lock_owners`` for a
        roll-up's settled lines; the reconciler newest first). The order worked on is newer than
        the products it changes, so all locks go in descending id order and no two transactions
        wait for each other in a cycle. Deadlock freedom depends on that, the change_seq rule
        does not. (SQLite: its single writer already serialises.)"""
        if order_id not in self.locked and order_id not in self._rows_locked:
            self._rows_locked.add(order_id)
            self.session.execute(_LOCK_ORDER_ROW, {"order_id": order_id})

    def enqueue(self, job: Job) -> None:
        if job not in self.jobs:  # one advance per order per transaction is enough
            self.jobs.append(job)

    def record(
        self,
        order: OrderRef,
        event_type: str,
        *,
        entity_kind: str,
        entity_id: int | None = None,
        entity: Any = None,
        actor: Acting,
        from_state: str | None = None,
        to_state: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Record an event; it is written with the transaction's others just before commit.
        Give ``entity`` (rather than ``entity_id``) for an object that may not be inserted yet:
        its id, and the order's, are read after the final flush, so recording never forces one."""
        self._refs.append((order, entity))
        self._events.append(
            dict(
                order_id=order.id,
                customer_id=order.customer_id,
                event_type=event_type,
                entity_kind=entity_kind,
                entity_id=entity_id,
                from_state=from_state,
                to_state=to_state,
                actor=actor.label,
                payload=payload or {},
                occurred_at=utcnow(),
            )
        )
