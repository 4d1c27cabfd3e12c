"""Catalog output types: offerings and their specifications."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core import models as m
from om_graph.core.catalog.definitions import DEFAULT_STRING_MAX_LENGTH
from om_graph.schema.types.common import Money


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
    def from_row(cls, row: m.Offering, spec: dict | None) -> ProductOffering:
        """From an offering and its specification (a stored Specification as a dict), if any."""
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
