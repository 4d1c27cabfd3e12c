"""rename customer_order.revision to change_seq ("revision" is an order amendment now);
products carry their currency

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.alter_column('revision', new_column_name='change_seq')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
    op.execute("UPDATE product SET currency = (SELECT currency FROM customer_order WHERE customer_order.id = product.order_id)")
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.alter_column('currency', existing_type=sa.String(length=3), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_column('currency')
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.alter_column('change_seq', new_column_name='revision')
