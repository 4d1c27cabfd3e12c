"""SQLAlchemy 2 models: the database is the single source of truth for every order."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# BIGINT on PostgreSQL, INTEGER (rowid alias, so autoincrement works) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def new_task_key() -> str:
    """A task's idempotency key: the same for every attempt, passed to its handler."""
    return f"om-{uuid.uuid4().hex}"
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


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, Decimal: Money, int: Integer}


class Specification(Base):
    __tablename__ = "catalog_specification"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    pack: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]]


class Offering(Base):
    __tablename__ = "catalog_offering"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    product_spec_key: Mapped[str] = mapped_column(String(120))
    one_time_price: Mapped[Decimal]
    recurring_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    recurring_period: Mapped[str] = mapped_column(String(16))
    min_quantity: Mapped[int]
    max_quantity: Mapped[int]
    pack: Mapped[str] = mapped_column(String(80))
    lifecycle_status: Mapped[str] = mapped_column(String(16), default="active")


class Order(Base):
    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_customer_order_customer_id_id", "customer_id", "id"),
        Index("ix_customer_order_state_id", "state", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    # Bumped by every transaction that writes anything shown in the order's detail (its rows, its
    # products' later changes): readers compare it to validate what they cached.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    description: Mapped[str] = mapped_column(String(2000), default="")
    external_id: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    one_time_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    recurring_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    requested_completion_date: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # Set while the order awaits processing by a worker; the reconciler re-enqueues stale ones.
    processing_dispatched_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_number", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_number: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    offering_key: Mapped[str] = mapped_column(String(120))
    spec_key: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    characteristics: Mapped[dict[str, Any]]
    product_id: Mapped[int | None] = mapped_column(Id)
    state: Mapped[str] = mapped_column(String(32))
    unit_one_time_price: Mapped[Decimal]
    unit_recurring_price: Mapped[Decimal]
    order: Mapped[Order] = relationship(back_populates="lines")


class DomainOrder(Base):
    __tablename__ = "domain_order"
    __table_args__ = (Index("ix_domain_order_order_id", "order_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("domain_order.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    spec_key: Mapped[str] = mapped_column(String(120))
    unit_index: Mapped[int]
    state: Mapped[str] = mapped_column(String(32))
    characteristics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class Task(Base):
    __tablename__ = "order_task"
    __table_args__ = (
        Index("ix_order_task_order_id", "order_id"),
        Index("ix_order_task_state_dispatched_at", "state", "dispatched_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    domain_order_id: Mapped[int] = mapped_column(ForeignKey("domain_order.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    handler: Mapped[str | None] = mapped_column(String(120))
    # Globally unique and stable across attempts: what handlers pass to external systems.
    idempotency_key: Mapped[str] = mapped_column(String(40), default=lambda: new_task_key())
    state: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    dispatched_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]  # a retried task is not claimed before this
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Jeopardy: the SLA from the jeopardy policy, counted from the moment the task became ready.
    planned_seconds: Mapped[int | None]
    due_at: Mapped[datetime | None]
    jeopardy: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    completed_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[dict[str, Any] | None]
    domain_order: Mapped[DomainOrder] = relationship()


class TaskDependency(Base):
    __tablename__ = "task_dependency"
    __table_args__ = (Index("ix_task_dependency_predecessor_id", "predecessor_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    dependency_type: Mapped[str] = mapped_column(String(24), default="finishToStart")
    # Only so that a flush inserts tasks before the edges between them.
    task: Mapped[Task] = relationship(foreign_keys=[task_id])
    predecessor: Mapped[Task] = relationship(foreign_keys=[predecessor_id])


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


class Agreement(Base):
    """TMF651-style contract created when an order completes."""

    __tablename__ = "agreement"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    """TMF637 product inventory: what the customer has, linked back to the order line."""

    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_customer_id_id", "customer_id", "id"),
        Index("ix_product_order_id", "order_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    offering_key: Mapped[str] = mapped_column(String(120))
    spec_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(24))
    characteristics: Mapped[dict[str, Any]]
    one_time_price: Mapped[Decimal]
    recurring_price: Mapped[Decimal]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    last_order_line_id: Mapped[int] = mapped_column(Id)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    start_date: Mapped[datetime | None]
    termination_date: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    agreement: Mapped[Agreement | None] = relationship(viewonly=True)
    entitlements: Mapped[list[Entitlement]] = relationship(order_by="Entitlement.id", viewonly=True)


class Entitlement(Base):
    __tablename__ = "entitlement"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An opaque API token. Only its SHA-256 is stored; the token is shown once, at issue."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON)
    account_id: Mapped[str | None] = mapped_column(String(80))
    demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
