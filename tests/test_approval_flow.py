"""Approval through GraphQL: the approval policy makes an order wait at its levels; approvers
approve or reject it with a reason; a rejected order is corrected and resubmitted (a new round),
then approved at every level and fulfilled. The submitter and customers never approve; bad input
gets typed errors and changes nothing."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_enrichment_pack, fixture_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version } errors { field message code } }
}"""
UPDATE = """
mutation($input: OrderUpdateInput!) {
  orderUpdate(input: $input) { order { id version state } errors { field message code } }
}"""
SUBMIT = """
mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state version } errors { field code } } }"""
APPROVE = """
mutation($input: OrderApproveInput!) {
  orderApprove(input: $input) { order { id state stage waitingFor version } errors { field message code } }
}"""
REJECT = """
mutation($input: OrderRejectInput!) {
  orderReject(input: $input) {
    order { id state stage waitingFor version lines { state } }
    errors { field message code }
  }
}"""
RESUME = """
mutation($input: OrderResumeInput!) { orderResume(input: $input) { order { id } errors { field code } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state stage waitingFor version
    approvals { round level levels role reasons state actor comment decidedAt }
    events { type entityKind actor payload }
  }
}"""
QUEUE = """query($role: String!) { approvalQueue(role: $role) { id waitingFor } }"""
MINE = """{ ordersAwaitingMyApproval { id waitingFor } }"""


def _token(runtime, name: str, *roles: str, account: str | None = None) -> dict[str, str]:
    token = runtime.tokens.issue(name, list(roles), account_id=account).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make_runtime, database_url):
    runtime = make_runtime(database_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_enrichment_pack))
    with TestClient(create_app(runtime=runtime)) as client:
        tokens = {
            # An agent who is also an approver: still never approves what they submitted.
            "agent": _token(runtime, "agent", "order_agent", "order_approver"),
            "approver": _token(runtime, "approver", "order_approver", "order_fulfillment_manager"),
            "manager": _token(runtime, "manager", "order_fulfillment_manager"),
            "customer": _token(runtime, "customer", "customer", account="APPR"),
            "viewer": _token(runtime, "viewer", "viewer"),
        }
        yield client, runtime, tokens


def call(client, headers, query, variables=None) -> dict:
    return client.post("/graphql", headers=headers, json={"query": query, "variables": variables or {}}).json()


def gql(client, headers, query, variables=None) -> dict:
    body = call(client, headers, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def _codes(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def _order(client, tokens, order_id) -> dict:
    return gql(client, tokens["approver"], ORDER, {"id": order_id})["order"]


def _wait_stage(client, tokens, order_id, stage, state="ACKNOWLEDGED") -> dict:
    return support.wait_for(
        lambda: (o := _order(client, tokens, order_id))["stage"] == stage and o["state"] == state and o,
        30,
        message=f"stage {stage}",
    )


def _big_lines(quantity: int) -> list[dict]:
    return [{"offering": fixture_enrichment_pack.BIG, "quantity": quantity}]


def test_an_order_is_rejected_corrected_resubmitted_and_approved_at_every_level(world):
    client, runtime, tokens = world
    agent, approver, manager = tokens["agent"], tokens["approver"], tokens["manager"]
    created = gql(client, agent, CREATE, {"input": {"customerId": "APPR", "lines": _big_lines(3)}})["orderCreate"]
    order_id = created["order"]["id"]
    gql(client, agent, SUBMIT, {"input": {"id": order_id}})
    waiting = _wait_stage(client, tokens, order_id, "APPROVAL_WAITING")
    assert waiting["waitingFor"] == "approval level 1 of 2: a one-time total over 10,000; a new customer's order over 1,000"
    assert [(a["round"], a["level"], a["role"], a["state"]) for a in waiting["approvals"]] == [
        (1, 1, "order_approver", "PENDING"),
        (1, 2, "order_fulfillment_manager", "PENDING"),
    ]

    # The queues: level 1 is the approvers'; the fulfilment manager's turn comes at level 2.
    assert [o["id"] for o in gql(client, approver, QUEUE, {"role": "order_approver"})["approvalQueue"]] == [order_id]
    assert gql(client, approver, QUEUE, {"role": "order_fulfillment_manager"})["approvalQueue"] == []
    assert [o["id"] for o in gql(client, approver, MINE)["ordersAwaitingMyApproval"]] == [order_id]
    assert gql(client, agent, MINE)["ordersAwaitingMyApproval"] == []  # they submitted it
    assert gql(client, manager, MINE)["ordersAwaitingMyApproval"] == []  # not their level yet

    # Nobody continues an approval wait but its approvers.
    resumed = gql(client, tokens["approver"], RESUME, {"input": {"id": order_id}})["orderResume"]
    assert _codes(resumed) == [("id", "APPROVAL_REQUIRED")]

    # Round 1: rejected with a reason; the order is the agent's draft again, its stage validation.
    version = waiting["version"]
    rejected = gql(client, approver, REJECT, {"input": {"id": order_id, "version": version, "reason": "three kits is too many"}})
    assert rejected["orderReject"]["errors"] == []
    back = rejected["orderReject"]["order"]
    assert (back["state"], back["stage"], back["waitingFor"]) == ("DRAFT", "VALIDATION", None)
    assert {line["state"] for line in back["lines"]} == {"DRAFT"}
    detail = _order(client, tokens, order_id)
    assert [(a["level"], a["state"], a["actor"], a["comment"]) for a in detail["approvals"]] == [
        (1, "REJECTED", "token:approver", "three kits is too many"),
        (2, "CANCELLED", "token:approver", None),
    ]
    [sent_back] = [e for e in detail["events"] if e["entityKind"] == "order" and (e["payload"] or {}).get("event") == "sendBack"]
    assert sent_back["actor"] == "token:approver" and sent_back["payload"]["reason"] == "three kits is too many"
    assert gql(client, approver, QUEUE, {"role": "order_approver"})["approvalQueue"] == []

    # Corrected (still over the threshold) and resubmitted: round 2.
    updated = gql(client, agent, UPDATE, {"input": {"id": order_id, "version": back["version"], "lines": _big_lines(2)}})[
        "orderUpdate"
    ]
    assert updated["errors"] == [] and updated["order"]["state"] == "DRAFT"
    gql(client, agent, SUBMIT, {"input": {"id": order_id}})
    waiting = _wait_stage(client, tokens, order_id, "APPROVAL_WAITING")
    assert waiting["waitingFor"].startswith("approval level 1 of 2")
    assert [(a["round"], a["state"]) for a in waiting["approvals"]] == [
        (1, "REJECTED"),
        (1, "CANCELLED"),
        (2, "PENDING"),
        (2, "PENDING"),
    ]

    # The submitter may hold the approver role: still refused, and nothing changes.
    own = gql(client, agent, APPROVE, {"input": {"id": order_id}})["orderApprove"]
    assert own["order"] is None and _codes(own) == [("id", "SELF_APPROVAL")]
    # Level 1 is the approvers': the fulfilment manager waits for level 2.
    early = gql(client, manager, APPROVE, {"input": {"id": order_id}})["orderApprove"]
    assert _codes(early) == [("id", "NOT_THE_LEVELS_APPROVER")]
    assert _order(client, tokens, order_id)["version"] == waiting["version"]

    first = gql(client, approver, APPROVE, {"input": {"id": order_id, "version": waiting["version"], "comment": "ok for 2"}})
    level_one = first["orderApprove"]["order"]
    assert first["orderApprove"]["errors"] == []
    assert level_one["stage"] == "APPROVAL_WAITING" and level_one["waitingFor"].startswith("approval level 2 of 2")
    assert level_one["version"] == waiting["version"] + 1
    # One person, one level of a round (the approver is also a fulfilment manager).
    twice = gql(client, approver, APPROVE, {"input": {"id": order_id}})["orderApprove"]
    assert _codes(twice) == [("id", "APPROVER_ALREADY_DECIDED")]
    assert gql(client, approver, MINE)["ordersAwaitingMyApproval"] == []
    assert [o["id"] for o in gql(client, manager, MINE)["ordersAwaitingMyApproval"]] == [order_id]
    # A stale version is a conflict.
    stale = gql(client, manager, APPROVE, {"input": {"id": order_id, "version": waiting["version"]}})["orderApprove"]
    assert _codes(stale) == [("version", "CONFLICT")]

    last = gql(client, manager, APPROVE, {"input": {"id": order_id, "version": level_one["version"]}})["orderApprove"]
    assert last["errors"] == []
    done = _wait_stage(client, tokens, order_id, "ORCHESTRATION", state="COMPLETED")
    assert [(a["round"], a["level"], a["state"], a["actor"]) for a in done["approvals"]][2:] == [
        (2, 1, "APPROVED", "token:approver"),
        (2, 2, "APPROVED", "token:manager"),
    ]
    approvals = [e for e in done["events"] if e["type"] == "ProductOrderApprovalEvent"]
    assert [(e["actor"], e["payload"]["round"], e["payload"]["level"], e["payload"]["comment"]) for e in approvals] == [
        ("token:approver", 2, 1, "ok for 2"),
        ("token:manager", 2, 2, None),
    ]


def test_customers_and_viewers_cannot_approve_and_bad_input_changes_nothing(world):
    client, runtime, tokens = world
    agent, approver = tokens["agent"], tokens["approver"]
    order_id = gql(client, agent, CREATE, {"input": {"customerId": "APPR", "lines": _big_lines(2)}})["orderCreate"]["order"]["id"]
    for who in ("customer", "viewer"):
        for query, variables in (
            (APPROVE, {"input": {"id": order_id}}),
            (REJECT, {"input": {"id": order_id, "reason": "no"}}),
            (QUEUE, {"role": "order_approver"}),
            (MINE, {}),
        ):
            body = call(client, tokens[who], query, variables)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (who, query)
    # Not waiting for approval (a draft).
    draft = gql(client, approver, APPROVE, {"input": {"id": order_id}})["orderApprove"]
    assert _codes(draft) == [("id", "NOT_WAITING_FOR_APPROVAL")]
    gql(client, agent, SUBMIT, {"input": {"id": order_id}})
    before = _wait_stage(client, tokens, order_id, "APPROVAL_WAITING")
    bad = [
        (REJECT, {"id": order_id, "reason": "   "}, "orderReject", [("reason", "REQUIRED")]),
        (REJECT, {"id": order_id, "reason": "x" * 2001}, "orderReject", [("reason", "TOO_LONG")]),
        (APPROVE, {"id": order_id, "comment": "x" * 2001}, "orderApprove", [("comment", "TOO_LONG")]),
        (APPROVE, {"id": order_id, "version": before["version"] + 5}, "orderApprove", [("version", "CONFLICT")]),
        (APPROVE, {"id": "T3JkZXJMaW5lOjE="}, "orderApprove", [("id", "INVALID_ID")]),  # an OrderLine id
        (APPROVE, {"id": "T3JkZXI6OTk5OTk="}, "orderApprove", [("id", "NOT_FOUND")]),  # Order:99999
    ]
    for query, variables, name, expected in bad:
        payload = gql(client, approver, query, {"input": variables})[name]
        assert payload["order"] is None and _codes(payload) == expected, (variables, payload)
    assert _order(client, tokens, order_id) == before
    bad_role = call(client, approver, QUEUE, {"role": "order_agent"})
    assert bad_role["errors"][0]["extensions"]["code"] == "INVALID"
    too_many = call(client, approver, '{ approvalQueue(role: "order_approver", first: 101) { id } }')
    assert too_many["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
    none = call(client, approver, "{ ordersAwaitingMyApproval(first: 0) { id } }")
    assert none["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


def _discounted(percentage: str) -> list[dict]:
    return [
        {
            "offering": "test-auto",  # automatic fulfilment only
            "priceAdjustments": [{"kind": "DISCOUNT", "chargeType": "recurring", "percentage": percentage, "reason": "loyalty"}],
        }
    ]


def test_a_manual_discount_over_the_agents_limit_needs_approval_rejected_corrected_and_approved(world):
    client, runtime, tokens = world
    agent, approver = tokens["agent"], tokens["approver"]
    manager = _token(runtime, "order-manager", "order_manager")  # a larger discount limit (25 %) than an agent's (10 %)
    created = gql(client, agent, CREATE, {"input": {"customerId": "DISC", "lines": _discounted("15")}})["orderCreate"]
    assert created["errors"] == []
    order_id = created["order"]["id"]
    gql(client, agent, SUBMIT, {"input": {"id": order_id}})
    waiting = _wait_stage(client, tokens, order_id, "APPROVAL_WAITING")
    assert waiting["waitingFor"] == (
        "approval level 1 of 1: a manual discount is over the agent's limit; a manual discount over 10 %"
    )
    rejected = gql(client, approver, REJECT, {"input": {"id": order_id, "reason": "15 % needs a manager"}})["orderReject"]
    assert rejected["errors"] == [] and rejected["order"]["state"] == "DRAFT"
    # Corrected by a manager (within their limit, still over 10 %) and resubmitted by them.
    draft = _order(client, tokens, order_id)
    updated = gql(client, manager, UPDATE, {"input": {"id": order_id, "version": draft["version"], "lines": _discounted("12")}})[
        "orderUpdate"
    ]
    assert updated["errors"] == []
    gql(client, manager, SUBMIT, {"input": {"id": order_id}})
    waiting = _wait_stage(client, tokens, order_id, "APPROVAL_WAITING")
    assert waiting["waitingFor"] == "approval level 1 of 1: a manual discount over 10 %"
    approved = gql(client, approver, APPROVE, {"input": {"id": order_id, "comment": "loyal customer"}})["orderApprove"]
    assert approved["errors"] == []
    done = _wait_stage(client, tokens, order_id, "ORCHESTRATION", state="COMPLETED")
    assert [(a["round"], a["state"], a["comment"]) for a in done["approvals"]] == [
        (1, "REJECTED", "15 % needs a manager"),
        (2, "APPROVED", "loyal customer"),
    ]


def test_a_new_customers_large_first_order_needs_approval_and_a_known_customers_does_not(world):
    client, runtime, tokens = world
    agent = tokens["agent"]

    def place(customer: str, lines: list[dict]) -> str:
        created = gql(client, agent, CREATE, {"input": {"customerId": customer, "lines": lines}})["orderCreate"]
        gql(client, agent, SUBMIT, {"input": {"id": created["order"]["id"]}})
        return created["order"]["id"]

    first = place("REPEAT", [{"offering": "test-auto"}])  # small: no approval, completes
    _wait_stage(client, tokens, first, "ORCHESTRATION", state="COMPLETED")
    known = place("REPEAT", _big_lines(1))  # 6,000: over the new-customer floor, under 10,000
    fresh = place("FRESH", _big_lines(1))
    assert _wait_stage(client, tokens, fresh, "APPROVAL_WAITING")["waitingFor"] == (
        "approval level 1 of 1: a new customer's order over 1,000"
    )
    assert _wait_stage(client, tokens, known, "ORCHESTRATION", state="COMPLETED")["approvals"] == []


def test_a_list_of_orders_reads_their_approvals_and_enrichment_tasks_in_one_statement_each(world):
    from sqlalchemy import event

    client, runtime, tokens = world
    agent = tokens["agent"]
    for customer in ("LIST-1", "LIST-2", "LIST-3"):
        created = gql(client, agent, CREATE, {"input": {"customerId": customer, "lines": _big_lines(1)}})["orderCreate"]
        gql(client, agent, SUBMIT, {"input": {"id": created["order"]["id"]}})
        _wait_stage(client, tokens, created["order"]["id"], "APPROVAL_WAITING")
    page = """{ orders(first: 10) { edges { node { id approvals { level state } enrichmentTasks { key } } } } }"""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        edges = gql(client, tokens["approver"], page)["orders"]["edges"]
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    assert len(edges) == 3 and all(e["node"]["approvals"] == [{"level": 1, "state": "PENDING"}] for e in edges)
    assert sum("FROM order_approval" in s for s in statements) == 1, statements
    assert sum("FROM enrichment_task" in s for s in statements) == 1, statements
