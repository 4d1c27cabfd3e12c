"""Connections' totalCount on SQLite and PostgreSQL: the filters, customers' account scope, the
cursor (which does not change it), and no COUNT unless it is selected."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"
ORDERS = """query($states: [OrderState!], $customerId: String, $after: String, $first: Int!) {
  orders(states: $states, customerId: $customerId, after: $after, first: $first) { totalCount pageInfo { endCursor } edges { cursor } }
}"""
PRODUCTS = "query($customerId: String, $orderId: ID) { products(customerId: $customerId, orderId: $orderId) { totalCount edges { cursor } } }"


def line():
    return {
        "offering": "test-internet",
        "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
    }


@pytest.fixture
def api(database_url, make_runtime):
    """Three drafts and two acknowledged orders of ACCT-A, one draft of ACCT-B; no workers, so
    the states stay as created."""
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime, "order_manager")
        for customer, initial in [("ACCT-A", "DRAFT")] * 3 + [("ACCT-A", "ACKNOWLEDGED")] * 2 + [("ACCT-B", "DRAFT")]:
            body = client.post(
                "/graphql",
                headers=staff,
                json={
                    "query": CREATE,
                    "variables": {"input": {"customerId": customer, "lines": [line()], "requestedInitialState": initial}},
                },
            ).json()
            assert body["data"]["orderCreate"]["errors"] == [], body
        yield client, runtime, {"staff": staff, "customer_a": support.bearer(runtime, "customer", "ACCT-A")}


def orders(api, who="staff", **variables) -> dict:
    client, _, tokens = api
    body = client.post("/graphql", headers=tokens[who], json={"query": ORDERS, "variables": {"first": 20, **variables}}).json()
    assert "errors" not in body, body
    return body["data"]["orders"]


def test_total_count_follows_the_filters(api):
    assert orders(api)["totalCount"] == 6
    assert orders(api, states=["DRAFT"])["totalCount"] == 4
    assert orders(api, states=["DRAFT", "ACKNOWLEDGED"])["totalCount"] == 6
    assert orders(api, states=["COMPLETED"])["totalCount"] == 0
    assert orders(api, customerId="ACCT-A")["totalCount"] == 5
    assert orders(api, customerId="ACCT-A", states=["ACKNOWLEDGED"])["totalCount"] == 2


def test_total_count_is_scoped_to_a_customers_account(api):
    assert orders(api, "customer_a")["totalCount"] == 5
    assert orders(api, "customer_a", customerId="ACCT-B")["totalCount"] == 0
    assert orders(api, "customer_a", states=["DRAFT"])["totalCount"] == 3


def test_total_count_does_not_depend_on_the_cursor(api):
    first_page = orders(api, first=2)
    assert len(first_page["edges"]) == 2 and first_page["totalCount"] == 6
    second_page = orders(api, first=2, after=first_page["pageInfo"]["endCursor"])
    assert second_page["totalCount"] == 6


def test_products_total_count(api):
    client, _, tokens = api
    body = client.post(
        "/graphql", headers=tokens["staff"], json={"query": PRODUCTS, "variables": {"customerId": "ACCT-A"}}
    ).json()
    assert body["data"]["products"] == {"totalCount": 0, "edges": []}


def test_count_runs_only_when_selected(api):
    client, runtime, tokens = api
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        query = "{ orders(first: 5) { edges { cursor } } products(first: 5) { edges { cursor } } }"
        assert "errors" not in client.post("/graphql", headers=tokens["staff"], json={"query": query}).json()
        assert not any("count(" in s for s in statements), statements
        orders(api)
        assert sum("count(" in s for s in statements) == 1
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
