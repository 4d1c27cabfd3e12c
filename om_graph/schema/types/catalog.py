"""Catalog output types: offerings, their specifications, and what each accepts per characteristic."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from om_graph.core import models as m
from om_graph.core.catalog.constraints import CharacteristicRules, DependentConstraint
from om_graph.core.catalog.definitions import CharacteristicDef, SpecificationDef
from om_graph.core.catalog.registry import Registry
from om_graph.schema.types.common import Money
from om_graph.schema.types.pricing import ProductOfferingPrice


def _json_list(values: tuple[Any, ...] | None) -> Any:
    """A tuple of catalog values as the JSON list the API shows (None stays None)."""
    return list(values) if values is not None else None


@strawberry.type(description="A condition of a dependent constraint: the characteristic's value is one of `values`.")
class CharacteristicCondition:
    characteristic: str
    values: JSON


@strawberry.type(description="What a dependent constraint demands of its characteristic when its conditions hold.")
class CharacteristicRestriction:
    allowed_values: JSON | None
    min_value: float | None
    max_value: float | None
    pattern: str | None = strawberry.field(description="A regular expression the whole value must match.")
    max_length: int | None
    required: bool | None = strawberry.field(description="True: the characteristic must be given when the conditions hold.")


@strawberry.type(description="When every condition holds (`when`), the characteristic must also satisfy `then`.")
class CharacteristicConstraint:
    when: list[CharacteristicCondition]
    then: CharacteristicRestriction
    description: str

    @classmethod
    def from_definition(cls, constraint: DependentConstraint) -> CharacteristicConstraint:
        then = constraint.then
        return cls(
            when=[CharacteristicCondition(characteristic=c.characteristic, values=_json_list(c.values)) for c in constraint.when],
            then=CharacteristicRestriction(
                allowed_values=_json_list(then.allowed_values),
                min_value=then.min_value,
                max_value=then.max_value,
                pattern=then.pattern,
                max_length=then.max_length,
                required=then.required,
            ),
            description=constraint.description or then.description,
        )


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
    pattern: str | None = strawberry.field(
        description="A regular expression a string value must match as a whole (null: any string)."
    )
    constraints: list[CharacteristicConstraint] = strawberry.field(
        description="Constraints on this characteristic that depend on the values of others."
    )

    @classmethod
    def from_definition(cls, definition: CharacteristicDef, rules: CharacteristicRules) -> CharacteristicSpecification:
        """From a characteristic as ``rules`` (a specification's or an offering's) accept it."""
        return cls(
            name=definition.name,
            value_type=definition.value_type,
            required=definition.required,
            allowed_values=_json_list(definition.allowed_values),
            default=definition.default,
            min_value=definition.min_value,
            max_value=definition.max_value,
            description=definition.description,
            max_length=definition.effective_max_length,
            pattern=definition.pattern,
            constraints=[CharacteristicConstraint.from_definition(c) for c in rules.constraints_on(definition.name)],
        )


def _characteristics(rules: CharacteristicRules) -> list[CharacteristicSpecification]:
    return [CharacteristicSpecification.from_definition(c, rules) for c in rules.characteristics]


@strawberry.type
class ProductSpecification:
    key: str
    name: str
    version: str
    characteristics: list[CharacteristicSpecification]

    @classmethod
    def from_definition(cls, spec: SpecificationDef) -> ProductSpecification:
        rules = CharacteristicRules.of_specification(spec)
        return cls(key=spec.key, name=spec.name, version=spec.version, characteristics=_characteristics(rules))


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
    family: str | None = strawberry.field(
        description=(
            "Offerings of one family (e.g. the fibre speed tiers) replace each other on an installed product: a "
            "MODIFY line naming another offering of the product's family is a tier change. Null: none."
        )
    )
    product_specification: ProductSpecification | None
    characteristics: list[CharacteristicSpecification] = strawberry.field(
        description=(
            "What a line of this offering accepts for each characteristic: the specification's, narrowed by the "
            "offering (TMF620 prodSpecCharValueUse), with the dependent constraints of both. orderCreate checks "
            "exactly these; empty for an offering no pack ships any more."
        )
    )
    product_offering_price: list[ProductOfferingPrice] = strawberry.field(
        description=(
            "TMF620 ProductOfferingPrice: the offering's charges in every price list not aimed at particular accounts "
            "(one-time, recurring with its period, usage rates; a fixed amount, volume tiers or a pricing matrix)."
        )
    )

    @classmethod
    def from_row(cls, row: m.Offering, registry: Registry) -> ProductOffering:
        """From an offering row and what the installed packs say of it (nothing, once retired)."""
        spec = registry.specifications.get(row.product_spec_key)
        rules = registry.offering_rules.get(row.key)
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
            family=offering.family if (offering := registry.offerings.get(row.key)) is not None else None,
            product_specification=ProductSpecification.from_definition(spec) if spec is not None else None,
            characteristics=_characteristics(rules) if rules is not None else [],
            product_offering_price=[
                ProductOfferingPrice.from_definition(plist, price)
                for plist in registry.price_lists.values()
                if not plist.accounts
                for price in plist.prices
                if price.offering == row.key
            ],
        )
