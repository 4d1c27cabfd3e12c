"""The customer order and its lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    false,
)

# BIGINT on PostgreSQL, INTEGER (rowid alias, so autoincrement works) on SQLite.
from sqlalchemy.orm import Mapped, mapped_column, relationship

from om_graph.core.kernel.models import Base, Id, utcnow, write_xact


class Order(Base):
    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_customer_order_customer_id_id", "customer_id", "id"),
        Index("ix_customer_order_state_id", "state", "id"),
        Index("ix_customer_order_customer_id_state", "customer_id", "state"),  # lifecycle.approval.is_new_customer
        Index("ix_customer_order_external_id", "external_id"),  # partners find their orders by it (TMF622)
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    # Bumped by every transaction that writes anything shown in the order's detail (its rows, its
    # products' later changes): readers compare it to validate what they cached.
    change_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # The write transaction that last bumped change_seq (kernel.models.write_xact): database triggers
    # bump once per transaction. A new order carries its creating transaction's mark.
    change_xact: Mapped[int | None] = mapped_column(BigInteger, default=write_xact(), deferred=True)
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
    discarded_at: Mapped[datetime | None]  # a draft discarded (TMF622 DELETE): cancelled, kept for its history
    # Set while the order awaits processing by a worker; the reconciler re-enqueues stale ones.
    processing_dispatched_at: Mapped[datetime | None]
    # Pre-fulfilment progress (lifecycle.stages.STAGES): a waiting stage says what it waits for.
    stage: Mapped[str] = mapped_column(String(32), default="validation", server_default="validation")
    stage_waiting_for: Mapped[str | None] = mapped_column(String(200))
    stage_changed_at: Mapped[datetime | None]
    # Pricing (core/pricing, migration 0012): the price list the order was priced with, its TMF622
    # orderTotalPrice[] (recomputed on every draft edit, frozen at submit), the largest manual
    # discount as a percentage of the price it applies to, and whether a manual adjustment was
    # beyond the acting agent's limit (the approval policy reads both). The channel (derived from
    # the actor) and segment (optional input) are the price list's and the policies' audience.
    price_list: Mapped[str | None] = mapped_column(String(80))
    total_prices: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    manual_discount_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("0"), server_default="0")
    discount_over_limit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    channel: Mapped[str | None] = mapped_column(String(16))
    segment: Mapped[str | None] = mapped_column(String(80))
    # TMF622 priority "0" (highest) .. "4" (lowest), from the order.priority decision table
    # (ordering/priority.py, migration 0011): computed on capture and every draft edit, fixed at submit.
    priority: Mapped[str | None] = mapped_column(String(1))
    # Approval (core/lifecycle/approval.py, migration 0013): each submit starts a new approval
    # round, and whoever submitted may not approve it.
    approval_round: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    # Fulfilment control (migration 0014). TMF622 requestedStartDate; expectedCompletionDate (the
    # schedule's estimate, each revision in completion_estimate) against the committed date (the
    # requested completion, or the first plan's end); jeopardy rolled up from lines and tasks,
    # predicted from the lateness of the critical path; the time spent held or pending (paused).
    requested_start_date: Mapped[datetime | None]
    expected_completion_at: Mapped[datetime | None]
    committed_completion_at: Mapped[datetime | None]
    jeopardy: Mapped[str | None] = mapped_column(String(16))
    predicted_lateness_seconds: Mapped[int | None]
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    # Change management (core/change, migration 0015): the state a cancellation request found (a
    # denial restores it), and the order's version (1 at capture, +1 per applied revision;
    # ``version`` above is the optimistic-concurrency counter of every write).
    previous_state: Mapped[str | None] = mapped_column(String(32))
    order_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The manual price adjustments it was captured (or last revised) with, as given
    # ([{kind, chargeType, reason, amount, percentage}], migration 0016): a revision prices again from them.
    price_adjustments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

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
    # TMF622 prices (core/pricing): {"itemPrice": [...], "itemTotalPrice": [...]} with their
    # priceAlteration[], plus "priceDelta" on a modify or delete line (MACD, against the product).
    prices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Fulfilment control (migration 0014): TMF622 productOrderItemRelationship (the lines this one
    # relies on, by line number: [{"lineNumber": 1, "relationshipType": "reliesOn"}]), the
    # expected completion, rolled-up jeopardy, time held or pending, and the information a pending
    # line waits for (field paths).
    relationships: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    expected_completion_at: Mapped[datetime | None]
    jeopardy: Mapped[str | None] = mapped_column(String(16))
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    information_required: Mapped[list[str] | None] = mapped_column(JSON)
    # Change management (core/change, migration 0015): the point of no return the line passed
    # (hard, soft: its first task of a template with one that started, or a bundle member's), and
    # the state a cancellation request found.
    ponr: Mapped[str | None] = mapped_column(String(8))
    ponr_at: Mapped[datetime | None]
    ponr_task_id: Mapped[int | None] = mapped_column(Id)
    previous_state: Mapped[str | None] = mapped_column(String(32))
    price_adjustments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # as the order's (migration 0016)
    order: Mapped[Order] = relationship(back_populates="lines")
