"""Domain orders (product, service, resource), their tasks and the dependencies between tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.kernel.models import Base, Id, utcnow


def new_task_key() -> str:
    """A task's idempotency key: the same for every attempt, passed to its handler."""
    return f"om-{uuid.uuid4().hex}"


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


class TaskDependency(Base):
    __tablename__ = "task_dependency"
    __table_args__ = (Index("ix_task_dependency_predecessor_id", "predecessor_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    dependency_type: Mapped[str] = mapped_column(String(24), default="finishToStart")
    # No relationships: a plan's rows are inserted in one go, parents first (uow.add_new), and a
    # relationship would only add work to every flush of the tasks.
