"""Ordering output types: the order, its lines and events, mapped from Core rows (an order's
detail is built from the same mappers as every other read of its children)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.reads.queries import OrderDetail
from om_graph.schema.enums import JeopardyLevel, LineAction, OrderLineState, OrderStage, OrderState, members_by_value
from om_graph.schema.types.approval import EnrichmentTask, OrderApproval, order_approvals, order_enrichment_tasks
from om_graph.schema.types.change import (
    CancelRequest,
    OrderRevision,
    OrderVersion,
    order_cancel_requests,
    order_revisions,
    order_versions,
)
from om_graph.schema.types.common import Characteristic, Money, characteristics, gid
from om_graph.schema.types.decomposition import (
    DecompositionWait,
    LineRelationship,
    line_decomposition_waits,
    line_relationships,
)
from om_graph.schema.types.fallout import Fallout, order_fallouts
from om_graph.schema.types.fulfilment import DomainOrder, Task
from om_graph.schema.types.inventory import Product
from om_graph.schema.types.ponr import OrderPointOfNoReturn, PointOfNoReturn, line_point_of_no_return, order_point_of_no_return_of
from om_graph.schema.types.pricing import OrderPrice, PriceDelta, line_prices, total_prices
from om_graph.schema.types.timeline import (
    CompletionEstimate,
    OrderTimeline,
    line_completion_estimates,
    order_completion_estimates,
    order_timeline,
)

_EVENT_ENTITY_TYPES = {
    "order": "Order",
    "line": "OrderLine",
    "domainOrder": "DomainOrder",
    "task": "Task",
    "product": "Product",
    "agreement": "Agreement",
    "entitlement": "Entitlement",
    "enrichmentTask": "EnrichmentTask",
    "fallout": "Fallout",
}

_LINE_ACTIONS = members_by_value(LineAction)
_LINE_STATES = members_by_value(OrderLineState)
_ORDER_STATES = members_by_value(OrderState)
_ORDER_STAGES = members_by_value(OrderStage)
_JEOPARDY_LEVELS = members_by_value(JeopardyLevel)


@strawberry.type
class OrderLine:
    id: relay.GlobalID
    line_number: int
    action: LineAction
    offering_key: str
    quantity: int
    state: OrderLineState
    characteristics: list[Characteristic]
    product_id: relay.GlobalID | None
    unit_one_time_price: Money | None
    unit_recurring_price: Money | None
    item_price: list[OrderPrice] = strawberry.field(
        description="TMF622 itemPrice: the line's charges per unit, from the price list."
    )
    item_total_price: list[OrderPrice] = strawberry.field(
        description="TMF622 itemTotalPrice: per price type, unit x quantity with every alteration (priceAlteration) and tax."
    )
    price_delta: PriceDelta | None = strawberry.field(
        description="MACD: a modify or delete line's change to the product's recurring price (and early-termination charge)."
    )
    jeopardy: JeopardyLevel | None = strawberry.field(
        description="The highest jeopardy of the line's open domain orders (null: none); kept while the line is held or pending."
    )
    expected_completion_date: datetime | None = strawberry.field(
        description="TMF622 expectedCompletionDate: when the line's last domain order is estimated to end (core/fulfilment/schedule.py)."
    )
    completion_estimates: list[CompletionEstimate] = strawberry.field(
        resolver=line_completion_estimates, description="Every revision of the line's expected completion, with its reason."
    )
    row_id: strawberry.Private[int]
    hold_reason: str | None = strawberry.field(description="Why the line is held (orderLineHold), while it is.")
    information_required: list[str] | None = strawberry.field(
        description="While the line is PENDING: the field paths of the information it waits for (TMF622 InformationRequired)."
    )
    paused_at: datetime | None = strawberry.field(description="Since when the line is held or pending (null: it is not).")
    paused_seconds: int = strawberry.field(description="Seconds the line was held or pending, in pauses that ended.")
    relationships: list[LineRelationship] = strawberry.field(
        description="TMF622 productOrderItemRelationship: the other lines this line relies on, bundles or is bundled by."
    )
    point_of_no_return: PointOfNoReturn | None = strawberry.field(
        description="The point of no return the line passed (core/change/ponr.py; null: none yet): changes are refused or charged."
    )
    decomposition_waits: list[DecompositionWait] = strawberry.field(
        resolver=line_decomposition_waits,
        description="Parts of the line's decomposition parked until a characteristic is known (orderLineCharacteristicsSupply).",
    )

    @classmethod
    def from_row(cls, row, currency: str) -> OrderLine:
        """From a line row; its prices are in its order's ``currency``."""
        item_price, item_total_price, price_delta = line_prices(row, currency)
        return cls(
            id=gid("OrderLine", row.id),
            line_number=row.line_number,
            action=_LINE_ACTIONS[row.action],
            offering_key=row.offering_key,
            quantity=row.quantity,
            state=_LINE_STATES[row.state],
            characteristics=characteristics(row.characteristics),
            product_id=gid("Product", row.product_id) if row.product_id else None,
            unit_one_time_price=Money(amount=row.unit_one_time_price, currency=currency),
            unit_recurring_price=Money(amount=row.unit_recurring_price, currency=currency),
            item_price=item_price,
            item_total_price=item_total_price,
            price_delta=price_delta,
            expected_completion_date=row.expected_completion_at,
            row_id=row.id,
            jeopardy=_JEOPARDY_LEVELS.get(row.jeopardy) if row.jeopardy else None,
            hold_reason=row.hold_reason,
            information_required=row.information_required,
            paused_at=row.paused_at,
            paused_seconds=row.paused_seconds or 0,
            relationships=line_relationships(row.relationships),
            point_of_no_return=line_point_of_no_return(row),
        )


@strawberry.type
class OrderEvent:
    id: relay.GlobalID
    order_id: relay.GlobalID
    type: str
    entity_kind: str
    entity_id: relay.GlobalID
    from_state: str | None
    to_state: str | None
    actor: str | None
    occurred_at: datetime
    payload: JSON | None

    @classmethod
    def from_record(cls, e) -> OrderEvent:
        """From a stored event row or a live event (the same attributes)."""
        return cls(
            id=gid("OrderEvent", e.id),
            order_id=gid("Order", e.order_id),
            type=e.event_type,
            entity_kind=e.entity_kind,
            entity_id=gid(_EVENT_ENTITY_TYPES.get(e.entity_kind, e.entity_kind), e.entity_id),
            from_state=e.from_state,
            to_state=e.to_state,
            actor=e.actor,
            occurred_at=e.occurred_at,
            payload=e.payload,
        )


@strawberry.type
class Order(relay.Node):
    id: relay.NodeID[int]
    state: OrderState
    stage: OrderStage
    waiting_for: str | None = strawberry.field(description="What the order waits for while its stage is a waiting one.")
    version: int
    customer_id: str
    description: str
    external_id: str | None
    one_time_total: Money | None
    recurring_total: Money | None
    requested_completion_date: datetime | None
    requested_start_date: datetime | None = strawberry.field(
        description="TMF622 requestedStartDate: fulfilment is planned from it when it is after the submit."
    )
    expected_completion_date: datetime | None = strawberry.field(
        description="TMF622 expectedCompletionDate: the estimated end of the order's critical path, revised as work starts and finishes."
    )
    committed_completion_date: datetime | None = strawberry.field(
        description="The date committed to when the order was first planned: its requested completion date, else the first plan's end."
    )
    priority: str | None = strawberry.field(
        description='TMF622 priority, "0" (highest) to "4" (lowest): derived from the order.priority decision table on every draft edit and at submit.'
    )
    created_by: str | None
    created_at: datetime
    submitted_at: datetime | None
    completed_at: datetime | None
    lines: list[OrderLine]
    domain_orders: list[DomainOrder]
    events: list[OrderEvent]
    products: list[Product]
    order_total_price: list[OrderPrice] = strawberry.field(
        description="TMF622 orderTotalPrice: per price type and period, the lines' totals with order-level alterations and tax."
    )
    price_list: str | None = strawberry.field(description="The price list the order is priced with (see priceLists).")
    manual_discount_percent: Decimal = strawberry.field(
        description="The largest manual discount, as a percentage of the price it applies to."
    )
    discount_over_limit: bool = strawberry.field(
        description="A manual discount is beyond its agent's limit: approval is required."
    )
    channel: str | None = strawberry.field(description="Where the order was captured: portal, agent or partner.")
    segment: str | None = strawberry.field(description="The customer segment given at capture (price lists, policies).")
    enrichment_tasks: list[EnrichmentTask] = strawberry.field(
        resolver=order_enrichment_tasks, description="Manual enrichment tasks (core/lifecycle), by line."
    )
    approvals: list[OrderApproval] = strawberry.field(
        resolver=order_approvals, description="Every approval round's levels, oldest round first."
    )
    timeline: OrderTimeline | None = strawberry.field(
        resolver=order_timeline,
        description="The order's schedule: every domain order and task with planned, estimated and actual dates, by line.",
    )
    completion_estimates: list[CompletionEstimate] = strawberry.field(
        resolver=order_completion_estimates,
        description="Every revision of the order's and its lines' expected completion, with its reason, oldest first.",
    )
    fallouts: list[Fallout] = strawberry.field(
        resolver=order_fallouts, description="The order's fallout records (core/fulfilment/fallout.py), oldest first."
    )
    cancel_requests: list[CancelRequest] = strawberry.field(
        resolver=order_cancel_requests,
        description="TMF622 CancelProductOrder requests of the order and its lines (core/change/cancellation.py), oldest first.",
    )
    versions: list[OrderVersion] = strawberry.field(
        resolver=order_versions, description="The order's versions (1: as submitted; one more per applied revision), by number."
    )
    revisions: list[OrderRevision] = strawberry.field(
        resolver=order_revisions, description="In-flight revisions of the order (core/change/revision.py), oldest first."
    )
    jeopardy: JeopardyLevel | None = strawberry.field(
        description="The order's jeopardy (null: none): the highest of its lines', of its SLA share and of its predicted lateness."
    )
    hold_reason: str | None = strawberry.field(description="Why the order is held (orderHold), while it is.")
    paused_at: datetime | None = strawberry.field(description="Since when the order is held (null: it is not).")
    paused_seconds: int = strawberry.field(description="Seconds the order was held, in holds that ended.")
    point_of_no_return: OrderPointOfNoReturn | None = strawberry.field(
        description="The strongest point of no return any of the order's live lines passed (null: none yet; core/change/ponr_order.py)."
    )
    predicted_lateness: int | None = strawberry.field(
        description="Seconds the expected completion lies after the committed date (negative: ahead of it), as the last jeopardy pass saw them."
    )

    @classmethod
    def from_detail(cls, detail: OrderDetail) -> Order:
        """Build from the loaded rows (children not loaded are empty lists)."""
        o, related = detail.order, detail.related
        tasks_by_domain_order: dict[int, list[Task]] = {}
        for t in detail.tasks:
            tasks_by_domain_order.setdefault(t.domain_order_id, []).append(Task.from_row(t, related))
        return cls(
            id=o.id,
            state=_ORDER_STATES[o.state],
            stage=_ORDER_STAGES[o.stage],
            waiting_for=o.stage_waiting_for,
            version=o.version,
            customer_id=o.customer_id,
            description=o.description,
            external_id=o.external_id,
            one_time_total=Money(amount=o.one_time_total, currency=o.currency),
            recurring_total=Money(amount=o.recurring_total, currency=o.currency),
            requested_completion_date=o.requested_completion_date,
            requested_start_date=o.requested_start_date,
            expected_completion_date=o.expected_completion_at,
            committed_completion_date=o.committed_completion_at,
            priority=o.priority,
            created_by=o.created_by,
            created_at=o.created_at,
            submitted_at=o.submitted_at,
            completed_at=o.completed_at,
            lines=[OrderLine.from_row(line, o.currency) for line in detail.lines],
            domain_orders=[DomainOrder.from_row(d, tasks_by_domain_order.get(d.id, [])) for d in detail.domain_orders],
            events=[OrderEvent.from_record(e) for e in detail.events],
            products=[Product.from_row(p, related) for p in detail.products],
            order_total_price=total_prices(o),
            price_list=o.price_list,
            manual_discount_percent=o.manual_discount_percent,
            discount_over_limit=o.discount_over_limit,
            channel=o.channel,
            segment=o.segment,
            jeopardy=_JEOPARDY_LEVELS.get(o.jeopardy) if o.jeopardy else None,
            predicted_lateness=o.predicted_lateness_seconds,
            hold_reason=o.hold_reason,
            paused_at=o.paused_at,
            paused_seconds=o.paused_seconds or 0,
            point_of_no_return=order_point_of_no_return_of(detail.lines),
        )
