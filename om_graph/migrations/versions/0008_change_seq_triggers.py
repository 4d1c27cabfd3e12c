"""change_seq bumped by triggers, once per transaction (migrations/change_seq.py): the order's
mark of the transaction that last bumped it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import MARK, create_triggers, drop_triggers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on SQLite too: a batch rebuild of customer_order would cascade-delete its rows.
    op.add_column("customer_order", sa.Column("change_xact", sa.BigInteger(), nullable=True))
    create_triggers(events=True)  # 0010 drops the events' (migrations/change_seq.py)


def downgrade() -> None:
    drop_triggers()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {MARK}")
    op.execute("ALTER TABLE customer_order DROP COLUMN change_xact")
