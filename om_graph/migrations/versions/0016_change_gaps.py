"""change management, the rest (issue 14): the manual price adjustments an order and its lines were
captured with (a revision prices again from them), an undo that was cancelled no longer counts as
a task's one undo, and the scheduler's index over cancellation requests waiting for their date

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_UNDO = sa.text("mode = 'undo'")
_LIVE_UNDO = sa.text("mode = 'undo' AND state <> 'cancelled'")


def upgrade() -> None:
    op.add_column("customer_order", sa.Column("price_adjustments", sa.JSON(), nullable=True))
    op.add_column("order_line", sa.Column("price_adjustments", sa.JSON(), nullable=True))
    op.drop_index("ix_order_task_undo_of", "order_task")
    op.create_index(
        "ix_order_task_undo_of", "order_task", ["compensates_id"], unique=True, sqlite_where=_LIVE_UNDO, postgresql_where=_LIVE_UNDO
    )
    op.create_index("ix_cancel_request_state_requested_date", "cancel_request", ["state", "requested_cancellation_date"])
    rebuild_triggers()


def downgrade() -> None:
    drop_triggers()  # they name the columns
    op.drop_index("ix_cancel_request_state_requested_date", "cancel_request")
    op.drop_index("ix_order_task_undo_of", "order_task")
    op.create_index(
        "ix_order_task_undo_of", "order_task", ["compensates_id"], unique=True, sqlite_where=_UNDO, postgresql_where=_UNDO
    )
    for table in ("order_line", "customer_order"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN price_adjustments")
    create_triggers()
