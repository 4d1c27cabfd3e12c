"""enrichment and approval (issue 12): manual enrichment tasks, the approval rounds' steps, and
the order's approval round and submitter

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE on customer_order, no batch rebuild (see 0007).
    op.add_column("customer_order", sa.Column("approval_round", sa.Integer(), server_default="0", nullable=False))
    op.add_column("customer_order", sa.Column("submitted_by", sa.String(length=120), nullable=True))
    op.create_table(
        "enrichment_task",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("capture", sa.JSON(), nullable=False),
        sa.Column("captured", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("completed_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_line.id"], name=op.f("fk_enrichment_task_line_id_order_line"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["customer_order.id"], name=op.f("fk_enrichment_task_order_id_customer_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_task")),
        sa.UniqueConstraint("line_id", "key", name=op.f("uq_enrichment_task_line_id_key")),
    )
    op.create_index("ix_enrichment_task_order_id", "enrichment_task", ["order_id"])
    op.create_index("ix_enrichment_task_state_role_id", "enrichment_task", ["state", "role", "id"])
    op.create_table(
        "order_approval",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("levels", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("reasons", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["customer_order.id"], name=op.f("fk_order_approval_order_id_customer_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_approval")),
        sa.UniqueConstraint("order_id", "round", "level", name=op.f("uq_order_approval_order_id_round_level")),
    )
    op.create_index("ix_order_approval_state_role", "order_approval", ["state", "role"])
    # The approval policy's newCustomer question: a customer's completed orders, active products.
    op.create_index("ix_customer_order_customer_id_state", "customer_order", ["customer_id", "state"])
    op.create_index("ix_product_customer_id_status", "product", ["customer_id", "status"])
    # The order's new columns, and the new tables' rows, bump its change_seq (migrations/change_seq.py).
    rebuild_triggers()


def downgrade() -> None:
    # The triggers name the columns (and the tables): drop them first.
    drop_triggers()
    op.drop_index("ix_product_customer_id_status", "product")
    op.drop_index("ix_customer_order_customer_id_state", "customer_order")
    op.drop_table("order_approval")
    op.drop_table("enrichment_task")
    for column in ("submitted_by", "approval_round"):
        op.execute(f"ALTER TABLE customer_order DROP COLUMN {column}")
    create_triggers()
