"""One read style (issue 10): every read of a row goes through the same loaders and mappers, so a
product shows its own currency whichever way it is reached; node/nodes load in one statement per
type, keep the answer's order and nulls, and stay scoped to the customer's account."""

from __future__ import annotations

import base64
import threading
import uuid

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
DETAIL = """query($id: ID!) { order(id: $id) {
  id state
  domainOrders { id kind lineNumber state tasks { id key state dependencies { predecessorId } } }
  products { id orderId oneTimePrice { amount currency } recurringPrice { amount currency } agreementId entitlements { id } }
} }"""
PRODUCT_FIELDS = "id orderId oneTimePrice { amount currency } recurringPrice { amount currency } agreementId entitlements { id }"
PRODUCTS = (
    "query($orderId: ID, $customerId: String) { products(orderId: $orderId, customerId: $customerId) { edges { node { %s } } } }"
    % PRODUCT_FIELDS
)
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Product { %s } } }" % PRODUCT_FIELDS
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Product { %s } } }" % PRODUCT_FIELDS
TASK_NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Task { key state dependencies { predecessorId } } } }"
DOMAIN_ORDER_NODE = """query($id: ID!) { node(id: $id) {
  id ... on DomainOrder { kind lineNumber state tasks { id key state dependencies { predecessorId } } }
} }"""


def gid(type_name: str, value) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def internet(offering: str = "test-internet", quantity: int = 1) -> dict:
    return {
        "offering": offering,
        "quantity": quantity,
        "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """Customer A: a USD order and three EUR orders; customer B: one EUR order. Each is decomposed
    (products written, in the offering's currency) and waits on its manual installation task."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('reads') / 'reads.db'}", None
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        name = f"om_graph_test_{uuid.uuid4().hex[:10]}"
        url, drop = support.create_database(admin, name), (admin, name)
    runtime = support.build_runtime(url)
    try:
        with TestClient(create_app(runtime=runtime)) as client:
            staff = support.bearer(runtime, "order_manager")
            orders = {"usd": [], "a": [], "b": []}
            for key, account, offering, quantity in (
                [("usd", "ACCT-A", "test-internet-usd", 1)]
                + [("a", "ACCT-A", "test-internet", 2)] * 3
                + [("b", "ACCT-B", "test-internet", 1)]
            ):
                variables = {
                    "input": {
                        "customerId": account,
                        "lines": [internet(offering, quantity)],
                        "requestedInitialState": "ACKNOWLEDGED",
                    }
                }
                body = client.post("/graphql", headers=staff, json={"query": CREATE, "variables": variables}).json()
                assert body["data"]["orderCreate"]["errors"] == [], body
                orders[key].append(body["data"]["orderCreate"]["order"]["id"])

            def detail(order_id):
                return client.post("/graphql", headers=staff, json={"query": DETAIL, "variables": {"id": order_id}}).json()[
                    "data"
                ]["order"]

            def settled():
                found = {o: detail(o) for ids in orders.values() for o in ids}
                waiting = all(
                    d["products"] and any(t["state"] == "READY" for do in d["domainOrders"] for t in do["tasks"])
                    for d in found.values()
                )
                return found if waiting else None

            details = support.wait_for(settled, 60, interval=0.3, message="orders decomposed, waiting on installation")
            tokens = {
                "staff": staff,
                "customer_a": support.bearer(runtime, "customer", "ACCT-A"),
                "customer_b": support.bearer(runtime, "customer", "ACCT-B"),
            }
            yield client, runtime, tokens, orders, details
    finally:
        runtime.stop()
        if drop:
            support.drop_database(*drop)


def call(world, who: str, query: str, variables: dict) -> dict:
    client, _, tokens, *_ = world
    body = client.post("/graphql", headers=tokens[who], json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


class Statements:
    """SQL run for requests (in the web server's thread pool), not by the embedded workers."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, *args):
        if threading.current_thread().name.startswith("AnyIO worker thread"):
            self.seen.append(statement.lower())

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def counted(world, who: str, query: str, variables: dict) -> tuple[dict, list[str]]:
    with Statements(world[1].engine) as statements:
        data = call(world, who, query, variables)
    return data, statements.seen


def test_a_product_reads_its_own_currency_through_every_read(world):
    *_, orders, details = world
    [usd_order] = orders["usd"]
    [product] = details[usd_order]["products"]
    assert product["oneTimePrice"]["currency"] == "USD" and product["recurringPrice"]["currency"] == "USD"
    # The same mapper whichever read reached it: the very same object.
    page = call(world, "staff", PRODUCTS, {"orderId": usd_order})["products"]["edges"]
    assert [edge["node"] for edge in page] == [product]
    by_node = call(world, "staff", NODE, {"id": product["id"]})["node"]
    assert {k: v for k, v in by_node.items() if k != "__typename"} == product
    by_nodes = call(world, "customer_a", NODES, {"ids": [product["id"]]})["nodes"]
    assert [{k: v for k, v in n.items() if k != "__typename"} for n in by_nodes] == [product]


def test_nodes_over_many_tasks_take_a_constant_number_of_statements(world):
    *_, orders, details = world
    task_ids = [t["id"] for o in orders["a"] + orders["usd"] for do in details[o]["domainOrders"] for t in do["tasks"]]
    assert len(task_ids) >= 20
    one, one_sql = counted(world, "staff", TASK_NODES, {"ids": task_ids[:1]})
    many, many_sql = counted(world, "staff", TASK_NODES, {"ids": task_ids[:20]})
    assert [n["id"] for n in many["nodes"]] == task_ids[:20]
    assert len(many_sql) == len(one_sql) <= 2, many_sql  # the tasks, their dependencies
    expected = {t["id"]: t for o in details.values() for do in o["domainOrders"] for t in do["tasks"]}
    assert many["nodes"] == [expected[i] for i in task_ids[:20]]  # as order detail shows them


def test_aliased_node_fields_share_one_batch(world):
    *_, orders, details = world
    task_ids = [t["id"] for o in orders["a"] for do in details[o]["domainOrders"] for t in do["tasks"]][:10]
    fields = " ".join(f't{i}: node(id: "{task_id}") {{ id }}' for i, task_id in enumerate(task_ids))
    data, statements = counted(world, "staff", "{ %s }" % fields, {})
    assert [data[f"t{i}"]["id"] for i in range(len(task_ids))] == task_ids
    assert len(statements) <= 2, statements


def test_a_domain_order_node_reads_its_row_not_the_order_detail(world):
    *_, orders, details = world
    [usd_order] = orders["usd"]
    shown = details[usd_order]["domainOrders"][0]
    data, statements = counted(world, "staff", DOMAIN_ORDER_NODE, {"id": shown["id"]})
    assert data["node"] == shown
    assert len(statements) <= 3, statements  # the domain order (with its line's number), its tasks, their dependencies
    for table in ("from customer_order", "from order_event", "from product", "from order_line", "from agreement"):
        assert not any(table in s for s in statements), (table, statements)


def test_nodes_keep_the_order_and_answer_null_for_missing_and_forbidden_ids(world):
    *_, orders, details = world
    a, b = details[orders["a"][0]], details[orders["b"][0]]
    a_do, b_do = a["domainOrders"][0], b["domainOrders"][0]
    ids = [
        a_do["tasks"][0]["id"],
        b_do["tasks"][0]["id"],
        gid("DomainOrder", 999_999_999),
        a["products"][0]["id"],
        b["products"][0]["id"],
        a["id"],
        b["id"],
        a_do["id"],
        b_do["id"],
        gid("Task", 999_999_999),
        a["products"][0]["id"],  # the same id twice answers twice
    ]
    nodes, statements = counted(world, "customer_a", "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids})
    answered = [(n["__typename"], n["id"]) if n else None for n in nodes["nodes"]]
    assert answered == [
        ("Task", ids[0]),
        None,
        None,
        ("Product", ids[3]),
        None,
        ("Order", ids[5]),
        None,
        ("DomainOrder", ids[7]),
        None,
        None,
        ("Product", ids[3]),
    ]
    # Orders, domain orders, tasks, products: one statement each (a product's contract, a
    # domain order's tasks and a task's dependencies only when selected or present).
    assert len(statements) <= 8, statements


def test_a_customer_reads_no_other_accounts_rows(world):
    *_, orders, details = world
    b = details[orders["b"][0]]
    b_do = b["domainOrders"][0]
    others = [b["id"], b["products"][0]["id"], b_do["id"], b_do["tasks"][0]["id"]]
    for node_id in others:
        assert call(world, "customer_a", NODE, {"id": node_id})["node"] is None
        assert call(world, "customer_b", NODE, {"id": node_id})["node"]["id"] == node_id
    assert call(world, "customer_a", NODES, {"ids": others})["nodes"] == [None] * len(others)
    assert call(world, "customer_a", PRODUCTS, {"customerId": "ACCT-B"})["products"]["edges"] == []
    own = {p["id"] for o in orders["a"] + orders["usd"] for p in details[o]["products"]}
    assert {e["node"]["id"] for e in call(world, "customer_a", PRODUCTS, {})["products"]["edges"]} == own
