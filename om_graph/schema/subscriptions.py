"""Subscriptions over graphql-transport-ws, fed by the event bus (after commit, in commit order)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry import relay

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.events import OrderEvent as CoreEvent
from om_graph.core.reads.queries import event_visible
from om_graph.eventbus import SUBSCRIBER_BUFFER, SubscriberOverflow
from om_graph.schema.context import Info
from om_graph.schema.errors import RequestErrorCode
from om_graph.schema.inputs import node_id
from om_graph.schema.types import OrderEvent

REPLAY_PAGE = 1_000


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Events of one order, or of every order the caller may see when orderId is omitted, in commit "
            "order, each once. With after (the id of the last OrderEvent the client processed), every stored "
            "event committed after that one is replayed first, then the stream continues live. A subscriber "
            "that falls too far behind is ended with the error code RESUME_REQUIRED: subscribe again with "
            "after set to the last event received."
        )
    )
    async def order_events(
        self, info: Info, order_id: relay.GlobalID | None = None, after: relay.GlobalID | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        context = info.context
        actor = context.acting
        wanted = node_id(order_id, "Order", "orderId") if order_id else None
        after_sequence = None
        if after is not None:
            after_id = node_id(after, "OrderEvent", "after")
            after_sequence = await context.call(context.services.queries.event_sequence, actor, after_id)
            if after_sequence is None:
                raise GraphQLError("after: no such event", extensions={"code": CommonErrorCode.NOT_FOUND, "field": "after"})
        account = actor.account_id

        def accept(event: CoreEvent) -> bool:
            return (
                (wanted is None or event.order_id == wanted)
                and (account is None or event.customer_id == account)
                and event_visible(actor, event.entity_kind)
            )

        # Listen first, then read the store: an event committed in between is in one or the
        # other, and live events come in commit order, so the sequence check drops exactly the
        # ones already replayed.
        live = context.bus.subscribe(accept)
        try:
            last = after_sequence or 0
            if after_sequence is not None:
                while True:
                    page = await context.call(context.services.queries.events_since, actor, wanted, last, REPLAY_PAGE)
                    for record in page:
                        last = record.sequence
                        yield OrderEvent.from_record(record)
                    if len(page) < REPLAY_PAGE:
                        break
            try:
                async for event in live:
                    if event.sequence > last:
                        yield OrderEvent.from_record(event)
            except SubscriberOverflow:
                raise GraphQLError(
                    f"fell more than {SUBSCRIBER_BUFFER} events behind; subscribe again with after set to the "
                    "last event received",
                    extensions={"code": RequestErrorCode.RESUME_REQUIRED},
                ) from None
        finally:
            live.close()
