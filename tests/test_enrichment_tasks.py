"""Manual enrichment tasks through GraphQL: the enrichment policy gives a line a site survey, the
order waits in enrichment, a fulfilment agent completes the task from the work queue with the
characteristics it captures (validated as capture validates them; bad input changes nothing), and
the order moves on, the change recorded with its actor."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_enrichment_pack, fixture_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id } errors { field message code } }
}"""
SUBMIT = """
mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { field code } } }"""
COMPLETE = """
mutation($input: EnrichmentTaskCompleteInput!) {
  enrichmentTaskComplete(input: $input) {
    task { id state completedBy captured { name value } }
    order { id stage waitingFor }
    errors { field message code }
  }
}"""
RESUME = """
mutation($input: OrderResumeInput!) { orderResume(input: $input) { order { id stage } errors { field code } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state stage waitingFor
    lines { characteristics { name value } }
    enrichmentTasks { id key name role state capture lineNumber lineId captured { name value } completedBy completedAt }
    events { type entityKind actor payload }
  }
}"""
QUEUE = """
query($state: EnrichmentTaskState, $role: String, $after: ID) {
  enrichmentTasks(state: $state, role: $role, after: $after) { id orderId key state }
}"""


def _token(runtime, name: str, *roles: str, account: str | None = None) -> dict[str, str]:
    token = runtime.tokens.issue(name, list(roles), account_id=account).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make_runtime, database_url):
    runtime = make_runtime(database_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_enrichment_pack))
    with TestClient(create_app(runtime=runtime)) as client:
        tokens = {
            "agent": _token(runtime, "agent", "order_agent"),
            "fulfilment": _token(runtime, "tech", "order_fulfillment_agent"),
            "manager": _token(runtime, "manager", "order_manager"),
            "customer": _token(runtime, "customer", "customer", account="ENR"),
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


def _place(client, tokens, *lines) -> str:
    created = gql(client, tokens["agent"], CREATE, {"input": {"customerId": "ENR", "lines": list(lines)}})["orderCreate"]
    assert created["errors"] == []
    order_id = created["order"]["id"]
    gql(client, tokens["agent"], SUBMIT, {"input": {"id": order_id}})
    return order_id


def _fibre(bandwidth=1000) -> dict:
    return {"offering": fixture_enrichment_pack.FIBRE, "characteristics": [{"name": "bandwidth", "value": bandwidth}]}


def _order(client, tokens, order_id) -> dict:
    return gql(client, tokens["manager"], ORDER, {"id": order_id})["order"]


def test_a_manual_enrichment_task_completed_by_a_fulfilment_agent_moves_the_order_on(world):
    client, runtime, tokens = world
    order_id = _place(client, tokens, _fibre(), {"offering": "test-licence"})
    waiting = support.wait_for(
        lambda: (o := _order(client, tokens, order_id))["stage"] == "ENRICHMENT_WAITING" and o, 30, message="enrichment wait"
    )
    assert waiting["waitingFor"] == "enrichment tasks: Site survey (line 1)"
    [task] = waiting["enrichmentTasks"]  # the policy names the fibre line only
    assert (task["key"], task["name"], task["role"], task["state"], task["capture"], task["lineNumber"]) == (
        "siteSurvey",
        "Site survey",
        "order_fulfillment_agent",
        "OPEN",
        ["surveyReference", "poleNumber"],
        1,
    )
    queue = gql(client, tokens["fulfilment"], QUEUE, {"state": "OPEN", "role": "order_fulfillment_agent"})["enrichmentTasks"]
    assert [t["id"] for t in queue if t["orderId"] == order_id] == [task["id"]]
    assert gql(client, tokens["fulfilment"], QUEUE, {"after": task["id"]})["enrichmentTasks"] == []
    assert gql(client, tokens["fulfilment"], QUEUE, {"role": "order_manager"})["enrichmentTasks"] == []
    # orderResume runs the stage again: the task is still open, the order waits again.
    gql(client, tokens["manager"], RESUME, {"input": {"id": order_id}})
    support.wait_for(lambda: _order(client, tokens, order_id)["stage"] == "ENRICHMENT_WAITING", 30)
    assert len(_order(client, tokens, order_id)["enrichmentTasks"]) == 1  # not created twice

    values = [{"name": "surveyReference", "value": "SV-1234"}, {"name": "poleNumber", "value": "P-77"}]
    done = gql(client, tokens["fulfilment"], COMPLETE, {"input": {"id": task["id"], "characteristics": values}})
    payload = done["enrichmentTaskComplete"]
    assert payload["errors"] == []
    assert payload["task"]["state"] == "COMPLETED" and payload["task"]["completedBy"] == "token:tech"
    assert payload["order"]["stage"] in ("ENRICHMENT", "APPROVAL", "DECOMPOSITION", "ORCHESTRATION")
    assert payload["order"]["waitingFor"] is None

    final = support.wait_for(
        lambda: (o := _order(client, tokens, order_id))["state"] == "COMPLETED" and o, 30, message="order completion"
    )
    line = {c["name"]: c["value"] for c in final["lines"][0]["characteristics"]}
    assert (line["surveyReference"], line["poleNumber"], line["bandwidth"]) == ("SV-1234", "P-77", 1000)
    by_tech = [e for e in final["events"] if e["actor"] == "token:tech"]
    assert {e["entityKind"] for e in by_tech} == {"enrichmentTask", "line", "order"}
    [line_change] = [e for e in by_tech if e["entityKind"] == "line"]
    assert line_change["payload"] == {
        "enrichmentTask": "siteSurvey",
        "characteristics": {"surveyReference": "SV-1234", "poleNumber": "P-77"},
    }
    [resumed] = [e for e in by_tech if e["entityKind"] == "order"]
    assert resumed["payload"]["events"] == ["tasksCompleted"]
    again = gql(client, tokens["fulfilment"], COMPLETE, {"input": {"id": task["id"], "characteristics": values}})
    assert _codes(again["enrichmentTaskComplete"]) == [("id", "TASK_NOT_OPEN")]


def test_bad_input_to_enrichment_task_complete_gets_typed_errors_and_changes_nothing(world):
    client, runtime, tokens = world
    order_id = _place(client, tokens, _fibre(500))
    waiting = support.wait_for(
        lambda: (o := _order(client, tokens, order_id))["stage"] == "ENRICHMENT_WAITING" and o, 30, message="enrichment wait"
    )
    [task] = waiting["enrichmentTasks"]
    ok = {"name": "poleNumber", "value": "P-1"}
    bad = [
        ([{"name": "surveyReference", "value": "SV-1"}], [("characteristics.poleNumber", "REQUIRED")]),
        ([ok, {"name": "surveyReference", "value": "x" * 13}], [("characteristics.surveyReference", "TOO_LONG")]),
        ([ok, {"name": "surveyReference", "value": 5}], [("characteristics.surveyReference", "INVALID_TYPE")]),
        (
            [ok, {"name": "surveyReference", "value": "SV-1"}, {"name": "bandwidth", "value": 500}],
            [("characteristics.bandwidth", "INVALID")],  # not what this task captures
        ),
    ]
    for characteristics, expected in bad:
        payload = gql(client, tokens["fulfilment"], COMPLETE, {"input": {"id": task["id"], "characteristics": characteristics}})
        assert payload["enrichmentTaskComplete"]["task"] is None
        assert _codes(payload["enrichmentTaskComplete"]) == expected, characteristics
    for task_id, code in (("T3JkZXI6MQ==", "INVALID_ID"), ("RW5yaWNobWVudFRhc2s6OTk5OTk=", "NOT_FOUND")):
        payload = gql(client, tokens["fulfilment"], COMPLETE, {"input": {"id": task_id}})["enrichmentTaskComplete"]
        assert _codes(payload) == [("id", code)]
    assert _order(client, tokens, order_id) == waiting
    # Who may: fulfilment agents (TASK_COMPLETE); an order agent and a customer may not.
    for who in ("agent", "customer"):
        body = call(client, tokens[who], COMPLETE, {"input": {"id": task["id"]}})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for arguments, code in (({"first": 0}, "OUT_OF_RANGE"), ({"first": 101}, "OUT_OF_RANGE"), ({"role": "r" * 65}, "TOO_LONG")):
        body = call(
            client,
            tokens["fulfilment"],
            "query($first: Int, $role: String) { enrichmentTasks(first: $first, role: $role) { id } }",
            arguments,
        )
        assert body["errors"][0]["extensions"]["code"] == code, arguments
    # Every staff role reads the work queue (FULFILMENT_READ); customers do not.
    assert call(client, tokens["customer"], QUEUE)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert [t["id"] for t in gql(client, tokens["agent"], QUEUE)["enrichmentTasks"]] == [task["id"]]
    customer_view = call(
        client, tokens["customer"], "query($id: ID!) { order(id: $id) { enrichmentTasks { id } } }", {"id": order_id}
    )
    assert customer_view["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _order(client, tokens, order_id) == waiting


def test_the_tsm_pack_surveys_hub_and_datacenter_sd_wan_sites_only(make_runtime, sqlite_url):
    """The telecom pack's rule (its tsm.enrichment.policy table, on a line characteristic)."""
    from om_graph.core.access.actor import Actor
    from om_graph.core.ordering.commands import LineInput, OrderInput

    runtime = make_runtime(sqlite_url, extra_plugins=(), load_entrypoints=True, embedded_workers=False)
    svc = runtime.services
    agent = Actor("agent", frozenset({"order_agent"}))
    tech = Actor("tech", frozenset({"order_fulfillment_agent"}))
    site = {"siteName": "HQ", "siteAddress": "1 Main St, 1000 Town", "bandwidth": 100, "wanLinks": 2, "haPair": True}
    waiting = {}
    for role in ("hub", "branch"):
        order = svc.orders.create(
            agent, OrderInput("TSM", (LineInput("sdwan-site", characteristics={**site, "siteRole": role}),))
        )
        svc.orders.submit(agent, order.id)
        svc.processing.process(order.id)
        waiting[role] = svc.queries.order(agent, order.id).order
    assert waiting["hub"].stage_waiting_for == "enrichment tasks: Site survey (line 1)"
    assert waiting["branch"].stage != "enrichmentWaiting"
    [task] = svc.enrichment.of_orders(tech, [waiting["hub"].id])[waiting["hub"].id]
    assert (task.key, task.capture, task.role) == ("siteSurvey", ["siteSurveyReference"], "order_fulfillment_agent")
    svc.enrichment.complete(tech, task.id, {"siteSurveyReference": "SURVEY-2026-118"})
    svc.processing.process(waiting["hub"].id)
    detail = svc.queries.order(agent, waiting["hub"].id)
    assert detail.order.stage not in ("enrichment", "enrichmentWaiting")
    assert detail.lines[0].characteristics["siteSurveyReference"] == "SURVEY-2026-118"


def test_an_order_rejected_while_its_tasks_are_open_cancels_them(make_runtime, sqlite_url):
    from om_graph.core.access.actor import Actor
    from om_graph.core.kernel.errors import FieldError, PluginCallFailed
    from om_graph.core.lifecycle.stages import Stages
    from om_graph.core.ordering.commands import LineInput, OrderInput

    runtime = make_runtime(
        sqlite_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_enrichment_pack), embedded_workers=False
    )
    svc = runtime.services
    manager = Actor("manager", frozenset({"order_manager"}))
    order = svc.orders.create(
        manager, OrderInput("ENR", (LineInput(fixture_enrichment_pack.FIBRE, characteristics={"bandwidth": 500}),))
    )
    svc.orders.submit(manager, order.id)
    svc.processing.process(order.id)
    [task] = svc.enrichment.of_orders(manager, [order.id])[order.id]
    assert task.state == "open"

    def failing_step(snapshot, run):  # an enrichment step that now produces invalid values
        raise PluginCallFailed("enrichment step 'x' produced invalid values", [FieldError("lines.0", "bad", "INVALID")])

    svc.processing.stages._work[Stages.ENRICHMENT] = failing_step
    svc.processing.resume(manager, order.id)
    svc.processing.process(order.id)
    detail = svc.queries.order(manager, order.id)
    assert detail.order.state == "rejected"
    [task] = svc.enrichment.of_orders(manager, [order.id])[order.id]
    assert task.state == "cancelled"
    assert svc.enrichment.queue(manager, state="open") == []
    cancelled = [e for e in detail.events if e.entity_kind == "enrichmentTask" and e.to_state == "cancelled"]
    assert [e.payload for e in cancelled] == [{"event": "cancel", "reason": "processingFailed"}]


def test_a_rejected_order_corrected_with_its_surveyed_values_is_not_surveyed_again(make_runtime, sqlite_url):
    from om_graph.core.access.actor import Actor
    from om_graph.core.ordering.commands import LineInput, OrderInput

    runtime = make_runtime(
        sqlite_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_enrichment_pack), embedded_workers=False
    )
    svc = runtime.services
    agent = Actor("agent", frozenset({"order_agent"}))
    tech = Actor("tech", frozenset({"order_fulfillment_agent"}))
    approver = Actor("approver", frozenset({"order_approver"}))
    fibre = LineInput(fixture_enrichment_pack.FIBRE, characteristics={"bandwidth": 500})
    big = LineInput(fixture_enrichment_pack.BIG)  # a new customer's order over 1,000: one approval level
    order = svc.orders.create(agent, OrderInput("RESURVEY", (fibre, big)))
    svc.orders.submit(agent, order.id)
    svc.processing.process(order.id)
    [task] = svc.enrichment.of_orders(tech, [order.id])[order.id]
    svc.enrichment.complete(tech, task.id, {"surveyReference": "SV-9", "poleNumber": "P-9"})
    svc.processing.process(order.id)
    assert svc.queries.order(agent, order.id).order.stage == "approvalWaiting"
    svc.approvals.reject(approver, order.id, None, "check the kit")
    # The correction keeps the surveyed values: no second survey; the line was replaced, the
    # completed task stays as history without it.
    surveyed = LineInput(
        fixture_enrichment_pack.FIBRE, characteristics={"bandwidth": 500, "surveyReference": "SV-9", "poleNumber": "P-9"}
    )
    svc.orders.update(agent, order.id, OrderInput("RESURVEY", (surveyed, big)))
    svc.orders.submit(agent, order.id)
    svc.processing.process(order.id)
    detail = svc.queries.order(agent, order.id)
    assert (detail.order.stage, detail.order.approval_round) == ("approvalWaiting", 2)
    [old] = svc.enrichment.of_orders(tech, [order.id])[order.id]
    assert (old.state, old.line_id, old.line_number) == ("completed", None, 1)
    # Without the values, the new line is surveyed again.
    svc.approvals.reject(approver, order.id, None, "again")
    svc.orders.update(agent, order.id, OrderInput("RESURVEY", (fibre, big)))
    svc.orders.submit(agent, order.id)
    svc.processing.process(order.id)
    assert svc.queries.order(agent, order.id).order.stage == "enrichmentWaiting"
    assert [t.state for t in svc.enrichment.of_orders(tech, [order.id])[order.id]] == ["completed", "open"]


def test_a_characteristic_of_another_type_than_a_packs_column_matches_only_its_any():
    """A line's characteristic is an input of every enrichment table; where its value does not
    fit a pack's column (``"1G"`` against an integer ``bandwidth``) it is left out for that table
    instead of rejecting the order."""
    from om_graph.core.decisions.compiled import compile_table
    from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule
    from om_graph.core.lifecycle.enrichment import policy_hits
    from om_graph.core.lifecycle.tables import ENRICHMENT_POLICY

    pack = DecisionTableDef(
        "x.enrichment.policy",
        inputs=(InputColumn("bandwidth", "integer"), InputColumn("offering")),
        outputs=(OutputColumn("task"),),
        rules=(
            Rule({"bandwidth": Condition.equals(1000)}, {"task": "a"}),
            Rule({"offering": Condition.equals("o")}, {"task": "b"}),
        ),
        hit_policy="collect",
    )
    core = DecisionTableDef(
        ENRICHMENT_POLICY, inputs=(InputColumn("offering"),), outputs=(OutputColumn("task"),), hit_policy="collect"
    )
    compiled = {t.name: compile_table(t) for t in (core, pack)}

    class Tables:
        names = list(compiled)

        def evaluate(self, name, inputs):
            return compiled[name].evaluate(inputs)

    assert policy_hits(Tables(), ENRICHMENT_POLICY, {"bandwidth": "1G", "offering": "o"}) == [{"task": "b"}]
    assert policy_hits(Tables(), ENRICHMENT_POLICY, {"bandwidth": 1000, "offering": "o"}) == [{"task": "a"}, {"task": "b"}]
