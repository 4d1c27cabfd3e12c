"""Input types, and their conversion to core commands (with the API's own size limits)."""

from __future__ import annotations

from datetime import datetime, timezone

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.commands import MAX_CHARACTERISTICS, MAX_LINES, LineInput, OrderInput
from om_graph.core.errors import FieldError, ValidationFailed
from om_graph.schema.enums import LineAction, OrderInitialState


@strawberry.input
class CharacteristicInput:
    name: str
    value: JSON


@strawberry.input(description="One order line: an offering to add, or an inventory product to modify or delete.")
class OrderLineInput:
    action: LineAction = LineAction.ADD
    offering: str | None = strawberry.field(default=None, description="Offering key (required for ADD).")
    quantity: int = 1
    characteristics: list[CharacteristicInput] = strawberry.field(default_factory=list)
    product_id: relay.GlobalID | None = strawberry.field(default=None, description="The product to change (MODIFY/DELETE).")


@strawberry.input
class OrderCreateInput:
    customer_id: str
    lines: list[OrderLineInput]
    description: str = ""
    external_id: str | None = None
    requested_completion_date: datetime | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the same order; reusing it with another payload is an error."
    )
    requested_initial_state: OrderInitialState = strawberry.field(
        default=OrderInitialState.DRAFT,
        description="TMF622 requestedInitialState: DRAFT to edit before submitting, ACKNOWLEDGED to create and submit at once.",
    )


@strawberry.input
class OrderUpdateInput:
    id: relay.GlobalID
    version: int | None = strawberry.field(default=None, description="Optimistic lock: fail if the order changed since.")
    lines: list[OrderLineInput]
    description: str = ""
    external_id: str | None = None
    requested_completion_date: datetime | None = None


@strawberry.input
class OrderSubmitInput:
    id: relay.GlobalID
    version: int | None = None


@strawberry.input
class TaskCompleteInput:
    id: relay.GlobalID
    characteristics: list[CharacteristicInput] = strawberry.field(
        default_factory=list, description="Values recorded by the person doing the work (e.g. an installed serial number)."
    )


def node_id(value: relay.GlobalID, type_name: str, field: str) -> int:
    if value.type_name != type_name:
        raise ValidationFailed.single(field, f"expected a {type_name} id", "INVALID_ID")
    try:
        return int(value.node_id)
    except ValueError:
        raise ValidationFailed.single(field, f"not a {type_name} id", "INVALID_ID") from None


def characteristic_map(items: list[CharacteristicInput], path: str) -> dict:
    if len(items) > MAX_CHARACTERISTICS:
        raise ValidationFailed.single(path, f"at most {MAX_CHARACTERISTICS} characteristics", "TOO_MANY")
    result: dict = {}
    errors = []
    for item in items:
        if item.name in result:
            errors.append(FieldError(f"{path}.{item.name}", "given twice", "DUPLICATE"))
        result[item.name] = item.value
    if errors:
        raise ValidationFailed(errors)
    return result


def to_lines(lines: list[OrderLineInput]) -> tuple[LineInput, ...]:
    if len(lines) > MAX_LINES:
        raise ValidationFailed.single("lines", f"at most {MAX_LINES} lines", "TOO_MANY")
    return tuple(
        LineInput(
            offering=line.offering,
            quantity=line.quantity,
            action=line.action.value,
            characteristics=characteristic_map(line.characteristics, f"lines.{i}.characteristics"),
            product_id=node_id(line.product_id, "Product", f"lines.{i}.productId") if line.product_id else None,
        )
        for i, line in enumerate(lines)
    )


def utc_naive(value: datetime | None) -> datetime | None:
    """Times are stored as naive UTC: convert an offset, assume UTC when none is given."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def to_order_input(data: OrderCreateInput | OrderUpdateInput, customer_id: str, idempotency_key: str | None) -> OrderInput:
    return OrderInput(
        customer_id=customer_id,
        lines=to_lines(data.lines),
        description=data.description,
        external_id=data.external_id,
        requested_completion_date=utc_naive(data.requested_completion_date),
        idempotency_key=idempotency_key,
    )
