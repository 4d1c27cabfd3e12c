"""orderPreview: what an order would become (prices, the steps it will meet, its decomposition,
a predicted completion), from the core's PreviewService. A query: it writes nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.lifecycle import preview as core
from om_graph.schema.context import ErrorsInPayload, Info
from om_graph.schema.enums import DependencyType, DomainOrderKind, LineAction, TaskKind, members_by_value
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.inputs import OrderCreateInput, parse_global_id, to_order_input
from om_graph.schema.mutations import UserError
from om_graph.schema.types.common import Characteristic, Money, characteristics, gid
from om_graph.schema.types.pricing import OrderPrice, PriceDelta, order_prices


def _error(e: FieldError) -> UserError:
    return UserError(field=e.field or None, message=e.message, code=e.code)


_LINE_ACTIONS = members_by_value(LineAction)
_TASK_KINDS = members_by_value(TaskKind)
_DEPENDENCY_TYPES = members_by_value(DependencyType)
_DOMAIN_ORDER_KINDS = members_by_value(DomainOrderKind)


@prepared_input
@strawberry.input(description="What to preview: exactly one of `id` (a draft order) and `order` (an unsaved one).")
class OrderPreviewInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="A draft order, as it is stored.")
    order: OrderCreateInput | None = strawberry.field(
        default=None, description="An order not created yet: the input orderCreate takes (requestedInitialState is ignored)."
    )


@strawberry.type
class PreviewLine:
    line_number: int
    action: LineAction
    offering_key: str
    quantity: int
    product_id: relay.GlobalID | None
    characteristics: list[Characteristic] = strawberry.field(
        description="The line's values with the defaults and what the automatic enrichment steps would add."
    )
    unit_one_time_price: Money
    unit_recurring_price: Money
    item_price: list[OrderPrice]
    item_total_price: list[OrderPrice]
    price_delta: PriceDelta | None


@strawberry.type(description="Values an automatic enrichment step would set on a line.")
class PreviewEnrichment:
    line_number: int
    step: str
    characteristics: list[Characteristic]


@strawberry.type(description="A manual enrichment task the enrichment policy would give a line.")
class PreviewEnrichmentTask:
    line_number: int
    key: str
    name: str
    role: str
    capture: list[str] = strawberry.field(description="The characteristics the person captures.")


@strawberry.type(description="A level of approval the approval policy would ask for.")
class PreviewApprovalStep:
    level: int
    levels: int
    role: str
    reasons: list[str]


@strawberry.type(description="Where the order would wait before orchestration (the preview assumes it ends at once).")
class PreviewWait:
    stage: str
    waiting_for: str


@strawberry.type(description="A domain order the decomposition would create; `ref` is its place in the plan (parents first).")
class PreviewDomainOrder:
    ref: int
    parent_ref: int | None
    line_number: int
    kind: DomainOrderKind
    spec_key: str
    unit_index: int


@strawberry.type(description="A dependency of a previewed task on another (refs as in the plan).")
class PreviewTaskDependency:
    predecessor_ref: int
    type: DependencyType
    lag: int = strawberry.field(description="Seconds after the predecessor's start or finish (by type); negative: a lead.")


@strawberry.type(
    description="A task the decomposition would create, scheduled as the real plan is (durations, typed dependencies)."
)
class PreviewTask:
    ref: int
    domain_order_ref: int
    key: str
    name: str
    kind: TaskKind
    planned_seconds: int | None = strawberry.field(description="Its SLA from the jeopardy policies, as the real task stores it.")
    duration_seconds: int = strawberry.field(
        description="What the schedule assumed: the duration decomposition stores (duration table, template), else the default."
    )
    depends_on: list[int] = strawberry.field(description="Refs of the tasks it waits for, any dependency type.")
    dependencies: list[PreviewTaskDependency] = strawberry.field(description="Its dependencies with their type and lag.")
    earliest_start: datetime
    earliest_finish: datetime
    total_float: int | None = strawberry.field(description="Seconds it can slip before the predicted completion moves.")
    critical: bool = strawberry.field(description="On the critical path (no float): any delay delays the order.")


@strawberry.type(
    description="What an order would become: its prices, the steps it would meet, its plan and when it would complete."
)
class OrderPreview:
    order_id: relay.GlobalID | None = strawberry.field(description="The draft previewed (null for an unsaved order).")
    customer_id: str
    currency: str
    price_list: str | None
    one_time_total: Money
    recurring_total: Money
    order_total_price: list[OrderPrice]
    manual_discount_percent: Decimal
    discount_over_limit: bool
    priority: str | None
    lines: list[PreviewLine]
    enrichments: list[PreviewEnrichment]
    enrichment_tasks: list[PreviewEnrichmentTask]
    approval_steps: list[PreviewApprovalStep]
    waits: list[PreviewWait]
    domain_orders: list[PreviewDomainOrder]
    tasks: list[PreviewTask]
    starts_at: datetime = strawberry.field(
        description="When the preview assumes orchestration starts: now, or the requested start date when later."
    )
    predicted_completion_date: datetime | None = strawberry.field(
        description="The end of the critical path from startsAt (null without tasks to run)."
    )
    critical_path: list[int] = strawberry.field(
        description="Refs of a chain of critical tasks, first to last, ending with the last task to finish."
    )
    requested_completion_date: datetime | None
    meets_requested_completion_date: bool | None

    @classmethod
    def from_preview(cls, p: core.OrderPreview) -> OrderPreview:
        o, currency = p.order, p.order.currency
        return cls(
            order_id=gid("Order", p.order_id) if p.order_id is not None else None,
            customer_id=o.customer_id,
            currency=currency,
            price_list=o.price_list,
            one_time_total=Money(amount=o.one_time_total, currency=currency),
            recurring_total=Money(amount=o.recurring_total, currency=currency),
            order_total_price=order_prices(o.total_prices),
            manual_discount_percent=o.manual_discount_percent or Decimal("0"),
            discount_over_limit=bool(o.discount_over_limit),
            priority=o.priority,
            lines=[
                PreviewLine(
                    line_number=line.line_number,
                    action=_LINE_ACTIONS[line.action],
                    offering_key=line.offering_key,
                    quantity=line.quantity,
                    product_id=gid("Product", line.product_id) if line.product_id else None,
                    characteristics=characteristics(line.characteristics),
                    unit_one_time_price=Money(amount=line.unit_one_time_price, currency=currency),
                    unit_recurring_price=Money(amount=line.unit_recurring_price, currency=currency),
                    item_price=order_prices(line.prices.get("itemPrice") if line.prices else None),
                    item_total_price=order_prices(line.prices.get("itemTotalPrice") if line.prices else None),
                    price_delta=PriceDelta.from_json(line.prices.get("priceDelta")) if line.prices else None,
                )
                for line in p.lines
            ],
            enrichments=[
                PreviewEnrichment(line_number=e.line_number, step=e.step_key, characteristics=characteristics(e.characteristics))
                for e in p.enrichments
            ],
            enrichment_tasks=[
                PreviewEnrichmentTask(line_number=t.line_number, key=t.key, name=t.name, role=t.role, capture=list(t.capture))
                for t in p.enrichment_tasks
            ],
            approval_steps=[
                PreviewApprovalStep(level=s.level, levels=s.levels, role=s.role, reasons=list(s.reasons))
                for s in p.approval_steps
            ],
            waits=[PreviewWait(stage=w.stage, waiting_for=w.waiting_for) for w in p.waits],
            domain_orders=[
                PreviewDomainOrder(
                    ref=d.ref,
                    parent_ref=d.parent_ref,
                    line_number=d.line_number,
                    kind=_DOMAIN_ORDER_KINDS[d.kind],
                    spec_key=d.spec_key,
                    unit_index=d.unit_index,
                )
                for d in p.domain_orders
            ],
            tasks=[
                PreviewTask(
                    ref=t.ref,
                    domain_order_ref=t.domain_order_ref,
                    key=t.key,
                    name=t.name,
                    kind=_TASK_KINDS[t.kind],
                    planned_seconds=t.planned_seconds,
                    duration_seconds=t.duration_seconds,
                    depends_on=list(t.depends_on),
                    dependencies=[
                        PreviewTaskDependency(
                            predecessor_ref=d.predecessor_ref, type=_DEPENDENCY_TYPES[d.type], lag=d.lag_seconds
                        )
                        for d in t.dependencies
                    ],
                    earliest_start=t.earliest_start,
                    earliest_finish=t.earliest_finish,
                    total_float=t.total_float_seconds,
                    critical=t.critical,
                )
                for t in p.tasks
            ],
            starts_at=p.started_at,
            predicted_completion_date=p.predicted_completion,
            critical_path=list(p.critical_path),
            requested_completion_date=o.requested_completion_date,
            meets_requested_completion_date=p.meets_requested_completion,
        )


@strawberry.type
class OrderPreviewPayload:
    preview: OrderPreview | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _draft_id(value: strawberry.ID) -> int:
    global_id = parse_global_id(value, "id")
    order_id = key_number(global_id.node_id) if global_id.type_name == "Order" else None
    if order_id is None:
        raise ValidationFailed.single("id", "not an order id", CommonErrorCode.INVALID_ID)
    return order_id


@strawberry.type
class PreviewQueries:
    @strawberry.field(
        description=(
            "What an order would become, computed by the code of the real run and writing nothing: its prices with "
            "every alteration and the totals, the enrichment and approval it would meet, the domain orders and "
            "tasks its decomposition would create, and a predicted completion date. Give a draft's `id`, or the "
            "`order` orderCreate would take. Problems orderCreate or business validation would report are `errors`."
        ),
        extensions=[ErrorsInPayload(_error)],
    )
    async def order_preview(self, info: Info, input: OrderPreviewInput) -> OrderPreviewPayload:
        ctx = info.context

        def call() -> core.OrderPreview:
            if (input.id is None) == (input.order is None):
                raise ValidationFailed.single("input", "give exactly one of id and order", CommonErrorCode.INVALID)
            if input.id is not None:
                return ctx.services.preview.preview(ctx.acting, order_id=_draft_id(input.id))
            assert input.order is not None
            data = to_order_input(input.order, input.order.customer_id, None)
            return ctx.services.preview.preview(ctx.acting, data=data)

        found = await ctx.call(call)
        return OrderPreviewPayload(preview=OrderPreview.from_preview(found))
