"""The shared kernel's tables and column conventions: the declarative base, ids, money, time, events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import Function

# BIGINT on PostgreSQL, INTEGER (rowid alias, so autoincrement works) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


MONEY_SCALE = 2
Money = Numeric(14, MONEY_SCALE)
_MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def money(amount: Decimal) -> Decimal:
    """An amount as the Money column reads it back: MONEY_SCALE decimals (Decimal("0") is
    "0.00"), rounded half away from zero as PostgreSQL's numeric does. Amounts computed before
    a read (a create's or update's answer) must say the same as the read will."""
    return amount.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_UP)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# -- the change_seq rule (core/kernel/uow.py states it; migrations/change_seq.py enforces it) ----------
# Rows an order's detail shows, and how each names its order: a column of its own, or (parent
# table, column pointing at the parent) for rows reached through a task or a product.
ORDER_ROWS: dict[str, str | tuple[str, str]] = {
    "order_line": "order_id",
    "domain_order": "order_id",
    "order_task": "order_id",
    "task_dependency": ("order_task", "task_id"),
    "product": "order_id",
    "agreement": "order_id",
    "entitlement": ("product", "product_id"),
    "order_event": "order_id",
    "enrichment_task": "order_id",  # lifecycle: manual enrichment tasks (0013)
    "order_approval": "order_id",  # lifecycle: the approval rounds' steps (0013)
    "completion_estimate": "order_id",  # fulfilment: expected completion revisions (0014)
    "fallout": "order_id",  # fulfilment: fallout records (0014)
    "decomposition_wait": "order_id",  # fulfilment: parked parts of a decomposition (0014)
    "order_version": "order_id",  # change: the order's versions (0015)
    "order_revision": "order_id",  # change: in-flight revisions (0015)
    "cancel_request": "order_id",  # change: TMF622 CancelProductOrder (0015)
    "product_status_change": ("product", "product_id"),  # inventory: a product's history (0015)
}
ORDER_TABLE = "customer_order"
# Rows of ORDER_ROWS with no trigger, because one writer bumps their orders itself: events are
# inserted only by UnitOfWork._write_events (tests/test_write_path.py scans for any other writer),
# which bumps every order it writes events for that this transaction has not marked already
# (migration 0010 dropped the trigger: 17 of an order's 28 trigger firings were on events).
BUMPED_BY_THEIR_WRITER: frozenset[str] = frozenset({"order_event"})
# Bookkeeping: columns no detail shows, written without the order's lock (dispatch times, by the
# reconciler and core/fulfilment/dispatch.py; updated_at, the ORM's onupdate of those statements).
# Writing only these bumps nothing. The one list: the triggers' column lists are derived from it.
BOOKKEEPING_COLUMNS: dict[str, frozenset[str]] = {
    ORDER_TABLE: frozenset({"updated_at", "processing_dispatched_at"}),
    "order_task": frozenset({"dispatched_at"}),
}
# The counter and the transaction that last bumped it: written by the bump itself.
CHANGE_MARK_COLUMNS = frozenset({"change_seq", "change_xact"})
WRITE_XACT = "om_write_xact"


def write_xact() -> Function[int]:
    """SQL naming the current write transaction: PostgreSQL's txid, on SQLite a number drawn at
    BEGIN (core/kernel/db.py). A row bumps its order unless the order carries this mark already."""
    return Function(WRITE_XACT, type_=BigInteger())


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, Decimal: Money, int: Integer}
    if TYPE_CHECKING:  # every model maps one table (DeclarativeBase types it as any FromClause)
        __table__: ClassVar[Table]


class EventRecord(Base):
    __tablename__ = "order_event"
    __table_args__ = (Index("ix_order_event_order_id_id", "order_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Commit order, gapless (EventSequence): ids are assigned at insert, so a transaction that
    # commits late can carry a lower id than one already delivered; the sequence cannot.
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str] = mapped_column(String(64))
    entity_kind: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[int] = mapped_column(Id)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventSequence(Base):
    """One row: the last event sequence number handed out. A transaction takes its block with
    ``UPDATE … SET last = last + n RETURNING last`` right before commit, so the row lock is held
    from that statement to commit and sequence order is commit order (core/uow.py)."""

    __tablename__ = "event_sequence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger)
