"""Order versions, revisions and cancellation requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.kernel.models import Base, Id, utcnow

# A revision or a cancellation request still being worked: one of each per order (and line) at a time.
OPEN_REVISION_STATES = ("assessing", "pendingApproval", "inProgress")  # states.RevisionStates
OPEN_CANCEL_STATES = ("acknowledged", "inProgress")  # states.CancelRequestStates
ACCEPTED, DENIED = "accepted", "denied"
CANCEL_RESULTS = (ACCEPTED, DENIED)  # CancelRequest.result, once assessed
REASON_TYPES = ("commercial", "technical")  # MEF cancellation reason types


def _open(states: tuple[str, ...]) -> Any:
    return text("state IN (" + ", ".join(f"'{s}'" for s in states) + ")")


class OrderVersion(Base):
    """One version of an order as captured or revised: its header and lines (a plain snapshot, so
    any two versions can be compared after later revisions changed the rows)."""

    __tablename__ = "order_version"
    __table_args__ = (UniqueConstraint("order_id", "number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    number: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision_id: Mapped[int | None] = mapped_column(Id)  # the revision that made it (None: the submitted order)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderRevision(Base):
    """An in-flight revision of a running order: the requested change, its diff against the order's
    version, the compensation plan computed from the plans' difference, and its state."""

    __tablename__ = "order_revision"
    __table_args__ = (
        Index("ix_order_revision_order_id_id", "order_id", "id"),
        Index(
            "ix_order_revision_open",
            "order_id",
            unique=True,
            sqlite_where=_open(OPEN_REVISION_STATES),
            postgresql_where=_open(OPEN_REVISION_STATES),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(32))
    base_version: Mapped[int]  # the order version it revises
    new_version: Mapped[int | None]  # the version it makes, once applied
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(120))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # the request, as given
    diff: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    compensation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the plan: cancelled, undone, redone, new
    ponr_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    charges: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # soft PONR charges applied
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]


class CancelRequest(Base):
    """TMF622 ``CancelProductOrder``: a request to cancel an order, or one line (``line_id``), with
    its own state, reason, requested date, result and fee."""

    __tablename__ = "cancel_request"
    __table_args__ = (
        Index("ix_cancel_request_order_id_id", "order_id", "id"),
        Index("ix_cancel_request_state_requested_date", "state", "requested_cancellation_date"),  # the scheduler
        Index(
            "ix_cancel_request_open",
            "order_id",
            "line_id",
            unique=True,
            sqlite_where=_open(OPEN_CANCEL_STATES),
            postgresql_where=_open(OPEN_CANCEL_STATES),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(32))
    cancellation_reason: Mapped[str] = mapped_column(String(500))
    reason_type: Mapped[str | None] = mapped_column(String(16))  # REASON_TYPES
    requested_cancellation_date: Mapped[datetime | None]
    effective_cancellation_date: Mapped[datetime | None]
    previous_state: Mapped[str | None] = mapped_column(String(32))  # what the order (or line) was in
    result: Mapped[str | None] = mapped_column(String(16))  # CANCEL_RESULTS
    result_message: Mapped[str | None] = mapped_column(String(2000))
    fee: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {amount, currency, reason, ...}
    ponr_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    compensation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]
