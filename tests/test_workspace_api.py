"""What the workspace and portal (om_graph/web) read besides the order API: the caller
(``viewer``), the installed packs, the order list's jeopardy and creation-date filters, and the
demo sign-in, which production mode never serves."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import update
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.models import Order
from tests import support

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
VIEWER = "{ viewer { id roles accountId permissions } }"
PACKS = "{ installedPacks { name distribution hooks } }"
ORDERS = """query($customer: String, $jeopardy: [JeopardyLevel!], $from: DateTime, $to: DateTime) {
  orders(customerId: $customer, jeopardy: $jeopardy, createdFrom: $from, createdTo: $to) { totalCount edges { node { id jeopardy } } }
}"""
LINE = {
    "offering": "test-internet",
    "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
}


def _number(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def _post(client, headers, query, variables=None):
    return client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()


def test_the_viewer_is_the_caller_with_the_permissions_of_their_roles(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    client = TestClient(create_app(runtime=runtime))
    staff = _post(client, support.bearer(runtime, "order_approver"), VIEWER)["data"]["viewer"]
    assert staff["roles"] == ["order_approver"] and staff["accountId"] is None
    assert "order:approve" in staff["permissions"] and "decision:manage" not in staff["permissions"]
    customer = _post(client, support.bearer(runtime, "customer", account="ACCT-9"), VIEWER)["data"]["viewer"]
    assert customer["accountId"] == "ACCT-9" and "fulfilment:read" not in customer["permissions"]
    anonymous = _post(client, {}, VIEWER)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_installed_packs_are_listed_with_their_hooks_for_staff_only(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    client = TestClient(create_app(runtime=runtime))
    answer = client.post("/graphql", headers=support.bearer(runtime, "process_admin"), json={"query": PACKS})
    assert "om_graph" not in answer.text  # no module path reaches a client (the built-ins by their last part)
    packs = {p["name"]: p for p in answer.json()["data"]["installedPacks"]}
    assert packs["defaults"]["distribution"] == "built-in"
    fixture = next(p for name, p in packs.items() if "fixture" in name or "test" in name)
    assert "om_register_catalog" in fixture["hooks"]
    refused = _post(client, support.bearer(runtime, "customer", account="ACCT-9"), PACKS)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_orders_filter_by_jeopardy_and_creation_dates(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    client = TestClient(create_app(runtime=runtime))
    staff = support.bearer(runtime, "order_manager")
    ids = [
        _post(client, staff, CREATE, {"input": {"customerId": "JEOP", "lines": [LINE]}})["data"]["orderCreate"]["order"]["id"]
        for _ in range(3)
    ]
    numbers = sorted(_number(i) for i in ids)
    # Jeopardy is rolled up by the jeopardy pass (tests/test_jeopardy.py); here only the filter is under test.
    with runtime.services.uow() as uow:
        uow.session.execute(update(Order).where(Order.id == numbers[0]).values(jeopardy="HIGH"))
        uow.session.execute(update(Order).where(Order.id == numbers[1]).values(jeopardy="LOW"))
        uow.session.execute(update(Order).where(Order.id == numbers[2]).values(created_at=utcnow() - timedelta(days=10)))

    def found(**variables):
        page = _post(client, staff, ORDERS, {"customer": "JEOP", **variables})["data"]["orders"]
        return page["totalCount"], {_number(e["node"]["id"]) for e in page["edges"]}

    assert found(jeopardy=["HIGH"]) == (1, {numbers[0]})
    assert found(jeopardy=["HIGH", "LOW"]) == (2, {numbers[0], numbers[1]})
    week_ago = (utcnow() - timedelta(days=7)).isoformat() + "Z"
    assert found(**{"from": week_ago}) == (2, {numbers[0], numbers[1]})
    assert found(to=week_ago) == (1, {numbers[2]})
    assert found(to=week_ago.replace("Z", "+02:00")) == (1, {numbers[2]})  # an offset is converted to UTC


def test_demo_sign_in_answers_only_in_demo_mode(make_runtime, sqlite_url, tmp_path):
    runtime = make_runtime(sqlite_url)
    # The lifespan issues the demo tokens; the browser names the server by address (see below).
    with TestClient(create_app(runtime=runtime), base_url="http://127.0.0.1:8000") as client:
        listed = client.get("/ui/demo-sign-in").json()
        assert listed["demo"] and "order_manager" in {r["label"] for r in listed["roles"]}
        token = client.post("/ui/demo-sign-in", json={"label": "customer"}).json()["token"]
        viewer = _post(client, {"Authorization": f"Bearer {token}"}, VIEWER)["data"]["viewer"]
        assert viewer["accountId"] == "DEMO-CUSTOMER-1"
        assert (
            client.post("/ui/demo-sign-in", content=b"not json", headers={"content-type": "application/json"}).status_code == 400
        )

        # Only named by address or localhost, and only as JSON: no page elsewhere takes a token.
        rebound = client.post("/ui/demo-sign-in", json={"label": "process_admin"}, headers={"host": "attacker.example:8000"})
        assert rebound.status_code == 403 and "token" not in rebound.json()
        foreign = client.post("/ui/demo-sign-in", json={"label": "process_admin"}, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        form = client.post("/ui/demo-sign-in", content=b"label=process_admin", headers={"content-type": "text/plain"})
        assert form.status_code == 403
        assert client.post("/ui/demo-sign-in", json={"label": "viewer"}, headers={"host": "localhost:8000"}).status_code == 200
        named = TestClient(client.app, base_url="http://om.example.test")  # by a DNS name: sign in with a token
        assert named.post("/ui/demo-sign-in", json={"label": "viewer"}).status_code == 403

    production = make_runtime(f"sqlite:///{tmp_path / 'prod.db'}", mode="production")
    production.demo_tokens = {"order_manager": "omg_left-over"}  # whatever is left: production never hands it out
    client = TestClient(create_app(runtime=production))
    assert client.get("/ui/demo-sign-in").json() == {"demo": False, "roles": []}
    assert client.post("/ui/demo-sign-in", json={"label": "order_manager"}).status_code == 404
    shell = client.get("/ui/")
    assert shell.status_code == 200 and "frame-ancestors 'none'" in shell.headers["content-security-policy"]


def test_offerings_name_their_family_for_tier_changes(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, load_entrypoints=True)  # the demo packs: fibre speed tiers
    client = TestClient(create_app(runtime=runtime))
    offerings = _post(client, support.bearer(runtime, "customer", account="ACCT-9"), "{ productOfferings { key family } }")
    family = {o["key"]: o["family"] for o in offerings["data"]["productOfferings"]}
    assert family["fibre-broadband-500"] and family["fibre-broadband-500"] == family["fibre-broadband-1000"]
    assert family["test-internet"] is None


def test_the_revision_queue_refuses_a_page_out_of_range(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    client = TestClient(create_app(runtime=runtime))
    approver = support.bearer(runtime, "order_approver")
    assert _post(client, approver, "{ revisionsAwaitingApproval { id } }")["data"]["revisionsAwaitingApproval"] == []
    refused = _post(client, approver, "{ revisionsAwaitingApproval(first: 101) { id } }")
    assert refused["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
