"""Decision tables through GraphQL (issue 12, "Done when"): a process admin edits the
``order.priority`` table, tests it against sample inputs, activates it, and the next order uses
it; rollback restores the old behaviour; invalid drafts are refused with errors naming the rule
and column and change nothing; only process admins write, staff read, customers nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.decisions.models import DecisionTableAudit, DecisionTableVersion
from tests import support

TABLE_Q = """
query($name: String!) {
  decisionTable(name: $name) {
    name defaultSource
    activeVersion { number status source hitPolicy inputs { name type } outputs { name type default }
      rules { index priority when { column op value values minimum maximum minimumInclusive maximumInclusive }
              then { column value } } }
    draft { number status comment rules { index } }
    versions { number status source activatedBy }
    audit { action fromVersion toVersion actor reason }
  }
}"""
DRAFT_M = """
mutation($input: DecisionTableDraftUpdateInput!) {
  decisionTableDraftUpdate(input: $input) {
    table { draft { number status source comment rules { index when { column op value } then { column value } } } }
    errors { field message code }
  }
}"""
TEST_M = """
mutation($input: DecisionTableTestInput!) {
  decisionTableTest(input: $input) { results { sample hits { rule outputs { column value } } } errors { field code } }
}"""
ACTIVATE_M = """
mutation($input: DecisionTableActivateInput!) {
  decisionTableActivate(input: $input) { table { activeVersion { number } versions { number status } } errors { field code } }
}"""
ROLLBACK_M = """
mutation($input: DecisionTableRollbackInput!) {
  decisionTableRollback(input: $input) { table { activeVersion { number } } errors { field code } }
}"""
CREATE_TABLE_M = """
mutation($input: DecisionTableCreateInput!) {
  decisionTableCreate(input: $input) {
    table { name defaultSource draft { number hitPolicy inputs { name type } rules { when { column op minimum maximum } } } }
    errors { field message code }
  }
}"""
ORDER_CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id version priority } errors { field code } } }"""
ORDER_UPDATE = """
mutation($input: OrderUpdateInput!) { orderUpdate(input: $input) { order { id priority } errors { field code } } }"""

LINE = {
    "offering": "test-internet",
    "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Main St"}],
}


@pytest.fixture
def world(make_runtime, database_url):
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        client.runtime = runtime
        client.roles = {role: support.bearer(runtime, role) for role in ("process_admin", "order_agent", "viewer")}
        client.roles["customer"] = support.bearer(runtime, "customer", "ACCT-A")
        yield client


def gql(client, role, query, variables=None):
    body = client.post("/graphql", headers=client.roles[role], json={"query": query, "variables": variables or {}}).json()
    return body


def data(client, role, query, variables=None):
    body = gql(client, role, query, variables)
    assert "errors" not in body, body
    return body["data"]


def new_order(client) -> dict:
    created = data(client, "order_agent", ORDER_CREATE, {"input": {"customerId": "ACCT-A", "lines": [LINE]}})["orderCreate"]
    assert created["errors"] == [], created
    return created["order"]


def rules_input(rules: list[dict]) -> list[dict]:
    return [{"when": r.get("when", []), "then": r.get("then", []), "priority": r.get("priority", 0)} for r in rules]


def current_rules_as_input(table: dict) -> list[dict]:
    """The active version's rules as a draft input (what an editor starts from)."""
    out = []
    for rule in table["activeVersion"]["rules"]:
        when = []
        for c in rule["when"]:
            cond = {"column": c["column"], "op": c["op"]}
            cond.update({k: c[k] for k in ("value", "values", "minimum", "maximum") if c[k] is not None})
            cond.update({k: c[k] for k in ("minimumInclusive", "maximumInclusive")})
            when.append(cond)
        out.append({"when": when, "then": rule["then"], "priority": rule["priority"]})
    return out


def draft_input(table: dict, rules: list[dict], **extra) -> dict:
    version = table["activeVersion"]
    return {
        "name": table["name"],
        "hitPolicy": version["hitPolicy"],
        "inputs": version["inputs"],
        "outputs": version["outputs"],
        "rules": rules,
        **extra,
    }


def counts(runtime) -> tuple[int, int]:
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (DecisionTableVersion, DecisionTableAudit))


def test_an_admin_edits_tests_activates_and_rolls_back_a_table_that_the_next_order_uses(world):
    client = world
    table = data(client, "process_admin", TABLE_Q, {"name": "order.priority"})["decisionTable"]
    assert table["defaultSource"] == "core"
    assert table["activeVersion"]["number"] == 1 and table["activeVersion"]["source"] == "core"
    assert {"name": "channel", "type": "STRING"} in table["activeVersion"]["inputs"]
    first_rule = table["activeVersion"]["rules"][0]
    assert first_rule["when"] == [
        {
            "column": "daysToRequested",
            "op": "RANGE",
            "value": None,
            "values": None,
            "minimum": None,
            "maximum": 2,
            "minimumInclusive": True,
            "maximumInclusive": True,
        }
    ]
    before = new_order(client)
    assert before["priority"] == "3"  # the default: no rule hits an agent's order of no segment

    # 1. the admin drafts version 2: agent-captured orders get priority 1
    agent_rule = {
        "when": [{"column": "channel", "op": "EQUALS", "value": "agent"}],
        "then": [{"column": "priority", "value": "1"}],
    }
    rules = [agent_rule, *current_rules_as_input(table)]
    draft = data(client, "process_admin", DRAFT_M, {"input": draft_input(table, rules, comment="agents first")})
    draft = draft["decisionTableDraftUpdate"]
    assert draft["errors"] == []
    assert draft["table"]["draft"]["number"] == 2 and draft["table"]["draft"]["status"] == "DRAFT"
    assert draft["table"]["draft"]["source"] == "admin:token:test-process_admin-staff"

    # 2. tested against sample inputs (the draft; nothing written)
    written = counts(client.runtime)
    tested = data(
        client,
        "process_admin",
        TEST_M,
        {"input": {"name": "order.priority", "samples": [{"channel": "agent"}, {"channel": "portal"}, {"daysToRequested": 1}]}},
    )["decisionTableTest"]
    assert tested["errors"] == []
    assert [(r["sample"], [(h["rule"], h["outputs"]) for h in r["hits"]]) for r in tested["results"]] == [
        (0, [(0, [{"column": "priority", "value": "1"}])]),
        (1, []),
        (2, [(1, [{"column": "priority", "value": "1"}])]),
    ]
    assert counts(client.runtime) == written
    assert new_order(client)["priority"] == "3"  # a draft decides nothing

    # 3. activated: the next order uses it, an edited draft order is recomputed
    activated = data(
        client, "process_admin", ACTIVATE_M, {"input": {"name": "order.priority", "version": 2, "reason": "agents first"}}
    )
    assert activated["decisionTableActivate"]["errors"] == []
    assert activated["decisionTableActivate"]["table"]["versions"] == [
        {"number": 2, "status": "ACTIVE"},
        {"number": 1, "status": "RETIRED"},
    ]
    assert new_order(client)["priority"] == "1"
    edited = data(
        client, "order_agent", ORDER_UPDATE, {"input": {"id": before["id"], "version": before["version"], "lines": [LINE]}}
    )["orderUpdate"]
    assert edited["errors"] == [] and edited["order"]["priority"] == "1"

    # 4. rolled back: the old behaviour again
    rolled = data(
        client,
        "process_admin",
        ROLLBACK_M,
        {"input": {"name": "order.priority", "version": 1, "reason": "too many urgent orders"}},
    )
    assert rolled["decisionTableRollback"] == {"table": {"activeVersion": {"number": 1}}, "errors": []}
    assert new_order(client)["priority"] == "3"

    audit = data(client, "viewer", TABLE_Q, {"name": "order.priority"})["decisionTable"]["audit"]
    assert audit[:3] == [
        {
            "action": "rolledBack",
            "fromVersion": 2,
            "toVersion": 1,
            "actor": "token:test-process_admin-staff",
            "reason": "too many urgent orders",
        },
        {
            "action": "activated",
            "fromVersion": 1,
            "toVersion": 2,
            "actor": "token:test-process_admin-staff",
            "reason": "agents first",
        },
        {
            "action": "draftUpdated",
            "fromVersion": None,
            "toVersion": 2,
            "actor": "token:test-process_admin-staff",
            "reason": "agents first",
        },
    ]


def test_invalid_drafts_are_refused_naming_rule_and_column_and_change_nothing(world):
    client = world
    table = data(client, "process_admin", TABLE_Q, {"name": "order.priority"})["decisionTable"]
    written = counts(client.runtime)
    bad_rules = [
        {"when": [{"column": "chanel", "op": "EQUALS", "value": "agent"}], "then": [{"column": "priority", "value": "1"}]},
        {"when": [{"column": "daysToRequested", "op": "EQUALS", "value": "soon"}]},
        {"when": [{"column": "recurringTotal", "op": "RANGE", "minimum": "500", "maximum": "100"}]},
        {"when": [{"column": "segment", "op": "IN", "values": []}]},
        {"then": [{"column": "priority", "value": 1}]},
        {"when": [{"column": "lineCount", "op": "EQUALS", "value": 1}, {"column": "lineCount", "op": "ANY"}]},
    ]
    body = data(client, "process_admin", DRAFT_M, {"input": draft_input(table, bad_rules)})["decisionTableDraftUpdate"]
    assert body["table"] is None
    assert {(e["field"], e["code"]) for e in body["errors"]} == {("rules.5.when.lineCount", "DUPLICATE_COLUMN")}
    body = data(client, "process_admin", DRAFT_M, {"input": draft_input(table, bad_rules[:5])})["decisionTableDraftUpdate"]
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("rules.0.when.chanel", "UNKNOWN_COLUMN"),
        ("rules.1.when.daysToRequested.value", "VALUE_TYPE_MISMATCH"),
        ("rules.2.when.recurringTotal.minimum", "RANGE_INVERTED"),
        ("rules.3.when.segment.values", "EMPTY_IN"),
        ("rules.4.then.priority", "VALUE_TYPE_MISMATCH"),
    }
    # the consumer's interface: the priority output stays a string column
    retyped = draft_input(table, [], outputs=[{"name": "priority", "type": "INTEGER", "default": 3}])
    body = data(client, "process_admin", DRAFT_M, {"input": retyped})["decisionTableDraftUpdate"]
    assert ("outputs.0.type", "INTERFACE_CHANGED") in {(e["field"], e["code"]) for e in body["errors"]}
    unique = draft_input(
        table,
        [
            {"when": [{"column": "lineCount", "op": "RANGE", "minimum": 1, "maximum": 5}]},
            {"when": [{"column": "lineCount", "op": "IN", "values": [5, 6]}]},
        ],
        hitPolicy="UNIQUE",
    )
    body = data(client, "process_admin", DRAFT_M, {"input": unique})["decisionTableDraftUpdate"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("rules.1.when", "OVERLAPPING_RULES")]
    for bad in (
        {"name": "order.priority", "version": 1, "reason": "x"},  # active, not a draft
        {"name": "order.priority", "version": 7, "reason": "x"},
        {"name": "no.such", "version": 1, "reason": "x"},
    ):
        assert data(client, "process_admin", ACTIVATE_M, {"input": bad})["decisionTableActivate"]["errors"]
    assert data(client, "process_admin", ROLLBACK_M, {"input": {"name": "order.priority", "version": 1, "reason": ""}})[
        "decisionTableRollback"
    ]["errors"] == [{"field": "reason", "code": "REQUIRED"}]
    body = data(client, "process_admin", TEST_M, {"input": {"name": "order.priority", "samples": [{"lineCount": "two"}, 3]}})
    assert body["decisionTableTest"]["errors"] == [{"field": "samples.1", "code": "INVALID_TYPE"}]
    body = data(client, "process_admin", TEST_M, {"input": {"name": "order.priority", "samples": [{"lineCount": "two"}]}})
    assert body["decisionTableTest"]["errors"] == [{"field": "samples.0.lineCount", "code": "INPUT_TYPE_MISMATCH"}]
    assert counts(client.runtime) == written
    assert data(client, "process_admin", TABLE_Q, {"name": "order.priority"})["decisionTable"]["draft"] is None


def test_only_process_admins_write_staff_read_customers_nothing(world):
    client = world
    table = data(client, "viewer", TABLE_Q, {"name": "order.priority"})["decisionTable"]
    written = counts(client.runtime)
    for role in ("order_agent", "viewer", "customer"):
        for query, variables in (
            (DRAFT_M, {"input": draft_input(table, [])}),
            (ACTIVATE_M, {"input": {"name": "order.priority", "version": 1, "reason": "x"}}),
            (ROLLBACK_M, {"input": {"name": "order.priority", "version": 1, "reason": "x"}}),
            (TEST_M, {"input": {"name": "order.priority", "samples": [{}]}}),
        ):
            body = gql(client, role, query, variables)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, body)
    for query in ("{ decisionTables { name } }", '{ decisionTable(name: "order.priority") { name } }'):
        assert gql(client, "customer", query)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "errors" not in gql(client, "order_agent", query)
    assert counts(client.runtime) == written


def test_an_admin_creates_a_table_tests_and_activates_it(world):
    client = world
    new = {
        "name": "acme.bandwidthTier",
        "hitPolicy": "UNIQUE",
        "inputs": [{"name": "bandwidth", "type": "INTEGER"}, {"name": "since", "type": "DATE"}],
        "outputs": [{"name": "tier", "type": "STRING", "default": "none"}, {"name": "fee", "type": "NUMBER", "default": "0"}],
        "rules": [
            {"when": [{"column": "bandwidth", "op": "RANGE", "maximum": 500}], "then": [{"column": "tier", "value": "basic"}]},
            {
                "when": [
                    {"column": "bandwidth", "op": "RANGE", "minimum": 500, "minimumInclusive": False},
                    {"column": "since", "op": "RANGE", "minimum": "2026-01-01"},
                ],
                "then": [{"column": "tier", "value": "fast"}, {"column": "fee", "value": "12.50"}],
            },
        ],
        "comment": "new tiers",
    }
    created = data(client, "process_admin", CREATE_TABLE_M, {"input": new})["decisionTableCreate"]
    assert created["errors"] == [], created
    assert created["table"]["defaultSource"] is None and created["table"]["draft"]["number"] == 1
    assert created["table"]["draft"]["rules"][1]["when"][1] == {
        "column": "since",
        "op": "RANGE",
        "minimum": "2026-01-01",
        "maximum": None,
    }
    again = data(client, "process_admin", CREATE_TABLE_M, {"input": new})["decisionTableCreate"]
    assert again["errors"] == [
        {"field": "name", "message": "a decision table 'acme.bandwidthTier' exists", "code": "DECISION_TABLE_EXISTS"}
    ]
    tested = data(
        client,
        "process_admin",
        TEST_M,
        {"input": {"name": "acme.bandwidthTier", "samples": [{"bandwidth": 1000, "since": "2026-03-01"}, {"bandwidth": 1000}]}},
    )["decisionTableTest"]
    assert [r["hits"] for r in tested["results"]] == [
        [{"rule": 1, "outputs": [{"column": "tier", "value": "fast"}, {"column": "fee", "value": "12.50"}]}],
        [],
    ]
    activated = data(
        client, "process_admin", ACTIVATE_M, {"input": {"name": "acme.bandwidthTier", "version": 1, "reason": "launch"}}
    )
    assert activated["decisionTableActivate"]["table"]["activeVersion"] == {"number": 1}
    names = [t["name"] for t in data(client, "viewer", "{ decisionTables { name } }")["decisionTables"]]
    assert "acme.bandwidthTier" in names and "order.priority" in names
    services = client.runtime.services
    with services.uow(read_only=True) as uow:
        assert services.decisions.active(uow.session).first("acme.bandwidthTier", {"bandwidth": 100}) == {
            "tier": "basic",
            "fee": 0,
        }
