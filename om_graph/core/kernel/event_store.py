"""The stored events in commit order, for whoever relays them live (no actor: the relay filters
per subscriber afterwards)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import RowMapping, bindparam, select

from om_graph.core.kernel.events import OrderEvent
from om_graph.core.kernel.models import EventRecord, EventSequence

if TYPE_CHECKING:
    from om_graph.core.kernel.uow import UnitOfWork

_EVENTS = EventRecord.__table__
_AFTER = select(_EVENTS).where(_EVENTS.c.sequence > bindparam("after")).order_by(_EVENTS.c.sequence).limit(bindparam("limit"))
_LAST = select(EventSequence.last).where(EventSequence.id == 1)


class EventStore:
    def __init__(self, uow_factory: Callable[..., UnitOfWork]):
        self._uow = uow_factory

    def last_sequence(self) -> int:
        """The sequence number of the last committed event (0 before the first)."""
        with self._uow(read_only=True) as uow:
            return uow.session.scalar(_LAST) or 0

    def events_after(self, after_sequence: int, limit: int) -> list[OrderEvent]:
        with self._uow(read_only=True) as uow:
            rows = uow.session.execute(_AFTER, {"after": after_sequence, "limit": limit}).mappings().all()
        return [event_of(row) for row in rows]


def event_of(row: RowMapping) -> OrderEvent:
    return OrderEvent(
        id=row["id"],
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        event_type=row["event_type"],
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        actor=row["actor"],
        occurred_at=row["occurred_at"],
        payload=row["payload"] or {},
        sequence=row["sequence"],
    )
