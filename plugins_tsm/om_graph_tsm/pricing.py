"""TSM prices: one EUR price list for every offering, the fibre monthly price as a pricing matrix
(bandwidth x contract term) with an early-termination charge, and the pack's automatic
adjustments (a promotion and a static-IP surcharge), all as decision tables an admin can edit."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    ADJUSTMENT_OUTPUTS,
    Condition,
    DecisionTableDef,
    EarlyTerminationDef,
    InputColumn,
    OfferingPriceDef,
    OutputColumn,
    PriceListDef,
    Rule,
    offering_prices,
)
from om_graph_tsm.catalog_fibre import fibre_offerings
from om_graph_tsm.catalog_mobile import mobile_offerings
from om_graph_tsm.catalog_sdwan import sdwan_offerings

FIBRE_MATRIX = "tsm.fibreMonthlyPrice"
PROMOTIONS = "tsm.promotions"
PRICE_LIST = "tsm-standard-eur"

# Monthly price by bandwidth (Mbit/s) and contract term (months): a longer term is cheaper.
_FIBRE_MONTHLY = {
    (500, 12): "44.95",
    (500, 24): "39.95",
    (500, 36): "37.95",
    (1000, 12): "59.95",
    (1000, 24): "54.95",
    (1000, 36): "51.95",
}

fibre_matrix = DecisionTableDef(
    name=FIBRE_MATRIX,
    description="Fibre monthly price (EUR, before tax) by bandwidth and contract term.",
    inputs=(InputColumn("bandwidth", "integer"), InputColumn("contractTermMonths", "integer")),
    outputs=(OutputColumn("amount", "number"),),
    rules=tuple(
        Rule(
            {"bandwidth": Condition.equals(bandwidth), "contractTermMonths": Condition.equals(term)},
            {"amount": Decimal(amount)},
            description=f"{bandwidth} Mbit/s, {term} months",
        )
        for (bandwidth, term), amount in _FIBRE_MONTHLY.items()
    ),
    hit_policy="unique",
)

promotions = DecisionTableDef(
    name=PROMOTIONS,
    description="TSM automatic adjustments: promotions and characteristic surcharges (core/pricing/tables.py columns).",
    inputs=(
        InputColumn("level"),
        InputColumn("specification"),
        InputColumn("offering"),
        InputColumn("action"),
        InputColumn("contractTermMonths", "integer"),
        InputColumn("staticIp", "boolean"),
    ),
    outputs=ADJUSTMENT_OUTPUTS,
    rules=(
        Rule(
            {
                "level": Condition.equals("line"),
                "specification": Condition.equals("tsm.fibre-broadband"),
                "staticIp": Condition.equals(True),
            },
            {"name": "Static IPv4 address", "kind": "surcharge", "amount": Decimal("5.00"), "priority": 1},
            description="A static address costs 5.00 a month",
        ),
        Rule(
            {
                "level": Condition.equals("line"),
                "specification": Condition.equals("tsm.fibre-broadband"),
                "action": Condition.equals("add"),
                "contractTermMonths": Condition.equals(36),
            },
            {
                "name": "36-month promotion: first 3 months half price",
                "percentage": Decimal("50"),
                "applicationDuration": 3,
                "priority": 10,
            },
            description="Promotion for three-year fibre contracts",
        ),
    ),
    hit_policy="collect",
)

standard_price_list = PriceListDef(
    key=PRICE_LIST,
    name="TSM standard prices (EUR)",
    currency="EUR",
    description="Every TSM offering; fibre priced by bandwidth and contract term. Amounts before 19 % VAT.",
    tax_rate=Decimal("19"),
    prices=(
        *(
            charge
            for offering in fibre_offerings
            for charge in (
                OfferingPriceDef(offering.key, "oneTime", amount=offering.one_time_price, name="Installation"),
                OfferingPriceDef(
                    offering.key,
                    "recurring",
                    matrix=FIBRE_MATRIX,
                    name="Fibre monthly fee",
                    # Leaving early: half the monthly fee for every month left, plus a fixed fee.
                    early_termination=EarlyTerminationDef(fee=Decimal("29.00"), remaining_percentage=Decimal("50")),
                ),
            )
        ),
        *(charge for offering in (*sdwan_offerings, *mobile_offerings) for charge in offering_prices(offering)),
        # for reference (billing rates usage; orders never total it)
        OfferingPriceDef("mobile-plan-20gb", "usage", amount=Decimal("2.00"), unit_of_measure="GB", name="Data beyond 20 GB"),
    ),
)

DECISION_TABLES = (fibre_matrix, promotions)
PRICE_LISTS = (standard_price_list,)
ADJUSTMENT_TABLES = (PROMOTIONS,)
