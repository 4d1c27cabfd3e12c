"""A soft point of no return's charge, written by the revision that acknowledged it, is held by the
order's later revisions (core/change/charges.py ``held_charges``/``restore_charges``): a second
revision that prices the order again keeps it on the line and the order exactly once, whether the
charged line was removed (a line added next) or kept (the same bundle member revised again, with a
second acknowledgement). Through GraphQL on the PONR fixture pack (tests/fixture_ponr_pack.py)."""

from __future__ import annotations

from decimal import Decimal

from tests import fixture_ponr_pack, support
from tests.test_revision import (  # noqa: F401  (client: the fixture)
    CLAIM,
    COMPLETE,
    _create,
    _gql,
    _internet,
    _order,
    _ready,
    _revise,
    _tasks,
    client,
)

PRICES = """
query($id: ID!) { order(id: $id) {
  version
  orderTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name price { dutyFreeAmount { amount } } } }
  lines {
    lineNumber quantity
    itemTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name price { dutyFreeAmount { amount } } } }
  }
} }"""
CHARGE = "Point of no return charge: Ship the box"
CHARGES = "Point of no return charges"  # the order's total of them


def _prices(client, order_id):  # noqa: F811
    return _gql(client, PRICES, {"id": order_id})["order"]


def _entry(entries, price_type):
    return next(e for e in entries if e["priceType"] == price_type)


def _amount(entry):
    return Decimal(entry["price"]["dutyFreeAmount"]["amount"])


def _named(entries, name):
    """The price alterations called ``name`` across ``entries``, with their amounts."""
    return [_amount(a) for e in entries for a in e["priceAlteration"] if a["name"] == name]


def _assert_charged_once(prices, *, recurring):
    """The box (line 1, removed by revision 1) keeps its 25.00 charge once on its line, and the
    order's one-time total is that charge alone (the removed box's own prices are gone)."""
    line = {line["lineNumber"]: line for line in prices["lines"]}
    box = line[1]["itemTotalPrice"]
    assert _named(box, CHARGE) == [fixture_ponr_pack.SHIP_CHARGE], box
    assert _amount(_entry(box, "oneTime")) == Decimal("10.00") + fixture_ponr_pack.SHIP_CHARGE
    for number, other in line.items():
        if number != 1:
            assert not [a for e in other["itemTotalPrice"] for a in e["priceAlteration"] if a["name"].startswith("Point of")]
    totals = prices["orderTotalPrice"]
    assert _named(totals, CHARGES) == [fixture_ponr_pack.SHIP_CHARGE], totals
    assert _amount(_entry(totals, "oneTime")) == fixture_ponr_pack.SHIP_CHARGE
    assert _amount(_entry(totals, "recurring")) == recurring


def test_a_second_revision_keeps_the_soft_ponr_charge_the_first_wrote_exactly_once(client):  # noqa: F811
    agent = support.bearer(client.app.state.runtime, "order_fulfillment_agent")  # works the manual tasks
    order_id = _create(client, [{"offering": "ponr-box"}, {"offering": "ponr-slow"}])
    [ship] = _ready(client, order_id, "ponr.ship")
    taken = client.post("/graphql", json={"query": CLAIM, "variables": {"id": ship["id"]}}, headers=agent).json()
    assert taken["data"]["taskClaim"]["errors"] == [], taken  # taken: line 1 passes its soft point of no return

    # Revision 1: the box removed, acknowledged (its offering allows no other change: quantity 1,
    # no characteristics); the charge is written on line 1 and the order.
    version = _order(client, order_id)["version"]
    first = _revise(client, order_id, version, acknowledgePointOfNoReturn=True, lines=[{"lineNumber": 1, "remove": True}])
    assert first["errors"] == [], first["errors"]
    [charge] = first["revision"]["charges"]
    assert (charge["lineNumber"], charge["amount"]) == (1, fixture_ponr_pack.SHIP_CHARGE.to_eng_string())
    _assert_charged_once(_prices(client, order_id), recurring=Decimal("3.00"))
    support.wait_for(
        lambda: _order(client, order_id)["revisions"][-1]["state"] == "COMPLETED", 60, message="revision 1 done"
    )  # the box's prepare undone, its ship and activate cancelled
    _assert_charged_once(_prices(client, order_id), recurring=Decimal("3.00"))

    # Revision 2: a line added (no PONR of its own): the order is priced again.
    second = _revise(client, order_id, _order(client, order_id)["version"], addLines=[{"offering": "ponr-plain"}])
    assert second["errors"] == [], second["errors"]
    assert not second["revision"]["charges"], second["revision"]  # nothing charged again
    prices = _prices(client, order_id)
    assert sorted(line["lineNumber"] for line in prices["lines"]) == [1, 2, 3]
    _assert_charged_once(prices, recurring=Decimal("5.00"))  # the add-on's 3.00 and the new line's 2.00


def _line_prices(prices, number):
    return next(line for line in prices["lines"] if line["lineNumber"] == number)["itemTotalPrice"]


def test_a_kept_bundle_member_keeps_the_charge_once_across_two_acknowledged_revisions(client):  # noqa: F811
    agent = support.bearer(client.app.state.runtime, "order_fulfillment_agent")
    box = {"offering": "ponr-box", "relationships": [{"lineNumber": 2, "relationshipType": "bundles"}]}
    order_id = _create(client, [box, _internet()])
    [ship] = _ready(client, order_id, "ponr.ship")
    taken = client.post("/graphql", json={"query": CLAIM, "variables": {"id": ship["id"]}}, headers=agent).json()
    assert taken["data"]["taskClaim"]["errors"] == [], taken  # the box, and so its bundle, past the soft PONR

    # Revision 1: the internet line (bundled with the box) to 2 units, acknowledged: charged on it.
    version = _order(client, order_id)["version"]
    first = _revise(client, order_id, version, acknowledgePointOfNoReturn=True, lines=[{"lineNumber": 2, "quantity": 2}])
    assert first["errors"] == [], first["errors"]
    [charge] = first["revision"]["charges"]
    assert (charge["lineNumber"], charge["amount"]) == (2, fixture_ponr_pack.SHIP_CHARGE.to_eng_string())

    def charged(units):
        prices = _prices(client, order_id)
        internet = _line_prices(prices, 2)
        assert _named(internet, CHARGE) == [fixture_ponr_pack.SHIP_CHARGE], internet
        assert _amount(_entry(internet, "oneTime")) == units * Decimal("49.00") + fixture_ponr_pack.SHIP_CHARGE
        assert _amount(_entry(internet, "recurring")) == units * Decimal("29.99")
        assert _named(_line_prices(prices, 1), CHARGE) == []
        totals = prices["orderTotalPrice"]
        assert _named(totals, CHARGES) == [fixture_ponr_pack.SHIP_CHARGE], totals
        one_time = Decimal("10.00") + units * Decimal("49.00") + fixture_ponr_pack.SHIP_CHARGE
        assert _amount(_entry(totals, "oneTime")) == one_time
        assert _amount(_entry(totals, "recurring")) == Decimal("5.00") + units * Decimal("29.99")

    charged(2)
    added = {t["id"] for t in first["revision"]["compensation"]["add"] if t["key"] == "test.install"}

    def first_done():
        order = _order(client, order_id)
        for task in [t for t in _tasks(order) if t["id"] in added and t["state"] == "READY"]:
            done = _gql(client, COMPLETE, {"id": task["id"], "chars": [{"name": "ontSerial", "value": "S"}]})["taskComplete"]
            assert done["errors"] == [], done["errors"]
        return order["revisions"][-1]["state"] == "COMPLETED"

    support.wait_for(first_done, 60, interval=0.5, message="revision 1 done")
    charged(2)

    # Revision 2: the same line to 3 units, acknowledged again: priced again, charged once still.
    version = _order(client, order_id)["version"]
    change = {"lines": [{"lineNumber": 2, "quantity": 3}]}
    asked = _revise(client, order_id, version, **change)
    assert [e["code"] for e in asked["errors"]] == ["PONR_ACKNOWLEDGEMENT_REQUIRED"], asked
    second = _revise(client, order_id, version, acknowledgePointOfNoReturn=True, **change)
    assert second["errors"] == [], second["errors"]
    assert not second["revision"]["charges"], second["revision"]  # the (line, task) was charged already
    charged(3)
