"""Cancellation through GraphQL (schema/change_cancel.py) against an in-process runtime with real
workers: orderCancel undoes the completed work (in reverse dependency order) and cancels the
order and its products; orderLineCancel cancels one line; a customer of another account finds
nothing; cancelRequest and Order.cancelRequests read the request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_undo_pack as pack
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id lines { id } } errors { field message code } }
}"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    state
    lines { id lineNumber state }
    products { status }
    domainOrders { tasks { key name state } }
    events { type entityKind toState payload }
    cancelRequests { id state result fee { amount currency } effectiveCancellationDate }
  }
}"""
CANCEL = """
mutation($input: OrderCancelInput!) {
  orderCancel(input: $input) {
    cancelRequest { id state result resultMessage fee { amount currency reason } orderId lineId }
    order { id state }
    errors { field message code }
  }
}"""
LINE_CANCEL = """
mutation($input: OrderLineCancelInput!) {
  orderLineCancel(input: $input) {
    cancelRequest { id state lineId }
    order { state }
    errors { field message code }
  }
}"""
REQUEST = "query($id: ID!) { cancelRequest(id: $id) { id state result cancellationReason reasonType } }"


def _gql(client, query, variables=None, headers=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture
def world(make_runtime, sqlite_url):
    pack.reset()
    runtime = make_runtime(sqlite_url, extra_plugins=(pack,), task_lease_seconds=30, worker_threads=2)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client, runtime


def _place(client, lines=1):
    order_input = {
        "customerId": "ACME",
        "lines": [{"offering": "undo-box", "characteristics": [{"name": "label", "value": "x"}]}] * lines,
        "requestedInitialState": "ACKNOWLEDGED",
    }
    created = _gql(client, CREATE, {"input": order_input})["orderCreate"]
    assert created["errors"] == [], created
    order_id = created["order"]["id"]

    def waiting():
        order = _gql(client, ORDER, {"id": order_id})["order"]
        ready = [t for d in order["domainOrders"] for t in d["tasks"] if t["key"] == "undo.install" and t["state"] == "READY"]
        return order if len(ready) == lines else None

    return order_id, support.wait_for(waiting, 30, message="the automatic work to complete")


def test_order_cancel_undoes_in_reverse_order_and_cancels_the_order(world):
    client, runtime = world
    order_id, order = _place(client)
    stranger = support.bearer(runtime, "customer", account="OTHER")
    hidden = _gql(client, CANCEL, {"input": {"id": order_id, "reason": "not mine"}}, stranger)["orderCancel"]
    assert hidden["cancelRequest"] is None and hidden["errors"][0]["code"] == "NOT_FOUND"

    owner = support.bearer(runtime, "customer", account="ACME")
    answer = _gql(client, CANCEL, {"input": {"id": order_id, "reason": "moved", "reasonType": "COMMERCIAL"}}, owner)[
        "orderCancel"
    ]
    assert answer["errors"] == []
    request = answer["cancelRequest"]
    assert request["state"] in ("IN_PROGRESS", "DONE") and request["fee"] == {
        "amount": "15.00",
        "currency": "EUR",
        "reason": "cancellation fee: work had started",
    }
    again = _gql(client, CANCEL, {"input": {"id": order_id, "reason": "twice"}}, owner)["orderCancel"]
    assert again["errors"][0]["code"] in ("CANCELLATION_IN_PROGRESS", "NOT_CANCELLABLE")

    def cancelled():
        found = _gql(client, ORDER, {"id": order_id})["order"]
        return found if found["state"] == "CANCELLED" else None

    order = support.wait_for(cancelled, 30, message="the order to be cancelled")
    assert [t for _, _, t in pack.undo_calls()] == ["undo.configure", "undo.reserve"]
    assert [p["status"] for p in order["products"]] == ["CANCELLED"]
    assert [line["state"] for line in order["lines"]] == ["CANCELLED"]
    [listed] = order["cancelRequests"]
    assert listed["state"] == "DONE" and listed["result"] == "ACCEPTED" and listed["effectiveCancellationDate"]
    types = [e["type"] for e in order["events"]]
    assert "CancelProductOrderCreateEvent" in types
    order_states = [
        e["toState"] for e in order["events"] if e["entityKind"] == "order" and e["type"] == "ProductOrderStateChangeEvent"
    ]
    assert order_states[-3:] == ["assessingCancellation", "pendingCancellation", "cancelled"]
    undo_tasks = {t["name"]: t["state"] for d in order["domainOrders"] for t in d["tasks"] if t["name"].startswith("Undo: ")}
    assert undo_tasks == {"Undo: Reserve stock": "COMPLETED", "Undo: Configure box": "COMPLETED"}
    read = _gql(client, REQUEST, {"id": request["id"]}, owner)["cancelRequest"]
    assert read == {
        "id": request["id"],
        "state": "DONE",
        "result": "ACCEPTED",
        "cancellationReason": "moved",
        "reasonType": "COMMERCIAL",
    }
    assert _gql(client, REQUEST, {"id": request["id"]}, stranger)["cancelRequest"] is None
    node = "query($id: ID!) { node(id: $id) { id ... on CancelRequest { state result } } }"
    assert _gql(client, node, {"id": request["id"]}, owner)["node"] == {
        "id": request["id"],
        "state": "DONE",
        "result": "ACCEPTED",
    }
    assert _gql(client, node, {"id": request["id"]}, stranger)["node"] is None


def test_order_line_cancel_leaves_the_other_line(world):
    client, _ = world
    order_id, order = _place(client, lines=2)
    first = order["lines"][0]["id"]
    answer = _gql(client, LINE_CANCEL, {"input": {"lineId": first, "reason": "one is enough"}})["orderLineCancel"]
    assert answer["errors"] == [] and answer["cancelRequest"]["lineId"] == first

    def settled():
        found = _gql(client, ORDER, {"id": order_id})["order"]
        states = {line["lineNumber"]: line["state"] for line in found["lines"]}
        return found if states == {1: "CANCELLED", 2: "IN_PROGRESS"} else None

    order = support.wait_for(settled, 30, message="line 1 to be cancelled")
    assert order["state"] == "IN_PROGRESS"
