"""The event hub for process admins (core/notification/hub.py; merged into ``Query`` and
``Mutation`` by ``schema.build``): the listeners, their deliveries (the dead letters among
them), and a dead delivery retried or skipped. Listeners register over TMF622's ``/hub``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry import relay

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.notification.states import DELIVERY, LISTENER
from om_graph.schema.context import Info
from om_graph.schema.enums import _enum, members_by_value
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.mutations import UserError, _mutation
from om_graph.schema.types.common import gid

if TYPE_CHECKING:

    class HubDeliveryState(Enum): ...

    class HubListenerState(Enum): ...

else:
    HubDeliveryState = _enum(
        "HubDeliveryState",
        DELIVERY.states,
        "PENDING until the callback answers 2xx (DELIVERED); DEAD after the last attempt failed (it blocks its "
        "order's later deliveries to that listener until retried or SKIPPED).",
    )
    HubListenerState = _enum("HubListenerState", LISTENER.states, "ACTIVE, or DELETED (unregistered).")

_DELIVERY_STATES = members_by_value(HubDeliveryState)
_LISTENER_STATES = members_by_value(HubListenerState)


@strawberry.type(description="A TMF622 hub listener (an EventSubscription). Its secret is never shown again.")
class HubListener:
    id: strawberry.ID
    callback: str
    query: str | None
    event_types: list[str] | None = strawberry.field(description="What its query asks for (null: every event type).")
    owner: str = strawberry.field(description="Who registered it.")
    account_id: str | None = strawberry.field(description="A customer's listener: the account whose events it hears.")
    state: HubListenerState
    fanned_out_sequence: int = strawberry.field(description="The last event (commit order) turned into its deliveries.")
    created_at: datetime
    deleted_at: datetime | None

    @classmethod
    def from_row(cls, row) -> HubListener:
        return cls(
            id=strawberry.ID(str(row.id)),
            callback=row.callback,
            query=row.query,
            event_types=row.event_types,
            owner=row.owner,
            account_id=row.account_id,
            state=_LISTENER_STATES[row.state],
            fanned_out_sequence=row.fanned_out_sequence,
            created_at=row.created_at,
            deleted_at=row.deleted_at,
        )


@strawberry.type(description="One event for one listener, and how sending it went.")
class HubDelivery:
    id: strawberry.ID
    listener_id: strawberry.ID
    event_id: relay.GlobalID
    event_type: str
    order_id: relay.GlobalID
    sequence: int = strawberry.field(description="The event's place in commit order.")
    state: HubDeliveryState
    attempts: int
    next_attempt_at: datetime | None = strawberry.field(description="When a PENDING delivery is tried next.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed (HTTP 503, ConnectError: …).")
    last_status: int | None = strawberry.field(description="The HTTP status of the last answer.")
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row) -> HubDelivery:
        state = _DELIVERY_STATES[row.state]
        return cls(
            id=strawberry.ID(str(row.id)),
            listener_id=strawberry.ID(str(row.listener_id)),
            event_id=gid("OrderEvent", row.event_id),
            event_type=row.event_type,
            order_id=gid("Order", row.order_id),
            sequence=row.sequence,
            state=state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.state == DELIVERY.initial else None,
            last_error=row.last_error,
            last_status=row.last_status,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )


@strawberry.type
class HubDeliveryPayload:
    delivery: HubDelivery | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@prepared_input
@strawberry.input(description="Which deliveries: every condition given must hold.")
class HubDeliveryFilterInput:
    states: list[HubDeliveryState] | None = None
    listener_id: strawberry.ID | None = None
    order_id: relay.GlobalID | None = None


@prepared_input
@strawberry.input
class HubDeliveryActionInput:
    id: strawberry.ID


def _number(value: object, field: str) -> int:
    raw = str(value)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationFailed.single(field, "not an id of the hub", CommonErrorCode.INVALID)
    return int(raw)


def _order_number(value: relay.GlobalID, field: str) -> int:
    if value.type_name != "Order":
        raise ValidationFailed.single(field, "not an order's id", CommonErrorCode.INVALID)
    return _number(value.node_id, field)


@strawberry.type
class HubQueries:
    @strawberry.field(description="The event hub's listeners, oldest first (process admins).")
    async def hub_listeners(self, info: Info, states: list[HubListenerState] | None = None) -> list[HubListener]:
        ctx = info.context
        rows = await ctx.call(ctx.services.hub.listeners, ctx.acting, [s.value for s in states or ()])
        return [HubListener.from_row(r) for r in rows]

    @strawberry.field(
        description=(
            "The hub's deliveries in the order they go (the events' commit order), at most first (up to 200): "
            "filter by state for the dead letters (process admins)."
        )
    )
    async def hub_deliveries(
        self, info: Info, filter: HubDeliveryFilterInput | None = None, first: int = 50
    ) -> list[HubDelivery]:
        ctx = info.context

        def call():
            where = filter or HubDeliveryFilterInput()
            return ctx.services.hub.deliveries(
                ctx.acting,
                states=[s.value for s in where.states or ()],
                listener_id=None if where.listener_id is None else _number(where.listener_id, "filter.listenerId"),
                order_id=None if where.order_id is None else _order_number(where.order_id, "filter.orderId"),
                first=first,
            )

        return [HubDelivery.from_row(r) for r in await ctx.call(call)]


@strawberry.type
class HubMutations:
    @_mutation(
        "Send a DEAD delivery again: PENDING, due now, its attempts from zero; its order's later deliveries to "
        "that listener follow it."
    )
    async def hub_delivery_retry(self, info: Info, input: HubDeliveryActionInput) -> HubDeliveryPayload:
        ctx = info.context

        def call():
            return ctx.services.hub.retry(ctx.acting, _number(input.id, "id"))

        return HubDeliveryPayload(delivery=HubDelivery.from_row(await ctx.call(call)))

    @_mutation("Never send a DEAD delivery (SKIPPED): its order's later deliveries to that listener go on.")
    async def hub_delivery_skip(self, info: Info, input: HubDeliveryActionInput) -> HubDeliveryPayload:
        ctx = info.context

        def call():
            return ctx.services.hub.skip(ctx.acting, _number(input.id, "id"))

        return HubDeliveryPayload(delivery=HubDelivery.from_row(await ctx.call(call)))
