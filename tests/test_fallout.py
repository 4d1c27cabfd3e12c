"""Fallout through GraphQL: failing handlers open fallout records instead of failing their
lines; one is retried to success, one is retried, fails again (the same record, reopened) and
is skipped with outputs entered by hand, a third (classified billing by the pack's hook) is
given up by a manager, and the order ends partial. Plus the queue, counts, node, permissions,
stale versions and closing a domain order by hand."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_fallout_pack, fixture_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id lines { id lineNumber } } errors { field message code } }
}"""
FIELDS = """id orderId lineId taskId type priority state assignmentGroup assignee errorCode errorMessage handler attempt
southboundResponse resolution note version createdAt closedAt"""
QUEUE = f"""
query($filter: FalloutFilterInput, $first: Int, $after: String) {{
  fallouts(filter: $filter, first: $first, after: $after) {{ edges {{ cursor node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }}
}}"""
COUNTS = """
query($filter: FalloutFilterInput) { falloutCounts(filter: $filter) { state type priority count } }"""
ORDER = f"""
query($id: ID!) {{
  order(id: $id) {{
    id state
    lines {{ lineNumber state }}
    domainOrders {{ id lineNumber state actualEndDate tasks {{ id key state attempts outcome errorCode }} }}
    fallouts {{ {FIELDS} }}
  }}
}}"""
NODE = """query($id: ID!) { node(id: $id) { ... on Fallout { id state type } } }"""
PAYLOAD = f"fallout {{ {FIELDS} }} errors {{ field message code }}"
WORK = f"mutation($input: FalloutWorkInput!) {{ falloutWork(input: $input) {{ {PAYLOAD} }} }}"
RETRY = f"mutation($input: FalloutActionInput!) {{ falloutRetry(input: $input) {{ {PAYLOAD} }} }}"
SKIP = f"mutation($input: FalloutSkipInput!) {{ falloutSkip(input: $input) {{ {PAYLOAD} }} }}"
RESOLVE = f"mutation($input: FalloutActionInput!) {{ falloutResolve(input: $input) {{ {PAYLOAD} }} }}"
REASSIGN = f"mutation($input: FalloutReassignInput!) {{ falloutReassign(input: $input) {{ {PAYLOAD} }} }}"
GIVE_UP = f"mutation($input: FalloutActionInput!) {{ falloutGiveUp(input: $input) {{ {PAYLOAD} }} }}"
CLOSE_DO = f"mutation($input: DomainOrderCloseInput!) {{ domainOrderClose(input: $input) {{ {PAYLOAD} }} }}"


def _token(runtime, name: str, *roles: str, account: str | None = None) -> dict[str, str]:
    token = runtime.tokens.issue(name, list(roles), account_id=account).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make_runtime, database_url):
    runtime = make_runtime(
        database_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_fallout_pack), retry_backoff_ms=0
    )
    with TestClient(create_app(runtime=runtime)) as client:
        tokens = {
            "agent": _token(runtime, "agent", "order_agent"),
            "fallout": _token(runtime, "fo-agent", "order_fallout_agent"),
            "boss": _token(runtime, "fo-boss", "order_fallout_manager"),
            "fulfilment": _token(runtime, "fm", "order_fulfillment_manager"),
            "customer": _token(runtime, "customer", "customer", account="FO"),
        }
        yield client, runtime, tokens


def call(client, headers, query, variables=None) -> dict:
    return client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()


def gql(client, headers, query, variables=None) -> dict:
    body = call(client, headers, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def _widget(**chars) -> dict:
    return {"offering": "fo-widget", "characteristics": [{"name": k, "value": v} for k, v in chars.items()]}


def _place(client, tokens, *lines) -> str:
    variables = {"input": {"customerId": "FO", "lines": list(lines), "requestedInitialState": "ACKNOWLEDGED"}}
    created = gql(client, tokens["agent"], CREATE, variables)["orderCreate"]
    assert created["errors"] == []
    return created["order"]["id"]


def _order(client, tokens, order_id) -> dict:
    return gql(client, tokens["fallout"], ORDER, {"id": order_id})["order"]


def _records(client, tokens, order_id, state=None) -> dict[int, dict]:
    """The order's records by line number (one per line here)."""
    order = _order(client, tokens, order_id)
    lines = {d["id"]: d["lineNumber"] for d in order["domainOrders"]}
    tasks = {t["id"]: lines[d["id"]] for d in order["domainOrders"] for t in d["tasks"]}
    # order.fallouts is read in its own transaction: a record may name a task the order's read
    # (a moment earlier) did not see yet; the next poll has it.
    return {tasks[f["taskId"]]: f for f in order["fallouts"] if f["taskId"] in tasks and (state is None or f["state"] == state)}


def _tasks(order: dict, line_number: int) -> dict[str, dict]:
    return {t["key"]: t for d in order["domainOrders"] if d["lineNumber"] == line_number for t in d["tasks"]}


def _wait_records(client, tokens, order_id, count, state="OPEN"):
    return support.wait_for(
        lambda: (r := _records(client, tokens, order_id, state)) and len(r) == count and r, 30, message=f"{count} {state}"
    )


def _codes(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def test_a_failing_handler_creates_fallout_retried_to_success_and_another_skipped_with_outputs(world):
    client, runtime, tokens = world
    order_id = _place(
        client,
        tokens,
        _widget(failTimes=1),  # line 1: retried to success
        _widget(failTimes=5),  # line 2: retried, fails again, skipped with outputs
        _widget(failTimes=9, failCode="BILLING_DOWN"),  # line 3: the pack's hook says billing; given up
    )
    records = _wait_records(client, tokens, order_id, 3)
    one, two, three = records[1], records[2], records[3]
    assert (one["type"], one["priority"], one["assignmentGroup"], one["state"]) == (
        "provisioning",
        3,
        "order_fallout_agent",
        "OPEN",
    )
    assert (one["errorCode"], one["handler"], one["attempt"]) == ("PROVISIONING_FAILED", "fo.provision", 1)
    assert one["southboundResponse"] == {"status": 503, "call": 1}
    assert (three["type"], three["priority"], three["assignmentGroup"]) == ("billing", 1, "billing_desk")
    order = _order(client, tokens, order_id)
    assert _tasks(order, 1)["fo.provision"]["state"] == "ON_HOLD"
    assert _tasks(order, 1)["fo.notify"]["state"] == "PENDING"  # its successor waits, it is not cancelled
    assert [line["state"] for line in order["lines"]] == ["IN_PROGRESS"] * 3  # no line failed
    assert order["state"] == "IN_PROGRESS"

    # The queue: highest priority first, keyset paged.
    page = gql(client, tokens["fallout"], QUEUE, {"filter": {"states": ["OPEN"]}, "first": 1})["fallouts"]
    assert page["pageInfo"]["hasNextPage"] and page["edges"][0]["node"]["id"] == three["id"]
    after = page["pageInfo"]["endCursor"]
    rest = gql(client, tokens["fallout"], QUEUE, {"filter": {"states": ["OPEN"]}, "after": after})["fallouts"]
    assert [e["node"]["id"] for e in rest["edges"]][:2] == [one["id"], two["id"]]
    bad = call(client, tokens["fallout"], QUEUE, {"after": "bm9wZQ=="})["errors"][0]["extensions"]
    assert bad["code"] == "INVALID_CURSOR"  # as for tasks(after:)
    mine = gql(client, tokens["fallout"], QUEUE, {"filter": {"types": ["billing"], "priorities": [1]}})["fallouts"]
    assert [e["node"]["id"] for e in mine["edges"]] == [three["id"]]

    # Take line 1's record, then retry it: the handler runs again with its idempotency key.
    stale = gql(client, tokens["fallout"], WORK, {"input": {"id": one["id"], "action": "TAKE", "version": 99}})
    assert _codes(stale["falloutWork"]) == [("version", "CONFLICT")]
    taken = gql(client, tokens["fallout"], WORK, {"input": {"id": one["id"], "action": "TAKE", "version": one["version"]}})
    assert taken["falloutWork"]["fallout"]["state"] == "IN_PROGRESS"
    assert taken["falloutWork"]["fallout"]["assignee"] == "token:fo-agent"
    mine = gql(client, tokens["fallout"], QUEUE, {"filter": {"mine": True}})["fallouts"]
    assert [e["node"]["id"] for e in mine["edges"]] == [one["id"]]
    retried = gql(client, tokens["fallout"], RETRY, {"input": {"id": one["id"], "note": "network back"}})["falloutRetry"]
    assert retried["errors"] == [] and retried["fallout"]["state"] == "IN_PROGRESS"
    support.wait_for(lambda: _records(client, tokens, order_id)[1]["state"] == "RESOLVED", 30, message="retried")
    order = _order(client, tokens, order_id)
    provision = _tasks(order, 1)["fo.provision"]
    assert (provision["state"], provision["attempts"]) == ("COMPLETED", 2)
    support.wait_for(lambda: _order(client, tokens, order_id)["lines"][0]["state"] == "COMPLETED", 30, message="line 1")
    assert _records(client, tokens, order_id)[1]["resolution"] == "retried"

    # Line 2: a retry that fails again reopens the same record with the new attempt's error.
    gql(client, tokens["fallout"], RETRY, {"input": {"id": two["id"]}})
    support.wait_for(
        lambda: (r := _records(client, tokens, order_id)[2])["state"] == "OPEN" and r["attempt"] == 2, 30, message="reopened"
    )
    again = _records(client, tokens, order_id)
    assert len(_order(client, tokens, order_id)["fallouts"]) == 3  # no duplicate record
    assert again[2]["southboundResponse"] == {"status": 503, "call": 2}
    bad = gql(
        client, tokens["fallout"], SKIP, {"input": {"id": two["id"], "characteristics": [{"name": "serial", "value": "X" * 30}]}}
    )
    assert bad["falloutSkip"]["errors"] and bad["falloutSkip"]["fallout"] is None
    assert _records(client, tokens, order_id)[2]["state"] == "OPEN"  # nothing changed
    skipped = gql(
        client,
        tokens["fallout"],
        SKIP,
        {"input": {"id": two["id"], "characteristics": [{"name": "serial", "value": "SN-BYHAND"}], "note": "done in the NMS"}},
    )["falloutSkip"]
    assert skipped["errors"] == [] and (skipped["fallout"]["state"], skipped["fallout"]["resolution"]) == ("RESOLVED", "skipped")
    support.wait_for(lambda: _order(client, tokens, order_id)["lines"][1]["state"] == "COMPLETED", 30, message="line 2")
    provision = _tasks(_order(client, tokens, order_id), 2)["fo.provision"]
    assert provision["outcome"]["characteristics"] == {"serial": "SN-BYHAND"}

    # Line 3: agents may not give up; a manager does, and the order ends partial.
    refused = call(client, tokens["fallout"], GIVE_UP, {"input": {"id": three["id"]}})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    gave_up = gql(client, tokens["boss"], GIVE_UP, {"input": {"id": three["id"], "note": "billing will re-order"}})[
        "falloutGiveUp"
    ]
    assert gave_up["errors"] == [] and (gave_up["fallout"]["state"], gave_up["fallout"]["resolution"]) == ("CLOSED", "gaveUp")
    final = support.wait_for(lambda: (o := _order(client, tokens, order_id))["state"] == "PARTIAL" and o, 30, message="partial")
    assert [line["state"] for line in final["lines"]] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert {k: t["state"] for k, t in _tasks(final, 3).items()} == {"fo.provision": "FAILED", "fo.notify": "CANCELLED"}

    # Review: a resolved record is closed; the dashboard counts.
    closed = gql(client, tokens["fallout"], WORK, {"input": {"id": one["id"], "action": "CLOSE"}})["falloutWork"]
    assert closed["fallout"]["state"] == "CLOSED" and closed["fallout"]["closedAt"]
    # Like the queue, the counts are of open records unless states are named.
    assert gql(client, tokens["fallout"], COUNTS, {"filter": {"types": ["provisioning", "billing"]}})["falloutCounts"] == []
    assert gql(client, tokens["fallout"], COUNTS)["falloutCounts"] == []
    ended = {"types": ["provisioning", "billing"], "states": ["CLOSED", "RESOLVED"]}
    counts = gql(client, tokens["fallout"], COUNTS, {"filter": ended})["falloutCounts"]
    assert {(c["state"], c["type"]): c["count"] for c in counts} == {
        ("CLOSED", "billing"): 1,
        ("CLOSED", "provisioning"): 1,
        ("RESOLVED", "provisioning"): 1,
    }
    assert gql(client, tokens["fallout"], NODE, {"id": two["id"]})["node"] == {
        "id": two["id"],
        "state": "RESOLVED",
        "type": "provisioning",
    }


def test_customers_never_see_fallout_and_actions_check_state_and_input(world):
    client, runtime, tokens = world
    order_id = _place(client, tokens, _widget(failTimes=9))
    [record] = _wait_records(client, tokens, order_id, 1).values()
    assert call(client, tokens["customer"], QUEUE)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert call(client, tokens["customer"], ORDER, {"id": order_id})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql(client, tokens["customer"], NODE, {"id": record["id"]})["node"] is None
    # A closed record cannot be closed before it is resolved; a reassignment needs someone.
    early = gql(client, tokens["fallout"], WORK, {"input": {"id": record["id"], "action": "CLOSE"}})["falloutWork"]
    assert _codes(early) == [("state", "INVALID_STATE")]
    nobody = gql(client, tokens["boss"], REASSIGN, {"input": {"id": record["id"]}})["falloutReassign"]
    assert _codes(nobody) == [("assignee", "REQUIRED")]
    moved = gql(client, tokens["boss"], REASSIGN, {"input": {"id": record["id"], "assignee": "alice", "assignmentGroup": "nms"}})
    assert (moved["falloutReassign"]["fallout"]["assignee"], moved["falloutReassign"]["fallout"]["assignmentGroup"]) == (
        "alice",
        "nms",
    )
    # Resolved by hand: the task completes without its handler, the order completes.
    done = gql(client, tokens["fallout"], RESOLVE, {"input": {"id": record["id"], "note": "fixed in the NMS"}})["falloutResolve"]
    assert done["errors"] == [] and done["fallout"]["resolution"] == "resolved"
    support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "COMPLETED", 30, message="completed")
    twice = gql(client, tokens["fallout"], RETRY, {"input": {"id": record["id"]}})["falloutRetry"]
    assert twice["errors"] and twice["fallout"] is None


def test_closing_a_domain_order_by_hand_completes_its_work_and_records_fallout(world):
    client, runtime, tokens = world
    order_id = _place(client, tokens, _widget(failTimes=9))
    [record] = _wait_records(client, tokens, order_id, 1).values()
    [domain_order] = _order(client, tokens, order_id)["domainOrders"]
    refused = call(client, tokens["fallout"], CLOSE_DO, {"input": {"id": domain_order["id"], "reason": "done"}})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    empty = gql(client, tokens["fulfilment"], CLOSE_DO, {"input": {"id": domain_order["id"], "reason": " "}})["domainOrderClose"]
    assert _codes(empty) == [("reason", "REQUIRED")]
    version = gql(client, tokens["fulfilment"], "query($id: ID!) { order(id: $id) { version } }", {"id": order_id})["order"][
        "version"
    ]
    stale = {"id": domain_order["id"], "reason": "done", "version": version + 7}
    assert _codes(gql(client, tokens["fulfilment"], CLOSE_DO, {"input": stale})["domainOrderClose"]) == [("version", "CONFLICT")]
    closed = gql(
        client,
        tokens["fulfilment"],
        CLOSE_DO,
        {"input": {"id": domain_order["id"], "reason": "installed by the partner", "version": version}},
    )
    assert closed["domainOrderClose"]["errors"] == []
    fallout = closed["domainOrderClose"]["fallout"]
    assert (fallout["type"], fallout["state"], fallout["resolution"], fallout["note"]) == (
        "manualClose",
        "RESOLVED",
        "domainOrderClosed",
        "installed by the partner",
    )
    final = support.wait_for(lambda: (o := _order(client, tokens, order_id))["state"] == "COMPLETED" and o, 30, message="done")
    assert {t["state"] for t in final["domainOrders"][0]["tasks"]} == {"COMPLETED"}
    assert final["domainOrders"][0]["actualEndDate"]  # completedAt
    by_id = {f["id"]: f for f in final["fallouts"]}
    assert by_id[record["id"]]["resolution"] == "domainOrderClosed"  # the task's own record is resolved too
    again = gql(client, tokens["fulfilment"], CLOSE_DO, {"input": {"id": domain_order["id"], "reason": "again"}})
    assert _codes(again["domainOrderClose"]) == [("id", "INVALID_STATE")]


EVENTS = "subscription { falloutEvents { type entityKind entityId toState payload } }"


def test_fallout_events_stream_live_to_staff_only(world):
    client, runtime, tokens = world
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as customer:
        customer.send_json({"type": "connection_init", "payload": {"Authorization": tokens["customer"]["Authorization"]}})
        assert customer.receive_json()["type"] == "connection_ack"
        customer.send_json({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
        refused = customer.receive_json()
        assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens["fallout"]["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
        support.wait_for(lambda: runtime.bus.local.subscriber_count >= 1, 10, interval=0.05, message="subscribed")
        order_id = _place(client, tokens, _widget(failTimes=9))
        created = ws.receive_json()["payload"]["data"]["falloutEvents"]
        [record] = _wait_records(client, tokens, order_id, 1).values()
        assert (created["type"], created["entityKind"], created["entityId"], created["toState"]) == (
            "FalloutStateChangeEvent",
            "fallout",
            record["id"],
            "open",
        )
        assert created["payload"]["event"] == "create" and created["payload"]["type"] == "provisioning"
        gql(client, tokens["fallout"], WORK, {"input": {"id": record["id"], "action": "TAKE"}})
        taken = ws.receive_json()["payload"]["data"]["falloutEvents"]
        assert (taken["toState"], taken["payload"]["event"]) == ("inProgress", "take")


ORDER_EVENTS = "query($id: ID!) { order(id: $id) { events { id type entityKind toState actor payload } } }"
LIVE = "subscription($after: ID) { orderEvents(after: $after) { id type entityKind toState } }"


def _customer_stream(client, tokens, variables, until):
    """The customer's orderEvents, read until ``until(event)``."""
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens["customer"]["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": LIVE, "variables": variables}})
        seen = []
        while not seen or not until(seen[-1]):
            message = ws.receive_json()
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["orderEvents"])
        return seen


def test_customers_never_get_fallout_events_of_their_order(world):
    client, runtime, tokens = world
    done = lambda e: (e["entityKind"], e["toState"]) == ("order", "completed")  # noqa: E731
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": tokens["customer"]["Authorization"]}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": LIVE}})
        support.wait_for(lambda: runtime.bus.local.subscriber_count >= 1, 10, interval=0.05, message="subscribed")
        order_id = _place(client, tokens, _widget(failTimes=9))
        [record] = _wait_records(client, tokens, order_id, 1).values()
        gql(client, tokens["fallout"], RESOLVE, {"input": {"id": record["id"], "note": "fixed"}})
        support.wait_for(lambda: _order(client, tokens, order_id)["state"] == "COMPLETED", 30, message="completed")
        live = []
        while not live or not done(live[-1]):
            message = ws.receive_json()
            assert message["type"] == "next", message
            live.append(message["payload"]["data"]["orderEvents"])
    staff = gql(client, tokens["fallout"], ORDER_EVENTS, {"id": order_id})["order"]["events"]
    assert "fallout" in {e["entityKind"] for e in staff}
    mine = gql(client, tokens["customer"], ORDER_EVENTS.replace("actor payload", ""), {"id": order_id})["order"]["events"]
    assert mine and "fallout" not in {e["entityKind"] for e in mine}
    assert [e["id"] for e in mine] == [e["id"] for e in staff if e["entityKind"] != "fallout"]
    assert "fallout" not in {e["entityKind"] for e in live} and done(live[-1])
    replayed = _customer_stream(client, tokens, {"after": mine[0]["id"]}, done)
    assert [e["id"] for e in replayed] == [e["id"] for e in mine[1:]][: len(replayed)]
    assert "fallout" not in {e["entityKind"] for e in replayed}
    # Staff fields of task events (who claimed or was assigned, the error) stay hidden from customers.
    hidden = call(client, tokens["customer"], ORDER_EVENTS, {"id": order_id})
    assert {e["extensions"]["code"] for e in hidden["errors"]} == {"FORBIDDEN"}


def test_cancelling_an_order_in_fallout_cancels_its_fallout_record(world):
    """A task held by fallout that a cancellation cancels takes its record with it: nothing stays
    in the fallout queue for work that is over."""
    client, _, tokens = world
    order_id = _place(client, tokens, _widget(failTimes=9))
    [record] = _wait_records(client, tokens, order_id, 1).values()
    cancel = """mutation($input: OrderCancelInput!) {
      orderCancel(input: $input) { cancelRequest { state result } errors { field message code } } }"""
    done = gql(client, tokens["agent"], cancel, {"input": {"id": order_id, "reason": "customer withdrew"}})["orderCancel"]
    assert done["errors"] == [], done["errors"]
    order = support.wait_for(
        lambda: (o := _order(client, tokens, order_id))["state"] == "CANCELLED" and o, 30, message="the order cancelled"
    )
    [after] = [f for f in order["fallouts"] if f["id"] == record["id"]]
    assert (after["state"], after["resolution"]) == ("CANCELLED", "cancelled")
    assert {t["state"] for d in order["domainOrders"] for t in d["tasks"]} == {"CANCELLED"}
