"""The Pricer alone (pure): price lists and their defaulting, matrices, tiers, automatic and manual
adjustments in their defined order, tax, ISO 4217 rounding, MACD; and properties (hypothesis):
totals are the sum of the lines, rounding never leaks a minor unit, the order of application is
deterministic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from om_graph.core.access.actor import Actor
from om_graph.core.catalog.definitions import CatalogContribution, CharacteristicDef, OfferingDef, SpecificationDef
from om_graph.core.catalog.prices import EarlyTerminationDef, OfferingPriceDef, PriceListDef, PriceTier
from om_graph.core.catalog.registry import Registry
from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule
from om_graph.core.kernel.errors import PluginConfigurationError, ValidationFailed
from om_graph.core.pricing.money import MINOR_UNITS, round_money
from om_graph.core.pricing.pricer import Pricer, remaining_months
from om_graph.core.pricing.request import InstalledProduct, LineToPrice, PriceAdjustment, PricingRequest
from om_graph.core.pricing.settings import PricingSettings
from om_graph.core.pricing.tables import ADJUSTMENT_OUTPUTS, PRICING_TABLES, DefaultTables

D = Decimal
AGENT = Actor("agent-1", frozenset({"order_agent"}))
MANAGER = Actor("manager-1", frozenset({"order_manager"}))
CUSTOMER = Actor("cust-1", frozenset({"customer"}), account_id="ACME")
TODAY = date(2026, 12, 1)

SPEC = SpecificationDef(
    "t.fibre",
    "product",
    "Fibre",
    characteristics=(
        CharacteristicDef("bandwidth", "integer", allowed_values=(500, 1000)),
        CharacteristicDef("contractTermMonths", "integer", allowed_values=(12, 24), default=24),
    ),
)
SEATS = SpecificationDef("t.seats", "product", "Seats")
OFFERINGS = (
    OfferingDef("t-fibre", "Fibre", "t.fibre", D("49"), D("40"), contract_term_months=24),
    OfferingDef("t-seats", "Seats", "t.seats", D("0"), D("10"), max_quantity=1000),
    OfferingDef("t-yen", "Yen thing", "t.seats", D("1000"), D("333"), currency="JPY", max_quantity=1000),
    OfferingDef("t-dinar", "Dinar thing", "t.seats", D("1.5"), D("0.3335"), currency="BHD", max_quantity=1000),
)
MATRIX = DecisionTableDef(
    "t.fibreMatrix",
    inputs=(InputColumn("bandwidth", "integer"), InputColumn("contractTermMonths", "integer")),
    outputs=(OutputColumn("amount", "number"),),
    rules=(
        Rule({"bandwidth": Condition.equals(500), "contractTermMonths": Condition.equals(12)}, {"amount": D("44.95")}),
        Rule({"bandwidth": Condition.equals(500), "contractTermMonths": Condition.equals(24)}, {"amount": D("39.95")}),
        Rule({"bandwidth": Condition.equals(1000), "contractTermMonths": Condition.equals(12)}, {"amount": D("59.95")}),
        Rule({"bandwidth": Condition.equals(1000), "contractTermMonths": Condition.equals(24)}, {"amount": D("54.95")}),
    ),
    hit_policy="unique",
)
PROMO = DecisionTableDef(
    "t.promotions",
    inputs=(
        InputColumn("level"),
        InputColumn("offering"),
        InputColumn("contractTermMonths", "integer"),
        InputColumn("quantity", "integer"),
    ),
    outputs=ADJUSTMENT_OUTPUTS,
    rules=(
        Rule(
            {
                "level": Condition.equals("line"),
                "offering": Condition.equals("t-fibre"),
                "contractTermMonths": Condition.equals(24),
            },
            {"name": "Two months free", "percentage": D("100"), "applicationDuration": 2, "priority": 1},
        ),
        Rule(
            {"level": Condition.equals("line"), "offering": Condition.equals("t-fibre")},
            {"name": "Online install discount", "chargeType": "oneTime", "amount": D("10"), "priority": 2},
        ),
        Rule(
            {"level": Condition.equals("line"), "offering": Condition.equals("t-seats"), "quantity": Condition.between(100)},
            {"name": "Volume rebate", "percentage": D("5"), "priority": 5},
        ),
    ),
    hit_policy="collect",
)
LISTS = (
    PriceListDef(
        "eu-business",
        "EU business",
        "EUR",
        prices=(
            OfferingPriceDef("t-fibre", "oneTime", amount=D("49"), name="Installation"),
            OfferingPriceDef(
                "t-fibre",
                "recurring",
                matrix="t.fibreMatrix",
                name="Fibre monthly",
                early_termination=EarlyTerminationDef(fee=D("25"), remaining_percentage=D("50")),
            ),
            OfferingPriceDef("t-fibre", "usage", amount=D("0.05"), unit_of_measure="GB", name="Overage"),
            OfferingPriceDef(
                "t-seats",
                "recurring",
                tiers=(PriceTier(1, D("10")), PriceTier(50, D("9")), PriceTier(500, D("7.5"))),
                name="Seat",
            ),
        ),
        segments=("business",),
        tax_rate=D("20"),
    ),
    PriceListDef(
        "eu-consumer",
        "EU consumer",
        "EUR",
        prices=(
            OfferingPriceDef("t-fibre", "oneTime", amount=D("59.50")),
            OfferingPriceDef("t-fibre", "recurring", matrix="t.fibreMatrix"),
        ),
        channels=("portal",),
        tax_rate=D("19"),
        tax_included=True,
    ),
    PriceListDef(
        "eu-old",
        "Expired",
        "EUR",
        prices=(OfferingPriceDef("t-fibre", "recurring", amount=D("1")),),
        valid_to=date(2020, 1, 1),
    ),
)


def registry(lists=LISTS, adjustment_tables=("t.promotions",)) -> Registry:
    return Registry(
        catalogs=(
            CatalogContribution(
                "t", specifications=(SPEC, SEATS), offerings=OFFERINGS, price_lists=lists, adjustment_tables=adjustment_tables
            ),
        )
    )


TABLES = DefaultTables((*PRICING_TABLES, MATRIX, PROMO))
PRICER = Pricer(registry(), PricingSettings(), table_names={MATRIX.name, PROMO.name})


def fibre(bandwidth=1000, term=24, quantity=1, action="add", adjustments=(), installed=None, n=1):
    return LineToPrice(
        n,
        action,
        OFFERINGS[0],
        "t.fibre",
        quantity,
        {"bandwidth": bandwidth, "contractTermMonths": term},
        tuple(adjustments),
        installed,
    )


def seats(quantity, offering=OFFERINGS[1], adjustments=(), n=1):
    return LineToPrice(n, "add", offering, "t.seats", quantity, {}, tuple(adjustments))


def request(*lines, actor=AGENT, segment="business", channel="agent", adjustments=(), on=TODAY):
    return PricingRequest(
        account="ACME", channel=channel, segment=segment, lines=tuple(lines), actor=actor, on=on, adjustments=tuple(adjustments)
    )


def value(money: dict) -> Decimal:
    return Decimal(money["value"])


def total(priced, price_type):
    [entry] = [t for t in priced.total_prices if t["priceType"] == price_type]
    return entry


def test_a_matrix_price_with_promotions_tax_and_a_manual_discount():
    discount = PriceAdjustment("discount", "recurring", "loyal customer", percentage=D("10"))
    priced = PRICER.price(request(fibre(adjustments=[discount])), TABLES)
    assert priced.price_list == "eu-business" and priced.currency == "EUR"
    prices = priced.lines[0].prices
    by_type = {p["priceType"]: p for p in prices["itemPrice"]}
    assert value(by_type["recurring"]["price"]["dutyFreeAmount"]) == D("54.95")
    assert by_type["recurring"]["productOfferingPrice"]["matrix"] == "t.fibreMatrix"
    assert by_type["usage"]["unitOfMeasure"] == "GB"  # listed for reference
    recurring = next(p for p in prices["itemTotalPrice"] if p["priceType"] == "recurring")
    free, manual = recurring["priceAlteration"]
    # two months free: listed with its duration, not taken off the steady price
    assert free["applicationDuration"] == 2 and value(free["price"]["dutyFreeAmount"]) == D("-54.95")
    assert free["source"] == {"kind": "rule", "table": "t.promotions"}
    assert manual["source"] == {"kind": "manual", "actor": "agent-1", "reason": "loyal customer"}
    assert value(manual["price"]["dutyFreeAmount"]) == D("-5.50")  # 10 % of 54.95 = 5.495, half up
    assert value(recurring["price"]["dutyFreeAmount"]) == D("49.45")
    assert value(recurring["price"]["taxIncludedAmount"]) == D("59.34")  # 49.45 x 1.2
    one_time = next(p for p in prices["itemTotalPrice"] if p["priceType"] == "oneTime")
    assert value(one_time["price"]["dutyFreeAmount"]) == D("39.00")  # 49 - 10 online install discount
    assert priced.recurring_total == D("49.45") and priced.one_time_total == D("39.00")
    assert priced.manual_discount_percent == D("10") and not priced.discount_over_limit
    assert value(total(priced, "recurring")["price"]["taxIncludedAmount"]) == D("59.34")


def test_the_limit_depends_on_the_role_and_an_amount_is_measured_against_its_price():
    big = PriceAdjustment("discount", "recurring", "retention offer", amount=D("11"))  # 11 of 54.95 = 20.0182 %
    agent = PRICER.price(request(fibre(adjustments=[big])), TABLES)
    manager = PRICER.price(request(fibre(adjustments=[big]), actor=MANAGER), TABLES)
    assert agent.manual_discount_percent == manager.manual_discount_percent == D("20.0182")
    assert agent.discount_over_limit and not manager.discount_over_limit
    strict = Pricer(registry(), PricingSettings({"order_manager": D("5")}), table_names={MATRIX.name, PROMO.name})
    assert strict.price(request(fibre(adjustments=[big]), actor=MANAGER), TABLES).discount_over_limit


def test_stacked_manual_discounts_count_together_against_the_limit():
    """Ten 10 % discounts on one line take 65 % off, and a line's discount compounds with the
    order's: the role's limit is compared with what they take off together."""
    ten = [PriceAdjustment("discount", "recurring", "again", percentage=D("10"))] * 10
    stacked = PRICER.price(request(fibre(adjustments=ten)), TABLES)
    assert stacked.manual_discount_percent == D("65.1322") and stacked.discount_over_limit
    five = PriceAdjustment("discount", "recurring", "a little", percentage=D("5"))
    both = PRICER.price(request(fibre(adjustments=[five]), adjustments=[five]), TABLES)
    assert both.manual_discount_percent == D("9.75") and not both.discount_over_limit
    three = PriceAdjustment("discount", "recurring", "a bit more", percentage=D("6"))
    over = PRICER.price(request(fibre(adjustments=[three]), adjustments=[five]), TABLES)
    assert over.manual_discount_percent == D("10.7") and over.discount_over_limit


def test_order_level_adjustments_apply_after_the_lines():
    surcharge = PriceAdjustment("surcharge", "oneTime", "express installation", amount=D("30"))
    order_discount = PriceAdjustment("discount", "recurring", "bundle", percentage=D("50"))
    priced = PRICER.price(request(fibre(adjustments=[surcharge]), seats(10, n=2), adjustments=[order_discount]), TABLES)
    recurring = total(priced, "recurring")
    # lines: 54.95 + 10 x 10 = 154.95; the order's 50 % on that
    [alteration] = recurring["priceAlteration"]
    assert value(alteration["price"]["dutyFreeAmount"]) == D("-77.48")
    assert value(recurring["price"]["dutyFreeAmount"]) == D("77.47")
    assert value(total(priced, "oneTime")["price"]["dutyFreeAmount"]) == D("69.00")  # 49 - 10 + 30
    assert priced.manual_discount_percent == D("50") and priced.discount_over_limit


def test_volume_tiers_and_a_volume_rebate():
    priced = PRICER.price(request(seats(600)), TABLES)
    recurring = priced.lines[0].prices["itemTotalPrice"][0]
    assert value(priced.lines[0].prices["itemPrice"][0]["price"]["dutyFreeAmount"]) == D("7.50")
    assert value(recurring["price"]["dutyFreeAmount"]) == D("4275.00")  # 600 x 7.5 - 5 %
    assert PRICER.price(request(seats(49)), TABLES).recurring_total == D("490")


def test_price_list_defaulting_by_audience_validity_and_the_table():
    assert PRICER.price(request(fibre(), segment=None, channel="portal", actor=CUSTOMER), TABLES).price_list == "eu-consumer"
    # no explicit list for this audience: the implicit list price list of the offerings' currency
    plain = PRICER.price(request(fibre(), segment=None), TABLES)
    assert plain.price_list == "list.EUR" and plain.recurring_total == D("40.00")
    # the defaulting table overrides the audience match
    forced = DecisionTableDef(
        "pricing.priceList",
        inputs=PRICING_TABLES[0].inputs,
        outputs=PRICING_TABLES[0].outputs,
        rules=(Rule({"account": Condition.equals("ACME")}, {"priceList": "eu-consumer"}),),
    )
    tables = DefaultTables((forced, PRICING_TABLES[1], MATRIX, PROMO))
    assert PRICER.price(request(fibre()), tables).price_list == "eu-consumer"
    expired = DefaultTables((replace(forced, rules=(Rule({}, {"priceList": "eu-old"}),)), PRICING_TABLES[1], MATRIX, PROMO))
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(fibre()), expired)
    assert [(e.field, e.code) for e in failed.value.errors] == [("priceList", "NO_PRICE_LIST")]


def test_tax_included_lists_keep_their_amounts_and_derive_the_duty_free_ones():
    priced = PRICER.price(request(fibre(500, 12), segment=None, channel="portal", actor=CUSTOMER), TABLES)
    recurring = next(p for p in priced.lines[0].prices["itemTotalPrice"] if p["priceType"] == "recurring")
    assert value(recurring["price"]["taxIncludedAmount"]) == D("44.95")
    assert value(recurring["price"]["dutyFreeAmount"]) == D("37.77")  # 44.95 / 1.19
    assert priced.recurring_total == D("37.77")  # the order's totals columns are duty-free


def test_iso_4217_minor_units():
    yen = PRICER.price(request(seats(3, OFFERINGS[2]), segment=None), TABLES)
    assert yen.currency == "JPY" and value(total(yen, "recurring")["price"]["dutyFreeAmount"]) == D("999")
    dinar = PRICER.price(request(seats(3, OFFERINGS[3]), segment=None), TABLES)
    assert total(dinar, "recurring")["price"]["dutyFreeAmount"]["value"] == "1.001"  # 3 x 0.3335 = 1.0005, half up
    assert round_money(D("2.5"), "JPY") == D("3") and round_money(D("-2.5"), "JPY") == D("-3")


def test_bad_adjustments_are_field_errors():
    bad = [
        PriceAdjustment("discount", "recurring", "x", amount=D("-1")),
        PriceAdjustment("discount", "recurring", "x", percentage=D("101")),
        PriceAdjustment("discount", "recurring", "x", amount=D("1"), percentage=D("1")),
        PriceAdjustment("discount", "monthly", "x", amount=D("1")),
        PriceAdjustment("discount", "recurring", " ", amount=D("1")),
    ]
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(fibre(adjustments=bad)), TABLES)
    assert [(e.field, e.code) for e in failed.value.errors] == [
        ("lines.0.priceAdjustments.0.amount", "OUT_OF_RANGE"),
        ("lines.0.priceAdjustments.1.percentage", "OUT_OF_RANGE"),
        ("lines.0.priceAdjustments.2", "INVALID"),
        ("lines.0.priceAdjustments.3.chargeType", "UNKNOWN_CHARGE_TYPE"),
        ("lines.0.priceAdjustments.4.reason", "REQUIRED"),
    ]
    negative = PriceAdjustment("discount", "recurring", "too much", amount=D("60"))
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(fibre(adjustments=[negative])), TABLES)
    assert [(e.field, e.code) for e in failed.value.errors] == [("lines.0.priceAdjustments.0", "NEGATIVE_PRICE")]
    none = PriceAdjustment("discount", "oneTime", "no such charge", amount=D("1"))
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(seats(1, adjustments=[none])), TABLES)
    assert [(e.field, e.code) for e in failed.value.errors] == [("lines.0.priceAdjustments.0.chargeType", "UNKNOWN_CHARGE_TYPE")]
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(
            request(fibre(adjustments=[PriceAdjustment("discount", "recurring", "me", amount=D("1"))]), actor=CUSTOMER), TABLES
        )
    assert [(e.field, e.code) for e in failed.value.errors] == [("priceAdjustments", "ADJUSTMENT_NOT_ALLOWED")]


def test_no_matrix_row_and_mixed_currencies_are_field_errors():
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(fibre(bandwidth=750)), TABLES)
    assert [(e.field, e.code) for e in failed.value.errors] == [("lines.0.characteristics", "NO_MATRIX_PRICE")]
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(seats(1), seats(1, OFFERINGS[2], n=2), segment=None), TABLES)
    assert [(e.field, e.code) for e in failed.value.errors] == [("lines", "CURRENCY_MISMATCH")]


def test_macd_modify_delta_and_early_termination():
    installed = InstalledProduct(
        product_price=[
            {
                "priceType": "recurring",
                "recurringChargePeriod": "month",
                "price": {
                    "dutyFreeAmount": {"unit": "EUR", "value": "39.95"},
                    "taxIncludedAmount": {"unit": "EUR", "value": "47.94"},
                },
            }
        ],
        recurring_price=D("39.95"),
        currency="EUR",
        start_date=datetime(2026, 6, 1, 12),
        characteristics={"bandwidth": 500, "contractTermMonths": 24},
    )
    upgrade = PRICER.price(request(fibre(1000, 24, action="modify", installed=installed)), TABLES)
    delta = upgrade.lines[0].prices["priceDelta"]
    assert value(delta["currentPrice"]["dutyFreeAmount"]) == D("39.95")
    assert value(delta["newPrice"]["dutyFreeAmount"]) == D("54.95")
    assert value(delta["deltaPrice"]["dutyFreeAmount"]) == D("15.00")
    assert upgrade.recurring_total == D("15.00") and upgrade.one_time_total == D("0")  # no installation on a modify
    disconnect = PRICER.price(request(fibre(500, 24, action="delete", installed=installed)), TABLES)
    prices = disconnect.lines[0].prices
    # started 2026-06-01, 24 months: ends 2028-06-01; from 2026-12-01 that is 18 months
    assert prices["priceDelta"]["remainingTermMonths"] == 18
    assert value(prices["priceDelta"]["earlyTerminationCharge"]["dutyFreeAmount"]) == D("384.55")  # 25 + 18 x 39.95 x 50 %
    assert [p["priceType"] for p in prices["itemTotalPrice"]] == ["oneTime"]
    assert disconnect.one_time_total == D("384.55") and disconnect.recurring_total == D("-39.95")
    late = PRICER.price(request(fibre(500, 24, action="delete", installed=installed), on=date(2028, 6, 2)), TABLES)
    assert late.one_time_total == D("0") and "earlyTerminationCharge" not in late.lines[0].prices["priceDelta"]


def test_remaining_months_round_up():
    assert remaining_months(datetime(2026, 1, 31), 12, date(2026, 12, 1)) == 2  # ends 2027-01-31
    assert remaining_months(datetime(2026, 1, 1), 12, date(2027, 1, 1)) == 0
    assert remaining_months(datetime(2026, 1, 1), 12, date(2026, 12, 31)) == 1


def test_bad_price_lists_are_refused_at_startup():
    bad = PriceListDef("bad", "Bad", "XXX", prices=(OfferingPriceDef("t-fibre", "recurring", matrix="nope"),))
    with pytest.raises(PluginConfigurationError) as refused:
        Pricer(registry((*LISTS, bad)), table_names={MATRIX.name, PROMO.name})
    assert "unknown currency 'XXX'" in str(refused.value) and "unknown pricing matrix" in str(refused.value)
    with pytest.raises(PluginConfigurationError):
        registry((PriceListDef("x", "X", "EUR", prices=(OfferingPriceDef("nothing", "recurring", amount=D("1")),)),))
    with pytest.raises(PluginConfigurationError):
        registry(
            (
                PriceListDef(
                    "x",
                    "X",
                    "EUR",
                    prices=(OfferingPriceDef("t-seats", "recurring", amount=D("1"), tiers=(PriceTier(1, D("1")),)),),
                ),
            )
        )


# -- properties -------------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=4, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["EUR", "JPY", "BHD", "CLF"])


def _pricer_for(currency: str, units: list[Decimal], tax_included: bool = False):
    offerings = tuple(
        OfferingDef(f"o{i}", f"O{i}", "t.seats", D("0"), D("0"), currency=currency, max_quantity=1000) for i in range(len(units))
    )
    plist = PriceListDef(
        "p",
        "P",
        currency,
        prices=tuple(OfferingPriceDef(f"o{i}", "recurring", amount=u) for i, u in enumerate(units))
        + tuple(OfferingPriceDef(f"o{i}", "oneTime", amount=u * 3) for i, u in enumerate(units)),
        tax_rate=D("17.5"),
        tax_included=tax_included,
    )
    reg = Registry(catalogs=(CatalogContribution("t", specifications=(SEATS,), offerings=offerings, price_lists=(plist,)),))
    return Pricer(reg, table_names=set()), offerings


@settings(max_examples=60, deadline=None)
@given(
    currency=currencies,
    lines=st.lists(
        st.tuples(amounts, st.integers(1, 1000), st.one_of(st.none(), st.decimals(D("0.01"), D("60"), places=3))),
        min_size=1,
        max_size=8,
    ),
    order_pct=st.one_of(st.none(), st.decimals(D("0.01"), D("40"), places=2)),
    tax_included=st.booleans(),
)
def test_totals_are_the_sum_of_the_lines_and_never_leak_a_minor_unit(currency, lines, order_pct, tax_included):
    pricer, offerings = _pricer_for(currency, [u for u, _, _ in lines], tax_included)
    basis = "taxIncludedAmount" if tax_included else "dutyFreeAmount"
    to_price = [
        LineToPrice(
            i + 1, "add", offerings[i], "t.seats", qty, {},
            (PriceAdjustment("discount", "recurring", "r", percentage=pct),) if pct is not None else (),
        )
        for i, (_, qty, pct) in enumerate(lines)
    ]  # fmt: skip
    order_adj = (PriceAdjustment("discount", "oneTime", "o", percentage=order_pct),) if order_pct is not None else ()
    priced = pricer.price(request(*to_price, actor=MANAGER, segment=None, adjustments=order_adj), DefaultTables())
    quantum = D(1).scaleb(-MINOR_UNITS[currency])
    for price_type in ("recurring", "oneTime"):
        line_totals = [next(p for p in line.prices["itemTotalPrice"] if p["priceType"] == price_type) for line in priced.lines]
        order_total = total(priced, price_type)
        for side in ("dutyFreeAmount", "taxIncludedAmount"):
            amounts_seen = [value(p["price"][side]) for p in line_totals] + [value(order_total["price"][side])]
            assert all(a == a.quantize(quantum) for a in amounts_seen), amounts_seen
        altered = sum((value(a["price"][basis]) for a in order_total.get("priceAlteration", ())), D(0))
        assert value(order_total["price"][basis]) == sum(value(p["price"][basis]) for p in line_totals) + altered
        for (unit, qty, _), line_total in zip(lines, line_totals, strict=True):  # base + its alterations, exactly
            base = round_money(unit * qty * (3 if price_type == "oneTime" else 1), currency)
            alterations = sum((value(a["price"][basis]) for a in line_total.get("priceAlteration", ())), D(0))
            assert value(line_total["price"][basis]) == base + alterations
    assert priced == pricer.price(request(*to_price, actor=MANAGER, segment=None, adjustments=order_adj), DefaultTables())


@settings(max_examples=40, deadline=None)
@given(
    adjustments=st.lists(
        st.tuples(st.sampled_from(["discount", "surcharge"]), st.decimals(D("1"), D("20"), places=2)), min_size=1, max_size=5
    )
)
def test_alterations_apply_in_the_order_given_on_the_running_amount(adjustments):
    manual = [PriceAdjustment(kind, "recurring", "r", percentage=pct) for kind, pct in adjustments]
    priced = PRICER.price(request(seats(10, adjustments=manual), actor=MANAGER), TABLES)
    recurring = priced.lines[0].prices["itemTotalPrice"][0]
    running = D("100")
    for index, (alteration, (kind, pct)) in enumerate(zip(recurring["priceAlteration"], adjustments, strict=True)):
        step = round_money(running * pct / 100, "EUR")
        expected = -step if kind == "discount" else step
        assert alteration["priority"] == index + 1 and value(alteration["price"]["dutyFreeAmount"]) == expected
        running += expected
    assert value(recurring["price"]["dutyFreeAmount"]) == running


def test_discount_limits_from_the_environment():
    settings = PricingSettings.from_environ(
        {"OM_GRAPH_PRICE_LIMIT_ORDER_AGENT": "5", "OM_GRAPH_PRICE_LIMIT_VIEWER": "", "OTHER": "x"}
    )
    assert settings.limit_for({"order_agent"}) == D("5") and settings.limit_for({"order_manager"}) == D("25")
    assert settings.limit_for({"order_agent", "order_manager"}) == D("25") and settings.limit_for({"customer"}) == D("0")
    for bad in ("ten", "150", "-1", "NaN"):
        with pytest.raises(PluginConfigurationError):
            PricingSettings.from_environ({"OM_GRAPH_PRICE_LIMIT_ORDER_AGENT": bad})


def test_a_retyped_table_is_ignored_or_has_no_price_but_never_crashes():
    odd = DecisionTableDef(
        "t.promotions",
        inputs=(InputColumn("level"),),
        outputs=(OutputColumn("name"), OutputColumn("percentage", "string"), OutputColumn("priority", "string")),
        rules=(Rule({"level": Condition.equals("line")}, {"name": "odd", "percentage": "lots", "priority": "high"}),),
        hit_policy="collect",
    )
    text_matrix = replace(
        MATRIX, outputs=(OutputColumn("amount", "string"),), rules=(Rule({}, {"amount": "cheap"}),), hit_policy="first"
    )
    priced = PRICER.price(request(seats(10)), DefaultTables((*PRICING_TABLES, MATRIX, odd)))
    assert "priceAlteration" not in priced.lines[0].prices["itemTotalPrice"][0]
    with pytest.raises(ValidationFailed) as failed:
        PRICER.price(request(fibre()), DefaultTables((*PRICING_TABLES, text_matrix, PROMO)))
    assert [(e.field, e.code) for e in failed.value.errors] == [("lines.0.characteristics", "NO_MATRIX_PRICE")]


def test_recurring_charges_of_different_periods_are_totalled_apart():
    plist = PriceListDef(
        "periods",
        "Periods",
        "EUR",
        prices=(
            OfferingPriceDef("t-seats", "recurring", amount=D("10"), name="Monthly fee"),
            OfferingPriceDef("t-seats", "recurring", amount=D("100"), period="year", name="Annual support"),
        ),
    )
    pricer = Pricer(registry((plist,), adjustment_tables=()), table_names=set())
    discount = PriceAdjustment("discount", "recurring", "r", percentage=D("10"))
    priced = pricer.price(request(seats(2, adjustments=[discount]), segment=None), DefaultTables())
    by_period = {p["recurringChargePeriod"]: p for p in priced.lines[0].prices["itemTotalPrice"]}
    assert value(by_period["month"]["price"]["dutyFreeAmount"]) == D("18.00")  # the adjustment: the monthly charge
    assert value(by_period["year"]["price"]["dutyFreeAmount"]) == D("200.00") and "priceAlteration" not in by_period["year"]
    assert {(t["recurringChargePeriod"], t["price"]["dutyFreeAmount"]["value"]) for t in priced.total_prices} == {
        ("month", "18.00"),
        ("year", "200.00"),
    }
    assert priced.recurring_total == D("18.00")  # the column: the monthly charges
