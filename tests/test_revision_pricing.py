"""A revision prices the order again as it was sold (core/change/revision.py, ordering/pricing.py
``SoldAs``): the stored segment, channel and price list, the manual adjustments the order and its
lines were captured with (kept unless restated), and the charges earlier changes added."""

from __future__ import annotations

from decimal import Decimal

from tests.test_revision import CREATE, REVISE, _gql, _internet, _order, _ready, client  # noqa: F401  (the fixture)

PRICES = """
query($id: ID!) { order(id: $id) {
  version segment priceList
  orderTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name } }
  lines { lineNumber quantity itemTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name } } }
} }"""


def _prices(client, order_id):  # noqa: F811
    return _gql(client, PRICES, {"id": order_id})["order"]


def _alterations(entries):
    return sorted(a["name"] for e in entries for a in e["priceAlteration"] or ())


def _recurring(entries):
    return Decimal(next(e for e in entries if e["priceType"] == "recurring")["price"]["dutyFreeAmount"]["amount"])


def test_a_revision_keeps_the_segment_price_list_and_manual_adjustments(client):  # noqa: F811
    line = {
        **_internet(),
        "priceAdjustments": [{"kind": "DISCOUNT", "chargeType": "recurring", "reason": "loyalty", "percentage": "5"}],
    }
    created = _gql(
        client,
        CREATE,
        {
            "input": {
                "customerId": "REV",
                "segment": "business",
                "lines": [line],
                "priceAdjustments": [{"kind": "SURCHARGE", "chargeType": "oneTime", "reason": "express", "amount": "20"}],
                "requestedInitialState": "ACKNOWLEDGED",
            }
        },
    )["orderCreate"]
    assert created["errors"] == [], created["errors"]
    order_id = created["order"]["id"]
    _ready(client, order_id, "test.install")
    before = _prices(client, order_id)
    assert "Manual discount" in _alterations(before["lines"][0]["itemTotalPrice"])

    revised = _gql(
        client,
        REVISE,
        {
            "input": {
                "id": order_id,
                "version": before["version"],
                "reason": "two of them",
                "lines": [{"lineNumber": 1, "quantity": 2}],
            }
        },
    )["orderRevise"]
    assert revised["errors"] == [], revised["errors"]
    after = _prices(client, order_id)
    assert (after["segment"], after["priceList"]) == (before["segment"], before["priceList"])
    [line_after] = after["lines"]
    assert line_after["quantity"] == 2
    assert _alterations(line_after["itemTotalPrice"]) == _alterations(before["lines"][0]["itemTotalPrice"])
    assert _alterations(after["orderTotalPrice"]) == _alterations(before["orderTotalPrice"]) != []
    # Two units, each 5 % off as captured: the discount is kept, not dropped nor doubled.
    assert _recurring(line_after["itemTotalPrice"]) == 2 * _recurring(before["lines"][0]["itemTotalPrice"])


def test_an_added_lines_adjustments_survive_the_request_stored_for_approval():
    from om_graph.core.change.revision_input import RevisionInput
    from om_graph.core.ordering.commands import LineInput
    from om_graph.core.pricing.request import DISCOUNT, RECURRING, PriceAdjustment

    added = LineInput(
        offering="test-internet", price_adjustments=(PriceAdjustment(DISCOUNT, RECURRING, "loyalty", percentage=Decimal("5")),)
    )
    request = RevisionInput(add_lines=(added,))
    assert RevisionInput.from_json(request.as_json()).add_lines[0].price_adjustments == added.price_adjustments
