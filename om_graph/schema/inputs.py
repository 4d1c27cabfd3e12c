"""Input types, and their conversion to core commands.

Conversion enforces the API's limits (schema/limits.py) before any service is called: list
sizes, string lengths, id shapes and characteristic values being JSON scalars. The core then
checks values against the catalog (including each characteristic's maxLength)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.ids import key_number
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.input_rules import characteristic_values, line_count_error, too_long
from om_graph.core.ordering.validation import header_length_errors
from om_graph.core.pricing.request import PriceAdjustment
from om_graph.schema.enums import LineAction, OrderInitialState
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.limits import (
    MAX_ID_LENGTH,
    MAX_KEY_LENGTH,
)


@prepared_input
@strawberry.input
class CharacteristicInput:
    name: str
    value: JSON


@strawberry.enum(description="A manual price adjustment: a discount lowers the price, a surcharge raises it.")
class PriceAdjustmentKind(Enum):
    DISCOUNT = "discount"
    SURCHARGE = "surcharge"


@prepared_input
@strawberry.input(
    description=(
        "A manual discount or surcharge (needs price:adjust, a reason, and is within the role's limit or the order "
        "needs approval): an amount for the whole line or order, or a percentage of the charge's running amount."
    )
)
class PriceAdjustmentInput:
    kind: PriceAdjustmentKind
    charge_type: str = strawberry.field(description="The charge it adjusts: oneTime or recurring (TMF priceType).")
    reason: str
    amount: Decimal | None = None
    percentage: Decimal | None = None


@prepared_input
@strawberry.input(description="TMF622 productOrderItemRelationship: how this line relates to another line of the order.")
class OrderLineRelationshipInput:
    line_number: int = strawberry.field(description="The other line's number (1 for the first line given).")
    relationship_type: str = strawberry.field(
        description=(
            "reliesOn: this line's work starts once the other line's is done (the router ships after the access line); "
            "bundles / bundledBy: this line contains the other line, or is part of it (bundles are atomic for the point of no return)."
        )
    )


@prepared_input
@strawberry.input(description="One order line: an offering to add, or an inventory product to modify or delete.")
class OrderLineInput:
    action: LineAction = LineAction("add")
    offering: str | None = strawberry.field(default=None, description="Offering key (required for ADD).")
    quantity: int = 1
    characteristics: list[CharacteristicInput] = strawberry.field(default_factory=list)
    product_id: strawberry.ID | None = strawberry.field(default=None, description="The product to change (MODIFY/DELETE).")
    price_adjustments: list[PriceAdjustmentInput] = strawberry.field(default_factory=list)
    relationships: list[OrderLineRelationshipInput] = strawberry.field(
        default_factory=list,
        description="The other lines this line relies on, bundles or is bundled by (checked: existing, not itself, no cycle).",
    )


@prepared_input
@strawberry.input
class OrderCreateInput:
    customer_id: str
    lines: list[OrderLineInput]
    description: str = ""
    external_id: str | None = None
    requested_completion_date: datetime | None = None
    requested_start_date: datetime | None = strawberry.field(
        default=None, description="TMF622 requestedStartDate: fulfilment is planned from it (not after requestedCompletionDate)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key returns the same order; reusing it with another payload is an error.",
    )
    segment: str | None = strawberry.field(default=None, description="Customer segment (staff and partners only).")
    price_list: str | None = strawberry.field(
        default=None, description="A price list to price the order with (price:adjust); null: the defaulting rule picks it."
    )
    price_adjustments: list[PriceAdjustmentInput] = strawberry.field(
        default_factory=list, description="Order-level manual adjustments, applied after the lines' (price:adjust)."
    )
    requested_initial_state: OrderInitialState = strawberry.field(
        default=OrderInitialState.DRAFT,
        description="TMF622 requestedInitialState: DRAFT to edit before submitting, ACKNOWLEDGED to create and submit at once.",
    )


@prepared_input
@strawberry.input
class OrderUpdateInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="Optimistic lock: fail if the order changed since.")
    lines: list[OrderLineInput]
    description: str = ""
    external_id: str | None = None
    requested_completion_date: datetime | None = None
    requested_start_date: datetime | None = strawberry.field(
        default=None, description="TMF622 requestedStartDate: fulfilment is planned from it (not after requestedCompletionDate)."
    )
    segment: str | None = strawberry.field(default=None, description="Customer segment (staff and partners; null keeps it).")
    price_list: str | None = strawberry.field(
        default=None, description="A price list to price the order with (price:adjust); null: the defaulting rule picks it."
    )
    price_adjustments: list[PriceAdjustmentInput] = strawberry.field(
        default_factory=list, description="Order-level manual adjustments (the edit replaces the previous ones)."
    )


@prepared_input
@strawberry.input
class OrderSubmitInput:
    id: strawberry.ID
    version: int | None = None


@prepared_input
@strawberry.input
class TaskCompleteInput:
    id: strawberry.ID
    characteristics: list[CharacteristicInput] = strawberry.field(
        default_factory=list, description="Values recorded by the person doing the work (e.g. an installed serial number)."
    )


def parse_global_id(value: str, field: str) -> relay.GlobalID:
    """A global id sent by a client; INVALID_ID when it is not one this API could have issued."""
    if len(value) > MAX_ID_LENGTH:
        raise ValidationFailed.single(
            field, f"not an id this API issued (longer than {MAX_ID_LENGTH} characters)", CommonErrorCode.INVALID_ID
        )
    try:
        return relay.GlobalID.from_id(value)
    except ValueError:
        raise ValidationFailed.single(field, "not an id this API issued", CommonErrorCode.INVALID_ID) from None


def node_id(value: str | relay.GlobalID, type_name: str, field: str) -> int:
    """The numeric id in a global id of ``type_name``; INVALID_ID when it is anything else,
    including a number no key can be (core/ids.py key_number: the database could not bind it)."""
    if not isinstance(value, relay.GlobalID):
        value = parse_global_id(value, field)
    if value.type_name != type_name:
        raise ValidationFailed.single(field, f"expected a {type_name} id", CommonErrorCode.INVALID_ID)
    number = key_number(value.node_id)
    if number is None:
        raise ValidationFailed.single(field, f"not a {type_name} id", CommonErrorCode.INVALID_ID)
    return number


def characteristic_map(items: list[CharacteristicInput], path: str) -> dict:
    return characteristic_values(((item.name, item.value) for item in items), path)


def _line(line: OrderLineInput, index: int) -> LineInput:
    path = f"lines.{index}"
    if problem := too_long(line.offering, MAX_KEY_LENGTH, f"{path}.offering"):
        raise ValidationFailed([problem])
    return LineInput(
        offering=line.offering,
        quantity=line.quantity,
        action=line.action.value,
        characteristics=characteristic_map(line.characteristics, f"{path}.characteristics"),
        product_id=node_id(line.product_id, "Product", f"{path}.productId") if line.product_id is not None else None,
        price_adjustments=to_adjustments(line.price_adjustments),
        relationships=tuple((r.line_number, r.relationship_type) for r in line.relationships),
    )


def to_adjustments(items: list[PriceAdjustmentInput]) -> tuple[PriceAdjustment, ...]:
    """Manual adjustments as the core takes them (the Pricer checks their values and limits)."""
    return tuple(
        PriceAdjustment(
            kind=item.kind.value, charge_type=item.charge_type, reason=item.reason, amount=item.amount, percentage=item.percentage
        )
        for item in items
    )


def to_lines(lines: list[OrderLineInput]) -> tuple[LineInput, ...]:
    if problem := line_count_error(len(lines)):
        raise ValidationFailed([problem])
    converted, errors = [], []
    for index, line in enumerate(lines):
        try:
            converted.append(_line(line, index))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return tuple(converted)


def utc_naive(value: datetime | None) -> datetime | None:
    """Times are stored as naive UTC: convert an offset, assume UTC when none is given."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def to_order_input(data: OrderCreateInput | OrderUpdateInput, customer_id: str, idempotency_key: str | None) -> OrderInput:
    """The core's input, or ValidationFailed with every problem found in reading it."""
    order = OrderInput(
        customer_id=customer_id,
        lines=(),
        description=data.description,
        external_id=data.external_id,
        requested_completion_date=utc_naive(data.requested_completion_date),
        requested_start_date=utc_naive(data.requested_start_date),
        idempotency_key=idempotency_key,
        segment=data.segment,
        price_adjustments=to_adjustments(data.price_adjustments),
        price_list=data.price_list,
    )
    errors = header_length_errors(order)
    try:
        lines = to_lines(data.lines)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    return dataclasses.replace(order, lines=lines)
