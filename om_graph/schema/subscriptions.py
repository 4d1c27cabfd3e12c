"""Subscriptions over graphql-transport-ws, fed by the event bus (after commit)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from om_graph.core.events import OrderEvent as CoreEvent
from om_graph.schema.context import Info
from om_graph.schema.inputs import node_id
from om_graph.schema.types import OrderEvent

REPLAY_LIMIT = 5_000


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Events of one order, or of every order the caller may see when orderId is omitted. With after "
            "(an OrderEvent id the client last saw), stored events since then are replayed first, so a client "
            "that reconnects misses nothing (at most 5,000 are replayed; re-read order.events beyond that)."
        )
    )
    async def order_events(
        self, info: Info, order_id: relay.GlobalID | None = None, after: relay.GlobalID | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        wanted = node_id(order_id, "Order", "orderId") if order_id else None
        after_id = node_id(after, "OrderEvent", "after") if after else None
        account = info.context.actor.account_id

        def accept(event: CoreEvent) -> bool:
            return (wanted is None or event.order_id == wanted) and (account is None or event.customer_id == account)

        # Listen first, then read the store: an event committed in between is in one or the
        # other, and the id check drops it from the live stream if it was replayed.
        live = info.context.bus.subscribe(accept)
        try:
            last_replayed = 0
            if after_id is not None:
                stored = await info.context.run(
                    info.context.services.queries.events_since, info.context.actor, wanted, after_id, REPLAY_LIMIT
                )
                for record in stored:
                    last_replayed = record.id
                    yield OrderEvent.from_record(record)
            async for event in live:
                if event.id > last_replayed:
                    yield OrderEvent.from_record(event)
        finally:
            live.close()
