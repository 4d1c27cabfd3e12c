"""Capture through GraphQL: typed errors naming the field, nothing written on failure,
idempotent create, draft-only edits, submit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.kernel.models import EventRecord
from om_graph.core.ordering.models import Order, OrderLine
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    order { id state version lines { lineNumber offeringKey quantity characteristics { name value } } }
    errors { field message code }
  }
}"""
UPDATE = """
mutation($input: OrderUpdateInput!) {
  orderUpdate(input: $input) { order { id version lines { quantity } } errors { field message code } }
}"""
SUBMIT = """
mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { field message code } } }"""
COMPLETE = """
mutation($input: TaskCompleteInput!) { taskComplete(input: $input) { task { id } errors { field message code } } }"""


@pytest.fixture
def app(make_runtime, database_url):
    # No workers: capture only. Submitted orders stay acknowledged.
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_agent")) as client:
        client.runtime = runtime
        yield client


def gql(client, query, variables):
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def counts(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Order, OrderLine, EventRecord))


def line(offering="test-internet", quantity=1, **chars):
    chars = {"speed": 100, "address": "1 Main St", **chars}
    return {
        "offering": offering,
        "quantity": quantity,
        "characteristics": [{"name": k, "value": v} for k, v in chars.items() if v is not None],
    }


BAD_CREATES = [
    ({"customerId": "A", "lines": [line(offering="no-such")]}, "lines.0.offering", "UNKNOWN_OFFERING"),
    ({"customerId": "A", "lines": [line(address=None)]}, "lines.0.characteristics.address", "REQUIRED"),
    ({"customerId": "A", "lines": [line(speed=300)]}, "lines.0.characteristics.speed", "VALUE_NOT_ALLOWED"),
    ({"customerId": "A", "lines": [line(speed="fast")]}, "lines.0.characteristics.speed", "INVALID_TYPE"),
    ({"customerId": "A", "lines": [line(quantity=6)]}, "lines.0.quantity", "QUANTITY_OUT_OF_RANGE"),
    ({"customerId": "A", "lines": [line(quantity=0)]}, "lines.0.quantity", "QUANTITY_OUT_OF_RANGE"),
    ({"customerId": "A", "lines": [line(links=3)]}, "lines.0.characteristics.links", "CARDINALITY"),
    ({"customerId": "A", "lines": [line(colour="red")]}, "lines.0.characteristics.colour", "UNKNOWN_CHARACTERISTIC"),
    ({"customerId": "", "lines": [line()]}, "customerId", "REQUIRED"),
    ({"customerId": "A", "lines": []}, "lines", "REQUIRED"),
    ({"customerId": "A", "lines": [line(), line(offering="test-internet-usd")]}, "lines", "CURRENCY_MISMATCH"),
    ({"customerId": "A", "lines": [{"action": "MODIFY", "offering": "test-internet"}]}, "lines.0.productId", "REQUIRED"),
    (
        {"customerId": "A", "lines": [{"action": "DELETE", "productId": "UHJvZHVjdDo5OTk="}]},
        "lines.0.productId",
        "UNKNOWN_PRODUCT",
    ),
    ({"customerId": "A", "lines": [line()] * 101}, "lines", "TOO_MANY"),
]


@pytest.mark.parametrize("payload,field,code", BAD_CREATES, ids=[c for _, _, c in BAD_CREATES])
def test_bad_create_returns_typed_error_and_writes_nothing(app, payload, field, code):
    before = counts(app.runtime)
    result = gql(app, CREATE, {"input": payload})["orderCreate"]
    assert result["order"] is None
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in result["errors"]]
    assert all(e["message"] for e in result["errors"])
    assert counts(app.runtime) == before


def test_create_applies_defaults_and_prices(app):
    order = gql(app, CREATE, {"input": {"customerId": "A", "lines": [line(quantity=2)]}})["orderCreate"]["order"]
    assert order["state"] == "DRAFT"
    values = {c["name"]: c["value"] for c in order["lines"][0]["characteristics"]}
    assert values == {"speed": 100, "address": "1 Main St", "withPhone": False, "links": 1}


def test_idempotency_key_returns_same_order_and_refuses_other_payload(app):
    payload = {"customerId": "A", "lines": [line()], "idempotencyKey": "import-42"}
    first = gql(app, CREATE, {"input": payload})["orderCreate"]["order"]
    before = counts(app.runtime)
    again = gql(app, CREATE, {"input": payload})["orderCreate"]["order"]
    assert again["id"] == first["id"]
    assert counts(app.runtime) == before
    changed = gql(app, CREATE, {"input": {**payload, "lines": [line(quantity=2)]}})["orderCreate"]
    assert changed["order"] is None
    assert changed["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED" and changed["errors"][0]["field"] == "idempotencyKey"
    other_customer = gql(app, CREATE, {"input": {**payload, "customerId": "B"}})["orderCreate"]["order"]
    assert other_customer["id"] != first["id"]


def test_update_edits_draft_and_checks_version(app):
    order = gql(app, CREATE, {"input": {"customerId": "A", "lines": [line()]}})["orderCreate"]["order"]
    updated = gql(app, UPDATE, {"input": {"id": order["id"], "version": order["version"], "lines": [line(quantity=3)]}})[
        "orderUpdate"
    ]
    assert updated["errors"] == [] and updated["order"]["lines"] == [{"quantity": 3}]
    stale = gql(app, UPDATE, {"input": {"id": order["id"], "version": order["version"], "lines": [line()]}})["orderUpdate"]
    assert stale["order"] is None and stale["errors"][0]["code"] == "CONFLICT"
    before = counts(app.runtime)
    bad = gql(app, UPDATE, {"input": {"id": order["id"], "lines": [line(speed=5)]}})["orderUpdate"]
    assert bad["errors"][0]["field"] == "lines.0.characteristics.speed"
    assert counts(app.runtime) == before


def test_update_and_submit_refuse_non_draft_and_unknown_orders(app):
    order = gql(app, CREATE, {"input": {"customerId": "A", "lines": [line()]}})["orderCreate"]["order"]
    assert gql(app, SUBMIT, {"input": {"id": order["id"]}})["orderSubmit"]["order"]["state"] == "ACKNOWLEDGED"
    before = counts(app.runtime)
    again = gql(app, SUBMIT, {"input": {"id": order["id"]}})["orderSubmit"]
    assert again["order"] is None and again["errors"][0]["code"] == "INVALID_STATE"
    edit = gql(app, UPDATE, {"input": {"id": order["id"], "lines": [line()]}})["orderUpdate"]
    assert edit["errors"][0]["code"] == "NOT_DRAFT"
    missing = gql(app, SUBMIT, {"input": {"id": "T3JkZXI6OTk5OTk="}})["orderSubmit"]  # Order:99999
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    wrong_type = gql(app, SUBMIT, {"input": {"id": "UHJvZHVjdDox"}})["orderSubmit"]  # Product:1
    assert wrong_type["errors"][0]["code"] == "INVALID_ID"
    assert counts(app.runtime) == before


def test_task_complete_rejects_bad_input(app):
    app.headers.update(support.bearer(app.runtime, "order_fulfillment_agent"))
    before = counts(app.runtime)
    missing = gql(app, COMPLETE, {"input": {"id": "VGFzazo5OTk5"}})["taskComplete"]  # Task:9999
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    dup = gql(
        app, COMPLETE, {"input": {"id": "VGFzazox", "characteristics": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}}
    )
    assert dup["taskComplete"]["errors"][0]["code"] == "DUPLICATE"
    assert counts(app.runtime) == before


def test_create_can_submit_at_once(app):
    payload = {"customerId": "A", "lines": [line()], "requestedInitialState": "ACKNOWLEDGED"}
    order = gql(app, CREATE, {"input": payload})["orderCreate"]["order"]
    assert order["state"] == "ACKNOWLEDGED"
    with app.runtime.sessions() as s:
        kinds = [e.to_state for e in s.scalars(select(EventRecord).where(EventRecord.entity_kind == "order")) if e.to_state]
    assert kinds[-2:] == ["draft", "acknowledged"]
