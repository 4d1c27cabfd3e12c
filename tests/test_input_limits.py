"""Every limit of docs/security.md's table, sent just over (and, where it is cheap, exactly at)
its value over HTTP; and the table checked against schema/limits.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

import om_graph_tsm.plugin
from om_graph.app import create_app
from om_graph.core.kernel.errors import NotFound
from om_graph.core.ordering.models import Order
from om_graph.schema import limits
from tests import fixture_auto_pack, fixture_pack, support

ROOT = Path(__file__).resolve().parent.parent
CREATE = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { field code message } } }"
COMPLETE = "mutation($input: TaskCompleteInput!) { taskComplete(input: $input) { task { id } errors { field code } } }"
UPDATE = "mutation($input: OrderUpdateInput!) { orderUpdate(input: $input) { order { id } errors { field code } } }"
ORDERS = "query($states: [OrderState!], $customerId: String, $after: String, $first: Int!) { orders(states: $states, customerId: $customerId, after: $after, first: $first) { edges { cursor } } }"
SUBSCRIBE = "subscription { orderEvents { id } }"


def fibre(address: str = "12 Harbour Road, Leith EH6 6LX", **extra) -> dict:
    characteristics = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": address}]
    characteristics += [{"name": k, "value": v} for k, v in extra.items()]
    return {"offering": "fibre-broadband-500", "characteristics": characteristics}


def internet_line(address: str = "1 Main St", **extra) -> dict:
    characteristics = [{"name": "speed", "value": 100}, {"name": "address", "value": address}]
    characteristics += [{"name": k, "value": v} for k, v in extra.items()]
    return {"offering": "test-internet", "characteristics": characteristics}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The test pack and the telecom pack (whose addresses declare a maxLength)."""
    tmp = tmp_path_factory.mktemp("limits")
    runtime = support.build_runtime(
        f"sqlite:///{tmp / 'limits.db'}",
        extra_plugins=(fixture_pack, fixture_auto_pack, om_graph_tsm.plugin.pack),
        embedded_workers=False,
    )
    with TestClient(create_app(runtime=runtime)) as client:
        yield client, runtime, support.bearer(runtime, "order_manager")
    runtime.stop()


def post(api, query: str, variables: dict | None = None) -> dict:
    client, _, headers = api
    return client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()


def create(api, **input_fields) -> dict:
    body = post(api, CREATE, {"input": {"customerId": "CUST-1", "lines": [internet_line()], **input_fields}})
    assert "errors" not in body, body
    return body["data"]["orderCreate"]


def codes(payload: dict) -> set[tuple[str | None, str]]:
    return {(e["field"], e["code"]) for e in payload["errors"]}


def top_level(body: dict) -> dict:
    [error] = body["errors"]
    return error["extensions"]


def spy_on_create(api, monkeypatch) -> list:
    """Calls that reach the order service (each answered NOT_FOUND, so nothing is written)."""
    _, runtime, _ = api
    calls = []

    def create(*args, **kwargs):
        calls.append(args)
        raise NotFound("the service was called")

    monkeypatch.setattr(runtime.services.orders, "create", create)
    return calls


def order_count(api) -> int:
    _, runtime, _ = api
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Order))


# -- the table ------------------------------------------------------------------------------


def _table_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "security.md").read_text()
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Limit") and "---" not in line
    ]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_security_doc_limits_table_matches_the_code():
    rows = _table_rows()
    assert len(rows) >= 15
    documented = set()
    for limit, value, constant, _answer, test in rows:
        name = constant.strip("`")
        documented.add(name)
        number = int(re.match(r"[\d,]+", value).group().replace(",", ""))
        assert getattr(limits, name) == number, (
            f"docs/security.md says {limit} is {value}, schema/limits.py {name} = {getattr(limits, name)}"
        )
        for name in re.findall(r"`([^`]+)`", test):
            if name.startswith("tests/"):
                assert (ROOT / name).exists(), f"{name} (the test of {limit}) does not exist"
            else:
                assert name in globals(), f"no test {name} for {limit}"
    in_code = {n for n in dir(limits) if n.startswith(("MAX_", "DEFAULT_", "STRING_MAX")) and isinstance(getattr(limits, n), int)}
    assert in_code == documented, f"undocumented: {in_code - documented}, stale: {documented - in_code}"


def test_transport_limits_are_the_ones_the_app_enforces():
    from om_graph import app

    assert app.MAX_BODY_BYTES == limits.MAX_BODY_BYTES


# -- documents ------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    """A document whose deepest field is ``depth`` levels below the root field."""
    return "{ productOfferings { " + "a { " * (depth - 1) + "b" + " }" * (depth - 1) + " } }"


def _messages(body: dict) -> str:
    return " ".join(e["message"] for e in body.get("errors", []))


def test_depth(api):
    assert "depth" not in _messages(post(api, _nested(limits.MAX_DEPTH)))
    body = post(api, _nested(limits.MAX_DEPTH + 1))
    assert f"exceeds maximum operation depth of {limits.MAX_DEPTH}" in _messages(body), body


def test_aliases(api):
    def aliased(n):
        return "{ " + " ".join(f"a{i}: productOfferings {{ key }}" for i in range(n)) + " }"

    assert "errors" not in post(api, aliased(limits.MAX_ALIASES))
    assert "aliases" in _messages(post(api, aliased(limits.MAX_ALIASES + 1))).lower()


def test_tokens(api):
    def tokens(n):  # 5 tokens of structure, the rest are field names
        return "{ productOfferings { " + " ".join(["key"] * (n - 5)) + " } }"

    assert "tokens" not in _messages(post(api, tokens(limits.MAX_TOKENS)))
    assert f"more than {limits.MAX_TOKENS} tokens" in _messages(post(api, tokens(limits.MAX_TOKENS + 1)))


def test_page_size(api):
    assert "errors" not in post(api, ORDERS, {"first": limits.MAX_PAGE})
    body = post(api, ORDERS, {"first": limits.MAX_PAGE + 1})
    assert top_level(body)["code"] == "OUT_OF_RANGE"


# -- list inputs ----------------------------------------------------------------------------


def test_order_lines(api):
    unknown = {"offering": "no-such-offering"}
    at = create(api, lines=[unknown] * limits.MAX_ORDER_LINES)
    assert ("lines", "TOO_MANY") not in codes(at) and ("lines.99.offering", "UNKNOWN_OFFERING") in codes(at)
    over = create(api, lines=[unknown] * (limits.MAX_ORDER_LINES + 1))
    assert codes(over) == {("lines", "TOO_MANY")}


def test_characteristics_per_line(api):
    def line(n):
        return {"offering": "test-internet", "characteristics": [{"name": f"c{i}", "value": 1} for i in range(n)]}

    at = create(api, lines=[line(limits.MAX_LINE_CHARACTERISTICS)])
    assert ("lines.0.characteristics", "TOO_MANY") not in codes(at)
    over = create(api, lines=[line(limits.MAX_LINE_CHARACTERISTICS + 1)])
    assert codes(over) == {("lines.0.characteristics", "TOO_MANY")}
    task = {
        "id": "VGFzazo5OTk5OTk=",
        "characteristics": [{"name": f"c{i}", "value": 1} for i in range(limits.MAX_LINE_CHARACTERISTICS + 1)],
    }
    completed = post(api, COMPLETE, {"input": task})["data"]["taskComplete"]
    assert codes(completed) == {("characteristics", "TOO_MANY")}


def test_state_filters(api):
    assert "errors" not in post(api, ORDERS, {"first": 1, "states": ["DRAFT"] * limits.MAX_STATE_FILTERS})
    body = post(api, ORDERS, {"first": 1, "states": ["DRAFT"] * (limits.MAX_STATE_FILTERS + 1)})
    assert top_level(body) == {"code": "TOO_MANY", "field": "states"}
    assert body["data"] is None


# -- string inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("customerId", limits.MAX_CUSTOMER_ID_LENGTH),
        ("description", limits.MAX_DESCRIPTION_LENGTH),
        ("externalId", limits.MAX_EXTERNAL_ID_LENGTH),
        ("idempotencyKey", limits.MAX_IDEMPOTENCY_KEY_LENGTH),
    ],
)
def test_header_strings(api, field, limit):
    # Lines that fail validation: the answer at the limit shows the field passed, without a write.
    lines = [{"offering": "no-such-offering"}]
    at = create(api, lines=lines, **{field: "x" * limit})
    assert (field, "TOO_LONG") not in codes(at)
    over = create(api, lines=lines, **{field: "x" * (limit + 1)})
    assert (field, "TOO_LONG") in codes(over)


def test_header_strings_are_refused_before_the_service_is_called(api, monkeypatch):
    calls = spy_on_create(api, monkeypatch)
    over = create(api, description="x" * (limits.MAX_DESCRIPTION_LENGTH + 1), idempotencyKey="k" * 1000)
    assert codes(over) == {("description", "TOO_LONG"), ("idempotencyKey", "TOO_LONG")}
    assert calls == []


def test_offering_key(api):
    at = create(api, lines=[{"offering": "o" * limits.MAX_KEY_LENGTH}])
    assert codes(at) == {("lines.0.offering", "UNKNOWN_OFFERING")}
    over = create(api, lines=[{"offering": "o" * (limits.MAX_KEY_LENGTH + 1)}])
    assert codes(over) == {("lines.0.offering", "TOO_LONG")}


def test_characteristic_name(api):
    name = "n" * limits.MAX_CHARACTERISTIC_NAME_LENGTH
    at = create(api, lines=[internet_line(**{name: 1})])
    assert codes(at) == {(f"lines.0.characteristics.{name}", "UNKNOWN_CHARACTERISTIC")}
    over = create(api, lines=[internet_line(**{name + "n": 1})])
    assert codes(over) == {("lines.0.characteristics", "TOO_LONG")}


def test_characteristic_value_default(api):
    before = order_count(api)
    at = create(api, lines=[internet_line("a" * limits.DEFAULT_STRING_MAX_LENGTH)])
    assert at["errors"] == []
    over = create(api, lines=[internet_line("a" * (limits.DEFAULT_STRING_MAX_LENGTH + 1))])
    assert codes(over) == {("lines.0.characteristics.address", "TOO_LONG")}
    assert order_count(api) == before + 1


def test_characteristic_value_of_the_catalog(api):
    """The telecom pack's installation address declares maxLength 500, and says so in the catalog."""
    offerings = post(api, "{ productOfferings { key productSpecification { characteristics { name valueType maxLength } } } }")
    spec = next(o for o in offerings["data"]["productOfferings"] if o["key"] == "fibre-broadband-500")["productSpecification"]
    declared = {c["name"]: c["maxLength"] for c in spec["characteristics"]}
    assert declared["installationAddress"] == 500 and declared["bandwidth"] is None
    assert declared["routerModel"] == limits.DEFAULT_STRING_MAX_LENGTH
    assert create(api, lines=[fibre("1" + "a" * 499)])["errors"] == []
    over = create(api, lines=[fibre("1" + "a" * 500)])
    assert codes(over) == {("lines.0.characteristics.installationAddress", "TOO_LONG")}
    assert "at most 500 characters" in over["errors"][0]["message"]


def test_characteristic_value_ceiling(api, monkeypatch):
    """A 100 KB value never reaches the service (nor the database, inventory, events, cache)."""
    calls = spy_on_create(api, monkeypatch)
    over = create(api, lines=[internet_line("a" * (limits.STRING_MAX_LENGTH_CEILING + 1))])
    assert codes(over) == {("lines.0.characteristics.address", "TOO_LONG")}
    huge = create(api, lines=[internet_line("a" * 100_000)])
    assert codes(huge) == {("lines.0.characteristics.address", "TOO_LONG")}
    assert calls == []


def test_characteristic_values_are_json_scalars_and_bounded_numbers(api):
    nested = create(api, lines=[internet_line({"street": ["a"] * 1000})])
    assert codes(nested) == {("lines.0.characteristics.address", "INVALID_TYPE")}
    over = create(api, lines=[internet_line(links=2**63)])
    assert codes(over) == {("lines.0.characteristics.links", "OUT_OF_RANGE")}


def test_ids(api):
    too_long = "T" * (limits.MAX_ID_LENGTH + 1)
    update = post(api, UPDATE, {"input": {"id": too_long, "lines": []}})["data"]["orderUpdate"]
    assert codes(update) == {("id", "INVALID_ID")}
    product = create(api, lines=[{"action": "MODIFY", "productId": too_long}])
    assert codes(product) == {("lines.0.productId", "INVALID_ID")}
    body = post(api, "query($id: ID!) { order(id: $id) { id } }", {"id": too_long})
    assert top_level(body)["code"] == "INVALID_ID"
    body = post(api, "query($id: ID) { products(orderId: $id) { edges { cursor } } }", {"id": too_long})
    assert top_level(body)["code"] == "INVALID_ID"


def test_cursor(api):
    body = post(api, ORDERS, {"first": 1, "after": "a" * (limits.MAX_CURSOR_LENGTH + 1)})
    assert top_level(body) == {"code": "INVALID_CURSOR", "field": "after"}


def test_customer_filter(api):
    assert "errors" not in post(api, ORDERS, {"first": 1, "customerId": "c" * limits.MAX_CUSTOMER_ID_LENGTH})
    body = post(api, ORDERS, {"first": 1, "customerId": "c" * (limits.MAX_CUSTOMER_ID_LENGTH + 1)})
    assert top_level(body) == {"code": "TOO_LONG", "field": "customerId"}
    body = post(api, "query($c: String) { products(customerId: $c) { edges { cursor } } }", {"c": "c" * 81})
    assert top_level(body) == {"code": "TOO_LONG", "field": "customerId"}


# -- subscriptions --------------------------------------------------------------------------


def test_subscriptions_per_connection(api):
    client, runtime, headers = api
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": headers["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        for i in range(limits.MAX_SUBSCRIPTIONS_PER_CONNECTION):
            ws.send_json({"id": str(i), "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        support.wait_for(
            lambda: runtime.bus.local.subscriber_count >= limits.MAX_SUBSCRIPTIONS_PER_CONNECTION,
            10,
            interval=0.05,
            message="subscriptions",
        )
        ws.send_json({"id": "one-too-many", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["id"] == "one-too-many"
        assert "limit" in refused["payload"][0]["message"].lower()
        # The first twenty still deliver.
        post(api, CREATE, {"input": {"customerId": "CUST-1", "lines": [internet_line()]}})
        assert ws.receive_json()["type"] == "next"
