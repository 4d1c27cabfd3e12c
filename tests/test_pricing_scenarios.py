"""Pricing through GraphQL with the telecom pack: a matrix price with a promotion, a surcharge rule
and a manual discount (alterations with their source, reason and actor; totals and tax); prices
recomputed on a draft edit and frozen at submit while the matrix changes; a modify order's
recurring delta; a disconnect's early-termination charge; bad input refused with nothing stored;
who may adjust and who sees which price lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment.models import Task
from om_graph.core.inventory.models import Agreement, Product
from om_graph.core.inventory.settlement import add_months
from om_graph.core.ordering.models import Order, OrderLine
from om_graph_tsm.pricing import FIBRE_MATRIX, fibre_matrix
from tests import support

ADMIN = Actor("admin-1", frozenset({"process_admin"}))
AGENT = Actor("agent-1", frozenset({"order_manager"}))

PRICE = "dutyFreeAmount { amount currency } taxIncludedAmount { amount } taxRate percentage"
ORDER_PRICE = f"""name priceType recurringChargePeriod unitOfMeasure price {{ {PRICE} }}
  priceAlteration {{ name priceType priority applicationDuration price {{ {PRICE} }} source {{ kind table actor reason }} }}
  productOfferingPrice {{ id matrix }}"""
ORDER = f"""id state version priceList channel segment manualDiscountPercent discountOverLimit
  oneTimeTotal {{ amount }} recurringTotal {{ amount currency }}
  orderTotalPrice {{ {ORDER_PRICE} }}
  lines {{ lineNumber action itemPrice {{ {ORDER_PRICE} }} itemTotalPrice {{ {ORDER_PRICE} }}
    priceDelta {{ recurringChargePeriod currentPrice {{ {PRICE} }} newPrice {{ {PRICE} }} deltaPrice {{ {PRICE} }}
      remainingTermMonths earlyTerminationCharge {{ {PRICE} }} }} }}"""
CREATE = f"""mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{ order {{ {ORDER} }} errors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: OrderUpdateInput!) {{ orderUpdate(input: $input) {{ order {{ {ORDER} }} errors {{ field message code }} }} }}"""
SUBMIT = """mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { field code } } }"""
READ = f"""query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"""
ADDRESS = "Hauptstrasse 5, 10115 Berlin"


@pytest.fixture
def runtime(make_runtime, database_url):
    return make_runtime(database_url, extra_plugins=(), load_entrypoints=True)


def client(runtime, role="order_agent", account=None):
    return TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, role, account))


def gql(c, query, variables=None):
    body = c.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body
    return body["data"]


def fibre_line(offering="fibre-broadband-1000", term=36, static_ip=True, adjustments=()):
    chars = {"installationAddress": ADDRESS, "contractTermMonths": term, "staticIp": static_ip}
    return {
        "offering": offering,
        "characteristics": [{"name": k, "value": v} for k, v in chars.items()],
        "priceAdjustments": list(adjustments),
    }


def amount(price, side="dutyFreeAmount"):
    return Decimal(price[side]["amount"])


def of_type(prices, price_type):
    [found] = [p for p in prices if p["priceType"] == price_type]
    return found


def counts(runtime):
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(Order)), s.scalar(select(func.count()).select_from(OrderLine))


def test_a_matrix_price_with_a_promotion_a_surcharge_and_a_manual_discount(runtime):
    discount = {"kind": "DISCOUNT", "chargeType": "recurring", "percentage": "15", "reason": "retention: competitor offer"}
    with client(runtime) as agent:
        data = gql(
            agent,
            CREATE,
            {"input": {"customerId": "ACME", "segment": "residential", "lines": [fibre_line(adjustments=[discount])]}},
        )
    assert data["orderCreate"]["errors"] == []
    order = data["orderCreate"]["order"]
    assert order["priceList"] == "tsm-standard-eur" and order["channel"] == "agent" and order["segment"] == "residential"
    [line] = order["lines"]
    unit = of_type(line["itemPrice"], "recurring")
    assert amount(unit["price"]) == Decimal("51.95")  # the matrix: 1000 Mbit/s, 36 months
    assert unit["productOfferingPrice"]["matrix"] == FIBRE_MATRIX
    recurring = of_type(line["itemTotalPrice"], "recurring")
    static_ip, promotion, manual = recurring["priceAlteration"]
    assert (static_ip["name"], static_ip["priceType"], amount(static_ip["price"])) == (
        "Static IPv4 address",
        "surcharge",
        Decimal("5.00"),
    )
    assert static_ip["source"] == {"kind": "rule", "table": "tsm.promotions", "actor": None, "reason": None}
    # the promotion lasts 3 months: listed with its duration, the steady price keeps going
    assert promotion["applicationDuration"] == 3 and amount(promotion["price"]) == Decimal("-28.48")  # 50 % of 56.95
    assert manual["source"] == {
        "kind": "manual",
        "table": None,
        "actor": "token:test-order_agent-staff",
        "reason": "retention: competitor offer",
    }
    assert amount(manual["price"]) == Decimal("-8.54") and manual["price"]["percentage"] == "15"  # of 56.95
    assert [a["priority"] for a in recurring["priceAlteration"]] == [1, 2, 3]
    assert amount(recurring["price"]) == Decimal("48.41")
    assert amount(recurring["price"], "taxIncludedAmount") == Decimal("57.61") and recurring["price"]["taxRate"] == "19"
    total = of_type(order["orderTotalPrice"], "recurring")
    assert amount(total["price"]) == Decimal("48.41") and total["recurringChargePeriod"] == "month"
    assert amount(of_type(order["orderTotalPrice"], "oneTime")["price"]) == Decimal("49.00")
    assert order["recurringTotal"] == {"amount": "48.41", "currency": "EUR"} and order["oneTimeTotal"]["amount"] == "49.00"
    # 15 % is over an order agent's 10 %: accepted, flagged for approval
    assert Decimal(order["manualDiscountPercent"]) == Decimal("15") and order["discountOverLimit"] is True
    with runtime.sessions() as s:
        stored = s.get(Order, int(_node_id(order["id"])))
        assert stored.discount_over_limit and stored.manual_discount_percent == Decimal("15")
        assert stored.total_prices[0]["price"]["dutyFreeAmount"]["value"] in ("49.00", "48.41")


def _node_id(gid: str) -> str:
    from strawberry import relay

    return relay.GlobalID.from_id(gid).node_id


def _set_matrix(runtime, amount_1000_24: str):
    rules = tuple(
        replace(r, then={"amount": Decimal(amount_1000_24)}) if r.description == "1000 Mbit/s, 24 months" else r
        for r in fibre_matrix.rules
    )
    view = runtime.services.decisions.update_draft(ADMIN, replace(fibre_matrix, rules=rules), comment="price change")
    runtime.services.decisions.activate(ADMIN, FIBRE_MATRIX, view.draft.number, reason="new tariff")


def test_a_draft_is_repriced_on_edit_and_a_submitted_order_is_frozen(runtime):
    with client(runtime, "order_manager") as agent:
        line = fibre_line(term=24, static_ip=False)
        draft = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [line]}})["orderCreate"]["order"]
        other = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [line]}})["orderCreate"]["order"]
        assert draft["recurringTotal"]["amount"] == other["recurringTotal"]["amount"] == "54.95"
        _set_matrix(runtime, "49.95")
        # a read does not reprice; the edit does
        assert gql(agent, READ, {"id": draft["id"]})["order"]["recurringTotal"]["amount"] == "54.95"
        edited = gql(agent, UPDATE, {"input": {"id": draft["id"], "lines": [line]}})["orderUpdate"]["order"]
        assert edited["recurringTotal"]["amount"] == "49.95"
        # the other order is submitted at the price it was captured with, and stays there
        assert gql(agent, SUBMIT, {"input": {"id": other["id"]}})["orderSubmit"]["errors"] == []
        _set_matrix(runtime, "44.95")
        frozen = gql(agent, READ, {"id": other["id"]})["order"]
        assert frozen["recurringTotal"]["amount"] == "54.95"
        assert amount(of_type(frozen["lines"][0]["itemPrice"], "recurring")["price"]) == Decimal("54.95")
        assert (
            gql(agent, UPDATE, {"input": {"id": draft["id"], "lines": [line]}})["orderUpdate"]["order"]["recurringTotal"][
                "amount"
            ]
            == "44.95"
        )


def _install(runtime, agent) -> tuple[str, int]:
    """A completed fibre order (500 Mbit/s, 36 months): the active product's global id and id."""
    data = gql(
        agent,
        CREATE,
        {
            "input": {
                "customerId": "ACME",
                "requestedInitialState": "ACKNOWLEDGED",
                "lines": [fibre_line("fibre-broadband-500", 36, False)],
            }
        },
    )
    assert data["orderCreate"]["errors"] == []
    order_id = int(_node_id(data["orderCreate"]["order"]["id"]))
    for _ in range(20):
        runtime.drain()
        with runtime.sessions() as s:
            ready = s.scalars(
                select(Task.id).where(Task.order_id == order_id, Task.kind == "manual", Task.state == "ready")
            ).all()
        if not ready:
            break
        for task_id in ready:
            runtime.services.processing.complete_task(AGENT, task_id, {})
    with runtime.sessions() as s:
        product = s.scalars(select(Product).where(Product.order_id == order_id)).one()
        assert product.status == "active", product.status
        recurring = of_type(product.product_price, "recurring")  # TMF637 productPrice, per unit
        assert recurring["price"]["dutyFreeAmount"]["value"] == "37.95"
        agreement = s.get(Agreement, product.agreement_id)  # the contract runs for the term chosen
        assert agreement.end_date == add_months(agreement.start_date, 36)
        return f"{_gid('Product', product.id)}", product.id


def _gid(type_name, value):
    from strawberry import relay

    return str(relay.GlobalID(type_name, str(value)))


def test_a_modify_shows_its_recurring_delta_and_a_disconnect_its_early_termination_charge(runtime):
    with client(runtime, "order_manager") as agent:
        product_gid, product_id = _install(runtime, agent)
        change = {"action": "MODIFY", "productId": product_gid, "characteristics": [{"name": "contractTermMonths", "value": 12}]}
        modify = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [change]}})["orderCreate"]
        assert modify["errors"] == []
        [line] = modify["order"]["lines"]
        delta = line["priceDelta"]
        assert amount(delta["currentPrice"]) == Decimal("37.95") and amount(delta["newPrice"]) == Decimal("44.95")
        assert amount(delta["deltaPrice"]) == Decimal("7.00") and amount(delta["deltaPrice"], "taxIncludedAmount") == Decimal(
            "8.33"
        )
        assert modify["order"]["recurringTotal"]["amount"] == "7.00"  # what the order changes on the bill
        assert modify["order"]["oneTimeTotal"]["amount"] == "0.00"  # no installation fee on a change
        with runtime.sessions() as s:  # the product started a month ago
            s.get(Product, product_id).start_date -= timedelta(days=31)
            s.commit()
        # the draft holds the product: edit it into a disconnect
        disconnect = gql(
            agent, UPDATE, {"input": {"id": modify["order"]["id"], "lines": [{"action": "DELETE", "productId": product_gid}]}}
        )["orderUpdate"]
        assert disconnect["errors"] == []
        [line] = disconnect["order"]["lines"]
        months = line["priceDelta"]["remainingTermMonths"]
        assert months in (35, 36)
        charge = (Decimal("29.00") + Decimal("37.95") * months * Decimal("0.5")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert amount(line["priceDelta"]["earlyTerminationCharge"]) == charge
        assert amount(of_type(line["itemTotalPrice"], "oneTime")["price"]) == charge
        assert disconnect["order"]["oneTimeTotal"]["amount"] == str(charge)
        assert disconnect["order"]["recurringTotal"]["amount"] == "-37.95"


BAD = [
    (
        {"kind": "DISCOUNT", "chargeType": "recurring", "amount": "-5", "reason": "x"},
        "lines.0.priceAdjustments.0.amount",
        "OUT_OF_RANGE",
    ),
    (
        {"kind": "DISCOUNT", "chargeType": "recurring", "percentage": "150", "reason": "x"},
        "lines.0.priceAdjustments.0.percentage",
        "OUT_OF_RANGE",
    ),
    (
        {"kind": "DISCOUNT", "chargeType": "recurring", "amount": "5", "percentage": "5", "reason": "x"},
        "lines.0.priceAdjustments.0",
        "INVALID",
    ),
    (
        {"kind": "DISCOUNT", "chargeType": "monthly", "amount": "5", "reason": "x"},
        "lines.0.priceAdjustments.0.chargeType",
        "UNKNOWN_CHARGE_TYPE",
    ),
    (
        {"kind": "DISCOUNT", "chargeType": "recurring", "amount": "5", "reason": "  "},
        "lines.0.priceAdjustments.0.reason",
        "REQUIRED",
    ),
    (
        {"kind": "DISCOUNT", "chargeType": "oneTime", "amount": "500", "reason": "x"},
        "lines.0.priceAdjustments.0",
        "NEGATIVE_PRICE",
    ),
]


@pytest.mark.parametrize("adjustment,field,code", BAD)
def test_bad_adjustments_get_typed_errors_and_store_nothing(runtime, adjustment, field, code):
    before = counts(runtime)
    with client(runtime) as agent:
        data = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [fibre_line(adjustments=[adjustment])]}})
    assert data["orderCreate"]["order"] is None
    assert [(e["field"], e["code"]) for e in data["orderCreate"]["errors"]] == [(field, code)]
    assert counts(runtime) == before


def test_a_failed_edit_changes_nothing(runtime):
    with client(runtime) as agent:
        order = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [fibre_line(term=24)]}})["orderCreate"]["order"]
        bad = {"kind": "SURCHARGE", "chargeType": "usage", "amount": "1", "reason": "x"}
        data = gql(agent, UPDATE, {"input": {"id": order["id"], "lines": [fibre_line(term=12)], "priceAdjustments": [bad]}})
        assert [e["code"] for e in data["orderUpdate"]["errors"]] == ["UNKNOWN_CHARGE_TYPE"]
        after = gql(agent, READ, {"id": order["id"]})["order"]
    assert after == order


def test_customers_cannot_adjust_or_choose_a_segment_but_see_their_prices(runtime):
    adjustment = {"kind": "DISCOUNT", "chargeType": "recurring", "percentage": "5", "reason": "please"}
    with client(runtime, "customer", "ACME") as customer:
        refused = gql(customer, CREATE, {"input": {"customerId": "ACME", "lines": [fibre_line(adjustments=[adjustment])]}})
        assert [e["code"] for e in refused["orderCreate"]["errors"]] == ["ADJUSTMENT_NOT_ALLOWED"]
        refused = gql(customer, CREATE, {"input": {"customerId": "ACME", "segment": "vip", "lines": [fibre_line()]}})
        assert [(e["field"], e["code"]) for e in refused["orderCreate"]["errors"]] == [("segment", "FORBIDDEN")]
        order = gql(customer, CREATE, {"input": {"customerId": "ACME", "lines": [fibre_line()]}})["orderCreate"]["order"]
        assert order["channel"] == "portal" and order["orderTotalPrice"]
        lists = gql(customer, "{ priceLists { key currency productOfferingPrice { offeringKey priceType matrix } } }")[
            "priceLists"
        ]
        assert {p["key"] for p in lists} >= {"tsm-standard-eur", "list.EUR"}
        standard = next(p for p in lists if p["key"] == "tsm-standard-eur")["productOfferingPrice"]
        assert any(
            p["offeringKey"].startswith("fibre-broadband") and p["matrix"] for p in standard
        )  # each charge names its offering
    with client(runtime, "order_fulfillment_agent") as fulfilment:  # no price:read
        body = fulfilment.post("/graphql", json={"query": "{ priceLists { key } }"}).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_offerings_show_their_prices(runtime):
    with client(runtime) as agent:
        offerings = gql(
            agent,
            "{ productOfferings { key productOfferingPrice { priceList priceType matrix amount { amount } tiers { minQuantity } } } }",
        )
    by_key = {o["key"]: o["productOfferingPrice"] for o in offerings["productOfferings"]}
    fibre = [p for p in by_key["fibre-broadband-1000"] if p["priceList"] == "tsm-standard-eur"]
    assert {(p["priceType"], p["matrix"]) for p in fibre} == {("oneTime", None), ("recurring", FIBRE_MATRIX)}
    seats = [p for p in by_key["saas-analytics-pro"] if p["priceList"] == "tpsm-standard" and p["tiers"]]
    assert [t["minQuantity"] for t in seats[0]["tiers"]] == [1, 100, 500]


def test_per_seat_tiers_and_the_seat_promotion(runtime):
    chars = {"companyName": "Acme Widgets Ltd", "seats": 300, "region": "eu"}
    line = {"offering": "saas-analytics-pro", "characteristics": [{"name": k, "value": v} for k, v in chars.items()]}
    with client(runtime) as agent:
        order = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [line]}})["orderCreate"]
    assert order["errors"] == [], order
    [line] = order["order"]["lines"]
    # platform 499 + 300 seats at the 100+ tier (10.00)
    assert amount(of_type(line["itemTotalPrice"], "recurring")["price"]) == Decimal("3499.00")
    onboarding = of_type(line["itemTotalPrice"], "oneTime")
    assert (
        amount(onboarding["price"]) == Decimal("0.00")
        and onboarding["priceAlteration"][0]["source"]["table"] == "tpsm.promotions"
    )


def test_an_order_priced_before_pricing_shows_its_unit_prices(runtime):
    with client(runtime) as agent:
        order = gql(agent, CREATE, {"input": {"customerId": "ACME", "lines": [fibre_line(term=24, static_ip=False)]}})
        order_id = int(_node_id(order["orderCreate"]["order"]["id"]))
        with runtime.sessions() as s:  # as migration 0012 left the rows of older orders
            s.get(Order, order_id).total_prices = None
            for line in s.scalars(select(OrderLine).where(OrderLine.order_id == order_id)):
                line.prices = None
            s.commit()
        legacy = gql(agent, READ, {"id": order["orderCreate"]["order"]["id"]})["order"]
    assert [(p["priceType"], amount(p["price"])) for p in legacy["orderTotalPrice"]] == [
        ("oneTime", Decimal("49.00")),
        ("recurring", Decimal("54.95")),
    ]
    [line] = legacy["lines"]
    assert [(p["priceType"], amount(p["price"], "taxIncludedAmount")) for p in line["itemTotalPrice"]] == [
        ("oneTime", Decimal("49.00")),
        ("recurring", Decimal("54.95")),
    ]
    assert line["priceDelta"] is None


def test_an_agent_may_choose_a_price_list_a_customer_may_not(runtime):
    line = fibre_line(term=24, static_ip=False)
    with client(runtime) as agent:
        chosen = gql(agent, CREATE, {"input": {"customerId": "ACME", "priceList": "list.EUR", "lines": [line]}})["orderCreate"]
        assert chosen["errors"] == [] and chosen["order"]["priceList"] == "list.EUR"
        assert chosen["order"]["recurringTotal"]["amount"] == "54.95"  # the offering's own price, no tax
        assert of_type(chosen["order"]["orderTotalPrice"], "recurring")["price"]["taxRate"] == "0"
        # an edit without a price list goes back to the defaulting rule
        edited = gql(agent, UPDATE, {"input": {"id": chosen["order"]["id"], "lines": [line]}})["orderUpdate"]["order"]
        assert edited["priceList"] == "tsm-standard-eur"
        unknown = gql(agent, CREATE, {"input": {"customerId": "ACME", "priceList": "no-such-list", "lines": [line]}})
        assert [(e["field"], e["code"]) for e in unknown["orderCreate"]["errors"]] == [("priceList", "NO_PRICE_LIST")]
        # a list that does not price the offering
        other = gql(agent, CREATE, {"input": {"customerId": "ACME", "priceList": "tpsm-standard", "lines": [line]}})
        assert [(e["field"], e["code"]) for e in other["orderCreate"]["errors"]] == [("lines.0.offering", "NOT_PRICED")]
    with client(runtime, "customer", "ACME") as customer:
        refused = gql(customer, CREATE, {"input": {"customerId": "ACME", "priceList": "list.EUR", "lines": [line]}})
        assert [(e["field"], e["code"]) for e in refused["orderCreate"]["errors"]] == [("priceList", "ADJUSTMENT_NOT_ALLOWED")]
