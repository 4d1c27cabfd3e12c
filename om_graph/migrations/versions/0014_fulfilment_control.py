"""fulfilment control (issue 13): schedules and expected completion, typed dependencies with lag,
predictive jeopardy, fallout records, parked decomposition, work queues, hold and pending

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "completion_estimate",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=True),
        sa.Column("expected_at", sa.DateTime(), nullable=True),
        sa.Column("previous_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        _fk("completion_estimate", "line_id", "order_line"),
        _fk("completion_estimate", "order_id", "customer_order"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_estimate")),
    )
    op.create_index("ix_completion_estimate_order_id_id", "completion_estimate", ["order_id", "id"])
    op.create_table(
        "decomposition_wait",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("spec_key", sa.String(length=120), nullable=False),
        sa.Column("unit_index", sa.Integer(), nullable=False),
        sa.Column("characteristic", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        _fk("decomposition_wait", "line_id", "order_line"),
        _fk("decomposition_wait", "order_id", "customer_order"),
        _fk("decomposition_wait", "parent_id", "domain_order"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decomposition_wait")),
    )
    op.create_index("ix_decomposition_wait_line_id", "decomposition_wait", ["line_id"])
    op.create_index("ix_decomposition_wait_order_id", "decomposition_wait", ["order_id"])
    op.create_table(
        "fallout",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=True),
        sa.Column("domain_order_id", _ID, nullable=True),
        sa.Column("task_id", _ID, nullable=True),
        sa.Column("fallout_type", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("assignment_group", sa.String(length=64), nullable=True),
        sa.Column("assignee", sa.String(length=120), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=2000), nullable=True),
        sa.Column("handler", sa.String(length=120), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("southbound_response", sa.JSON(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        _fk("fallout", "domain_order_id", "domain_order"),
        _fk("fallout", "line_id", "order_line"),
        _fk("fallout", "order_id", "customer_order"),
        _fk("fallout", "task_id", "order_task"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fallout")),
    )
    op.create_index("ix_fallout_assignee_state_id", "fallout", ["assignee", "state", "id"])
    op.create_index("ix_fallout_group_state_id", "fallout", ["assignment_group", "state", "id"])
    op.create_index("ix_fallout_order_id", "fallout", ["order_id"])
    op.create_index("ix_fallout_state_priority_id", "fallout", ["state", "priority", "id"])
    op.create_index("ix_fallout_type_state_id", "fallout", ["fallout_type", "state", "id"])
    # fallout: the task's open record, and the queue's pages over open records (partial indexes).
    op.create_index("ix_fallout_task_id", "fallout", ["task_id"])
    op.create_index("ix_fallout_state_type_priority", "fallout", ["state", "fallout_type", "priority"])  # counts
    _active = sa.text("state IN ('open', 'inProgress', 'onHold', 'awaitingInformation')")
    op.create_index(
        "ix_fallout_active_priority_id", "fallout", ["priority", "id"], postgresql_where=_active, sqlite_where=_active
    )
    for index_name, leading in (
        ("ix_fallout_active_type_priority_id", "fallout_type"),
        ("ix_fallout_active_assignee_priority_id", "assignee"),
        ("ix_fallout_active_group_priority_id", "assignment_group"),
    ):
        op.create_index(index_name, "fallout", [leading, "priority", "id"], postgresql_where=_active, sqlite_where=_active)

    # Plain ALTER TABLE ADD COLUMN everywhere, no batch rebuild (see 0007).
    column: sa.Column[Any]
    for column in (
        sa.Column("requested_start_date", sa.DateTime(), nullable=True),
        sa.Column("expected_completion_at", sa.DateTime(), nullable=True),
        sa.Column("committed_completion_at", sa.DateTime(), nullable=True),
        sa.Column("jeopardy", sa.String(length=16), nullable=True),
        sa.Column("predicted_lateness_seconds", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hold_reason", sa.String(length=500), nullable=True),
    ):
        op.add_column("customer_order", column)
    for column in (
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("planned_start_at", sa.DateTime(), nullable=True),
        sa.Column("planned_end_at", sa.DateTime(), nullable=True),
        sa.Column("estimated_start_at", sa.DateTime(), nullable=True),
        sa.Column("estimated_end_at", sa.DateTime(), nullable=True),
        sa.Column("sla_seconds", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("jeopardy", sa.String(length=16), nullable=True),
    ):
        op.add_column("domain_order", column)
    for column in (
        sa.Column("relationships", sa.JSON(), nullable=True),
        sa.Column("expected_completion_at", sa.DateTime(), nullable=True),
        sa.Column("jeopardy", sa.String(length=16), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hold_reason", sa.String(length=500), nullable=True),
        sa.Column("information_required", sa.JSON(), nullable=True),
    ):
        op.add_column("order_line", column)
    for column in (
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("planned_start_at", sa.DateTime(), nullable=True),
        sa.Column("planned_end_at", sa.DateTime(), nullable=True),
        sa.Column("estimated_start_at", sa.DateTime(), nullable=True),
        sa.Column("estimated_end_at", sa.DateTime(), nullable=True),
        sa.Column("total_float_seconds", sa.Integer(), nullable=True),
        sa.Column("critical", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("release_at", sa.DateTime(), nullable=True),
        sa.Column("finish_blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("assignment_group", sa.String(length=64), nullable=True),
        sa.Column("assignee", sa.String(length=120), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
    ):
        op.add_column("order_task", column)
    op.create_index("ix_order_task_state_id", "order_task", ["state", "id"])
    # work queues (core/reads/work_queue.py): per group or person and state, soonest due first
    op.create_index("ix_order_task_group_state_due_id", "order_task", ["assignment_group", "state", "due_at", "id"])
    op.create_index("ix_order_task_assignee_state_due_id", "order_task", ["assignee", "state", "due_at", "id"])
    op.create_index("ix_order_task_release_at", "order_task", ["release_at"])  # schedule: gates past due
    op.add_column("task_dependency", sa.Column("lag_seconds", sa.Integer(), server_default="0", nullable=False))
    # The new columns, and the new tables' rows, bump their order's change_seq (migrations/change_seq.py).
    rebuild_triggers()


_ADDED = {
    "customer_order": (
        "requested_start_date",
        "expected_completion_at",
        "committed_completion_at",
        "jeopardy",
        "predicted_lateness_seconds",
        "paused_at",
        "paused_seconds",
        "hold_reason",
    ),
    "domain_order": (
        "started_at",
        "planned_start_at",
        "planned_end_at",
        "estimated_start_at",
        "estimated_end_at",
        "sla_seconds",
        "due_at",
        "jeopardy",
    ),
    "order_line": (
        "relationships",
        "expected_completion_at",
        "jeopardy",
        "paused_at",
        "paused_seconds",
        "hold_reason",
        "information_required",
    ),
    "order_task": (
        "duration_seconds",
        "planned_start_at",
        "planned_end_at",
        "estimated_start_at",
        "estimated_end_at",
        "total_float_seconds",
        "critical",
        "release_at",
        "finish_blocked",
        "assignment_group",
        "assignee",
        "assigned_at",
    ),
    "task_dependency": ("lag_seconds",),
}


def downgrade() -> None:
    # The triggers name the columns (and the tables): drop them first.
    drop_triggers()
    op.drop_index("ix_order_task_release_at", "order_task")  # schedule
    for index in ("ix_order_task_assignee_state_due_id", "ix_order_task_group_state_due_id", "ix_order_task_state_id"):
        op.drop_index(index, "order_task")
    for table, columns in _ADDED.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table("fallout")
    op.drop_table("decomposition_wait")
    op.drop_table("completion_estimate")
    create_triggers()
