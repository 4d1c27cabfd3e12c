"""Output types. Built once per request from loaded rows: plain attributes, no per-field resolvers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core import models as m
from om_graph.core.catalog.definitions import DEFAULT_STRING_MAX_LENGTH
from om_graph.core.reads.queries import OrderDetail
from om_graph.schema.context import Info
from om_graph.schema.enums import (
    DependencyType,
    DomainOrderKind,
    DomainOrderState,
    JeopardyLevel,
    LineAction,
    OrderLineState,
    OrderState,
    ProductStatus,
    TaskKind,
    TaskState,
)
from om_graph.schema.permissions import may_see


def gid(type_name: str, value: int) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(value))


def _ints(node_ids: Iterable[str]) -> list[int]:
    out = []
    for node_id in node_ids:
        try:
            out.append(int(node_id))
        except ValueError:
            out.append(-1)
    return out


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class Characteristic:
    name: str
    value: JSON


def characteristics(values: dict) -> list[Characteristic]:
    return [Characteristic(name=k, value=v) for k, v in sorted(values.items())]


@strawberry.type
class CharacteristicSpecification:
    name: str
    value_type: str
    required: bool
    allowed_values: JSON | None
    default: JSON | None
    min_value: float | None
    max_value: float | None
    description: str
    max_length: int | None = strawberry.field(
        description="The longest accepted string value, in characters (null for other value types)."
    )

    @classmethod
    def from_definition(cls, definition: dict) -> CharacteristicSpecification:
        """From a stored CharacteristicDef (as a dict): the effective maxLength, default included."""
        fields = {**definition}
        declared = fields.pop("max_length", None)
        fields["max_length"] = (declared or DEFAULT_STRING_MAX_LENGTH) if fields["value_type"] == "string" else None
        return cls(**fields)


@strawberry.type
class ProductSpecification:
    key: str
    name: str
    version: str
    characteristics: list[CharacteristicSpecification]


@strawberry.type
class ProductOffering(relay.Node):
    id: relay.NodeID[int]
    key: str
    name: str
    description: str
    one_time_price: Money
    recurring_price: Money
    recurring_period: str
    min_quantity: int
    max_quantity: int
    product_specification: ProductSpecification | None

    @classmethod
    def from_model(cls, row: m.Offering, spec: m.Specification | dict | None) -> ProductOffering:
        definition = spec or {}
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            one_time_price=Money(amount=row.one_time_price, currency=row.currency),
            recurring_price=Money(amount=row.recurring_price, currency=row.currency),
            recurring_period=row.recurring_period,
            min_quantity=row.min_quantity,
            max_quantity=row.max_quantity,
            product_specification=ProductSpecification(
                key=definition["key"],
                name=definition["name"],
                version=definition["version"],
                characteristics=[CharacteristicSpecification.from_definition(c) for c in definition["characteristics"]],
            )
            if definition
            else None,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        if not may_see(info, cls.__strawberry_definition__.name):
            return [None for _ in node_ids]
        ids = _ints(node_ids)
        offerings = {o.id: o for o in await info.context.run(info.context.services.queries.offerings, info.context.actor)}
        specs = info.context.services.registry.specifications
        return [
            cls.from_model(offerings[i], dataclasses.asdict(specs[offerings[i].product_spec_key])) if i in offerings else None
            for i in ids
        ]


@strawberry.type
class TaskDependency:
    predecessor_id: relay.GlobalID
    type: DependencyType


@strawberry.type
class Task(relay.Node):
    id: relay.NodeID[int]
    key: str
    name: str
    kind: TaskKind
    state: TaskState
    handler: str | None
    attempts: int
    max_attempts: int
    dependencies: list[TaskDependency]
    domain_order_id: relay.GlobalID
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    jeopardy: JeopardyLevel | None
    error_code: str | None
    error_message: str | None
    completed_by: str | None
    outcome: JSON | None

    @classmethod
    def from_model(cls, row: m.Task, predecessors: list[int]) -> Task:
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            kind=TaskKind(row.kind),
            state=TaskState(row.state),
            handler=row.handler,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            dependencies=[
                TaskDependency(predecessor_id=gid("Task", p), type=DependencyType.FINISH_TO_START) for p in sorted(predecessors)
            ],
            domain_order_id=gid("DomainOrder", row.domain_order_id),
            started_at=row.started_at,
            finished_at=row.finished_at,
            due_at=row.due_at,
            jeopardy=JeopardyLevel(row.jeopardy) if row.jeopardy else None,
            error_code=row.error_code,
            error_message=row.error_message,
            completed_by=row.completed_by,
            outcome=row.outcome,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        if not may_see(info, cls.__strawberry_definition__.name):
            return [None for _ in node_ids]
        queries, actor = info.context.services.queries, info.context.actor
        result = []
        for task_id in _ints(node_ids):
            found = await info.context.run(queries.task, actor, task_id)
            result.append(cls.from_model(*found) if found else None)
        return result


@strawberry.type
class DomainOrder(relay.Node):
    id: relay.NodeID[int]
    kind: DomainOrderKind
    spec_key: str
    unit_index: int
    state: DomainOrderState
    line_number: int
    parent_id: relay.GlobalID | None
    characteristics: list[Characteristic] | None
    completed_at: datetime | None
    tasks: list[Task]

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        if not may_see(info, cls.__strawberry_definition__.name):
            return [None for _ in node_ids]
        queries, actor = info.context.services.queries, info.context.actor
        result = []
        for domain_order_id in _ints(node_ids):
            row = await info.context.run(queries.domain_order, actor, domain_order_id)
            if row is None:
                result.append(None)
                continue
            detail = await info.context.run(queries.order, actor, row.order_id)
            order = Order.from_detail(detail)
            result.append(next(d for d in order.domain_orders if d.id == domain_order_id))
        return result


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
        entity_type = {"order": "Order", "line": "OrderLine", "domainOrder": "DomainOrder", "task": "Task", "product": "Product"}
        return cls(
            id=gid("OrderEvent", e.id),
            order_id=gid("Order", e.order_id),
            type=e.event_type,
            entity_kind=e.entity_kind,
            entity_id=gid(entity_type.get(e.entity_kind, e.entity_kind), e.entity_id),
            from_state=e.from_state,
            to_state=e.to_state,
            actor=e.actor,
            occurred_at=e.occurred_at,
            payload=e.payload,
        )


@strawberry.type(description="A contract (TMF651 agreement) written when an order completes.")
class Agreement:
    id: relay.GlobalID
    name: str
    status: str
    start_date: datetime
    end_date: datetime | None


@strawberry.type(description="What a sold product entitles the customer to (licence seats, support plans).")
class Entitlement:
    id: relay.GlobalID
    name: str
    quantity: int
    unit: str
    status: str


@strawberry.type
class Product(relay.Node):
    """An inventory product (TMF637)."""

    id: relay.NodeID[int]
    name: str
    customer_id: str
    offering_key: str
    status: ProductStatus
    characteristics: list[Characteristic]
    one_time_price: Money | None
    recurring_price: Money | None
    order_id: relay.GlobalID
    order_line_id: relay.GlobalID
    agreement_id: relay.GlobalID | None
    agreement: Agreement | None
    entitlements: list[Entitlement]
    start_date: datetime | None
    termination_date: datetime | None

    @classmethod
    def from_model(cls, row: m.Product, currency: str = "EUR", agreement=None, entitlements=None) -> Product:
        """From a product row; contract and entitlements given, or read from the ORM object."""
        if entitlements is None:
            agreement, entitlements = row.agreement, row.entitlements
        return cls(
            id=row.id,
            name=row.name,
            customer_id=row.customer_id,
            offering_key=row.offering_key,
            status=ProductStatus(row.status),
            characteristics=characteristics(row.characteristics),
            one_time_price=Money(amount=row.one_time_price, currency=currency),
            recurring_price=Money(amount=row.recurring_price, currency=currency),
            order_id=gid("Order", row.order_id),
            order_line_id=gid("OrderLine", row.order_line_id),
            agreement_id=gid("Agreement", row.agreement_id) if row.agreement_id else None,
            agreement=Agreement(
                id=gid("Agreement", agreement.id),
                name=agreement.name,
                status=agreement.status,
                start_date=agreement.start_date,
                end_date=agreement.end_date,
            )
            if agreement
            else None,
            entitlements=[
                Entitlement(id=gid("Entitlement", e.id), name=e.name, quantity=e.quantity, unit=e.unit, status=e.status)
                for e in entitlements
            ],
            start_date=row.start_date,
            termination_date=row.termination_date,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        if not may_see(info, cls.__strawberry_definition__.name):
            return [None for _ in node_ids]
        queries, actor = info.context.services.queries, info.context.actor
        rows = [await info.context.run(queries.product, actor, i) for i in _ints(node_ids)]
        return [cls.from_model(r) if r else None for r in rows]


@strawberry.type
class Order(relay.Node):
    id: relay.NodeID[int]
    state: OrderState
    version: int
    customer_id: str
    description: str
    external_id: str | None
    one_time_total: Money | None
    recurring_total: Money | None
    requested_completion_date: datetime | None
    created_by: str | None
    created_at: datetime
    submitted_at: datetime | None
    completed_at: datetime | None
    lines: list[OrderLine]
    domain_orders: list[DomainOrder]
    events: list[OrderEvent]
    products: list[Product]

    @classmethod
    def from_detail(cls, detail: OrderDetail) -> Order:
        """Build from the loaded rows (children not loaded are empty lists)."""
        o = detail.order
        currency = o.currency
        tasks_by_do: dict[int, list[Task]] = {}
        for t in detail.tasks:
            tasks_by_do.setdefault(t.domain_order_id, []).append(Task.from_model(t, detail.dependencies.get(t.id, [])))
        line_numbers = {line.id: line.line_number for line in detail.lines}
        return cls(
            id=o.id,
            **_order_fields(o),
            lines=[
                OrderLine(
                    id=gid("OrderLine", line.id),
                    line_number=line.line_number,
                    action=LineAction(line.action),
                    offering_key=line.offering_key,
                    quantity=line.quantity,
                    state=OrderLineState(line.state),
                    characteristics=characteristics(line.characteristics),
                    product_id=gid("Product", line.product_id) if line.product_id else None,
                    unit_one_time_price=Money(amount=line.unit_one_time_price, currency=currency),
                    unit_recurring_price=Money(amount=line.unit_recurring_price, currency=currency),
                )
                for line in detail.lines
            ],
            domain_orders=[
                DomainOrder(
                    id=d.id,
                    kind=DomainOrderKind(d.kind),
                    spec_key=d.spec_key,
                    unit_index=d.unit_index,
                    state=DomainOrderState(d.state),
                    line_number=line_numbers.get(d.line_id, 0),
                    parent_id=gid("DomainOrder", d.parent_id) if d.parent_id else None,
                    characteristics=characteristics(d.characteristics),
                    completed_at=d.completed_at,
                    tasks=tasks_by_do.get(d.id, []),
                )
                for d in detail.domain_orders
            ],
            events=[OrderEvent.from_record(e) for e in detail.events],
            products=[
                Product.from_model(p, currency, detail.agreements.get(p.agreement_id), detail.entitlements.get(p.id, []))
                for p in detail.products
            ],
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        if not may_see(info, cls.__strawberry_definition__.name):
            return [None for _ in node_ids]
        ids = _ints(node_ids)
        found = await info.context.run(info.context.services.queries.orders_by_id, info.context.actor, ids)
        return [cls.from_detail(found[i]) if i in found else None for i in ids]


def _order_fields(o: m.Order) -> dict:
    return dict(
        state=OrderState(o.state),
        version=o.version,
        customer_id=o.customer_id,
        description=o.description,
        external_id=o.external_id,
        one_time_total=Money(amount=o.one_time_total, currency=o.currency),
        recurring_total=Money(amount=o.recurring_total, currency=o.currency),
        requested_completion_date=o.requested_completion_date,
        created_by=o.created_by,
        created_at=o.created_at,
        submitted_at=o.submitted_at,
        completed_at=o.completed_at,
    )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="How many match the filters, whatever the cursor: a COUNT over an index, run only when selected."
    )


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="How many match the filters, whatever the cursor: a COUNT over an index, run only when selected."
    )


OBJECT_TYPES = [Order, OrderLine, DomainOrder, Task, OrderEvent, Product, ProductOffering, ProductSpecification]
