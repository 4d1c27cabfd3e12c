"""event sequence: events numbered in commit order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_sequence',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sequence')),
    )
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.BigInteger(), nullable=True))
    # Events stored before this revision are all committed: their id order is as good a
    # commit order as any, and new events continue after the highest.
    op.execute("UPDATE order_event SET sequence = id")
    op.execute("INSERT INTO event_sequence (id, last) SELECT 1, COALESCE(MAX(id), 0) FROM order_event")
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.alter_column('sequence', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_order_event_sequence'), ['sequence'])


def downgrade() -> None:
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_order_event_sequence'), type_='unique')
        batch_op.drop_column('sequence')
    op.drop_table('event_sequence')
