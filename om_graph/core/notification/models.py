"""The hub's tables: listeners (who is called, with what, for which events) and their deliveries.

Neither is an order row: a delivery names its order and event by number, with no foreign key, so
writing one bumps no order and no order's detail shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from om_graph.core.kernel.models import Base, Id, utcnow


class HubListener(Base):
    """A TMF ``EventSubscription``: the callback, its query, the secret that signs what it is sent,
    whose it is (a customer's: ``account_id``, its own account's events only; ``staff_events``:
    it may receive staff-only event kinds) and how far the fan-out has read the events table."""

    __tablename__ = "hub_listener"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    callback: Mapped[str] = mapped_column(String(2000))
    query: Mapped[str | None] = mapped_column(String(2000))
    # The event types the query accepts (None: every type the hub delivers).
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(120))
    account_id: Mapped[str | None] = mapped_column(String(80))
    staff_events: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))
    # The last event sequence (EventRecord.sequence) turned into deliveries for this listener.
    fanned_out_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class HubDelivery(Base):
    """One event for one listener: its body as fanned out (signed at each attempt), and how its
    sending went. Per listener and order, only the earliest open one (pending or dead) is due."""

    __tablename__ = "hub_delivery"
    __table_args__ = (
        UniqueConstraint("listener_id", "event_id"),  # fanned out exactly once
        Index("ix_hub_delivery_listener_id_order_id_sequence", "listener_id", "order_id", "sequence"),  # next per order
        Index("ix_hub_delivery_state_next_attempt_at", "state", "next_attempt_at"),  # what is due
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    listener_id: Mapped[int] = mapped_column(ForeignKey("hub_listener.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(BigInteger)
    sequence: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
