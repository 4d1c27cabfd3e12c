"""TPSM prices: one price list for every offering; SaaS editions are a platform fee plus a
per-seat monthly price with volume tiers (every seat at the price of the tier the seat count
reaches), and a promotion for annual prepayment-sized teams (an automatic adjustment table)."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    ADJUSTMENT_OUTPUTS,
    Condition,
    DecisionTableDef,
    InputColumn,
    OfferingPriceDef,
    PriceListDef,
    PriceTier,
    Rule,
    offering_prices,
)
from om_graph_tpsm.catalog_hardware import hardware_offerings
from om_graph_tpsm.catalog_saas import saas_offerings

PROMOTIONS = "tpsm.promotions"
PRICE_LIST = "tpsm-standard"

# Per-seat monthly price tiers by edition: (from seats, price per seat).
SEAT_TIERS: dict[str, tuple[tuple[int, str], ...]] = {
    "saas-analytics-starter": ((1, "6.00"), (10, "5.00")),
    "saas-analytics-pro": ((1, "12.00"), (100, "10.00"), (500, "8.50")),
    "saas-analytics-enterprise": ((1, "18.00"), (1000, "15.00"), (5000, "12.00")),
}

promotions = DecisionTableDef(
    name=PROMOTIONS,
    description="TPSM automatic adjustments (core/pricing/tables.py columns).",
    inputs=(InputColumn("level"), InputColumn("offering"), InputColumn("action"), InputColumn("seats", "integer")),
    outputs=ADJUSTMENT_OUTPUTS,
    rules=(
        Rule(
            {
                "level": Condition.equals("line"),
                "offering": Condition.equals("saas-analytics-pro"),
                "action": Condition.equals("add"),
                "seats": Condition.between(250),
            },
            {
                "name": "Pro onboarding waived from 250 seats",
                "chargeType": "oneTime",
                "percentage": Decimal("100"),
                "priority": 1,
            },
        ),
    ),
    hit_policy="collect",
)


def _saas_prices() -> tuple[OfferingPriceDef, ...]:
    charges: list[OfferingPriceDef] = []
    for offering in saas_offerings:
        charges.append(OfferingPriceDef(offering.key, "oneTime", amount=offering.one_time_price, name="Onboarding"))
        charges.append(OfferingPriceDef(offering.key, "recurring", amount=offering.recurring_price, name="Platform fee"))
        charges.append(
            OfferingPriceDef(
                offering.key,
                "recurring",
                tiers=tuple(PriceTier(low, Decimal(price)) for low, price in SEAT_TIERS[offering.key]),
                quantity_from="seats",
                name="Seats",
            )
        )
    return tuple(charges)


standard_price_list = PriceListDef(
    key=PRICE_LIST,
    name="TPSM standard prices",
    currency=saas_offerings[0].currency,
    description="SaaS: platform fee plus seats (volume tiers); hardware at list price. Amounts before tax.",
    prices=(*_saas_prices(), *(charge for offering in hardware_offerings for charge in offering_prices(offering))),
)

DECISION_TABLES = (promotions,)
PRICE_LISTS = (standard_price_list,)
ADJUSTMENT_TABLES = (PROMOTIONS,)
