"""change management (issue 14): order versions, in-flight revisions, cancellation requests, the
point of no return, undo and redo tasks, the full TMF637 product status set and product history

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN_REVISION = sa.text("state IN ('assessing', 'pendingApproval', 'inProgress')")
_OPEN_CANCEL = sa.text("state IN ('acknowledged', 'inProgress')")
_UNDO = sa.text("mode = 'undo'")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "order_version",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("revision_id", _ID, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("order_version", "order_id", "customer_order"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_version")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_order_version_order_id_number")),
    )
    op.create_table(
        "order_revision",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("new_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=True),
        sa.Column("compensation", sa.JSON(), nullable=True),
        sa.Column("ponr_acknowledged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("charges", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        _fk("order_revision", "order_id", "customer_order"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_revision")),
    )
    op.create_index("ix_order_revision_order_id_id", "order_revision", ["order_id", "id"])
    op.create_index(
        "ix_order_revision_open",
        "order_revision",
        ["order_id"],
        unique=True,
        sqlite_where=_OPEN_REVISION,
        postgresql_where=_OPEN_REVISION,
    )
    op.create_table(
        "cancel_request",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=False),
        sa.Column("reason_type", sa.String(length=16), nullable=True),
        sa.Column("requested_cancellation_date", sa.DateTime(), nullable=True),
        sa.Column("effective_cancellation_date", sa.DateTime(), nullable=True),
        sa.Column("previous_state", sa.String(length=32), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("result_message", sa.String(length=2000), nullable=True),
        sa.Column("fee", sa.JSON(), nullable=True),
        sa.Column("ponr_acknowledged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("compensation", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        _fk("cancel_request", "line_id", "order_line"),
        _fk("cancel_request", "order_id", "customer_order"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancel_request")),
    )
    op.create_index("ix_cancel_request_order_id_id", "cancel_request", ["order_id", "id"])
    op.create_index(
        "ix_cancel_request_open",
        "cancel_request",
        ["order_id", "line_id"],
        unique=True,
        sqlite_where=_OPEN_CANCEL,
        postgresql_where=_OPEN_CANCEL,
    )
    op.create_table(
        "product_status_change",
        sa.Column("id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("order_line_id", _ID, nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("characteristics", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("product_status_change", "product_id", "product"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_status_change")),
    )
    op.create_index("ix_product_status_change_product_id_id", "product_status_change", ["product_id", "id"])

    # Plain ALTER TABLE ADD COLUMN everywhere, no batch rebuild (see 0007).
    column: sa.Column[Any]
    for column in (
        sa.Column("previous_state", sa.String(length=32), nullable=True),
        sa.Column("order_version", sa.Integer(), server_default="1", nullable=False),
    ):
        op.add_column("customer_order", column)
    for column in (
        sa.Column("ponr", sa.String(length=8), nullable=True),
        sa.Column("ponr_at", sa.DateTime(), nullable=True),
        sa.Column("ponr_task_id", _ID, nullable=True),
        sa.Column("previous_state", sa.String(length=32), nullable=True),
    ):
        op.add_column("order_line", column)
    for column in (
        sa.Column("mode", sa.String(length=8), server_default="do", nullable=False),
        sa.Column("compensates_id", _ID, nullable=True),
        sa.Column("revision_id", _ID, nullable=True),
        sa.Column("ponr", sa.String(length=8), nullable=True),
    ):
        op.add_column("order_task", column)
    op.create_index(
        "ix_order_task_undo_of", "order_task", ["compensates_id"], unique=True, sqlite_where=_UNDO, postgresql_where=_UNDO
    )
    # The new columns, and the new tables' rows, bump their order's change_seq (migrations/change_seq.py).
    rebuild_triggers()


_ADDED = {
    "customer_order": ("previous_state", "order_version"),
    "order_line": ("ponr", "ponr_at", "ponr_task_id", "previous_state"),
    "order_task": ("mode", "compensates_id", "revision_id", "ponr"),
}


def downgrade() -> None:
    # The triggers name the columns (and the tables): drop them first.
    drop_triggers()
    op.drop_index("ix_order_task_undo_of", "order_task")
    for table, columns in _ADDED.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table("product_status_change")
    op.drop_table("cancel_request")
    op.drop_table("order_revision")
    op.drop_table("order_version")
    create_triggers()
