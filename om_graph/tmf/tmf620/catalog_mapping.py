"""TMF620 ``ProductOffering``, ``ProductSpecification`` and ``ProductOfferingPrice`` ← the
catalog the packs installed (the registry) and the offerings' rows: the same data GraphQL's
``productOfferings`` and ``priceLists`` show.

Ids are the catalog's keys: an offering's key (``test-internet``), a specification's key
(``test.internet``). A price has no key of its own: its id is the reference the Pricer writes in
every order line's price (TMF622 ``itemPrice[].productOfferingPrice.id``, core/pricing/pricer.py):
``<price list>:<offering>:<priceType>:<charge name>`` (the name empty for the unnamed charge),
so ``list.EUR:test-internet:recurring:`` is the recurring price of ``test-internet`` in the
implicit list price list of euros (the offering's own ``recurring_price``). The ids are stable as
long as the packs keep their keys and charge names.

``lifecycleStatus`` is the SID's: ``Active`` for what the installed packs ship (a retired
offering, ``Retired``, is not listed: it cannot be ordered). Amounts are decimal strings, as in
every price the core stores (no binary float ever touches money), not the documents' numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from om_graph.core.catalog.definitions import CharacteristicDef, OfferingDef, SpecificationDef
from om_graph.core.catalog.models import Offering
from om_graph.core.catalog.prices import OfferingPriceDef, PriceListDef
from om_graph.core.catalog.registry import Registry
from om_graph.tmf.values import ref

ACTIVE = "Active"  # TMF620 lifecycleStatus (SID) of an orderable catalog entry
ALWAYS = ("id", "href", "@type")
RECURRING = "recurring"
# Specification kinds: TMF620 describes products; the services and resources a product is
# realised by are references (TMF633 / TMF634, not served here).
SPEC_REFS = {
    "service": ("serviceSpecification", "ServiceSpecificationRef"),
    "resource": ("resourceSpecification", "ResourceSpecificationRef"),
}


@dataclass(frozen=True)
class Hrefs:
    """An href maker per TMF620 resource: ``(resource, id) -> URL``."""

    of: Callable[[str, str], str]


def price_id(plist: PriceListDef, price: OfferingPriceDef) -> str:
    """The Pricer's reference to the charge (core/pricing/pricer.py writes the same)."""
    return f"{plist.key}:{price.offering}:{price.price_type}:{price.name}"


def offering_prices(registry: Registry, offering_key: str) -> list[tuple[PriceListDef, OfferingPriceDef]]:
    """An offering's charges in every price list not aimed at particular accounts (as GraphQL's
    ``ProductOffering.productOfferingPrice``)."""
    return [
        (plist, price)
        for plist in sorted(registry.price_lists.values(), key=lambda p: p.key)
        if not plist.accounts
        for price in plist.prices
        if price.offering == offering_key
    ]


# -- productOffering ------------------------------------------------------------------------------


def offering(row: Offering, registry: Registry, hrefs: Hrefs) -> dict[str, Any]:
    spec = registry.specifications.get(row.product_spec_key)
    definition: OfferingDef | None = registry.offerings.get(row.key)
    rules = registry.offering_rules.get(row.key)
    spec_ref = _spec_ref(row.product_spec_key, spec, hrefs)
    body: dict[str, Any] = {
        "id": row.key,
        "href": hrefs.of("productOffering", row.key),
        "@type": "ProductOffering",
        "name": row.name,
        "description": row.description or None,
        "lifecycleStatus": row.lifecycle_status.capitalize(),
        "isBundle": False,
        "isSellable": True,
        "productSpecification": spec_ref,
        "productOfferingPrice": [
            ref(
                price_id(plist, price),
                hrefs.of("productOfferingPrice", price_id(plist, price)),
                "ProductOfferingPriceRef",
                name=price.charge_name,
            )
            for plist, price in offering_prices(registry, row.key)
        ],
        "prodSpecCharValueUse": [
            {**_characteristic(c, "ProductSpecificationCharacteristicValueUse"), "productSpecification": spec_ref}
            for c in (rules.characteristics if rules is not None else ())
        ],
    }
    if definition is not None:
        body["productOfferingTerm"] = [
            {
                "name": "Contract term",
                "duration": {"amount": definition.contract_term_months, "units": "month"},
                "@type": "ProductOfferingTerm",
            }
        ]
    return {key: value for key, value in body.items() if value is not None}


def _spec_ref(key: str, spec: SpecificationDef | None, hrefs: Hrefs) -> dict[str, Any]:
    return ref(
        key,
        hrefs.of("productSpecification", key),
        "ProductSpecificationRef",
        name=spec.name if spec is not None else None,
        version=spec.version if spec is not None else None,
    )


# -- productSpecification -------------------------------------------------------------------------


def specification(spec: SpecificationDef, registry: Registry, hrefs: Hrefs) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": spec.key,
        "href": hrefs.of("productSpecification", spec.key),
        "@type": "ProductSpecification",
        "name": spec.name,
        "description": spec.description or None,
        "version": spec.version,
        "lifecycleStatus": ACTIVE,
        "isBundle": False,
        "productSpecCharacteristic": [_characteristic(c, "ProductSpecificationCharacteristic") for c in spec.characteristics],
    }
    related: list[dict[str, Any]] = []
    for relationship in spec.relationships:
        target = registry.specifications.get(relationship.target)
        name = target.name if target is not None else None
        if target is not None and target.kind in SPEC_REFS:
            attribute, ref_type = SPEC_REFS[target.kind]
            body.setdefault(attribute, []).append(ref(relationship.target, None, ref_type, name=name))
        else:
            related.append(
                {
                    **ref(
                        relationship.target,
                        hrefs.of("productSpecification", relationship.target),
                        "ProductSpecificationRelationship",
                        name=name,
                    ),
                    "relationshipType": relationship.relationship_type,
                }
            )
    if related:
        body["productSpecificationRelationship"] = related
    return {key: value for key, value in body.items() if value is not None}


def _characteristic(c: CharacteristicDef, type_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": c.name,
        "description": c.description or None,
        "valueType": c.value_type,
        "configurable": True,
        "minCardinality": 1 if c.required else 0,  # required: a line must carry a value
        "maxCardinality": 1,
        "regex": c.pattern,
        "@type": type_name,
        "productSpecCharacteristicValue": _values(c),
    }
    return {key: value for key, value in body.items() if value is not None}


def _values(c: CharacteristicDef) -> list[dict[str, Any]]:
    """The allowed values (the default marked ``isDefault``), else the range (both ends
    included), and the default."""
    if c.allowed_values is not None:
        return [_value(c, v, _same(v, c.default)) for v in c.allowed_values]
    found = []
    if c.min_value is not None or c.max_value is not None:
        found.append(
            {
                "valueType": c.value_type,
                "valueFrom": _number(c.min_value),
                "valueTo": _number(c.max_value),
                "isDefault": False,
                "@type": "ProductSpecificationCharacteristicValue",
            }
        )
    if c.default is not None:
        found.append(_value(c, c.default, True))
    return [{k: v for k, v in value.items() if v is not None} for value in found]


def _value(c: CharacteristicDef, value: Any, is_default: bool) -> dict[str, Any]:
    return {
        "value": value,
        "valueType": c.value_type,
        "isDefault": is_default,
        "@type": "ProductSpecificationCharacteristicValue",
    }


def _same(value: Any, default: Any) -> bool:
    return default is not None and isinstance(value, bool) == isinstance(default, bool) and value == default


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


# -- productOfferingPrice -------------------------------------------------------------------------


def prices(lists: Sequence[PriceListDef], hrefs: Hrefs) -> list[dict[str, Any]]:
    """Every charge of ``lists`` (the price lists the reader may see), list by list."""
    return [price(plist, p, hrefs) for plist in lists for p in plist.prices]


def price(plist: PriceListDef, p: OfferingPriceDef, hrefs: Hrefs) -> dict[str, Any]:
    pop_id = price_id(plist, p)
    recurring = p.price_type == RECURRING
    body: dict[str, Any] = {
        "id": pop_id,
        "href": hrefs.of("productOfferingPrice", pop_id),
        "@type": "ProductOfferingPrice",
        "name": p.charge_name,
        "description": plist.name,  # the price list's
        "lifecycleStatus": ACTIVE,
        "isBundle": False,
        "priceType": p.price_type,
        "price": {"unit": plist.currency, "value": float(p.amount)} if p.amount is not None else None,
        "recurringChargePeriodType": p.period if recurring else None,
        "recurringChargePeriodLength": p.period_length if recurring else None,
        "unitOfMeasure": {"amount": 1, "units": p.unit_of_measure or p.quantity_from}
        if p.unit_of_measure or p.quantity_from
        else None,
        "tax": [{"taxRate": float(plist.rate_for(p.price_type)), "@type": "TaxItem"}],
        "pricingLogicAlgorithm": [{"id": p.matrix, "name": p.matrix, "@type": "PricingLogicAlgorithm"}] if p.matrix else None,
    }
    if plist.valid_from is not None or plist.valid_to is not None:
        body["validFor"] = {
            k: v
            for k, v in (
                ("startDateTime", f"{plist.valid_from.isoformat()}T00:00:00.000Z" if plist.valid_from else None),
                ("endDateTime", f"{plist.valid_to.isoformat()}T23:59:59.999Z" if plist.valid_to else None),
            )
            if v is not None
        }
    return {key: value for key, value in body.items() if value is not None}
