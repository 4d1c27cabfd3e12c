"""Decision tables as stored: a table (its name, where its default comes from, which version is
active), its numbered versions (a definition each, in a state of ``states.VERSION``) and an audit
trail of every change (creation, draft edits, activations, rollbacks, defaults a pack shipped).

None of these rows belongs to an order, so none is in ``kernel.models.ORDER_ROWS``: an order
records which version decided it in its own columns or events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.decisions.states import VERSION
from om_graph.core.kernel.models import Base, Id, utcnow


class DecisionTable(Base):
    __tablename__ = "decision_table"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    # "core" or "pack:<name>" when the table's default ships with the code; None for a table an
    # admin created. Drafts of a table with a default keep its columns (consumers read them).
    default_source: Mapped[str | None] = mapped_column(String(120))
    # The active version (no foreign key: the two tables would point at each other; the service
    # sets it in the same transaction as the version's state).
    active_version_id: Mapped[int | None] = mapped_column(Id)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DecisionTableVersion(Base):
    __tablename__ = "decision_table_version"
    __table_args__ = (
        UniqueConstraint("table_id", "number"),
        Index("ix_decision_table_version_table_id_status", "table_id", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("decision_table.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=VERSION.initial)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # codec.to_json
    # "core", "pack:<name>" (a shipped default) or "admin:<actor>"
    source: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    activated_by: Mapped[str | None] = mapped_column(String(120))
    activated_at: Mapped[datetime | None]


class DecisionTableAudit(Base):
    __tablename__ = "decision_table_audit"
    __table_args__ = (Index("ix_decision_table_audit_table_id_id", "table_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("decision_table.id"))
    action: Mapped[str] = mapped_column(String(32))  # states.AuditActions
    from_version: Mapped[int | None]  # numbers, not ids: what people read
    to_version: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
