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


# Plain ALTER TABLE on both databases (SQLite >= 3.35): on SQLite a batch rebuild drops the table,
# and with foreign keys on (core/kernel/db.py turns them on per connection, and a migration's
# transaction cannot turn them off) that drop cascades into, or is refused by, the rows pointing at it.


def upgrade() -> None:
    op.execute("ALTER TABLE customer_order RENAME COLUMN revision TO change_seq")
    # SQLite adds a NOT NULL column only with a default, and cannot drop that default later without
    # a rebuild: there it stays (the ORM always writes the product's currency); PostgreSQL drops it.
    op.add_column("product", sa.Column("currency", sa.String(length=3), nullable=False, server_default="EUR"))
    op.execute("UPDATE product SET currency = (SELECT currency FROM customer_order WHERE customer_order.id = product.order_id)")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("product", "currency", server_default=None)


def downgrade() -> None:
    op.execute("ALTER TABLE product DROP COLUMN currency")
    op.execute("ALTER TABLE customer_order RENAME COLUMN change_seq TO revision")
