"""pricing (issue 12): the order's price list, TMF622 orderTotalPrice[], manual discount and its
limit flag, channel and segment; each line's TMF622 prices; each product's TMF637 productPrice[]

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Plain ALTER TABLE, no batch rebuild (see 0007). Orders captured before this migration keep
# their unit prices and totals; their TMF622 prices are null (the API derives untaxed ones from
# the unit prices and totals, schema/types/pricing.py).
_ORDER_COLUMNS = ("segment", "channel", "discount_over_limit", "manual_discount_percent", "total_prices", "price_list")


def upgrade() -> None:
    op.add_column("customer_order", sa.Column("price_list", sa.String(length=80), nullable=True))
    op.add_column("customer_order", sa.Column("total_prices", sa.JSON(), nullable=True))
    op.add_column(
        "customer_order",
        sa.Column("manual_discount_percent", sa.Numeric(7, 4), server_default="0", nullable=False),
    )
    op.add_column(
        "customer_order",
        sa.Column("discount_over_limit", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("customer_order", sa.Column("channel", sa.String(length=16), nullable=True))
    op.add_column("customer_order", sa.Column("segment", sa.String(length=80), nullable=True))
    op.add_column("order_line", sa.Column("prices", sa.JSON(), nullable=True))
    op.add_column("product", sa.Column("product_price", sa.JSON(), nullable=True))
    rebuild_triggers()  # the new columns bump their order's change_seq (migrations/change_seq.py)


def downgrade() -> None:
    # The triggers name the columns: drop them first.
    drop_triggers()
    op.execute("ALTER TABLE product DROP COLUMN product_price")
    op.execute("ALTER TABLE order_line DROP COLUMN prices")
    for column in _ORDER_COLUMNS:
        op.execute(f"ALTER TABLE customer_order DROP COLUMN {column}")
    create_triggers()
