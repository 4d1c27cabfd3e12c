"""Order reads through GraphQL over HTTP. The order-detail response cache: repeated reads are
answered from it, and never with anything stale: every write shown in a detail (the order's own
progress, a later order modifying its product) invalidates it, and askers with other permissions
or accounts never share an answer. And reads load the children a query selects, fragments
included."""

from __future__ import annotations

import pytest
from sqlalchemy import select
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
COMPLETE_TASK = """
mutation($id: ID!) {
  taskComplete(input: {id: $id, characteristics: [{name: "ontSerial", value: "S"}]}) { errors { code } }
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
    client.runtime.services.processing.process(order_id, then_advance=True)


def test_repeated_reads_hit_and_every_change_is_seen(server):
    staff = support.bearer(server.runtime, "order_manager")
    order_id = _create(server, staff, label="a")
    first = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    hits = server.cache.hits
    assert _gql(server, DETAIL, {"id": order_id}, staff)["order"] == first
    assert server.cache.hits == hits + 1
    assert server.get("/health").json()["responseCache"] == {
        "entries": len(server.cache),
        "hits": server.cache.hits,
        "misses": server.cache.misses,
    }

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

    change = {
        "customerId": "ACME",
        "requestedInitialState": "ACKNOWLEDGED",
        "lines": [{"action": "MODIFY", "productId": product["id"], "characteristics": [{"name": "label", "value": "second"}]}],
    }
    created = _gql(server, CREATE, {"input": change}, staff)["orderCreate"]
    assert created["errors"] == []
    _run(server, created["order"]["id"])

    after = _gql(server, DETAIL, {"id": order_id}, staff)["order"]
    chars = {c["name"]: c["value"] for c in after["products"][0]["characteristics"]}
    assert chars["label"] == "second"

    disconnect = {
        "customerId": "ACME",
        "requestedInitialState": "ACKNOWLEDGED",
        "lines": [{"action": "DELETE", "productId": product["id"]}],
    }
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
    assert body.get("errors") and (
        body["data"] is None or body["data"]["order"] is None or body["data"]["order"]["oneTimeTotal"] is None
    )

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
    assert _gql(server, 'query { order(id: "T3JkZXI6OTk5OTk=") { id } }', {}, staff)["order"] is None
    body = server.post("/graphql", json={"query": 'query { order(id: "nonsense") { id } }'}, headers=staff).json()
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
    assert cache.get(keys[39], ((39, 2),)) is None  # a newer change_seq never gets the old answer
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


def test_a_cached_detail_never_differs_from_a_fresh_read_through_a_whole_life(make_runtime, database_url):
    """Every kind of writer (capture, processing, retries, failures, manual work, jeopardy,
    later orders changing products) against a server that caches and one that does not."""
    from datetime import timedelta

    from strawberry import relay

    from om_graph.core.fulfilment.models import Task
    from om_graph.core.kernel.models import utcnow

    runtime = make_runtime(database_url, embedded_workers=False, retry_backoff_ms=0)
    cached_app, fresh_app = create_app(runtime=runtime), create_app(runtime=runtime)
    next(r.app for r in fresh_app.routes if hasattr(getattr(r, "app", None), "cache")).cache = None
    staff = support.bearer(runtime, "order_manager")
    full = DETAIL.replace("products {", "events { type toState } products {")
    services = runtime.services
    orders: list[str] = []

    with TestClient(cached_app) as cached:
        fresh = TestClient(fresh_app)

        def check():
            for gid in orders:
                first = _gql(cached, full, {"id": gid}, staff)["order"]
                hits = _cache(cached_app).hits
                assert _gql(cached, full, {"id": gid}, staff)["order"] == first
                assert _cache(cached_app).hits == hits + 1
                assert _gql(fresh, full, {"id": gid}, staff)["order"] == first, f"stale cached detail of {gid}"

        def place(*chars: dict) -> str:
            lines = [
                {
                    "offering": "test-internet",
                    "characteristics": [{"name": k, "value": v} for k, v in {"speed": 100, "address": "x", **c}.items()],
                }
                for c in chars
            ]
            created = _gql(
                cached, CREATE, {"input": {"customerId": "ACME", "lines": lines, "requestedInitialState": "ACKNOWLEDGED"}}, staff
            )
            gid = created["orderCreate"]["order"]["id"]
            orders.append(gid)
            check()
            return gid

        def work(gid: str) -> None:
            order_id = int(relay.GlobalID.from_id(gid).node_id)
            services.processing.process(order_id, then_advance=True)
            check()
            services.processing.advance(order_id)  # what a retry's delayed message does
            check()

        flaky = place({"flakyAt": "test.design"})
        failing = place({"failAt": "test.allocate-line"}, {})
        work(flaky)
        work(failing)
        check()
        # The failure waits in fallout (core/fulfilment/fallout.py); a fallout manager gives up.
        from om_graph.core.access.actor import Actor
        from om_graph.core.fulfilment.models import Fallout

        with runtime.sessions() as s:
            [fallout_id] = s.scalars(select(Fallout.id).where(Fallout.state == "open")).all()
        services.fallout.give_up(Actor("fallout-boss", frozenset({"order_fallout_manager"})), fallout_id, None)

        services.reconciler.evaluate_jeopardy(utcnow() + timedelta(days=30))  # every open SLA breached
        check()

        with runtime.sessions() as s:
            manual = s.scalars(select(Task.id).where(Task.kind == "manual", Task.state == "ready")).all()
        assert manual
        for task_id in manual:
            done = _gql(cached, COMPLETE_TASK, {"id": str(relay.GlobalID("Task", str(task_id)))}, staff)
            assert done["taskComplete"]["errors"] == []
            check()
        for gid in (flaky, failing):
            services.processing.advance(int(relay.GlobalID.from_id(gid).node_id))
        check()

        product = _gql(cached, full, {"id": flaky}, staff)["order"]["products"][0]
        assert product["status"] == "ACTIVE"
        for line in (
            {"action": "MODIFY", "productId": product["id"], "characteristics": [{"name": "speed", "value": 1000}]},
            {"action": "DELETE", "productId": product["id"]},
        ):
            created = _gql(
                cached, CREATE, {"input": {"customerId": "ACME", "lines": [line], "requestedInitialState": "ACKNOWLEDGED"}}, staff
            )
            gid = created["orderCreate"]["order"]["id"]
            orders.append(gid)
            work(gid)
        final = _gql(cached, full, {"id": flaky}, staff)["order"]
        assert final["products"][0]["status"] == "TERMINATED"
        assert _gql(cached, full, {"id": failing}, staff)["order"]["state"] == "PARTIAL"


def _cache(app):
    return next(r.app for r in app.routes if hasattr(getattr(r, "app", None), "cache")).cache
