"""The lifecycle's own rows: manual enrichment tasks and the approval steps of each round.

Both belong to an order (``kernel.models.ORDER_ROWS``: writing one bumps the order's change_seq,
migration 0013's triggers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.kernel.models import Base, Id, utcnow


class EnrichmentTask(Base):
    """A manual enrichment task the enrichment policy gave an order line: a person captures the
    named characteristics (``lifecycle.states.ENRICHMENT_TASK``: open → completed | cancelled)."""

    __tablename__ = "enrichment_task"
    __table_args__ = (
        UniqueConstraint("line_id", "key"),
        Index("ix_enrichment_task_order_id", "order_id"),
        Index("ix_enrichment_task_state_role_id", "state", "role", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    # A draft edit (after a rejection) replaces the lines: the task stays, as history, with its line number.
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id", ondelete="SET NULL"))
    line_number: Mapped[int]
    key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    capture: Mapped[list[str]] = mapped_column(JSON, default=list)  # the characteristics the task captures
    captured: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the values it recorded
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(120))


class ApprovalStep(Base):
    """One level of one approval round of an order (``lifecycle.states.APPROVAL_STEP``: pending →
    approved | rejected | cancelled). A round's steps are written when the approval stage first
    waits in it; each submit starts a new round, and the rows of every round stay."""

    __tablename__ = "order_approval"
    __table_args__ = (
        UniqueConstraint("order_id", "round", "level"),
        Index("ix_order_approval_state_role", "state", "role"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    round: Mapped[int]
    level: Mapped[int]
    levels: Mapped[int]  # how many levels the round has
    role: Mapped[str] = mapped_column(String(64))  # who approves this level
    reasons: Mapped[str] = mapped_column(String(1000))  # why the policy asked for approval
    state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(120))  # who decided
    comment: Mapped[str | None] = mapped_column(String(2000))  # the approver's comment, or the rejection's reason
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
