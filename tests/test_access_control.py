"""Access control through the public surfaces: every role against every operation, customer A
against customer B on every query, node(id) and subscription, sensitive fields, the
deny-by-default schema walk, websocket authentication, limits and error masking."""

from __future__ import annotations

import base64
import contextlib
import json
import time

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from om_graph.app import create_app
from om_graph.core.fulfilment.models import Task
from om_graph.schema import build_schema
from om_graph.schema.permissions import FIELDS, OPERATIONS
from tests import support

ROLES = [
    "customer",
    "order_agent",
    "order_fulfillment_agent",
    "order_manager",
    "order_approver",
    "order_fulfillment_manager",
    "order_fallout_agent",
    "order_fallout_manager",
    "process_admin",
    "viewer",
    "service_account",
]
READS = {"node", "nodes", "productOfferings", "order", "orders", "products", "orderEvents", "orderPreview"}
CAPTURE = {"orderCreate", "orderUpdate", "orderSubmit", "orderLineCharacteristicsSupply"}
STAFF = {"enrichmentTasks", "tasks"}  # work queues every staff role reads
ENRICH = {"enrichmentTaskComplete"}  # with taskComplete: manual enrichment tasks
APPROVE = {"orderApprove", "orderReject", "approvalQueue", "ordersAwaitingMyApproval"}
# Written out by hand (not derived from the permission table) so the table is what is tested.
EXPECTED = {
    "customer": READS | CAPTURE,
    "order_agent": READS | CAPTURE | STAFF,
    "order_fulfillment_agent": READS | {"taskComplete"} | STAFF | ENRICH,
    "order_manager": READS | CAPTURE | {"taskComplete", "orderResume"} | STAFF | ENRICH,
    "order_approver": READS | {"orderResume"} | STAFF | APPROVE,
    "order_fulfillment_manager": READS | {"taskComplete"} | STAFF | ENRICH | APPROVE,
    "order_fallout_agent": READS | {"taskComplete"} | STAFF | ENRICH,
    "order_fallout_manager": READS | {"taskComplete", "orderResume"} | STAFF | ENRICH,
    "process_admin": READS | {"orderResume"} | STAFF,
    "viewer": READS | STAFF,
    "service_account": READS | CAPTURE | {"taskComplete"} | STAFF | ENRICH,
}
# core/decisions: every staff role reads the decision tables; only process admins change or test them.
DECISION_READS = {"decisionTables", "decisionTable"}
DECISION_MANAGE = {
    "decisionTableCreate",
    "decisionTableDraftUpdate",
    "decisionTableTest",
    "decisionTableActivate",
    "decisionTableRollback",
    "decisionTableDraftDiscard",
}
EXPECTED = {role: ops | (DECISION_READS if role != "customer" else set()) for role, ops in EXPECTED.items()}
EXPECTED["process_admin"] = EXPECTED["process_admin"] | DECISION_MANAGE
DECISION_TABLE_M = "mutation($input: %sInput!) { %s(input: $input) { errors { code } } }"
# core/pricing: price lists need price:read (fulfilment and fallout agents do not have it).
NO_PRICE_READ = {"order_fulfillment_agent", "order_fallout_agent"}
EXPECTED = {role: ops | ({"priceLists"} if role not in NO_PRICE_READ else set()) for role, ops in EXPECTED.items()}
# core/fulfilment: who works a queue claims and releases (taskComplete's roles); managers assign,
# hold and resume (orderResume also resumes a held order, so fulfilment managers have it too).
QUEUE_WORK = {"taskClaim", "taskRelease"}
HOLDS = {"orderHold", "orderLineHold", "orderLineResume"}
for _role in ("order_fulfillment_agent", "order_manager", "order_fallout_agent", "service_account"):
    EXPECTED[_role] = EXPECTED[_role] | QUEUE_WORK
EXPECTED["order_manager"] = EXPECTED["order_manager"] | HOLDS
EXPECTED["order_fulfillment_manager"] = EXPECTED["order_fulfillment_manager"] | QUEUE_WORK | HOLDS | {"taskAssign", "orderResume"}
EXPECTED["order_fallout_manager"] = EXPECTED["order_fallout_manager"] | QUEUE_WORK | HOLDS | {"taskAssign"}
# core/fulfilment/fallout.py: staff read the queue; fallout agents work records, fallout managers
# also reassign and give up; who assigns tasks (task:assign) closes a domain order by hand.
FALLOUT_READS = {"fallouts", "falloutCounts", "falloutEvents"}
FALLOUT_WORK = {"falloutWork", "falloutRetry", "falloutSkip", "falloutResolve"}
EXPECTED = {role: ops | (FALLOUT_READS if role != "customer" else set()) for role, ops in EXPECTED.items()}
EXPECTED["order_fallout_agent"] = EXPECTED["order_fallout_agent"] | FALLOUT_WORK
EXPECTED["order_fallout_manager"] = EXPECTED["order_fallout_manager"] | FALLOUT_WORK | {"falloutReassign", "falloutGiveUp"}
for _role in ("order_fulfillment_manager", "order_fallout_manager"):
    EXPECTED[_role] = EXPECTED[_role] | {"domainOrderClose"}
# core/change/cancellation.py: every reader reads a cancel request; order:cancel requests one.
CANCELS = {"orderCancel", "orderLineCancel"}
EXPECTED = {role: ops | {"cancelRequest"} for role, ops in EXPECTED.items()}
for _role in ("customer", "order_agent", "order_manager", "service_account"):
    EXPECTED[_role] = EXPECTED[_role] | CANCELS
# core/change/revision.py: every reader diffs versions; order:revise revises; order:approve decides.
EXPECTED = {role: ops | {"orderVersionDiff"} for role, ops in EXPECTED.items()}
for _role in ("order_agent", "order_manager", "service_account"):
    EXPECTED[_role] = EXPECTED[_role] | {"orderRevise"}
EXPECTED = {
    role: ops | ({"revisionApprove", "revisionReject", "revisionsAwaitingApproval"} if "orderApprove" in ops else set())
    for role, ops in EXPECTED.items()
}
# core/notification/hub.py: only process admins see the event hub and retry or skip its deliveries.
HUB_ADMIN = {"hubListeners", "hubDeliveries", "hubDeliveryRetry", "hubDeliverySkip"}
EXPECTED["process_admin"] = EXPECTED["process_admin"] | HUB_ADMIN
# om_graph/web: everyone signed in reads who they are; staff (decision:read) read the installed packs.
EXPECTED = {role: ops | {"viewer"} | ({"installedPacks"} if "decisionTables" in ops else set()) for role, ops in EXPECTED.items()}
HUB_M = """mutation { %s(input: {id: "999999"}) { delivery { id } errors { code } } }"""
REVISE_M = """mutation($id: ID!) { orderRevise(input: {id: $id, reason: "acl"}) { revision { id } errors { code } } }"""
REVISION_M = """mutation { %s(input: {id: "T3JkZXJSZXZpc2lvbjo5OTk5OTk="}) { revision { id } errors { code } } }"""
DIFF_Q = """query($id: ID!) { orderVersionDiff(orderId: $id, from: 1, to: 2) { path } }"""
CANCEL_M = """mutation($id: ID!) { orderCancel(input: {id: $id, reason: "acl"}) { cancelRequest { id } errors { code } } }"""
LINE_CANCEL_M = """mutation { orderLineCancel(input: {lineId: "T3JkZXJMaW5lOjk5OTk5OQ==", reason: "acl"}) { cancelRequest { id } errors { code } } }"""
CANCEL_Q = """query { cancelRequest(id: "Q2FuY2VsUmVxdWVzdDo5OTk5OTk=") { id state } }"""
MISSING_FALLOUT = "RmFsbG91dDo5OTk5OTk="  # Fallout:999999
FALLOUT_M = "mutation($id: ID!) { %s(input: {id: $id%s}) { fallout { id } errors { code } } }"
FALLOUT_EVENTS_S = "subscription { falloutEvents { type } }"

ORDER_Q = (
    """query($id: ID!) { order(id: $id) { id state lines { state } domainOrders { kind tasks { id state } } products { id } } }"""
)
ORDERS_Q = "query { orders(first: 50) { edges { node { id customerId } } } }"
PRODUCTS_Q = "query { products(first: 50) { edges { node { id customerId } } } }"
NODE_Q = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES_Q = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }"
CREATE_M = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
SUBMIT_M = """mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id } errors { code } } }"""
UPDATE_M = """mutation($id: ID!) { orderUpdate(input: {id: $id, lines: []}) { order { id } errors { code } } }"""
RESUME_M = """mutation($id: ID!) { orderResume(input: {id: $id}) { order { id } errors { code } } }"""
PREVIEW_Q = """query($id: ID!) { orderPreview(input: {id: $id}) { preview { customerId } errors { code } } }"""
COMPLETE_M = """mutation($id: ID!) { taskComplete(input: {id: $id}) { task { id } errors { code } } }"""
EVENTS_S = "subscription($id: ID) { orderEvents(orderId: $id) { type orderId } }"
ENRICH_M = """mutation($id: ID!) { enrichmentTaskComplete(input: {id: $id}) { task { id } errors { code } } }"""
APPROVE_M = """mutation($id: ID!) { orderApprove(input: {id: $id}) { order { id } errors { code } } }"""
REJECT_M = """mutation($id: ID!) { orderReject(input: {id: $id, reason: "no"}) { order { id } errors { code } } }"""
MISSING_ENRICHMENT_TASK = "RW5yaWNobWVudFRhc2s6OTk5OTk5"  # EnrichmentTask:999999
MISSING_ORDER = "T3JkZXI6OTk5OTk5"  # Order:999999
MISSING_TASK = "VGFzazo5OTk5OTk="  # Task:999999
HOLD_M = """mutation($id: ID!) { orderHold(input: {id: $id, reason: "acl"}) { order { id } errors { code } } }"""
LINE_HOLD_M = """mutation($id: ID!) {
  orderLineHold(input: {orderId: $id, lineNumber: 1, reason: "acl"}) { order { id } errors { code } } }"""
LINE_RESUME_M = (
    """mutation($id: ID!) { orderLineResume(input: {orderId: $id, lineNumber: 1}) { order { id } errors { code } } }"""
)
TASK_M = """mutation($id: ID!) { %s(input: {id: $id%s}) { task { id } errors { code } } }"""
SUPPLY_M = """mutation($id: ID!) { orderLineCharacteristicsSupply(input: {orderId: $id, lineNumber: 1,
  characteristics: [{name: "vlan", value: 1}]}) { order { id } errors { code } } }"""


def gid(type_name: str, value: int) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def line():
    return {
        "offering": "test-internet",
        "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two customers with a completed order each, and a token per role (A's for customer)."""
    tmp = tmp_path_factory.mktemp("acl")
    runtime = support.build_runtime(f"sqlite:///{tmp / 'acl.db'}")
    app = create_app(runtime=runtime)
    with TestClient(app) as client:
        tokens = {role: support.bearer(runtime, role, "ACCT-A" if role == "customer" else None) for role in ROLES}
        tokens["customer_b"] = support.bearer(runtime, "customer", "ACCT-B")
        orders = {}
        for who, account in (("customer", "ACCT-A"), ("customer_b", "ACCT-B")):
            body = client.post(
                "/graphql",
                headers=tokens[who],
                json={"query": CREATE_M, "variables": {"input": {"customerId": account, "lines": [line()]}}},
            ).json()
            order_id = body["data"]["orderCreate"]["order"]["id"]
            client.post("/graphql", headers=tokens[who], json={"query": SUBMIT_M, "variables": {"id": order_id}})
            orders[who] = order_id

        def complete_manual():
            with runtime.sessions() as s:
                ready = s.scalars(select(Task.id).where(Task.kind == "manual", Task.state == "ready")).all()
            for task_id in ready:
                client.post(
                    "/graphql",
                    headers=tokens["order_fulfillment_agent"],
                    json={"query": COMPLETE_M, "variables": {"id": gid("Task", task_id)}},
                )
            detail = [
                client.post("/graphql", headers=tokens["viewer"], json={"query": ORDER_Q, "variables": {"id": o}}).json()
                for o in orders.values()
            ]
            return all(d["data"]["order"]["state"] == "COMPLETED" for d in detail)

        support.wait_for(complete_manual, 30, interval=0.3, message="both orders to complete")
        yield client, runtime, tokens, orders
    runtime.stop()


def call(client, headers, query, variables=None):
    return client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()


def _forbidden(body) -> bool:
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))


def _operation(client, runtime, headers, role, name, orders):
    account = "ACCT-A" if role == "customer" else "ACCT-Z"
    if name in ("orderEvents", "falloutEvents"):
        import asyncio

        from om_graph.schema.context import Context

        actor = runtime.authenticator.authenticate(headers["Authorization"])
        context = Context(services=runtime.services, bus=runtime.bus, actor=actor)

        async def first():
            document = EVENTS_S if name == "orderEvents" else FALLOUT_EVENTS_S
            result = await build_schema().subscribe(document, context_value=context)
            if hasattr(result, "errors") and not hasattr(result, "__aiter__"):
                return {"errors": [e.formatted for e in result.errors]}
            if name == "falloutEvents":  # live only: a refusal is its first item, an allowed stream waits
                try:
                    item = await asyncio.wait_for(result.__anext__(), 0.5)
                    if getattr(item, "errors", None):
                        return {"errors": [e.formatted for e in item.errors]}
                except TimeoutError:
                    pass
            await result.aclose()
            return {}

        return asyncio.run(first())
    documents = {
        "node": (NODE_Q, {"id": orders["customer"]}),
        "nodes": (NODES_Q, {"ids": [orders["customer"]]}),
        "productOfferings": ("{ productOfferings { key } }", {}),
        "order": (ORDER_Q, {"id": orders["customer"]}),
        "orders": (ORDERS_Q, {}),
        "products": (PRODUCTS_Q, {}),
        "orderCreate": (CREATE_M, {"input": {"customerId": account, "lines": [line()], "idempotencyKey": f"matrix-{role}"}}),
        "orderUpdate": (UPDATE_M, {"id": MISSING_ORDER}),
        "orderSubmit": (SUBMIT_M, {"id": MISSING_ORDER}),
        "taskComplete": (COMPLETE_M, {"id": MISSING_TASK}),
        "orderResume": (RESUME_M, {"id": MISSING_ORDER}),
        "orderPreview": (PREVIEW_Q, {"id": MISSING_ORDER}),
        "decisionTables": ("{ decisionTables { name } }", {}),
        "decisionTable": ('{ decisionTable(name: "order.priority") { name } }', {}),
        "decisionTableCreate": (
            DECISION_TABLE_M % ("DecisionTableCreate", "decisionTableCreate"),
            {"input": {"name": f"acl.{role}", "hitPolicy": "FIRST", "inputs": [], "outputs": [], "rules": []}},
        ),
        "decisionTableDraftUpdate": (
            DECISION_TABLE_M % ("DecisionTableDraftUpdate", "decisionTableDraftUpdate"),
            {"input": {"name": "no.such", "hitPolicy": "FIRST", "inputs": [], "outputs": [], "rules": []}},
        ),
        "decisionTableTest": (
            DECISION_TABLE_M % ("DecisionTableTest", "decisionTableTest"),
            {"input": {"name": "order.priority", "samples": [{}]}},
        ),
        "decisionTableActivate": (
            DECISION_TABLE_M % ("DecisionTableActivate", "decisionTableActivate"),
            {"input": {"name": "no.such", "version": 1, "reason": "acl"}},
        ),
        "decisionTableRollback": (
            DECISION_TABLE_M % ("DecisionTableRollback", "decisionTableRollback"),
            {"input": {"name": "no.such", "version": 1, "reason": "acl"}},
        ),
        "decisionTableDraftDiscard": (
            DECISION_TABLE_M % ("DecisionTableDraftDiscard", "decisionTableDraftDiscard"),
            {"input": {"name": "no.such", "version": 1, "reason": "acl"}},
        ),
        "enrichmentTaskComplete": (ENRICH_M, {"id": MISSING_ENRICHMENT_TASK}),
        "orderApprove": (APPROVE_M, {"id": MISSING_ORDER}),
        "orderReject": (REJECT_M, {"id": MISSING_ORDER}),
        "enrichmentTasks": ("{ enrichmentTasks { id } }", {}),
        "approvalQueue": ('{ approvalQueue(role: "order_approver") { id } }', {}),
        "ordersAwaitingMyApproval": ("{ ordersAwaitingMyApproval { id } }", {}),
        "priceLists": ("{ priceLists { key } }", {}),
        "tasks": ("{ tasks { edges { cursor } } }", {}),
        "taskClaim": (TASK_M % ("taskClaim", ""), {"id": MISSING_TASK}),
        "taskAssign": (TASK_M % ("taskAssign", ', assignee: "x"'), {"id": MISSING_TASK}),
        "taskRelease": (TASK_M % ("taskRelease", ""), {"id": MISSING_TASK}),
        "orderHold": (HOLD_M, {"id": MISSING_ORDER}),
        "orderLineHold": (LINE_HOLD_M, {"id": MISSING_ORDER}),
        "orderLineResume": (LINE_RESUME_M, {"id": MISSING_ORDER}),
        "orderLineCharacteristicsSupply": (SUPPLY_M, {"id": MISSING_ORDER}),
        "orderCancel": (CANCEL_M, {"id": MISSING_ORDER}),
        "orderLineCancel": (LINE_CANCEL_M, {}),
        "cancelRequest": (CANCEL_Q, {}),
        "orderRevise": (REVISE_M, {"id": MISSING_ORDER}),
        "revisionApprove": (REVISION_M % "revisionApprove", {}),
        "revisionReject": (REVISION_M % "revisionReject", {}),
        "orderVersionDiff": (DIFF_Q, {"id": MISSING_ORDER}),
        "fallouts": ("{ fallouts { edges { cursor } } }", {}),
        "falloutCounts": ("{ falloutCounts { count } }", {}),
        "falloutWork": (FALLOUT_M % ("falloutWork", ", action: TAKE"), {"id": MISSING_FALLOUT}),
        "falloutRetry": (FALLOUT_M % ("falloutRetry", ""), {"id": MISSING_FALLOUT}),
        "falloutSkip": (FALLOUT_M % ("falloutSkip", ""), {"id": MISSING_FALLOUT}),
        "falloutResolve": (FALLOUT_M % ("falloutResolve", ""), {"id": MISSING_FALLOUT}),
        "falloutReassign": (FALLOUT_M % ("falloutReassign", ', assignee: "x"'), {"id": MISSING_FALLOUT}),
        "falloutGiveUp": (FALLOUT_M % ("falloutGiveUp", ""), {"id": MISSING_FALLOUT}),
        "domainOrderClose": (FALLOUT_M % ("domainOrderClose", ', reason: "acl"'), {"id": "RG9tYWluT3JkZXI6OTk5OTk5"}),
        "hubListeners": ("{ hubListeners { id } }", {}),
        "viewer": ("{ viewer { id permissions } }", {}),
        "revisionsAwaitingApproval": ("{ revisionsAwaitingApproval { id } }", {}),
        "installedPacks": ("{ installedPacks { name hooks } }", {}),
        "hubDeliveries": ("{ hubDeliveries { id } }", {}),
        "hubDeliveryRetry": (HUB_M % "hubDeliveryRetry", {}),
        "hubDeliverySkip": (HUB_M % "hubDeliverySkip", {}),
    }
    query, variables = documents[name]
    return call(client, headers, query, variables)


OPERATION_NAMES = sorted(key.split(".", 1)[1] for key in OPERATIONS)


@pytest.mark.parametrize("role", ROLES)
def test_role_operation_matrix(world, role):
    client, runtime, tokens, orders = world
    for name in OPERATION_NAMES:
        body = _operation(client, runtime, tokens[role], role, name, orders)
        if name in EXPECTED[role]:
            assert not _forbidden(body), (role, name, body)
        else:
            assert _forbidden(body), (role, name, body)
            assert not (body.get("data") or {}).get(name), (role, name, body)


def test_expected_matrix_covers_every_operation():
    assert set().union(*EXPECTED.values()) <= set(OPERATION_NAMES)
    assert set(OPERATION_NAMES) == {n for n in OPERATION_NAMES if any(n in ops for ops in EXPECTED.values())}


def test_unauthenticated_and_bad_tokens_get_401(world):
    client, *_ = world
    for headers in (
        {},
        {"Authorization": "Bearer omg_not-a-token"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer a.b.c"},
    ):
        response = client.post("/graphql", headers=headers, json={"query": "{ productOfferings { key } }"})
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "productOfferings" not in response.text.replace('"query"', "")


def test_revoked_token_stops_working(world):
    client, runtime, *_ = world
    issued = runtime.tokens.issue("short-lived", ["viewer"])
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.post("/graphql", headers=headers, json={"query": "{ productOfferings { key } }"}).status_code == 200
    runtime.tokens.revoke(issued.id)
    assert client.post("/graphql", headers=headers, json={"query": "{ productOfferings { key } }"}).status_code == 401


class TestCustomerIsolation:
    def test_order_and_node_answer_as_if_absent(self, world):
        client, runtime, tokens, orders = world
        a_order = orders["customer"]
        assert call(client, tokens["customer"], ORDER_Q, {"id": a_order})["data"]["order"]["id"] == a_order
        for query in (ORDER_Q, NODE_Q):
            body = call(client, tokens["customer_b"], query, {"id": a_order})
            assert "errors" not in body and list(body["data"].values()) == [None]
            missing = call(client, tokens["customer_b"], query, {"id": MISSING_ORDER})
            assert missing == body  # indistinguishable from an id that does not exist

    def test_connections_only_list_own_rows(self, world):
        client, runtime, tokens, orders = world
        for who, account in (("customer", "ACCT-A"), ("customer_b", "ACCT-B")):
            listed = call(client, tokens[who], ORDERS_Q)["data"]["orders"]["edges"]
            assert listed and {e["node"]["customerId"] for e in listed} == {account}
            products = call(client, tokens[who], PRODUCTS_Q)["data"]["products"]["edges"]
            assert products and {e["node"]["customerId"] for e in products} == {account}
        # Asking for B's rows by filter yields nothing for A.
        body = call(client, tokens["customer"], 'query { orders(first: 5, customerId: "ACCT-B") { edges { node { id } } } }')
        assert body["data"]["orders"]["edges"] == []

    def test_every_node_type_of_another_account_is_invisible(self, world):
        client, runtime, tokens, orders = world
        detail = call(client, tokens["viewer"], ORDER_Q, {"id": orders["customer"]})["data"]["order"]
        ids = [detail["products"][0]["id"], detail["domainOrders"][0]["tasks"][0]["id"]]
        domain = call(
            client, tokens["viewer"], "query($id: ID!) { order(id: $id) { domainOrders { id } } }", {"id": orders["customer"]}
        )
        ids.append(domain["data"]["order"]["domainOrders"][0]["id"])
        for node_id in ids:
            assert call(client, tokens["customer"], NODE_Q, {"id": node_id})["data"]["node"]["id"] == node_id
            assert call(client, tokens["customer_b"], NODE_Q, {"id": node_id})["data"]["node"] is None

    def test_customer_cannot_order_for_another_account(self, world):
        client, runtime, tokens, orders = world
        body = call(client, tokens["customer"], CREATE_M, {"input": {"customerId": "ACCT-B", "lines": [line()]}})
        assert body["data"]["orderCreate"]["order"] is None
        assert body["data"]["orderCreate"]["errors"][0]["code"] == "FORBIDDEN"
        submit_other = call(client, tokens["customer"], SUBMIT_M, {"id": orders["customer_b"]})
        assert submit_other["data"]["orderSubmit"]["errors"][0]["code"] == "NOT_FOUND"

    def test_subscriptions_only_carry_own_events(self, world):
        client, runtime, tokens, orders = world
        received = {}
        sockets = {}
        with contextlib.ExitStack() as stack:
            self._exchange(client, runtime, tokens, orders, stack, sockets, received)

    def _exchange(self, client, runtime, tokens, orders, stack, sockets, received):
        for who in ("customer", "customer_b"):
            ws = stack.enter_context(client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]))
            ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens[who]["Authorization"]}})
            assert ws.receive_json()["type"] == "connection_ack"
            # B subscribes to A's order explicitly, and to everything.
            ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": EVENTS_S, "variables": {"id": orders["customer"]}}}
            )
            ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": EVENTS_S, "variables": {}}})
            sockets[who] = ws
        # Subscriptions start asynchronously; create events only once all four listen.
        support.wait_for(lambda: runtime.bus.local.subscriber_count >= 4, 10, interval=0.05, message="subscriptions")
        call(client, tokens["customer"], CREATE_M, {"input": {"customerId": "ACCT-A", "lines": [line()]}})
        created_b = call(client, tokens["customer_b"], CREATE_M, {"input": {"customerId": "ACCT-B", "lines": [line()]}})
        b_order = created_b["data"]["orderCreate"]["order"]["id"]
        # A's "everything" stream gets A's create; B's gets only B's.
        for who in ("customer", "customer_b"):
            message = sockets[who].receive_json()
            received[who] = message
        assert received["customer"]["payload"]["data"]["orderEvents"]["orderId"] != b_order
        assert received["customer_b"]["payload"]["data"]["orderEvents"]["orderId"] == b_order
        assert received["customer_b"]["id"] == "2"  # nothing on the subscription to A's order


def test_sensitive_fields_need_their_permission(world):
    client, runtime, tokens, orders = world
    price_q = "query($id: ID!) { order(id: $id) { id oneTimeTotal { amount } } }"
    body = call(client, tokens["order_fulfillment_agent"], price_q, {"id": orders["customer"]})
    assert _forbidden(body) and body["data"]["order"]["oneTimeTotal"] is None and body["data"]["order"]["id"]
    assert not _forbidden(call(client, tokens["customer"], price_q, {"id": orders["customer"]}))
    internals = "query($id: ID!) { order(id: $id) { createdBy events { actor } domainOrders { characteristics { name } tasks { errorMessage completedBy } } } }"
    assert _forbidden(call(client, tokens["customer"], internals, {"id": orders["customer"]}))
    staff = call(client, tokens["viewer"], internals, {"id": orders["customer"]})
    assert not _forbidden(staff)
    actors = {e["actor"] for e in staff["data"]["order"]["events"]}
    assert "token:test-customer-ACCT-A" in actors and "system" in actors  # who did what is recorded
    completed_by = {t["completedBy"] for d in staff["data"]["order"]["domainOrders"] for t in d["tasks"]}
    assert "token:test-order_fulfillment_agent-staff" in completed_by


def test_schema_walk_every_operation_and_field_has_a_rule():
    schema = build_schema()._schema
    missing = []
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        missing += [f"{root.name}.{f}" for f in root.fields if f"{root.name}.{f}" not in OPERATIONS]
    for name, gtype in schema.type_map.items():
        if (
            name.startswith("__")
            or not isinstance(gtype, GraphQLObjectType)
            or gtype in (schema.query_type, schema.mutation_type, schema.subscription_type)
        ):
            continue
        missing += [f"{name}.{f}" for f in gtype.fields if f not in FIELDS.get(name, {})]
    assert missing == [], f"no permission rule for: {missing}"


def test_websocket_without_valid_token_is_closed_with_no_data(world):
    client, runtime, tokens, orders = world
    for payload in (
        {},
        {"Authorization": "Bearer omg_wrong"},
        {"Authorization": 5},
        {"token": ["Bearer x"]},
        {"Authorization": {}},
    ):
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": payload})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403


class TestLimits:
    def test_depth_limit(self, world):
        client, runtime, tokens, _ = world
        from om_graph.schema.limits import MAX_DEPTH

        deepest_real = "{ orders { edges { node { domainOrders { tasks { dependencies { predecessorId } } } } } } }"
        assert "errors" not in call(client, tokens["viewer"], deepest_real)
        nested = "{ orders { edges { node { " + "a { " * (MAX_DEPTH - 2) + "b" + " }" * (MAX_DEPTH - 2) + " } } } }"
        body = call(client, tokens["viewer"], nested)
        assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"]), body

    def test_aliases_tokens_and_page_size_are_capped(self, world):
        client, runtime, tokens, _ = world
        aliases = "{ " + " ".join(f"a{i}: productOfferings {{ key }}" for i in range(20)) + " }"
        body = call(client, tokens["viewer"], aliases)
        assert "aliases" in body["errors"][0]["message"].lower(), body
        huge = "{ productOfferings { " + " ".join(["key"] * 2100) + " } }"
        body = call(client, tokens["viewer"], huge)
        assert "token" in body["errors"][0]["message"].lower(), body
        body = call(client, tokens["viewer"], "{ orders(first: 1000) { edges { cursor } } }")
        assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
        body = call(client, tokens["order_agent"], CREATE_M, {"input": {"customerId": "X", "lines": [line()] * 101}})
        assert body["data"]["orderCreate"]["errors"][0]["code"] == "TOO_MANY"

    def test_unexpected_errors_are_masked(self, world, monkeypatch):
        client, runtime, tokens, _ = world

        def explode(*args, **kwargs):
            raise RuntimeError("SELECT secret FROM internal_table")

        monkeypatch.setattr(runtime.services.queries, "offerings", explode)
        body = call(client, tokens["viewer"], "{ productOfferings { key } }")
        text = json.dumps(body)
        assert body["errors"][0]["message"] == "Unexpected error."
        assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
        # Expected (domain) errors are not masked.
        body = call(client, tokens["viewer"], '{ orders(after: "nonsense") { edges { cursor } } }')
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_security_doc_matrix_matches_the_code():
    from pathlib import Path

    from om_graph.core.access.permissions import ROLE_PERMISSIONS, Permission, Role

    text = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    for role in Role:
        if role is Role.SYSTEM:
            continue
        row = " | ".join("✔" if p in ROLE_PERMISSIONS[role] else "" for p in Permission)
        assert f"| `{role.value}` | {row} |" in text, f"docs/security.md is stale for {role.value}"


def test_websocket_must_authenticate_within_seconds(world):
    client, *_ = world
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()  # we never send connection_init
        assert closed.value.code == 4408


def test_resubscribing_with_after_replays_missed_events_of_own_account_only(world):
    client, runtime, tokens, orders = world
    events = call(
        client, tokens["viewer"], "query($id: ID!) { order(id: $id) { events { id type } } }", {"id": orders["customer"]}
    )
    stored = events["data"]["order"]["events"]
    assert len(stored) > 3
    query = "subscription($id: ID, $after: ID) { orderEvents(orderId: $id, after: $after) { id type } }"
    variables = {"id": orders["customer"], "after": stored[0]["id"]}
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens["customer"]["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "r", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        replayed = [ws.receive_json()["payload"]["data"]["orderEvents"] for _ in stored[1:]]
    assert replayed == stored[1:]  # everything after the given event, in order
    # Another account asking for the same replay of A's order gets nothing. Proof: on the same
    # socket a second, live-only subscription sees B's next order first (a replay would have been
    # sent as soon as the first subscription started).
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens["customer_b"]["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "r", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        ws.send_json({"id": "s", "type": "subscribe", "payload": {"query": query, "variables": {}}})
        support.wait_for(lambda: runtime.bus.local.subscriber_count >= 2, 10, interval=0.05, message="subscriptions")
        call(client, tokens["customer_b"], CREATE_M, {"input": {"customerId": "ACCT-B", "lines": [line()]}})
        first = ws.receive_json()
    assert first["id"] == "s" and first["payload"]["data"]["orderEvents"]["type"] == "ProductOrderCreateEvent"


@pytest.mark.timeout(60)  # without the re-check the receive below would wait forever
@pytest.mark.parametrize("end", ["revoked", "expired", "revoked after a failed check"])
def test_open_websocket_is_closed_once_its_token_is_revoked_or_expires(tmp_path, end, caplog):
    """Authenticated at connection_init, but not forever: the credential is checked again every
    token-cache period and the socket closed with 4403 when it no longer holds. A check that
    fails for another reason (database down) keeps the socket and keeps checking."""
    from datetime import timedelta

    runtime = support.build_runtime(f"sqlite:///{tmp_path / 'ws.db'}", token_cache_seconds=0.3)
    query = "subscription { orderEvents { id type } }"
    authenticate, failed = runtime.authenticator.authenticate, []

    def failing_once(credential):
        if not failed:
            failed.append(True)
            raise RuntimeError("database unavailable")
        return authenticate(credential)

    with TestClient(create_app(runtime=runtime)) as client:
        issued = runtime.tokens.issue("watcher", ["viewer"], expires_in=timedelta(seconds=6) if end == "expired" else None)
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {issued.token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "s", "type": "subscribe", "payload": {"query": query}})
            support.wait_for(lambda: runtime.bus.local.subscriber_count >= 1, 10, interval=0.05, message="the subscription")
            if end == "revoked after a failed check":
                runtime.authenticator.authenticate = failing_once
                support.wait_for(lambda: failed, 10, interval=0.05, message="a failed check")
            time.sleep(0.8)  # several re-checks pass while the token is good
            assert runtime.bus.local.subscriber_count == 1
            if end != "expired":
                runtime.tokens.revoke(issued.id)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403
        support.wait_for(lambda: runtime.bus.local.subscriber_count == 0, 10, interval=0.05, message="the subscription to end")
    runtime.stop()
    if end == "revoked after a failed check":
        assert "could not re-check a websocket's credential" in caplog.text
