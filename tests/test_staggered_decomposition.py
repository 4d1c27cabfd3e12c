"""Staggered decomposition through GraphQL (core/fulfilment/staggered.py), against an in-process
runtime with real workers: a line waits on a missing characteristic (the part that needs it is
parked, the rest runs, the line is PENDING with the InformationRequired field path) and
completes once an agent supplies it with orderLineCharacteristicsSupply."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_pack, fixture_staggered_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version } errors { field message code } }
}"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    state version
    lines {
      lineNumber state informationRequired characteristics { name value }
      decompositionWaits { specKey characteristic fieldPath unitIndex since parentDomainOrderId }
    }
    domainOrders { id specKey state parentId tasks { key state } }
    events { type payload }
  }
}"""
SUPPLY = """
mutation($input: OrderLineCharacteristicsSupplyInput!) {
  orderLineCharacteristicsSupply(input: $input) {
    order { id lines { lineNumber state } }
    errors { field message code }
  }
}"""


def _gql(client, query, variables=None, headers=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture
def client(make_runtime, sqlite_url):
    runtime = make_runtime(
        sqlite_url,
        extra_plugins=(fixture_pack, fixture_auto_pack, fixture_staggered_pack),
        task_lease_seconds=30,
        worker_threads=2,
    )
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        client.customer = support.bearer(runtime, "customer", "STAGGER")  # type: ignore[attr-defined]
        yield client


def test_a_line_waits_on_a_missing_characteristic_and_completes_once_an_agent_supplies_it(client):
    order_input = {
        "customerId": "STAGGER",
        "lines": [{"offering": "test-site", "characteristics": [{"name": "address", "value": "1 Main St"}]}],
        "requestedInitialState": "ACKNOWLEDGED",
    }
    created = _gql(client, CREATE, {"input": order_input})["orderCreate"]
    assert created["errors"] == []
    order_id = created["order"]["id"]

    def parked():
        order = _gql(client, ORDER, {"id": order_id})["order"]
        by_spec = {d["specKey"]: d for d in order["domainOrders"]}
        access = by_spec.get("test.site-access")
        return order if access and access["state"] == "COMPLETED" and order["lines"][0]["state"] == "PENDING" else None

    order = support.wait_for(parked, 30, message="the access part to run while the VLAN part waits")
    [line] = order["lines"]
    assert line["informationRequired"] == ["lines.1.characteristics.vlan"]
    [wait] = line["decompositionWaits"]
    by_spec = {d["specKey"]: d for d in order["domainOrders"]}
    assert wait["specKey"] == "test.site-vlan" and wait["characteristic"] == "vlan"
    assert wait["fieldPath"] == "lines.1.characteristics.vlan" and wait["since"]
    assert wait["parentDomainOrderId"] == by_spec["test.site"]["id"]
    assert "test.site-vlan" not in by_spec  # parked: not built
    # The product is built on its services: its task does not start while a part below it waits.
    assert by_spec["test.site"]["tasks"] == [{"key": "test.site-activate", "state": "PENDING"}]
    assert order["state"] == "IN_PROGRESS"
    required = [e for e in order["events"] if e["type"] == "ProductOrderInformationRequiredEvent"]
    assert required and required[0]["payload"]["fieldPath"] == ["lines.1.characteristics.vlan"]

    # A value of the wrong type, and a value the line already has, are field errors; nothing changes.
    base = {"orderId": order_id, "lineNumber": 1}
    wrong = _gql(client, SUPPLY, {"input": {**base, "characteristics": [{"name": "vlan", "value": 5000}]}})
    assert [e["field"] for e in wrong["orderLineCharacteristicsSupply"]["errors"]] == ["characteristics.vlan"]
    again = _gql(client, SUPPLY, {"input": {**base, "characteristics": [{"name": "address", "value": "2 Side St"}]}})
    assert [e["code"] for e in again["orderLineCharacteristicsSupply"]["errors"]] == ["ALREADY_SET"]
    # Only what the line asks for: any other missing characteristic is a modify order (customers too).
    extra = [{"name": "siteNote", "value": "back door"}, {"name": "vlan", "value": 100}]
    for caller in (None, client.customer):
        unasked = _gql(client, SUPPLY, {"input": {**base, "characteristics": extra}}, headers=caller)
        assert [(e["field"], e["code"]) for e in unasked["orderLineCharacteristicsSupply"]["errors"]] == [
            ("characteristics.siteNote", "NOT_REQUESTED")
        ]

    supplied = _gql(client, SUPPLY, {"input": {**base, "characteristics": [{"name": "vlan", "value": 100}]}})
    assert supplied["orderLineCharacteristicsSupply"]["errors"] == []

    def completed():
        order = _gql(client, ORDER, {"id": order_id})["order"]
        return order if order["state"] == "COMPLETED" else None

    order = support.wait_for(completed, 30, message="the order to complete once the VLAN is known")
    [line] = order["lines"]
    assert line["state"] == "COMPLETED" and line["decompositionWaits"] == [] and line["informationRequired"] is None
    assert {"name": "vlan", "value": 100} in line["characteristics"]
    by_spec = {d["specKey"]: d for d in order["domainOrders"]}
    assert by_spec["test.site-vlan"]["state"] == "COMPLETED"
    assert by_spec["test.site-vlan"]["parentId"] == by_spec["test.site"]["id"]
    assert by_spec["test.site"]["state"] == "COMPLETED"

    # Decomposition is complete: supplying again is refused (nothing is re-triggered).
    late = _gql(client, SUPPLY, {"input": {**base, "characteristics": [{"name": "vlan", "value": 100}]}})
    assert late["orderLineCharacteristicsSupply"]["errors"]


LINES = """
query($id: ID!) { order(id: $id) { lines { lineNumber relationships { lineNumber relationshipType } } } }"""


def test_line_relationships_are_captured_checked_and_shown(client):
    site = {"offering": "test-site", "characteristics": [{"name": "address", "value": "1 Main St"}]}
    relying = {**site, "relationships": [{"lineNumber": 1, "relationshipType": "reliesOn"}]}
    created = _gql(client, CREATE, {"input": {"customerId": "REL", "lines": [site, relying]}})["orderCreate"]
    assert created["errors"] == []
    lines = _gql(client, LINES, {"id": created["order"]["id"]})["order"]["lines"]
    assert [line["relationships"] for line in lines] == [[], [{"lineNumber": 1, "relationshipType": "reliesOn"}]]

    bad = {**site, "relationships": [{"lineNumber": 2, "relationshipType": "reliesOn"}]}
    refused = _gql(client, CREATE, {"input": {"customerId": "REL", "lines": [bad]}})["orderCreate"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.relationships.0.lineNumber", "NOT_FOUND")]


def test_a_task_output_propagated_to_the_line_releases_the_parked_part(client):
    order_input = {
        "customerId": "PROPAGATE",
        "lines": [{"offering": "test-auto-site", "characteristics": [{"name": "address", "value": "1 Main St"}]}],
        "requestedInitialState": "ACKNOWLEDGED",
    }
    created = _gql(client, CREATE, {"input": order_input})["orderCreate"]
    assert created["errors"] == []
    order_id = created["order"]["id"]

    def completed():
        order = _gql(client, ORDER, {"id": order_id})["order"]
        return order if order["state"] == "COMPLETED" else None

    order = support.wait_for(completed, 30, message="the order to complete once the access task assigned the VLAN")
    [line] = order["lines"]
    assert {"name": "vlan", "value": 42} in line["characteristics"] and line["decompositionWaits"] == []
    by_spec = {d["specKey"]: d for d in order["domainOrders"]}
    assert by_spec["test.site-vlan"]["state"] == "COMPLETED" and by_spec["test.auto-site"]["state"] == "COMPLETED"
    types = [e["type"] for e in order["events"]]
    assert "ProductOrderInformationRequiredEvent" in types  # it waited, until the value was propagated
    propagated = [
        e for e in order["events"] if e["type"] == "ProductOrderAttributeValueChangeEvent" and e["payload"].get("propagated")
    ]
    assert propagated and propagated[0]["payload"]["characteristics"] == {"vlan": 42}


PREVIEW = """
query($input: OrderPreviewInput!) {
  orderPreview(input: $input) {
    preview { waits { stage waitingFor } domainOrders { specKey } tasks { key } }
    errors { field code message }
  }
}"""


def test_the_preview_reports_a_part_that_would_be_parked(client):
    site = {"offering": "test-site", "characteristics": [{"name": "address", "value": "1 Main St"}]}
    answer = _gql(client, PREVIEW, {"input": {"order": {"customerId": "PREVIEW", "lines": [site]}}})["orderPreview"]
    assert answer["errors"] == []
    preview = answer["preview"]
    assert preview["waits"] == [
        {"stage": "decomposition", "waitingFor": "characteristic vlan of line 1: test.site-vlan needs it"}
    ]
    assert sorted(d["specKey"] for d in preview["domainOrders"]) == ["test.site", "test.site-access"]
    with_vlan = {**site, "characteristics": [*site["characteristics"], {"name": "vlan", "value": 7}]}
    answer = _gql(client, PREVIEW, {"input": {"order": {"customerId": "PREVIEW", "lines": [with_vlan]}}})["orderPreview"]
    assert answer["preview"]["waits"] == [] and "test.site-vlan" in {d["specKey"] for d in answer["preview"]["domainOrders"]}
