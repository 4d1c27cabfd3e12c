"""Changes to what was sold, through GraphQL (issue 14): a future-dated suspend released on time
across a runtime restart (once: one bar call, one product transition), then a resume; a tier
upgrade within an offering family (the product's offering and price change); suspend of a
pending product and resume of an active one refused; a quantity change reaching the
entitlements; the TMF637 statuses in the flow and the product's history. The order's event
history is the evidence throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_pack, fixture_post_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field message code } }
}"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state requestedStartDate
    lines { lineNumber action state }
    products { id status }
    events { type entityKind fromState toState payload }
    timeline { lines { domainOrders { tasks { key state releaseAt } } } }
  }
}"""
PRODUCT = """
query($id: ID!) {
  node(id: $id) {
    ... on Product {
      id status offeringKey name
      recurringPrice { amount currency }
      characteristics { name value }
      entitlements { name quantity status }
      history { event fromStatus toStatus orderId orderLineId actor characteristics { name value } }
    }
  }
}"""


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _runtime(make_runtime, url):
    return make_runtime(
        url,
        extra_plugins=(fixture_pack, fixture_post_pack),
        task_lease_seconds=30,
        worker_threads=4,
        reconcile_interval_seconds=0.5,
        redispatch_after_seconds=1.0,
    )


@pytest.fixture
def client(make_runtime, sqlite_url):
    fixture_post_pack.CALLS.clear()
    runtime = _runtime(make_runtime, sqlite_url)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def _create(client, lines, **extra):
    created = _gql(
        client, CREATE, {"input": {"customerId": "POST", "lines": lines, "requestedInitialState": "ACKNOWLEDGED", **extra}}
    )["orderCreate"]
    return created


def _order(client, order_id):
    return _gql(client, ORDER, {"id": order_id})["order"]


def _product(client, product_id):
    return _gql(client, PRODUCT, {"id": product_id})["node"]


def _completed(client, order_id, timeout=30):
    def done():
        order = _order(client, order_id)
        return order if order["state"] in ("COMPLETED", "FAILED") else None

    order = support.wait_for(done, timeout, message=f"order {order_id} to finish")
    assert order["state"] == "COMPLETED", order
    return order


def _sold(client, offering="test-line-100", characteristics=()):
    created = _create(client, [{"offering": offering, "characteristics": list(characteristics)}])
    assert created["errors"] == []
    order = _completed(client, created["order"]["id"])
    [product] = order["products"]
    return order, product["id"]


def _change(client, action, product_id, **line):
    created = _create(client, [{"action": action, "productId": product_id, **line}])
    assert created["errors"] == [], created["errors"]
    return created["order"]["id"]


def _product_events(order):
    return [(e["fromState"], e["toState"], e["payload"]["event"]) for e in order["events"] if e["entityKind"] == "product"]


def _tasks(order):
    return [t for line in order["timeline"]["lines"] for d in line["domainOrders"] for t in d["tasks"]]


def _history(product):
    return [(h["event"], h["fromStatus"], h["toStatus"]) for h in product["history"]]


def test_an_add_line_goes_created_pending_active_active_with_its_history(client):
    order, product_id = _sold(client)
    assert _product_events(order) == [("created", "pendingActive", "startActivation"), ("pendingActive", "active", "activate")]
    product = _product(client, product_id)
    assert product["status"] == "ACTIVE"
    assert _history(product) == [
        ("create", None, "CREATED"),
        ("startActivation", "CREATED", "PENDING_ACTIVE"),
        ("activate", "PENDING_ACTIVE", "ACTIVE"),
    ]
    assert {h["orderId"] for h in product["history"]} == {order["id"]}
    assert product["history"][-1]["actor"] == "system"


def test_a_future_dated_suspend_fires_on_time_across_a_restart_then_a_resume(make_runtime, sqlite_url):
    fixture_post_pack.CALLS.clear()
    first = _runtime(make_runtime, sqlite_url)
    headers = support.bearer(first, "order_manager")
    start = datetime.now(UTC) + timedelta(seconds=4)
    with TestClient(create_app(runtime=first), headers=headers) as client:
        _, product_id = _sold(client)
        created = _create(
            client,
            [{"action": "SUSPEND", "productId": product_id}],
            requestedStartDate=start.isoformat().replace("+00:00", "Z"),
        )
        assert created["errors"] == []
        suspend_id = created["order"]["id"]

        def waiting():
            tasks = _tasks(_order(client, suspend_id))
            return tasks if tasks and tasks[0]["releaseAt"] else None

        [bar] = support.wait_for(waiting, 15, message="the bar task to wait for the start date")
        assert bar["key"] == "test.post.bar" and bar["state"] == "PENDING"
        release_at = datetime.fromisoformat(bar["releaseAt"].replace("Z", "+00:00")).replace(tzinfo=UTC)
        assert abs(release_at - start) < timedelta(seconds=1)  # the start gate: the requested start date
        assert fixture_post_pack.calls("test.post.bar") == []
        assert _product(client, product_id)["status"] == "ACTIVE"
    first.stop()  # the delayed release job dies with it

    second = _runtime(make_runtime, sqlite_url)  # a new runtime on the same database
    with TestClient(create_app(runtime=second), headers=headers) as client:
        order = _completed(client, suspend_id, timeout=30)
        [bar_call] = fixture_post_pack.calls("test.post.bar")  # fired once
        assert datetime.now(UTC) >= start
        [bar] = _tasks(order)
        assert bar["state"] == "COMPLETED"
        assert _product_events(order) == [("active", "suspended", "suspend")]  # one product transition
        product = _product(client, product_id)
        assert product["status"] == "SUSPENDED"
        assert _history(product)[-1] == ("suspend", "ACTIVE", "SUSPENDED")
        assert product["history"][-1]["orderId"] == suspend_id

        # A suspended product is not suspended again; it resumes (now).
        refused = _create(client, [{"action": "SUSPEND", "productId": product_id}])
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.productId", "PRODUCT_ALREADY_SUSPENDED")]
        resume_id = _change(client, "RESUME", product_id)
        order = _completed(client, resume_id)
        assert [c[0] for c in fixture_post_pack.calls("test.post.unbar")] == ["test.post.unbar"]
        assert _product_events(order) == [("suspended", "active", "resume")]
        assert _product(client, product_id)["status"] == "ACTIVE"
        assert fixture_post_pack.calls("test.post.bar") == [bar_call]


def test_resume_of_an_active_product_and_changes_of_a_pending_one_are_refused(client):
    _, product_id = _sold(client)
    refused = _create(client, [{"action": "RESUME", "productId": product_id}])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.productId", "PRODUCT_NOT_SUSPENDED")]
    assert "active" in refused["errors"][0]["message"]

    # A product whose own order is still at work (a manual installation waits) is pending.
    created = _create(
        client,
        [
            {
                "offering": "test-internet",
                "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
            }
        ],
    )
    assert created["errors"] == []
    pending_order = created["order"]["id"]
    products = support.wait_for(lambda: _order(client, pending_order)["products"], 15, message="the placeholder")
    [pending] = products
    for action in ("SUSPEND", "MODIFY", "DELETE"):
        refused = _create(client, [{"action": action, "productId": pending["id"]}])
        [error] = refused["errors"]
        assert (error["field"], error["code"]) == ("lines.0.productId", "PRODUCT_PENDING"), error
        assert error["message"].startswith("product is created") or error["message"].startswith("product is pendingActive")


def test_a_tier_upgrade_changes_the_products_offering_and_price(client):
    _, product_id = _sold(client, characteristics=[{"name": "label", "value": "home"}])
    assert _product(client, product_id)["recurringPrice"]["amount"] == "30.00"

    refused = _create(client, [{"action": "MODIFY", "productId": product_id, "offering": "test-line-other"}])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.offering", "TIER_CHANGE_SPECIFICATION")]
    refused = _create(client, [{"action": "MODIFY", "productId": product_id, "offering": "test-seats"}])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.offering", "NOT_IN_FAMILY")]

    upgrade_id = _change(client, "MODIFY", product_id, offering="test-line-200")
    order = _completed(client, upgrade_id)
    assert _product_events(order) == [("active", "active", "modify")]
    product = _product(client, product_id)
    assert (product["offeringKey"], product["name"], product["recurringPrice"]["amount"]) == (
        "test-line-200",
        "Line 200",
        "45.00",
    )
    assert {c["name"]: c["value"] for c in product["characteristics"]}["label"] == "home"
    assert product["history"][-1] | {"characteristics": None} == {
        "event": "modify",
        "fromStatus": "ACTIVE",
        "toStatus": "ACTIVE",
        "orderId": upgrade_id,
        "orderLineId": product["history"][-1]["orderLineId"],
        "actor": "system",
        "characteristics": None,
    }
    assert [c[0] for c in fixture_post_pack.calls("test.post.provision")] == ["test.post.provision"] * 2


def test_a_quantity_change_updates_the_entitlements(client):
    _, product_id = _sold(client, "test-seats", [{"name": "seats", "value": 5}])
    assert [(e["name"], e["quantity"]) for e in _product(client, product_id)["entitlements"]] == [("seat", 5)]

    refused = _create(
        client, [{"action": "MODIFY", "productId": product_id, "characteristics": [{"name": "seats", "value": 80}]}]
    )
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.characteristics.seats", "OUT_OF_RANGE")]

    change_id = _change(client, "MODIFY", product_id, characteristics=[{"name": "seats", "value": 12}])
    _completed(client, change_id)
    product = _product(client, product_id)
    assert [(e["name"], e["quantity"], e["status"]) for e in product["entitlements"]] == [("seat", 12, "active")]
    assert {h["name"]: h["value"] for h in product["history"][-1]["characteristics"]}["seats"] == 12


def test_a_disconnect_goes_pending_terminate_then_terminated(client):
    _, product_id = _sold(client)
    delete_id = _change(client, "DELETE", product_id)
    order = _completed(client, delete_id)
    assert _product_events(order) == [
        ("active", "pendingTerminate", "startTermination"),
        ("pendingTerminate", "terminated", "terminate"),
    ]
    assert _history(_product(client, product_id))[-2:] == [
        ("startTermination", "ACTIVE", "PENDING_TERMINATE"),
        ("terminate", "PENDING_TERMINATE", "TERMINATED"),
    ]


# -- the shipped packs ----------------------------------------------------------------------------


@pytest.fixture
def packs(make_runtime, sqlite_url):
    """The shipped packs (tsm, tpsm) and the embedded workers, as a user of the demo gets them."""
    runtime = make_runtime(sqlite_url, extra_plugins=(), load_entrypoints=True, task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def test_a_saas_tenant_is_locked_unlocked_upgraded_and_resized(packs):
    chars = [{"name": "companyName", "value": "Globex"}, {"name": "seats", "value": 10}]
    order, product_id = _sold(packs, "saas-analytics-starter", chars)
    before = _product(packs, product_id)["recurringPrice"]["amount"]

    order = _completed(packs, _change(packs, "SUSPEND", product_id), timeout=60)
    assert [t["key"] for t in _tasks(order)] == ["tpsm.lock-tenant"]
    assert _product(packs, product_id)["status"] == "SUSPENDED"
    order = _completed(packs, _change(packs, "RESUME", product_id), timeout=60)
    assert [t["key"] for t in _tasks(order)] == ["tpsm.unlock-tenant"]
    assert _product_events(order) == [("suspended", "active", "resume")]

    # The editions are one family: starter -> pro is a tier change (priced as pro), with more seats.
    upgrade = _change(
        packs, "MODIFY", product_id, offering="saas-analytics-pro", characteristics=[{"name": "seats", "value": 40}]
    )
    _completed(packs, upgrade, timeout=60)
    product = _product(packs, product_id)
    assert (product["offeringKey"], product["name"]) == ("saas-analytics-pro", "Analytics Pro")
    assert float(product["recurringPrice"]["amount"]) > float(before)  # priced as pro (the pack's price list)
    entitlements = {(e["name"], e["quantity"], e["status"]) for e in product["entitlements"]}
    # The new tier's entitlements: seats resized, storage as pro grants it, pro's support plan
    # instead of starter's.
    assert {
        ("licence-seats", 40, "active"),
        ("storage", 500, "active"),
        ("support-priority", 1, "active"),
        ("support-standard", 1, "revoked"),
    } <= entitlements, entitlements
    assert [h["event"] for h in product["history"]][-3:] == ["suspend", "resume", "modify"]


# -- the status table agrees with the product machine ---------------------------------------------


@pytest.mark.parametrize("action", ["modify", "delete", "suspend", "resume"])
def test_every_status_a_line_may_change_lets_its_completion_fire(action):
    """A line accepted on a product in some status can complete on it: the event its settlement
    fires (or, for a delete, the start and the termination) is one the product's machine takes
    from that status; every other status is refused with a typed code naming it."""
    from om_graph.core.inventory.states import PRODUCT, PRODUCT_LINE_EVENTS, ProductStatuses
    from om_graph.core.ordering.validation import product_status_error

    completion = {"modify": None, "delete": "terminate"}.get(action) or PRODUCT_LINE_EVENTS.get((action, "complete"))
    for status in ProductStatuses.values():
        error = product_status_error(action, status, "lines.0.productId")
        if error is None:
            if action == "modify":
                assert PRODUCT.can(status, "modify") or PRODUCT.can(status, "modifySuspended"), status
            else:
                assert PRODUCT.can(status, completion), (action, status)
            if action == "delete":
                assert PRODUCT.can(status, "startTermination"), status
        else:
            assert status in error.message and error.code, (action, status, error)
