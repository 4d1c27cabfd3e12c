"""orderPreview through GraphQL: it equals what the real order then becomes (prices, enrichment,
domain orders, tasks), writes nothing (rows, change_seq, id sequences), answers typed errors,
shows approval and enrichment steps, and is scoped to a customer's own account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.fulfilment.models import DomainOrder, Task, TaskDependency
from om_graph.core.fulfilment.schedule import DEFAULT_DURATION_SECONDS
from om_graph.core.kernel.models import Base
from om_graph.core.lifecycle.preview import schedule
from om_graph.core.ordering.models import Order
from tests import support

PREVIEW = """
query($input: OrderPreviewInput!) {
  orderPreview(input: $input) {
    preview {
      orderId customerId currency priceList priority
      oneTimeTotal { amount currency } recurringTotal { amount currency }
      orderTotalPrice { priceType recurringChargePeriod price { taxIncludedAmount { amount currency } } }
      lines {
        lineNumber action offeringKey quantity characteristics { name value }
        unitOneTimePrice { amount } unitRecurringPrice { amount }
        itemTotalPrice { priceType price { dutyFreeAmount { amount currency } } priceAlteration { name priceType } }
      }
      enrichments { lineNumber step characteristics { name value } }
      enrichmentTasks { lineNumber key name role capture }
      approvalSteps { level levels role reasons }
      waits { stage waitingFor }
      domainOrders { ref parentRef lineNumber kind specKey unitIndex }
      tasks {
        ref domainOrderRef key kind plannedSeconds durationSeconds dependsOn earliestStart earliestFinish totalFloat critical
        dependencies { predecessorRef type lag }
      }
      startsAt predictedCompletionDate criticalPath requestedCompletionDate meetsRequestedCompletionDate
    }
    errors { field message code }
  }
}"""
CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version } errors { field message code } }
}"""
SUBMIT = """
mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { field code } } }"""
ORDER = """
query($id: ID!) { order(id: $id) {
  state stage
  oneTimeTotal { amount currency } recurringTotal { amount currency }
  orderTotalPrice { priceType recurringChargePeriod price { taxIncludedAmount { amount currency } } }
  lines {
    lineNumber characteristics { name value } unitOneTimePrice { amount } unitRecurringPrice { amount }
    itemTotalPrice { priceType price { dutyFreeAmount { amount currency } } priceAlteration { name priceType } }
  }
} }"""


def _chars(**values) -> list[dict]:
    return [{"name": k, "value": v} for k, v in values.items()]


ORDER_INPUT = {
    "customerId": "ACME",
    "description": "fibre, SaaS and an SD-WAN pair",
    "lines": [
        {
            "offering": "fibre-broadband-1000",
            "characteristics": _chars(installationAddress="Kerkstraat 12, 1017 GL", staticIp=True),
        },
        {"offering": "saas-analytics-pro", "characteristics": _chars(companyName="Acme Widgets", seats=10, region="eu")},
        {
            "offering": "sdwan-site",
            "characteristics": _chars(siteName="Utrecht", siteAddress="Stationsplein 1", bandwidth=200, wanLinks=2, haPair=True),
        },
    ],
}


@pytest.fixture
def client(make_runtime, database_url):
    runtime = make_runtime(database_url, extra_plugins=(), load_entrypoints=True)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as c:
        c.runtime = runtime
        yield c


def gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body
    return body["data"]


def preview(client, **input_) -> dict:
    return gql(client, PREVIEW, {"input": input_})["orderPreview"]


def db_state(runtime) -> dict:
    """Everything a write would change: every table's rows, the orders' change_seq, and on
    PostgreSQL the id sequences (reserving an id moves one even when nothing is inserted)."""
    state: dict = {}
    with runtime.sessions() as s:
        for table in Base.metadata.sorted_tables:
            state[table.name] = s.scalar(select(func.count()).select_from(table))
        state["change_seq"] = s.scalar(select(func.coalesce(func.sum(Order.change_seq), 0)))
        if s.get_bind().dialect.name == "postgresql":
            state["sequences"] = sorted(s.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all())
    return state


def _real_plan(runtime, order_id: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The stored plan as the preview shows it: domain orders and tasks in id order, parents and
    dependencies as positions in that order; and each task's schedule (duration, planned start and
    end in seconds from the plan's start, typed dependencies; its critical flag follows the estimates)."""
    with runtime.sessions() as s:
        domain_orders = s.scalars(select(DomainOrder).where(DomainOrder.order_id == order_id).order_by(DomainOrder.id)).all()
        tasks = s.scalars(select(Task).where(Task.order_id == order_id).order_by(Task.id)).all()
        edges = s.execute(
            select(
                TaskDependency.task_id, TaskDependency.predecessor_id, TaskDependency.dependency_type, TaskDependency.lag_seconds
            )
            .join(Task, Task.id == TaskDependency.task_id)
            .where(Task.order_id == order_id)
        ).all()
        lines = {line.id: line.line_number for line in s.get(Order, order_id).lines}
    d_ref = {d.id: i for i, d in enumerate(domain_orders)}
    t_ref = {t.id: i for i, t in enumerate(tasks)}
    depends: dict[int, list[int]] = {}
    typed: dict[int, list[dict]] = {}
    for task_id, predecessor_id, kind, lag in edges:
        depends.setdefault(t_ref[task_id], []).append(t_ref[predecessor_id])
        typed.setdefault(t_ref[task_id], []).append({"predecessorRef": t_ref[predecessor_id], "type": kind, "lag": lag})
    start = min(t.planned_start_at for t in tasks)
    schedule_rows = [
        (
            t.duration_seconds,
            int((t.planned_start_at - start).total_seconds()),
            int((t.planned_end_at - start).total_seconds()),
            sorted(typed.get(t_ref[t.id], []), key=lambda d: d["predecessorRef"]),
        )
        for t in tasks
    ]
    return (
        [(d.kind, d.spec_key, lines[d.line_id], d.unit_index, d_ref.get(d.parent_id)) for d in domain_orders],
        [
            (t.key, t.kind.upper(), t.planned_seconds, d_ref[t.domain_order_id], sorted(depends.get(t_ref[t.id], [])))
            for t in tasks
        ],
        schedule_rows,
    )


_DEPENDENCY_TYPE = {
    "FINISH_TO_START": "finishToStart",
    "START_TO_START": "startToStart",
    "FINISH_TO_FINISH": "finishToFinish",
    "START_TO_FINISH": "startToFinish",
}


def _dt(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def _gid(kind: str, number) -> str:
    import base64

    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def _number(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().split(":")[1])


# -- the preview is what the order becomes ---------------------------------------------------------


def test_a_preview_equals_what_the_real_order_becomes(client):
    before = db_state(client.runtime)
    result = preview(client, order=ORDER_INPUT)
    assert result["errors"] == []
    assert db_state(client.runtime) == before  # nothing written, no id reserved
    p = result["preview"]
    assert p["orderId"] is None and p["customerId"] == "ACME" and p["waits"] == [] and p["approvalSteps"] == []

    created = gql(client, CREATE, {"input": ORDER_INPUT})["orderCreate"]["order"]
    order_id = created["id"]
    order = gql(client, ORDER, {"id": order_id})["order"]
    # Prices, every alteration, the totals: as orderCreate stored them.
    assert (p["oneTimeTotal"], p["recurringTotal"]) == (order["oneTimeTotal"], order["recurringTotal"])
    assert p["orderTotalPrice"] == order["orderTotalPrice"] and p["orderTotalPrice"]
    for mine, real in zip(p["lines"], order["lines"], strict=True):
        assert mine["itemTotalPrice"] == real["itemTotalPrice"] and mine["itemTotalPrice"]
        assert (mine["unitOneTimePrice"], mine["unitRecurringPrice"]) == (real["unitOneTimePrice"], real["unitRecurringPrice"])

    gql(client, SUBMIT, {"input": {"id": order_id, "version": created["version"]}})
    support.wait_for(
        lambda: gql(client, ORDER, {"id": order_id})["order"]["stage"] == "ORCHESTRATION", 60, message="orchestration"
    )
    after = gql(client, ORDER, {"id": order_id})["order"]
    # The automatic enrichment the preview showed is what the stages set.
    assert [line["characteristics"] for line in p["lines"]] == [line["characteristics"] for line in after["lines"]]
    assert {e["lineNumber"] for e in p["enrichments"]} == {1, 2, 3}  # router model, tenant domain, edge model
    # The decomposition: the same domain orders and tasks, with the same SLAs and dependencies.
    domain_orders, tasks, schedule_rows = _real_plan(client.runtime, _number(order_id))
    assert [
        (d["kind"], d["specKey"], d["lineNumber"], d["unitIndex"], d["parentRef"]) for d in p["domainOrders"]
    ] == domain_orders
    assert [(t["key"], t["kind"], t["plannedSeconds"], t["domainOrderRef"], t["dependsOn"]) for t in p["tasks"]] == tasks
    assert len(tasks) > 10 and any(kind == "MANUAL" for _, kind, *_ in tasks)
    # The schedule: the first plan's (no requested dates: the early schedule from submit), typed
    # dependencies and all, the pack's dependency rule among them.
    starts = _dt(p["startsAt"])
    assert [
        (
            t["durationSeconds"],
            int((_dt(t["earliestStart"]) - starts).total_seconds()),
            int((_dt(t["earliestFinish"]) - starts).total_seconds()),
            [{**d, "type": _DEPENDENCY_TYPE[d["type"]]} for d in t["dependencies"]],
        )
        for t in p["tasks"]
    ] == schedule_rows
    by_ref = {t["ref"]: t for t in p["tasks"]}
    router = next(t for t in p["tasks"] if t["key"] == "tsm.push-router-config")
    assert "tsm.configure-ont" in {by_ref[d]["key"] for d in router["dependsOn"]}  # tsm.router-config-after-ont


def test_a_draft_is_previewed_as_stored_and_nothing_changes(client):
    created = gql(client, CREATE, {"input": ORDER_INPUT})["orderCreate"]["order"]
    before = db_state(client.runtime)
    result = preview(client, id=created["id"])
    assert result["errors"] == [] and result["preview"]["orderId"] == created["id"]
    assert db_state(client.runtime) == before
    unsaved = preview(client, order=ORDER_INPUT)["preview"]
    for key in ("oneTimeTotal", "recurringTotal", "orderTotalPrice", "domainOrders", "enrichments"):
        assert result["preview"][key] == unsaved[key], key
    assert [t["key"] for t in result["preview"]["tasks"]] == [t["key"] for t in unsaved["tasks"]]


def test_the_predicted_completion_is_the_end_of_the_critical_path(client):
    p = preview(client, order={**ORDER_INPUT, "requestedCompletionDate": "2020-01-01T00:00:00Z"})["preview"]
    tasks = {t["ref"]: t for t in p["tasks"]}
    for t in tasks.values():
        if t["plannedSeconds"] is None:
            assert t["durationSeconds"] == DEFAULT_DURATION_SECONDS[t["kind"].lower()]
        assert t["dependsOn"] == [d["predecessorRef"] for d in t["dependencies"]]
        finish_to_start = [
            tasks[d["predecessorRef"]]["earliestFinish"]
            for d in t["dependencies"]
            if d["type"] == "FINISH_TO_START" and d["lag"] == 0
        ]
        assert t["earliestStart"] >= max(finish_to_start, default=p["startsAt"])
    last = tasks[p["criticalPath"][-1]]
    assert p["predictedCompletionDate"] == max(t["earliestFinish"] for t in tasks.values()) == last["earliestFinish"]
    assert all(tasks[r]["critical"] and tasks[r]["totalFloat"] == 0 for r in p["criticalPath"])
    for earlier, later in zip(p["criticalPath"], p["criticalPath"][1:]):
        assert earlier in tasks[later]["dependsOn"]
    assert p["meetsRequestedCompletionDate"] is False  # requested in the past


def test_the_preview_starts_at_the_requested_start_date(client):
    p = preview(client, order={**ORDER_INPUT, "requestedStartDate": "2099-03-01T08:00:00Z"})["preview"]
    assert _dt(p["startsAt"]) == _dt("2099-03-01T08:00:00Z")
    assert min(_dt(t["earliestStart"]) for t in p["tasks"]) == _dt(p["startsAt"])


# -- the steps it will meet ------------------------------------------------------------------------------


def test_a_preview_shows_the_approval_a_big_order_would_wait_for(client):
    big = {
        **ORDER_INPUT,
        "lines": [
            {
                "offering": "edge-appliance",
                "quantity": 10,
                "characteristics": _chars(
                    shippingAddress="Herengracht 1, 1015 BA", country="NL", siteContactName="Jan", siteContactPhone="+31201234567"
                ),
            }
        ],
    }
    p = preview(client, order=big)["preview"]
    assert [(s["level"], s["levels"]) for s in p["approvalSteps"]] == [(1, 2), (2, 2)]
    assert any("one-time total" in r for r in p["approvalSteps"][0]["reasons"])
    assert [w["stage"] for w in p["waits"]] == ["approval"]
    assert p["tasks"], "the decomposition is previewed past the approval wait"


def test_a_preview_shows_the_manual_enrichment_a_hub_site_would_wait_for(client):
    hub = {
        **ORDER_INPUT,
        "lines": [
            {
                "offering": "sdwan-site",
                "characteristics": _chars(
                    siteName="Hub", siteAddress="Stationsplein 1", bandwidth=1000, wanLinks=2, haPair=True, siteRole="hub"
                ),
            }
        ],
    }
    p = preview(client, order=hub)["preview"]
    assert [(t["lineNumber"], t["key"], t["capture"]) for t in p["enrichmentTasks"]] == [
        (1, "siteSurvey", ["siteSurveyReference"])
    ]
    assert [w["stage"] for w in p["waits"]] == ["enrichment"] and "Site survey" in p["waits"][0]["waitingFor"]
    assert p["tasks"] and p["predictedCompletionDate"]


def test_a_modify_line_previews_its_recurring_delta_and_its_change_tasks(client):
    saas = {"offering": "saas-analytics-pro", "characteristics": _chars(companyName="Acme Widgets", seats=10, region="eu")}
    created = gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [saas], "requestedInitialState": "ACKNOWLEDGED"}})
    order_id = created["orderCreate"]["order"]["id"]
    support.wait_for(lambda: gql(client, ORDER, {"id": order_id})["order"]["state"] == "COMPLETED", 60, message="completed")
    [product] = gql(client, "query($id: ID!) { order(id: $id) { products { id } } }", {"id": order_id})["order"]["products"]
    modify = {"action": "MODIFY", "productId": product["id"], "characteristics": _chars(seats=200)}
    query = """query($input: OrderPreviewInput!) { orderPreview(input: $input) {
      preview { lines { action priceDelta { priceType deltaPrice { dutyFreeAmount { amount } } } } tasks { key } domainOrders { specKey } }
      errors { field code } } }"""
    before = db_state(client.runtime)
    result = gql(client, query, {"input": {"order": {"customerId": "ACME", "lines": [modify]}}})["orderPreview"]
    assert db_state(client.runtime) == before
    assert result["errors"] == [], result
    [line] = result["preview"]["lines"]
    assert line["action"] == "MODIFY" and line["priceDelta"] is not None
    keys = [t["key"] for t in result["preview"]["tasks"]]
    assert "tpsm.provision-licences" in keys and "tpsm.send-welcome" not in keys  # modify's tasks, not add's


# -- errors, scoping ---------------------------------------------------------------------------------------


def test_invalid_input_gets_the_errors_order_create_gives(client):
    bad = {**ORDER_INPUT, "lines": [{"offering": "fibre-broadband-500", "characteristics": _chars(bandwidth=1000)}]}
    before = db_state(client.runtime)
    result = preview(client, order=bad)
    assert result["preview"] is None
    assert sorted((e["field"], e["code"]) for e in result["errors"]) == [
        ("lines.0.characteristics.bandwidth", "VALUE_NOT_ALLOWED"),
        ("lines.0.characteristics.installationAddress", "REQUIRED"),
    ]
    # Business validation (after submit in the real run) answers here as well.
    port_in = {
        **ORDER_INPUT,
        "lines": [
            {
                "offering": "mobile-plan-20gb",
                "characteristics": _chars(portIn=True, portInNumber="+31612345678", donorOperator="TSM"),
            }
        ],
    }
    assert [(e["field"], e["code"]) for e in preview(client, order=port_in)["errors"]] == [
        ("lines.0.characteristics.donorOperator", "DONOR_IS_US")
    ]
    assert [e["code"] for e in preview(client)["errors"]] == ["INVALID"]
    assert [e["code"] for e in preview(client, id=_gid("Order", 999), order=ORDER_INPUT)["errors"]] == ["INVALID"]
    assert [e["code"] for e in preview(client, id=_gid("Order", 999))["errors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in preview(client, id=_gid("Product", 1))["errors"]] == ["INVALID_ID"]
    assert db_state(client.runtime) == before


def test_a_submitted_order_is_not_previewed(client):
    created = gql(client, CREATE, {"input": {**ORDER_INPUT, "requestedInitialState": "ACKNOWLEDGED"}})["orderCreate"]["order"]
    assert [e["code"] for e in preview(client, id=created["id"])["errors"]] == ["NOT_DRAFT"]


def test_customers_preview_for_their_own_account_only(client):
    runtime = client.runtime
    customer = TestClient(client.app, headers=support.bearer(runtime, "customer", account="ACME"))
    other = TestClient(client.app, headers=support.bearer(runtime, "customer", account="OTHER"))
    mine = gql(customer, PREVIEW, {"input": {"order": {**ORDER_INPUT, "customerId": ""}}})["orderPreview"]
    assert mine["errors"] == [] and mine["preview"]["customerId"] == "ACME"
    refused = gql(customer, PREVIEW, {"input": {"order": {**ORDER_INPUT, "customerId": "OTHER"}}})["orderPreview"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("customerId", "FORBIDDEN")]
    draft = gql(client, CREATE, {"input": ORDER_INPUT})["orderCreate"]["order"]
    assert gql(customer, PREVIEW, {"input": {"id": draft["id"]}})["orderPreview"]["errors"] == []
    assert [e["code"] for e in gql(other, PREVIEW, {"input": {"id": draft["id"]}})["orderPreview"]["errors"]] == ["NOT_FOUND"]
    viewer = TestClient(client.app, headers=support.bearer(runtime, "viewer"))  # staff, reads but does not capture
    assert [e["code"] for e in gql(viewer, PREVIEW, {"input": {"order": ORDER_INPUT}})["orderPreview"]["errors"]] == ["FORBIDDEN"]
    assert gql(viewer, PREVIEW, {"input": {"id": draft["id"]}})["orderPreview"]["errors"] == []


def test_pack_code_runs_with_no_transaction_open(make_runtime, database_url):
    from tests import fixture_lock_probe_pack as probe

    probe.reset()
    runtime = make_runtime(database_url, extra_plugins=(probe,), embedded_workers=False)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as c:
        result = gql(c, PREVIEW, {"input": {"order": {"customerId": "ACME", "lines": [{"offering": probe.OFFERING}]}}})
        assert result["orderPreview"]["errors"] == [], result
    ran = {what for what, _ in probe.PROBES}
    assert {"validator", "enrichment", "rule", "policy"} <= ran or len(ran) >= 3, probe.PROBES
    assert not [what for what, locked in probe.PROBES if locked], probe.PROBES


def test_an_enrichment_step_that_cannot_answer_yet_is_a_wait_the_preview_goes_past(make_runtime, database_url):
    from tests import fixture_lock_probe_pack as probe

    probe.reset()
    probe.PENDING["routerModel"] = "the warehouse has not answered"
    runtime = make_runtime(database_url, extra_plugins=(probe,), embedded_workers=False)
    line = {"offering": probe.OFFERING}
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as c:
        before = db_state(runtime)
        p = gql(c, PREVIEW, {"input": {"order": {"customerId": "ACME", "lines": [line, line]}}})["orderPreview"]["preview"]
        assert db_state(runtime) == before
    assert p["waits"] == [
        {"stage": "enrichment", "waitingFor": "characteristic routerModel: the warehouse has not answered"},
        {"stage": "enrichment", "waitingFor": "characteristic routerModel: the warehouse has not answered"},
    ]  # one per line: the second line's steps ran too
    assert p["tasks"] and p["domainOrders"]
    probe.reset()


# -- the schedule, unit ------------------------------------------------------------------------------------


def _planned(key, kind, seconds):
    from om_graph.core.fulfilment.decomposition import PlannedDomainOrder, PlannedTask

    return PlannedTask(PlannedDomainOrder(0, "PRODUCT", "s", 0, {}), key, key, kind, None, 1, None, seconds)


def test_schedule_takes_the_longest_chain_and_the_typed_dependencies():
    from datetime import datetime

    from om_graph.core.fulfilment.decomposition import Decomposition, PlannedDependency

    a, b, c, d = (
        _planned("a", "automatic", 60),
        _planned("b", "automatic", 600),
        _planned("c", "automatic", 30),
        _planned("d", "manual", None),
    )
    edges = [PlannedDependency(c, a), PlannedDependency(c, b), PlannedDependency(d, c)]
    start = datetime(2026, 1, 1)
    times, path, completion = schedule(Decomposition(domain_orders=[], tasks=[a, b, c, d], edges=edges), start)
    manual = timedelta(seconds=DEFAULT_DURATION_SECONDS["manual"])
    assert times[2][:2] == (start + timedelta(seconds=600), start + timedelta(seconds=630))
    assert path == [1, 2, 3] and completion == start + timedelta(seconds=630) + manual
    assert [t[2] for t in times] == [540, 0, 0, 0]  # a can slip 540 s
    # c may start 100 s after b starts (startToStart): b's 600 s now end the order.
    edges = [PlannedDependency(c, a), PlannedDependency(c, b, "startToStart", 100)]
    times, path, completion = schedule(Decomposition(domain_orders=[], tasks=[a, b, c], edges=edges), start)
    assert times[2][:2] == (start + timedelta(seconds=100), start + timedelta(seconds=130))
    assert completion == start + timedelta(seconds=600) and path == [1]


@settings(max_examples=200, deadline=None)
@given(
    durations=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)), min_size=1, max_size=12),
    kinds=st.lists(st.booleans(), min_size=12, max_size=12),
    edges=st.sets(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30),
)
def test_schedule_is_the_longest_path_of_any_finish_to_start_plan(durations, kinds, edges):
    """Against a brute force over every path of a random acyclic plan (edges from a lower to a
    higher index only)."""
    from datetime import datetime

    from om_graph.core.fulfilment.decomposition import Decomposition, PlannedDependency

    n = len(durations)
    tasks = [_planned(f"t{i}", "manual" if kinds[i] else "automatic", d) for i, d in enumerate(durations)]
    pairs = sorted({(b, a) for a, b in edges if a < b < n})  # (task, predecessor): predecessor has the lower index
    plan = Decomposition(domain_orders=[], tasks=tasks, edges=[PlannedDependency(tasks[t], tasks[p]) for t, p in pairs])
    start = datetime(2026, 1, 1)
    times, path, completion = schedule(plan, start)
    length = [
        DEFAULT_DURATION_SECONDS["manual" if kinds[i] else "automatic"] if d is None else d for i, d in enumerate(durations)
    ]
    longest: list[int] = []
    for i in range(n):  # the longest chain ending at i (predecessors have lower indexes)
        before = [longest[p] for t, p in pairs if t == i]
        longest.append(max(before, default=0) + length[i])
    assert completion == start + timedelta(seconds=max(longest))
    assert [f for _, f, _ in times] == [start + timedelta(seconds=v) for v in longest]
    assert sum(length[i] for i in path) == max(longest)
    assert all((b, a) in set(pairs) for a, b in zip(path, path[1:]))
