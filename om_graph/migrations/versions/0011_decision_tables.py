"""decision tables (issue 12): tables, their numbered versions and the audit trail; the order's
TMF622 priority (from the order.priority table)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from om_graph.migrations.change_seq import create_triggers, drop_triggers, rebuild_triggers

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decision_table",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("default_source", sa.String(length=120), nullable=True),
        sa.Column("active_version_id", _ID, nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_table")),
        sa.UniqueConstraint("name", name=op.f("uq_decision_table_name")),
    )
    op.create_table(
        "decision_table_version",
        sa.Column("id", _ID, nullable=False),
        sa.Column("table_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("activated_by", sa.String(length=120), nullable=True),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["table_id"], ["decision_table.id"], name=op.f("fk_decision_table_version_table_id_decision_table")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_table_version")),
        sa.UniqueConstraint("table_id", "number", name=op.f("uq_decision_table_version_table_id_number")),
    )
    op.create_index("ix_decision_table_version_table_id_status", "decision_table_version", ["table_id", "status"])
    op.create_table(
        "decision_table_audit",
        sa.Column("id", _ID, nullable=False),
        sa.Column("table_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"], ["decision_table.id"], name=op.f("fk_decision_table_audit_table_id_decision_table")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_table_audit")),
    )
    op.create_index("ix_decision_table_audit_table_id_id", "decision_table_audit", ["table_id", "id"])
    # Plain ALTER TABLE, no batch rebuild (see 0007); existing orders have no priority until edited.
    op.add_column("customer_order", sa.Column("priority", sa.String(length=1), nullable=True))
    rebuild_triggers()  # the priority is in the order's detail: its update bumps change_seq


def downgrade() -> None:
    drop_triggers()  # the triggers name the columns
    op.execute("ALTER TABLE customer_order DROP COLUMN priority")
    create_triggers()
    op.drop_index("ix_decision_table_audit_table_id_id", table_name="decision_table_audit")
    op.drop_table("decision_table_audit")
    op.drop_index("ix_decision_table_version_table_id_status", table_name="decision_table_version")
    op.drop_table("decision_table_version")
    op.drop_table("decision_table")
