"""the TMF facade's orders (issue 15): a discarded draft (TMF622 DELETE of a draft: the order is
kept, cancelled, for its history and the listeners' ProductOrderDeleteEvent, and the facade no
longer shows it), and the partners' lookup of their orders by externalId

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer_order", sa.Column("discarded_at", sa.DateTime(), nullable=True))
    op.create_index("ix_customer_order_external_id", "customer_order", ["external_id"])
    rebuild_triggers()


def downgrade() -> None:
    drop_triggers()  # they name the columns
    op.drop_index("ix_customer_order_external_id", "customer_order")
    op.execute("ALTER TABLE customer_order DROP COLUMN discarded_at")
    create_triggers()
