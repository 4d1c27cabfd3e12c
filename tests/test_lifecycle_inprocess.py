"""An order's whole life through GraphQL against an in-process runtime with real dramatiq
workers (embedded mode), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    order { id state version oneTimeTotal { amount currency } lines { lineNumber state quantity } }
    errors { field message code }
  }
}"""
SUBMIT = """
mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id state } errors { field message code } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state
    lines { state }
    domainOrders { kind specKey state tasks { id key kind state attempts dependencies { predecessorId } } }
    products { id status characteristics { name value } }
    events { type entityKind fromState toState }
  }
}"""
COMPLETE = """
mutation($id: ID!, $chars: [CharacteristicInput!]!) {
  taskComplete(input: {id: $id, characteristics: $chars}) { task { state completedBy } errors { field message code } }
}"""


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture
def client(make_runtime, database_url):
    runtime = make_runtime(database_url, task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def _line(**chars):
    base = {"speed": 100, "address": "1 Main St"}
    base.update(chars)
    return {"offering": "test-internet", "quantity": 1, "characteristics": [{"name": k, "value": v} for k, v in base.items()]}


def test_order_runs_to_completion_and_writes_inventory(client):
    created = _gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [_line(links=2)], "idempotencyKey": "k-1"}})
    order = created["orderCreate"]["order"]
    assert created["orderCreate"]["errors"] == []
    assert order["state"] == "DRAFT" and order["oneTimeTotal"] == {"amount": "49.00", "currency": "EUR"}
    assert _gql(client, SUBMIT, {"id": order["id"]})["orderSubmit"]["order"]["state"] == "ACKNOWLEDGED"

    def manual_ready():
        detail = _gql(client, ORDER, {"id": order["id"]})["order"]
        tasks = [t for d in detail["domainOrders"] for t in d["tasks"] if t["kind"] == "MANUAL" and t["state"] == "READY"]
        return tasks if len(tasks) == 2 else None

    for task in support.wait_for(manual_ready, 30, message="installation work orders"):
        done = _gql(client, COMPLETE, {"id": task["id"], "chars": [{"name": "ontSerial", "value": "ONT-1"}]})
        assert done["taskComplete"]["task"]["state"] == "COMPLETED"

    def completed():
        detail = _gql(client, ORDER, {"id": order["id"]})["order"]
        return detail if detail["state"] == "COMPLETED" else None

    detail = support.wait_for(completed, 30, message="order completion")
    kinds = sorted(d["kind"] for d in detail["domainOrders"])
    assert kinds == ["PRODUCT", "RESOURCE", "RESOURCE", "RESOURCE", "SERVICE"]  # two lines (links=2) and a router
    assert all(d["state"] == "COMPLETED" for d in detail["domainOrders"])
    assert all(t["attempts"] <= 1 for d in detail["domainOrders"] for t in d["tasks"])
    [product] = detail["products"]
    assert product["status"] == "ACTIVE"
    values = {c["name"]: c["value"] for c in product["characteristics"]}
    assert values["ontSerial"] == "ONT-1" and values["speed"] == 100
    order_changes = [(e["fromState"], e["toState"]) for e in detail["events"] if e["entityKind"] == "order" and e["fromState"]]
    assert order_changes == [("draft", "acknowledged"), ("acknowledged", "inProgress"), ("inProgress", "completed")]
