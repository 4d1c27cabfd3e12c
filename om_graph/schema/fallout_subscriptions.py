"""Live fallout updates (merged into ``Subscription`` by ``schema.build``): the order events of
fallout records (entity kind "fallout"), staff only."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from om_graph.core.kernel.events import FALLOUT_STATE_CHANGE
from om_graph.core.kernel.events import OrderEvent as CoreEvent
from om_graph.eventbus import SUBSCRIBER_BUFFER, SubscriberOverflow
from om_graph.schema.context import Info
from om_graph.schema.errors import RequestErrorCode
from om_graph.schema.types import OrderEvent


@strawberry.type
class FalloutSubscriptions:
    @strawberry.subscription(
        description=(
            "Every fallout record created or moved, live, in commit order (FalloutStateChangeEvent; entityId is the "
            "Fallout). No replay: read the queue (fallouts) after subscribing. A subscriber that falls too far behind "
            "is ended with RESUME_REQUIRED."
        )
    )
    async def fallout_events(self, info: Info) -> AsyncGenerator[OrderEvent, None]:
        def accept(event: CoreEvent) -> bool:
            return event.entity_kind == "fallout" and event.event_type == FALLOUT_STATE_CHANGE

        live = info.context.bus.subscribe(accept)
        try:
            try:
                async for event in live:
                    yield OrderEvent.from_record(event)
            except SubscriberOverflow:
                raise GraphQLError(
                    f"fell more than {SUBSCRIBER_BUFFER} events behind; subscribe again and re-read the queue",
                    extensions={"code": RequestErrorCode.RESUME_REQUIRED},
                ) from None
        finally:
            live.close()
