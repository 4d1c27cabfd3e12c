"""Expected errors (FORBIDDEN, malformed ids, limits, domain errors) are answered with their code
and are not logged as crashes; unexpected exceptions still are, and are masked."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { field code } } }"
MALFORMED = "not-a-global-id"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    runtime = support.build_runtime(f"sqlite:///{tmp / 'errors.db'}", embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        tokens = {role: support.bearer(runtime, role) for role in ("order_manager", "order_fulfillment_agent", "viewer")}
        yield client, runtime, tokens
    runtime.stop()


def post(api, query: str, variables: dict | None = None, role: str = "order_manager") -> dict:
    client, _, tokens = api
    return client.post("/graphql", headers=tokens[role], json={"query": query, "variables": variables or {}}).json()


def crashes(caplog) -> list[logging.LogRecord]:
    """What an operator would page on: warnings and errors, and anything with a traceback."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def top_level_code(body: dict) -> str:
    [error] = body["errors"]
    return error["extensions"]["code"]


EXPECTED_TOP_LEVEL = [
    pytest.param(
        'mutation { orderSubmit(input: {id: "T3JkZXI6MQ=="}) { errors { code } } }',
        {},
        "viewer",
        "FORBIDDEN",
        id="forbidden-operation",
    ),
    pytest.param("query($id: ID!) { node(id: $id) { id } }", {"id": MALFORMED}, "viewer", "INVALID_ID", id="malformed-node-id"),
    pytest.param("query($id: ID!) { order(id: $id) { id } }", {"id": MALFORMED}, "viewer", "INVALID_ID", id="malformed-order-id"),
    pytest.param(
        "query($id: ID) { products(orderId: $id) { edges { cursor } } }",
        {"id": MALFORMED},
        "viewer",
        "INVALID_ID",
        id="malformed-filter-id",
    ),
    pytest.param('{ orders(after: "nonsense") { edges { cursor } } }', {}, "viewer", "INVALID_CURSOR", id="domain-error"),
    pytest.param("{ orders(first: 0) { edges { cursor } } }", {}, "viewer", "OUT_OF_RANGE", id="limit"),
    pytest.param("{ orders { nope } }", {}, "viewer", None, id="invalid-document"),
]


@pytest.mark.parametrize(("query", "variables", "role", "code"), EXPECTED_TOP_LEVEL)
def test_expected_errors_are_answered_with_their_code_and_not_logged_as_crashes(api, caplog, query, variables, role, code):
    caplog.set_level(logging.DEBUG)
    body = post(api, query, variables, role)
    if code is not None:
        assert top_level_code(body) == code, body
    assert crashes(caplog) == []


def test_forbidden_field_is_a_debug_line(api, caplog):
    caplog.set_level(logging.DEBUG)
    line = {
        "offering": "test-internet",
        "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
    }
    assert post(api, CREATE, {"input": {"customerId": "C", "lines": [line]}})["data"]["orderCreate"]["errors"] == []
    body = post(api, "{ orders { edges { node { id oneTimeTotal { amount } } } } }", role="order_fulfillment_agent")
    assert body["data"]["orders"]["edges"][0]["node"]["id"]  # the rest of the answer is there
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert crashes(caplog) == []
    assert any("FORBIDDEN" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


MUTATIONS_WITH_IDS = [
    pytest.param(
        "mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id } errors { field code } } }",
        "orderSubmit",
        "id",
        id="orderSubmit",
    ),
    pytest.param(
        "mutation($id: ID!) { orderUpdate(input: {id: $id, lines: []}) { order { id } errors { field code } } }",
        "orderUpdate",
        "id",
        id="orderUpdate",
    ),
    pytest.param(
        "mutation($id: ID!) { taskComplete(input: {id: $id}) { task { id } errors { field code } } }",
        "taskComplete",
        "id",
        id="taskComplete",
    ),
    pytest.param(
        'mutation($id: ID!) { orderCreate(input: {customerId: "C", lines: [{action: MODIFY, productId: $id}]}) { order { id } errors { field code } } }',
        "orderCreate",
        "lines.0.productId",
        id="orderCreate-productId",
    ),
]


@pytest.mark.parametrize(("mutation", "name", "field"), MUTATIONS_WITH_IDS)
@pytest.mark.parametrize("bad_id", [MALFORMED, "", "T3JkZXI6"], ids=["not-base64", "empty", "no-node-id"])
def test_malformed_ids_in_mutations_are_the_payloads_invalid_id(api, caplog, mutation, name, field, bad_id):
    caplog.set_level(logging.DEBUG)
    body = post(api, mutation, {"id": bad_id})
    assert "errors" not in body, body
    assert body["data"][name]["errors"] == [{"field": field, "code": "INVALID_ID"}]
    assert crashes(caplog) == []


def test_unexpected_errors_are_logged_with_their_traceback_and_masked(api, caplog, monkeypatch):
    _, runtime, _ = api

    def explode(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM internal_table")

    monkeypatch.setattr(runtime.services.queries, "offerings", explode)
    caplog.set_level(logging.DEBUG)
    body = post(api, "{ productOfferings { key } }", role="viewer")
    assert body["errors"][0]["message"] == "Unexpected error."
    [logged] = crashes(caplog)
    assert logged.levelno == logging.ERROR and logged.exc_info[0] is RuntimeError
