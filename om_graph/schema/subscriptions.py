"""Subscriptions over graphql-transport-ws, fed by the event bus (after commit)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from om_graph.core.events import OrderEvent as CoreEvent
from om_graph.schema.context import Info
from om_graph.schema.inputs import node_id
from om_graph.schema.types import OrderEvent


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Events of one order, or of every order the caller may see when orderId is omitted.")
    async def order_events(self, info: Info, order_id: relay.GlobalID | None = None) -> AsyncGenerator[OrderEvent, None]:
        wanted = node_id(order_id, "Order", "orderId") if order_id else None
        account = info.context.actor.account_id

        def accept(event: CoreEvent) -> bool:
            return (wanted is None or event.order_id == wanted) and (account is None or event.customer_id == account)

        async for event in info.context.bus.subscribe(accept):
            yield OrderEvent.from_record(event)
