"""A suspend line carries its offering's suspension fee (catalog term ``suspension_fee``) as a
one-time charge, through GraphQL; a resume line and a suspend of an offering without the term
carry none."""

from __future__ import annotations

from tests.test_post_fulfilment import _completed, _create, _gql, _sold, client  # noqa: F401  (the fixture)

PRICED = """
query($id: ID!) { order(id: $id) {
  oneTimeTotal { amount currency }
  orderTotalPrice { priceType price { dutyFreeAmount { amount } } }
  lines { action itemTotalPrice { name priceType price { dutyFreeAmount { amount currency } } } }
} }"""


def _priced(client, action, product_id):  # noqa: F811
    created = _create(client, [{"action": action, "productId": product_id}])
    assert created["errors"] == [], created["errors"]
    return created["order"]["id"], _gql(client, PRICED, {"id": created["order"]["id"]})["order"]


def test_a_suspend_line_is_charged_the_offerings_suspension_fee_and_a_resume_nothing(client):  # noqa: F811
    _, product_id = _sold(client, "test-line-100")
    suspend_id, order = _priced(client, "SUSPEND", product_id)
    [line] = order["lines"]
    assert [(p["name"], p["priceType"], p["price"]["dutyFreeAmount"]["amount"]) for p in line["itemTotalPrice"]] == [
        ("Suspension fee", "oneTime", "5.00")
    ]
    assert order["oneTimeTotal"]["amount"] == "5.00"
    assert [t["priceType"] for t in order["orderTotalPrice"]] == ["oneTime"]
    _completed(client, suspend_id)
    _, resumed = _priced(client, "RESUME", product_id)
    assert resumed["lines"][0]["itemTotalPrice"] == [] and resumed["oneTimeTotal"]["amount"] == "0.00"


def test_a_suspend_of_an_offering_without_the_term_is_free(client):  # noqa: F811
    _, product_id = _sold(client, "test-line-200")
    _, order = _priced(client, "SUSPEND", product_id)
    assert order["lines"][0]["itemTotalPrice"] == [] and order["oneTimeTotal"]["amount"] == "0.00"
