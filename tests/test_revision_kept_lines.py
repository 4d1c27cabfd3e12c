"""A revision re-validates the lines it changes, not the product status its own kept lines moved:
an order whose suspend line already suspended its product is still revisable on its other lines
(core/ordering/validation.py ``editing``; core/change/revision.py)."""

from __future__ import annotations

from tests import support
from tests.test_post_fulfilment import _create, _order, _product, _sold, client  # noqa: F401  (the fixture)
from tests.test_revision import REVISE, _gql


def _line_states(client, order_id):  # noqa: F811
    return {line["lineNumber"]: line["state"] for line in _order(client, order_id)["lines"]}


def test_a_line_is_revised_after_a_kept_suspend_line_suspended_its_product(client):  # noqa: F811
    _, product_id = _sold(client)
    created = _create(
        client,
        [
            {"action": "SUSPEND", "productId": product_id},
            {
                "offering": "test-internet",
                "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
            },
        ],
    )
    assert created["errors"] == [], created["errors"]
    order_id = created["order"]["id"]
    support.wait_for(lambda: _line_states(client, order_id)[1] == "COMPLETED", 30, message="the suspend line done")
    assert _product(client, product_id)["status"] == "SUSPENDED"

    version = _gql(client, "query($id: ID!) { order(id: $id) { version } }", {"id": order_id})["order"]["version"]
    revised = _gql(
        client,
        REVISE,
        {
            "input": {
                "id": order_id,
                "version": version,
                "reason": "the customer moved",
                "lines": [{"lineNumber": 2, "characteristics": [{"name": "address", "value": "9 New Rd"}]}],
            }
        },
    )["orderRevise"]
    assert revised["errors"] == [], revised["errors"]
    assert [c["path"] for c in revised["revision"]["diff"]] == ["lines.2.characteristics.address"]
    # The kept suspend line is not suspended again: still one product transition.
    assert _product(client, product_id)["status"] == "SUSPENDED"
