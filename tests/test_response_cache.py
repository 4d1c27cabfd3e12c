"""Order reads through GraphQL over HTTP. The order-detail response cache: repeated reads are
answered from it, and never with anything stale: every write shown in a detail (the order's own
progress, a later order modifying its product) invalidates it, and askers with other permissions
or accounts never share an answer. And reads load the children a query selects, fragments
included."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field code message } }
}"""
DETAIL = """
query($id: ID!) {
  order(id: $id) {
    id state version
    oneTimeTotal { amount currency }
    lines { quantity state characteristics { name value } }
    domainOrders { state tasks { state attempts } }
    products { id status characteristics { name value } }
  }
}"""
UPDATE = """
mutation($input: OrderUpdateInput!) { orderUpdate(input: $input) { order { id version } errors { code } } }"""


def _line(**chars):
    return {"offering": "test-auto", "quantity": 1, "characteristics": [{"name": k, "value": v} for k, v in chars.items()]}


@pytest.fixture
def server(make_runtime, database_url):
    # No workers: the test moves orders along itself, so it knows exactly when data changes.
    runtime = make_runtime(database_url, embedded_workers=False)
    app = create_app(runtime=runtime)
    with TestClient(app) as client:
        client.runtime = runtime
        client.cache = next(r.app for r in app.routes if getattr(r, "path", "") == "/graphql" and hasattr(r.app, "cache")).cache
        yield client


def _gql(client, query, variables, headers):
    body = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
    assert "errors" not in body, body
    return body["data"]


def _create(client, headers, submit=False, **chars):
    data = {"customerId": "ACME", "lines": [_line(**chars)]}
    if submit:
        data["requestedInitialState"] = "ACKNOWLEDGED"
    created = _gql(client, CREATE, {"input": data}, headers)["orderCreate"]
    assert created["errors"] == []
    return created["order"]["id"]


def _run(client, order_gid):
    """What a worker does with a submitted order, synchronously."""
    from strawberry import relay

    order_id = int(relay.GlobalID.from_id(order_gid).node_id)
    client.runtime.services.orders.process(order_id, then_advance=True)


def test_repeated_reads_hit_and_every_change_is_seen(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, label="a")
    first = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    hits = server.cache.hits
    assert _gql(server, DETAIL, {"id": order_id}, staff)["order"] == first
    assert server.cache.hits == hits + 1

    # A draft edit is seen at once.
    updated = _gql(server, UPDATE, {"input": {"id": order_id, "lines": [_line(label="b")]}}, staff)
    assert updated["orderUpdate"]["errors"] == []
    edited = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    assert edited["lines"][0]["characteristics"] == [{"name": "label", "value": "b"}]
    assert edited["version"] == first["version"] + 1

    # So is every step of the order's life, down to its tasks and inventory.
    _gql(server, "mutation($id: ID!) { orderSubmit(input: {id: $id}) { errors { code } } }", {"id": order_id}, staff)
    assert _gql(server, DETAIL, {"id": order_id}, staff)["order"]["state"] == "ACKNOWLEDGED"
    _run(server, order_id)
    done = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    assert done["state"] == "COMPLETED"
    assert all(t["state"] == "COMPLETED" for d in done["domainOrders"] for t in d["tasks"])
    assert [p["status"] for p in done["products"]] == ["ACTIVE"]


def test_a_later_order_changing_the_product_invalidates_the_original_order(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, submit=True, label="first")
    _run(server, order_id)
    before = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    product = before["products"][0]
    hits = server.cache.hits
    assert _gql(server, DETAIL, {"id": order_id}, staff)["order"] == before
    assert server.cache.hits == hits + 1  # cached now

    change = {"customerId": "ACME", "requestedInitialState": "ACKNOWLEDGED",
              "lines": [{"action": "MODIFY", "productId": product["id"], "characteristics": [{"name": "label", "value": "second"}]}]}
    created = _gql(server, CREATE, {"input": change}, staff)["orderCreate"]
    assert created["errors"] == []
    _run(server, created["order"]["id"])

    after = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    chars = {c["name"]: c["value"] for c in after["products"][0]["characteristics"]}
    assert chars["label"] == "second"

    disconnect = {"customerId": "ACME", "requestedInitialState": "ACKNOWLEDGED", "lines": [{"action": "DELETE", "productId": product["id"]}]}
    created = _gql(server, CREATE, {"input": disconnect}, staff)["orderCreate"]
    _run(server, created["order"]["id"])
    assert _gql(server, DETAIL, {"id": order_id}, staff)["order"]["products"][0]["status"] == "TERMINATED"


def test_answers_are_not_shared_across_permissions_or_accounts(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, label="x")
    priced = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    assert priced["oneTimeTotal"] is not None

    # Same document, an asker without price:read: the field is refused, not served from cache.
    fulfilment = support.bearer(server.runtime, "order_fulfillment_agent")
    body = server.post("/graphql", json={"query": DETAIL, "variables": {"id": order_id}}, headers=fulfilment).json()
    assert body.get("errors") and (body["data"] is None or body["data"]["order"] is None or body["data"]["order"]["oneTimeTotal"] is None)

    # The owner's account sees it; another customer gets what a missing order gets.
    owner = support.bearer(server.runtime, "customer", account="ACME")
    stranger = support.bearer(server.runtime, "customer", account="OTHER")
    query = "query($id: ID!) { order(id: $id) { id state } }"
    assert _gql(server, query, {"id": order_id}, owner)["order"]["id"] == order_id
    assert _gql(server, query, {"id": order_id}, stranger)["order"] is None
    assert _gql(server, query, {"id": order_id}, owner)["order"]["id"] == order_id
    assert _gql(server, query, {"id": order_id}, stranger)["order"] is None


def test_only_plain_order_reads_are_cached(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, label="y")
    before = len(server.cache)
    _gql(server, "query { orders(first: 5) { edges { node { id } } } }", {}, staff)
    _gql(server, "query($id: ID!) { order(id: $id) { id } productOfferings { key } }", {"id": order_id}, staff)
    _gql(server, "query($id: ID!) { order(id: $id) @include(if: true) { id } }", {"id": order_id}, staff)
    assert len(server.cache) == before
    # Unknown or malformed ids are answered by the executor as before.
    assert _gql(server, "query { order(id: \"T3JkZXI6OTk5OTk=\") { id } }", {}, staff)["order"] is None
    body = server.post("/graphql", json={"query": "query { order(id: \"nonsense\") { id } }"}, headers=staff).json()
    assert body.get("errors")


def test_the_cache_stays_within_its_byte_budget_evicting_least_recently_used():
    from om_graph.schema.response_cache import Entry, ResponseCache

    cache = ResponseCache(max_bytes=20_000)
    keys = [(f"query {i:02d}", None, "{}", frozenset(), None) for i in range(40)]
    entry = lambda i: Entry(((i, 1),), 200, (), b"x" * 1_000)  # noqa: E731
    for i in range(15):
        cache.put(keys[i], entry(i))
    assert len(cache) == 15
    assert cache.get(keys[0], ((0, 1),)) is not None  # now the most recently used
    cache.put(keys[15], entry(15))
    assert cache.get(keys[1], ((1, 1),)) is None and cache.get(keys[0], ((0, 1),)) is not None
    for i in range(16, 40):
        cache.put(keys[i], entry(i))
    assert cache._bytes <= cache.max_bytes and len(cache) == 15
    assert cache.get(keys[39], ((39, 2),)) is None  # a newer revision never gets the old answer
    big = ("big", None, "{}", frozenset(), None)
    cache.put(big, Entry(((1, 1),), 200, (), b"y" * 5_000))
    assert cache.get(big, ((1, 1),)) is None  # over an eighth of the budget: not kept


def test_children_selected_through_fragments_are_loaded(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, submit=True, label="f")
    _run(server, order_id)
    query = """
    fragment Work on DomainOrder { state ... on DomainOrder { tasks { state } } }
    fragment Detail on Order { lines { state } domainOrders { ...Work } }
    query($id: ID!) { order(id: $id) { ...Detail ... on Order { products { status } } } }"""
    detail = _gql(server, query, {"id": order_id}, staff)["order"]
    assert detail["lines"] == [{"state": "COMPLETED"}]
    assert detail["domainOrders"] and all(d["tasks"] for d in detail["domainOrders"])
    assert detail["products"] == [{"status": "ACTIVE"}]
