"""Domain orders (product, service, resource), their tasks and the dependencies between tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    false,
    text,
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
    # Schedule (core/fulfilment/schedule.py, migration 0014): the span of its tasks.
    started_at: Mapped[datetime | None]
    planned_start_at: Mapped[datetime | None]
    planned_end_at: Mapped[datetime | None]
    estimated_start_at: Mapped[datetime | None]
    estimated_end_at: Mapped[datetime | None]
    # Jeopardy (core/fulfilment/jeopardy.py): its SLA, due time and rolled-up level.
    sla_seconds: Mapped[int | None]
    due_at: Mapped[datetime | None]
    jeopardy: Mapped[str | None] = mapped_column(String(16))


class Task(Base):
    __tablename__ = "order_task"
    __table_args__ = (
        Index("ix_order_task_order_id", "order_id"),
        Index("ix_order_task_state_dispatched_at", "state", "dispatched_at"),
        Index("ix_order_task_state_id", "state", "id"),  # the jeopardy pass's keyset over open tasks
        # Work queues (core/reads/work_queue.py): a group's or a person's tasks of a state, soonest due first.
        Index("ix_order_task_group_state_due_id", "assignment_group", "state", "due_at", "id"),
        Index("ix_order_task_assignee_state_due_id", "assignee", "state", "due_at", "id"),
        Index("ix_order_task_release_at", "release_at"),  # schedule: the reconciler's gates past due
        # Change management (core/change): a completed task has at most one live undo (a cancelled
        # one, e.g. of a revision that was itself cancelled, leaves room for the next).
        Index(
            "ix_order_task_undo_of",
            "compensates_id",
            unique=True,
            sqlite_where=text("mode = 'undo' AND state <> 'cancelled'"),
            postgresql_where=text("mode = 'undo' AND state <> 'cancelled'"),
        ),
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
    # Schedule (core/fulfilment/schedule.py, migration 0014). Actual dates are started_at and
    # finished_at; planned ones are computed once (forward from submit or the requested start,
    # backward from a requested completion), estimated ones again as work starts and finishes.
    duration_seconds: Mapped[int | None]
    planned_start_at: Mapped[datetime | None]
    planned_end_at: Mapped[datetime | None]
    estimated_start_at: Mapped[datetime | None]
    estimated_end_at: Mapped[datetime | None]
    total_float_seconds: Mapped[int | None]
    critical: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A pending task is not released before this (a dependency's lag); None: when its predecessors allow.
    release_at: Mapped[datetime | None]
    # The handler finished, but a finish-to-finish or start-to-finish dependency holds its completion.
    finish_blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Work queues (core/fulfilment/queues.py): who works a manual task.
    assignment_group: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(120))
    assigned_at: Mapped[datetime | None]
    # Change management (core/change, migration 0015): ``mode`` (states.TaskModes) says what its
    # handler is asked (do, undo or redo); an undo or redo task names the completed task it
    # compensates or repeats, and the revision that planned it. ``ponr``: its template's point of
    # no return (hard, soft), copied at decomposition.
    mode: Mapped[str] = mapped_column(String(8), default="do", server_default="do")
    compensates_id: Mapped[int | None] = mapped_column(Id)  # a task of the same order (no FK: added by ALTER, see 0007)
    revision_id: Mapped[int | None] = mapped_column(Id)
    ponr: Mapped[str | None] = mapped_column(String(8))


class TaskDependency(Base):
    __tablename__ = "task_dependency"
    __table_args__ = (Index("ix_task_dependency_predecessor_id", "predecessor_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"), primary_key=True)
    dependency_type: Mapped[str] = mapped_column(String(24), default="finishToStart")
    lag_seconds: Mapped[int] = mapped_column(default=0, server_default="0")  # may be negative (a lead)
    # No relationships: a plan's rows are inserted in one go, parents first (uow.add_new), and a
    # relationship would only add work to every flush of the tasks.


class CompletionEstimate(Base):
    """One revision of an order's or a line's expected completion date, with its reason."""

    __tablename__ = "completion_estimate"
    __table_args__ = (Index("ix_completion_estimate_order_id_id", "order_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))  # None: the order
    expected_at: Mapped[datetime | None]
    previous_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(64))  # planned | taskStartedLate | taskFinishedEarly | ...
    detail: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


# The open states of FALLOUT (fallout_states.ACTIVE): the queue's partial indexes cover them.
ACTIVE_FALLOUT_STATES = ("open", "inProgress", "onHold", "awaitingInformation")
_ACTIVE_FALLOUT = text("state IN ('open', 'inProgress', 'onHold', 'awaitingInformation')")


class Fallout(Base):
    """A failure routed to people (core/fulfilment/fallout.py): the task waits on hold while it is open."""

    __tablename__ = "fallout"
    __table_args__ = (
        Index("ix_fallout_order_id", "order_id"),
        Index("ix_fallout_state_priority_id", "state", "priority", "id"),
        Index("ix_fallout_assignee_state_id", "assignee", "state", "id"),
        Index("ix_fallout_group_state_id", "assignment_group", "state", "id"),
        Index("ix_fallout_type_state_id", "fallout_type", "state", "id"),
        # fallout.py: the task's open record, the dashboard's counts (covering), and the queue's
        # pages over open records.
        Index("ix_fallout_task_id", "task_id"),
        Index("ix_fallout_state_type_priority", "state", "fallout_type", "priority"),
        Index("ix_fallout_active_priority_id", "priority", "id", postgresql_where=_ACTIVE_FALLOUT, sqlite_where=_ACTIVE_FALLOUT),
        Index(
            "ix_fallout_active_type_priority_id",
            "fallout_type",
            "priority",
            "id",
            postgresql_where=_ACTIVE_FALLOUT,
            sqlite_where=_ACTIVE_FALLOUT,
        ),
        Index(
            "ix_fallout_active_assignee_priority_id",
            "assignee",
            "priority",
            "id",
            postgresql_where=_ACTIVE_FALLOUT,
            sqlite_where=_ACTIVE_FALLOUT,
        ),
        Index(
            "ix_fallout_active_group_priority_id",
            "assignment_group",
            "priority",
            "id",
            postgresql_where=_ACTIVE_FALLOUT,
            sqlite_where=_ACTIVE_FALLOUT,
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    domain_order_id: Mapped[int | None] = mapped_column(ForeignKey("domain_order.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("order_task.id", ondelete="CASCADE"))
    fallout_type: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=3)  # 1 (highest) .. 5
    state: Mapped[str] = mapped_column(String(32))
    assignment_group: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(120))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    handler: Mapped[str | None] = mapped_column(String(120))
    attempt: Mapped[int | None]
    southbound_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    resolution: Mapped[str | None] = mapped_column(String(32))  # retried | skipped | resolved | gaveUp | ...
    note: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]


# DecompositionWait.state (re-exported by decomposition.py).
WAITING, RELEASED = "waiting", "released"
CANCELLED_WAIT = "cancelled"  # its line was given up, or the parent domain order closed by hand


class DecompositionWait(Base):
    """A part of a line's decomposition parked until a characteristic is known
    (core/fulfilment/staggered.py): built under ``parent_id`` when the value arrives."""

    __tablename__ = "decomposition_wait"
    __table_args__ = (Index("ix_decomposition_wait_order_id", "order_id"), Index("ix_decomposition_wait_line_id", "line_id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("domain_order.id", ondelete="CASCADE"))
    spec_key: Mapped[str] = mapped_column(String(120))  # the specification waiting to be built
    unit_index: Mapped[int] = mapped_column(default=0)
    characteristic: Mapped[str] = mapped_column(String(120))  # what it waits for
    state: Mapped[str] = mapped_column(String(16))  # waiting | released | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
