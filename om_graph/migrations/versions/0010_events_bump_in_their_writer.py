"""order_event has no change_seq trigger: its one writer (UnitOfWork._write_events) bumps the
orders it writes events for (kernel.models.BUMPED_BY_THEIR_WRITER)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from om_graph.migrations.change_seq import create_triggers, drop_triggers

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENTS = ("order_event",)


def upgrade() -> None:
    drop_triggers(only=_EVENTS)


def downgrade() -> None:
    create_triggers(only=_EVENTS)
