"""the order's pre-fulfilment stage (validation, enrichment, approval, decomposition,
orchestration), what a waiting stage waits for, and when the stage last changed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, no batch rebuild of customer_order (see 0007).


def upgrade() -> None:
    op.add_column("customer_order", sa.Column("stage", sa.String(length=32), server_default="validation", nullable=False))
    op.add_column("customer_order", sa.Column("stage_waiting_for", sa.String(length=200), nullable=True))
    op.add_column("customer_order", sa.Column("stage_changed_at", sa.DateTime(), nullable=True))
    # Orders past acknowledgement were decomposed by the one-transaction pipeline; a rejected one
    # failed validation (or a later stage: the old pipeline did not say which) and, as the lifecycle
    # leaves a rejected order in the stage it failed in, stays at 'validation'.
    op.execute("UPDATE customer_order SET stage = 'orchestration' WHERE state NOT IN ('draft', 'acknowledged', 'rejected')")
    rebuild_triggers(events=True)  # (events: until 0010) the order's new columns bump its change_seq (migrations/change_seq.py)


def downgrade() -> None:
    # The triggers name the columns (PostgreSQL refuses the drop, SQLite's schema check fails): drop them first.
    drop_triggers()
    for column in ("stage_changed_at", "stage_waiting_for", "stage"):
        op.execute(f"ALTER TABLE customer_order DROP COLUMN {column}")
    create_triggers(events=True)
