"""the TMF622 event hub (issue 15): listeners (hub_listener: callback, query, secret, owner and
scope, and the fan-out's cursor over the events' commit order) and their deliveries (hub_delivery:
one per listener and event, the outbox's state per attempt). Not order rows: no foreign key to an
order or an event, no change_seq triggers.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hub_listener",
        sa.Column("id", _ID, nullable=False),
        sa.Column("callback", sa.String(length=2000), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("account_id", sa.String(length=80), nullable=True),
        sa.Column("staff_events", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fanned_out_sequence", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_listener")),
    )
    op.create_table(
        "hub_delivery",
        sa.Column("id", _ID, nullable=False),
        sa.Column("listener_id", _ID, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listener_id"], ["hub_listener.id"], name=op.f("fk_hub_delivery_listener_id_hub_listener"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_delivery")),
        sa.UniqueConstraint("listener_id", "event_id", name=op.f("uq_hub_delivery_listener_id_event_id")),
    )
    op.create_index("ix_hub_delivery_listener_id_order_id_sequence", "hub_delivery", ["listener_id", "order_id", "sequence"])
    op.create_index("ix_hub_delivery_state_next_attempt_at", "hub_delivery", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_hub_delivery_state_next_attempt_at", "hub_delivery")
    op.drop_index("ix_hub_delivery_listener_id_order_id_sequence", "hub_delivery")
    op.drop_table("hub_delivery")
    op.drop_table("hub_listener")
