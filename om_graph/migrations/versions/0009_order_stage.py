"""the order's pre-fulfilment stage (validation, enrichment, approval, decomposition,
orchestration), what a waiting stage waits for, and when the stage last changed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import rebuild_triggers

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=32), server_default='validation', nullable=False))
        batch_op.add_column(sa.Column('stage_waiting_for', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('stage_changed_at', sa.DateTime(), nullable=True))
    # Orders past acknowledgement were decomposed by the one-transaction pipeline.
    op.execute("UPDATE customer_order SET stage = 'orchestration' WHERE state NOT IN ('draft', 'acknowledged')")
    rebuild_triggers()  # the order's new columns bump its change_seq (migrations/change_seq.py)


def downgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_column('stage_changed_at')
        batch_op.drop_column('stage_waiting_for')
        batch_op.drop_column('stage')
    rebuild_triggers()
