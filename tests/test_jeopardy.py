"""Jeopardy (core/fulfilment/jeopardy.py): SLA sources and their precedence, levels from the SLA
share and from predicted lateness, roll-up to domain orders, lines and orders, TMF jeopardy
alerts on the subscription, pauses, and the batched pass; the scenario through GraphQL: a late
task raises the order's predicted jeopardy before its SLA is spent."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from starlette.testclient import TestClient
from strawberry import relay

from om_graph.app import create_app
from om_graph.core.catalog.definitions import TaskTemplate
from om_graph.core.catalog.extensions import JeopardyPolicy
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment import jeopardy as jp
from om_graph.core.fulfilment.jeopardy import JeopardyEvaluator, highest, jeopardy_level, predicted_level, task_sla
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.events import JEOPARDY_ALERT
from om_graph.core.kernel.models import EventRecord, utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_auto_pack, fixture_pack, support
from tests.support import AGENT

# --- levels (pure) ------------------------------------------------------------------------------


def test_levels_from_the_sla_share_and_from_predicted_lateness():
    assert [jeopardy_level(s) for s in (0.0, 0.49, 0.5, 0.75, 1.0, 1.49, 1.5, 9)] == [
        None,
        None,
        "LOW",
        "MEDIUM",
        "HIGH",
        "HIGH",
        "CRITICAL",
        "CRITICAL",
    ]
    span = 10_000
    assert predicted_level(0, span) is None and predicted_level(-50, span) is None
    assert predicted_level(1, span) == "LOW"  # late at all
    assert predicted_level(1_000, span) == "MEDIUM"
    assert predicted_level(2_500, span) == "HIGH"
    assert predicted_level(5_000, span) == "CRITICAL"
    assert predicted_level(1, span, commitment_passed=True) == "CRITICAL"
    assert highest([None, "LOW", "HIGH", "MEDIUM"]) == "HIGH" and highest([]) is None


@given(st.floats(0, 10), st.floats(0, 10))
def test_a_larger_share_never_gives_a_lower_level(a, b):
    low, high = sorted((a, b))
    assert jp.rank(jeopardy_level(low)) <= jp.rank(jeopardy_level(high))


@given(st.integers(-10_000, 100_000), st.integers(-10_000, 100_000), st.integers(1, 100_000))
def test_more_lateness_never_gives_a_lower_predicted_level(a, b, span):
    low, high = sorted((a, b))
    assert jp.rank(predicted_level(low, span)) <= jp.rank(predicted_level(high, span))


# --- SLA sources --------------------------------------------------------------------------------


class _Tables:
    def __init__(self, answer=None):
        self.answer, self.asked = answer, []

    def first(self, name, inputs):
        self.asked.append((name, dict(inputs)))
        return {"slaSeconds": self.answer} if self.answer is not None else None


def _registry(*policies: JeopardyPolicy) -> Registry:
    return Registry(jeopardy_policies=policies)


FALLBACK = JeopardyPolicy("core.fallback", lambda t: timedelta(minutes=15), priority=-1000)
PACK = JeopardyPolicy("pack.sla", lambda t: timedelta(hours=2) if t.task_key == "install" else None, priority=10)
TEMPLATE = TaskTemplate("install", "Install", kind="manual", sla=timedelta(hours=8))


def test_sla_precedence_table_then_pack_policy_then_template_then_fallback():
    registry = _registry(PACK, FALLBACK)
    tables = _Tables(600)
    args = dict(task_key="install", kind="manual", spec_key="s", template=TEMPLATE)
    assert task_sla(registry, tables, **args, priority="1", segment="business") == 600
    assert tables.asked[0] == (
        "fulfilment.sla",
        {
            "level": "task",
            "taskKey": "install",
            "kind": "manual",
            "specKey": "s",
            "priority": "1",
            "segment": "business",
            "action": None,
        },
    )
    assert task_sla(registry, _Tables(None), **args) == 7200  # no rule: the pack's policy
    assert task_sla(_registry(FALLBACK), _Tables(None), **args) == 8 * 3600  # the template before the fallback
    assert task_sla(_registry(FALLBACK), None, task_key="other", kind="automatic", spec_key="s") == 900
    assert task_sla(_registry(), None, task_key="other", kind="automatic", spec_key="s") is None


def test_a_raising_or_odd_policy_is_a_pack_failure():
    from om_graph.core.kernel.errors import PluginCallFailed

    for answer in (lambda t: 1 / 0, lambda t: 300):
        with pytest.raises(PluginCallFailed, match="jeopardy polic"):
            task_sla(_registry(JeopardyPolicy("bad", answer)), None, task_key="x", kind="manual", spec_key="s")


def test_domain_order_and_order_slas_come_from_the_table_levels():
    tables = _Tables(3600)
    assert jp.domain_order_sla(tables, spec_key="s", kind="SERVICE") == 3600
    assert jp.order_sla(tables, priority="0") == 3600
    assert [asked["level"] for _, asked in tables.asked] == ["domainOrder", "order"]
    assert jp.order_sla(_Tables(None)) is None and jp.order_sla(None) is None


def test_the_sla_table_is_a_shipped_default():
    from om_graph.core.fulfilment.tables import FULFILMENT_TABLES

    assert jp.SLA_TABLE_DEF in FULFILMENT_TABLES
    assert [c.name for c in jp.SLA_TABLE_DEF.outputs] == ["slaSeconds"]


# --- the pass, through the core services ----------------------------------------------------------


@pytest.fixture
def services(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, fixture_auto_pack]))
    jobs = RecordingJobSink()
    svc = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    svc.load_catalog()
    svc.jobs = jobs
    yield svc
    engine.dispose()


def _drain(svc):
    while jobs := svc.jobs.take():
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])
            elif job.name == ADVANCE_ORDER:
                svc.processing.advance(job.args["order_id"])


def _place(svc, lines=1) -> int:
    order = svc.orders.create(
        AGENT,
        OrderInput(
            "ACME", tuple(LineInput("test-internet", characteristics={"speed": 100, "address": "x"}) for _ in range(lines))
        ),
    )
    svc.orders.submit(AGENT, order.id)
    _drain(svc)  # automatic work done: the manual installation waits, ready
    return order.id


def _unscheduled(svc, order_id):
    """Without the schedule's commitment and estimate: levels from SLA shares only."""
    with svc.uow() as uow:
        uow.session.execute(
            update(Order).where(Order.id == order_id).values(committed_completion_at=None, expected_completion_at=None)
        )
    return order_id


def _alerts(svc, order_id):
    with svc.sessions() as s:
        return [
            (e.entity_kind, e.payload)
            for e in s.scalars(
                select(EventRecord).where(EventRecord.order_id == order_id, EventRecord.event_type == JEOPARDY_ALERT)
            )
        ]


def _levels(svc, order_id):
    with svc.sessions() as s:
        return SimpleNamespace(
            order=s.get(Order, order_id).jeopardy,
            lines=[line.jeopardy for line in s.scalars(select(OrderLine).where(OrderLine.order_id == order_id))],
            domain_orders={
                d.spec_key: d.jeopardy for d in s.scalars(select(DomainOrder).where(DomainOrder.order_id == order_id))
            },
            tasks={t.key: t.jeopardy for t in s.scalars(select(Task).where(Task.order_id == order_id))},
        )


def test_a_breached_task_sla_rolls_up_to_its_domain_orders_line_and_order_with_tmf_alerts(services):
    order_id = _unscheduled(services, _place(services))
    report = services.reconciler.jeopardy.run(utcnow() + timedelta(days=3, hours=1))  # the 3-day manual SLA spent
    assert report.tasks_changed == 1 and report.orders_changed == 1
    levels = _levels(services, order_id)
    assert levels.tasks["test.install"] == "HIGH"
    assert levels.domain_orders == {"test.internet": "HIGH", "test.access-cfs": "HIGH", "test.line": "HIGH", "test.router": None}
    assert levels.lines == ["HIGH"] and levels.order == "HIGH"
    (task_kind, task_alert), (order_kind, order_alert) = _alerts(services, order_id)
    assert task_kind == "task" and order_kind == "order"
    for alert in (task_alert, order_alert):
        assert alert["@type"] == "ProductOrderJeopardyAlert" and alert["jeopardyType"] == "HIGH"
        assert {"id", "alertDate", "name", "exception", "message", "productOrder", "productOrderItem"} <= set(alert)
        assert alert["productOrderItem"] == [{"productOrderItemId": "1", "@referredType": "ProductOrderItem"}]
    assert task_alert["taskKey"] == "test.install" and task_alert["slaConsumed"] > 1
    assert order_alert["exception"] == "itemsInJeopardy" and order_alert["previous"] is None
    # Nothing moved: nothing written, no alert.
    again = services.reconciler.jeopardy.run(utcnow() + timedelta(days=3, hours=1))
    assert (again.tasks_changed, again.orders_changed, again.write_transactions) == (0, 0, 0)
    assert len(_alerts(services, order_id)) == 2


def test_a_held_order_or_line_is_not_evaluated_and_raises_no_alert(services):
    held_order, held_line, running = _place(services), _place(services), _place(services)
    with services.uow() as uow:
        uow.session.execute(update(Order).where(Order.id == held_order).values(paused_at=utcnow()))
        uow.session.execute(update(OrderLine).where(OrderLine.order_id == held_line).values(paused_at=utcnow()))
    report = services.reconciler.jeopardy.run(utcnow() + timedelta(days=5))
    assert report.orders_paused == 1
    assert _alerts(services, held_order) == [] and _alerts(services, held_line) == []
    assert _levels(services, held_order).tasks["test.install"] is None
    assert _levels(services, running).order == "CRITICAL"


def test_predicted_lateness_flags_the_order_before_any_task_sla_is_spent(services):
    order_id = _place(services)
    now = utcnow()
    with services.uow() as uow:
        uow.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                submitted_at=now - timedelta(hours=1),
                committed_completion_at=now + timedelta(hours=9),
                expected_completion_at=now + timedelta(hours=10),
            )
        )
    report = services.reconciler.jeopardy.run(now)
    assert report.tasks_changed == 0
    levels = _levels(services, order_id)
    assert levels.order == "MEDIUM" and set(levels.tasks.values()) == {None}  # an hour late on a 10-hour span
    with services.sessions() as s:
        assert s.get(Order, order_id).predicted_lateness_seconds == 3600
    [(kind, alert)] = _alerts(services, order_id)
    assert kind == "order" and alert["exception"] == "predictedLateness" and alert["predictedLatenessSeconds"] == 3600
    # Back on time: the level falls, with its alert.
    with services.uow() as uow:
        uow.session.execute(update(Order).where(Order.id == order_id).values(expected_completion_at=now + timedelta(hours=8)))
    services.reconciler.jeopardy.run(now)
    assert _levels(services, order_id).order is None
    assert _alerts(services, order_id)[-1][1]["jeopardyType"] == "NONE"


def test_an_overrun_critical_task_slips_the_estimate_between_schedule_sessions(services):
    order_id = _place(services)
    now = utcnow()
    with services.uow() as uow:
        uow.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                submitted_at=now,
                committed_completion_at=now + timedelta(hours=5),
                expected_completion_at=now + timedelta(hours=4, minutes=30),
            )
        )
        uow.session.execute(
            update(Task)
            .where(Task.order_id == order_id, Task.key == "test.install")
            .values(estimated_end_at=now + timedelta(hours=4), total_float_seconds=0)
        )
    services.reconciler.jeopardy.run(now + timedelta(hours=4))
    assert _levels(services, order_id).order is None  # not overrun yet
    services.reconciler.jeopardy.run(now + timedelta(hours=4, minutes=45))  # 45 min over: 15 min past the commitment
    with services.sessions() as s:
        order = s.get(Order, order_id)
        assert (order.jeopardy, order.predicted_lateness_seconds) == ("LOW", 15 * 60)


def test_the_pass_walks_open_tasks_in_bounded_batches_and_writes_small_groups(services):
    orders = [_unscheduled(services, _place(services)) for _ in range(5)]
    evaluator = JeopardyEvaluator(services.uow, services.registry, tables=services.decisions.active, batch=2, write_group=2)
    report = evaluator.run(utcnow() + timedelta(days=4))
    assert report.orders_evaluated == 5 and report.tasks_changed == 5
    assert report.batches >= 3 and report.write_transactions == 3  # groups of at most two orders
    assert report.longest_transaction_seconds > 0
    assert {_levels(services, o).order for o in orders} == {"HIGH"}


def test_an_order_written_since_the_read_is_left_to_the_next_pass(services, monkeypatch):
    order_id = _place(services)
    evaluator = services.reconciler.jeopardy
    real = evaluator._evaluate

    def evaluate_then_someone_writes(*args):
        changes = real(*args)
        with services.uow() as uow:
            from om_graph.core.ordering.locking import lock_order

            lock_order(uow, order_id)
        return changes

    monkeypatch.setattr(evaluator, "_evaluate", evaluate_then_someone_writes)
    report = evaluator.run(utcnow() + timedelta(days=4))
    assert report.conflicts == 1 and report.tasks_changed == 0
    monkeypatch.setattr(evaluator, "_evaluate", real)
    assert evaluator.run(utcnow() + timedelta(days=4)).tasks_changed == 1


def test_a_domain_order_sla_from_the_table_is_recorded_with_its_due_date(services):
    order_id = _place(services)

    class Tables:
        def first(self, name, inputs):
            return {"slaSeconds": 3600} if inputs.get("level") == "domainOrder" and inputs["specKey"] == "test.line" else None

    evaluator = JeopardyEvaluator(services.uow, services.registry, tables=lambda session: Tables())
    evaluator.run(utcnow() + timedelta(hours=2))
    with services.sessions() as s:
        line = s.scalars(select(DomainOrder).where(DomainOrder.order_id == order_id, DomainOrder.spec_key == "test.line")).one()
        assert line.sla_seconds == 3600 and line.due_at is not None and line.jeopardy in ("HIGH", "CRITICAL")


# --- the scenario through GraphQL ----------------------------------------------------------------

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { field code } } }"""
SUBMIT = """mutation($input: OrderSubmitInput!) { orderSubmit(input: $input) { order { id state } errors { field code } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state jeopardy predictedLateness
    lines { lineNumber jeopardy }
    domainOrders { specKey jeopardy tasks { key state jeopardy } }
    events { type entityKind payload }
  }
}"""


LINE = {
    "offering": "test-internet",
    "quantity": 1,
    "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "x"}],
}


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_a_late_task_raises_the_orders_predicted_jeopardy_before_its_sla_is_spent(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, jeopardy_interval_seconds=3600)  # passes only when the test runs them
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        created = _gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [LINE]}})
        gid = created["orderCreate"]["order"]["id"]
        _gql(client, SUBMIT, {"input": {"id": gid}})
        order_id = int(relay.GlobalID.from_id(gid).node_id)

        def install_ready():
            tasks = [t for d in _gql(client, ORDER, {"id": gid})["order"]["domainOrders"] for t in d["tasks"]]
            return any(t["key"] == "test.install" and t["state"] == "READY" for t in tasks)

        support.wait_for(install_ready, 30, message="the manual installation")
        # The schedule's estimate and commitment (written here so the test does not depend on how
        # the schedule plans the fixture pack's tasks): the installation, critical, was due to end in
        # 4 hours, the order committed for 5 hours from submit.
        now = utcnow()
        with runtime.services.uow() as uow:
            uow.session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(
                    submitted_at=now,
                    committed_completion_at=now + timedelta(hours=5),
                    expected_completion_at=now + timedelta(hours=4, minutes=30),
                )
            )
            uow.session.execute(
                update(Task)
                .where(Task.order_id == order_id, Task.key == "test.install")
                .values(estimated_end_at=now + timedelta(hours=4), total_float_seconds=0)
            )
        # 45 minutes past the installation's estimate, 4h45 into its 3-day SLA (7 %: no level), the
        # commitment 15 minutes away: the order is predicted 15 minutes late.
        runtime.services.reconciler.evaluate_jeopardy(now + timedelta(hours=4, minutes=45))
        order = _gql(client, ORDER, {"id": gid})["order"]
        tasks = {t["key"]: t for d in order["domainOrders"] for t in d["tasks"]}
        assert tasks["test.install"]["jeopardy"] is None
        assert order["jeopardy"] == "LOW" and order["predictedLateness"] == 15 * 60  # 4h30 + 45 min - 5 h
        assert order["lines"] == [{"lineNumber": 1, "jeopardy": None}]
        [alert] = [e["payload"] for e in order["events"] if e["type"] == JEOPARDY_ALERT]
        assert alert["exception"] == "predictedLateness" and alert["jeopardyType"] == "LOW"
        assert alert["productOrder"] == {"id": str(order_id), "@referredType": "ProductOrder"}
        # Still open once the commitment has passed: critical, a second alert.
        runtime.services.reconciler.evaluate_jeopardy(now + timedelta(hours=6))
        order = _gql(client, ORDER, {"id": gid})["order"]
        assert order["jeopardy"] == "CRITICAL" and order["predictedLateness"] == 90 * 60
        alerts = [e["payload"] for e in order["events"] if e["type"] == JEOPARDY_ALERT]
        assert [(a["jeopardyType"], a["previous"]) for a in alerts] == [("LOW", None), ("CRITICAL", "LOW")]


SCHEDULED = """
query($id: ID!) {
  order(id: $id) {
    jeopardy predictedLateness expectedCompletionDate committedCompletionDate
    domainOrders { tasks { key state jeopardy critical estimatedEndDate } }
    events { type entityKind payload }
  }
}"""


def test_with_the_schedules_own_estimate_an_overrun_installation_puts_the_order_in_jeopardy(make_runtime, sqlite_url):
    """The same scenario on the schedule's own dates (nothing written by hand): committed to the
    requested completion, 5 hours out; the installation (4 hours planned, critical) overruns."""
    runtime = make_runtime(sqlite_url, jeopardy_interval_seconds=3600)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        requested = (utcnow() + timedelta(hours=5)).replace(microsecond=0)
        order_input = {"customerId": "ACME", "lines": [LINE], "requestedCompletionDate": requested.isoformat() + "Z"}
        gid = _gql(client, CREATE, {"input": order_input})["orderCreate"]["order"]["id"]
        _gql(client, SUBMIT, {"input": {"id": gid}})

        def install():
            order = _gql(client, SCHEDULED, {"id": gid})["order"]
            found = [t for d in order["domainOrders"] for t in d["tasks"] if t["key"] == "test.install" and t["state"] == "READY"]
            return found[0] if found else None

        support.wait_for(install, 30, message="the manual installation")
        task = install()
        assert task["critical"] and task["estimatedEndDate"] is not None
        order = _gql(client, SCHEDULED, {"id": gid})["order"]
        assert order["committedCompletionDate"] is not None and order["expectedCompletionDate"] is not None
        runtime.services.reconciler.evaluate_jeopardy(utcnow() + timedelta(hours=1))  # on plan
        assert _gql(client, SCHEDULED, {"id": gid})["order"]["jeopardy"] is None
        runtime.services.reconciler.evaluate_jeopardy(utcnow() + timedelta(hours=6))  # 2 hours over, 8 % of its SLA
        order = _gql(client, SCHEDULED, {"id": gid})["order"]
        task = next(t for d in order["domainOrders"] for t in d["tasks"] if t["key"] == "test.install")
        assert task["jeopardy"] is None  # its own SLA is far from spent
        assert order["jeopardy"] == "CRITICAL" and order["predictedLateness"] > 0
        [alert] = [e["payload"] for e in order["events"] if e["type"] == JEOPARDY_ALERT]
        assert alert["exception"] == "predictedLateness"


def test_a_jeopardy_alert_arrives_on_the_order_events_subscription(make_runtime, sqlite_url, monkeypatch):
    from tests import test_subscriptions as subs

    monkeypatch.setattr(subs, "EVENTS", "subscription($after: ID) { orderEvents(after: $after) { id type entityKind payload } }")
    runtime = make_runtime(sqlite_url, jeopardy_interval_seconds=3600)  # passes only when the test runs them
    with (
        subs.serving(runtime) as url,
        TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client,
    ):
        created = _gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [LINE]}})
        gid = created["orderCreate"]["order"]["id"]
        _gql(client, SUBMIT, {"input": {"id": gid}})

        def install_ready():
            tasks = [t for d in _gql(client, ORDER, {"id": gid})["order"]["domainOrders"] for t in d["tasks"]]
            return any(t["key"] == "test.install" and t["state"] == "READY" for t in tasks)

        support.wait_for(install_ready, 30, message="the manual installation")
        subscriber = subs.Subscriber(url, support.bearer(runtime))
        subs.wait_subscribed(runtime)
        runtime.services.reconciler.evaluate_jeopardy(utcnow() + timedelta(days=4))
        received: list[dict] = []

        def two_alerts():
            message = subscriber.next(0.5)
            if message is not None:
                event = message["payload"]["data"]["orderEvents"]
                if event["type"] == JEOPARDY_ALERT:
                    received.append(event)
            return len(received) >= 2

        support.wait_for(two_alerts, 20, interval=0, message="the jeopardy alerts")
        subscriber.close()
    kinds = sorted(e["entityKind"] for e in received)
    assert kinds == ["order", "task"], json.dumps(received)[:500]
    assert all(e["payload"]["@type"] == "ProductOrderJeopardyAlert" for e in received)


# --- roll-up invariants (property) ---------------------------------------------------------------

_LEVELS = st.sampled_from([None, "LOW", "MEDIUM", "HIGH", "CRITICAL"])


@st.composite
def _orders(draw):
    """One order's rows as the pass reads them: lines, domain orders (children after parents),
    open tasks with SLA clocks at any share, some lines paused."""
    now = utcnow()
    lines, domain_orders, tasks = [], [], []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        lines.append(
            SimpleNamespace(
                id=n, order_id=1, line_number=n, action="add", state="inProgress", jeopardy=draw(_LEVELS), paused_at=None
            )
        )
        for _ in range(draw(st.integers(1, 3))):
            parents = [d.id for d in domain_orders if d.line_id == n]
            domain_orders.append(
                SimpleNamespace(
                    id=len(domain_orders) + 1,
                    order_id=1,
                    line_id=n,
                    parent_id=draw(st.sampled_from([None, *parents])),
                    kind="SERVICE",
                    spec_key="s",
                    state=draw(st.sampled_from(["inProgress", "inProgress", "completed"])),
                    jeopardy=draw(_LEVELS),
                    sla_seconds=None,
                    due_at=None,
                    started_at=None,
                )
            )
    for d in domain_orders:
        if d.state == "completed":
            continue
        for k in range(draw(st.integers(0, 3))):
            share = draw(st.floats(0, 3))
            tasks.append(
                SimpleNamespace(
                    id=len(tasks) + 1,
                    order_id=1,
                    domain_order_id=d.id,
                    key=f"t{k}",
                    kind="automatic",
                    state="ready",
                    planned_seconds=1000,
                    due_at=now + timedelta(seconds=1000 - share * 1000),
                    jeopardy=draw(_LEVELS),
                    estimated_end_at=None,
                    total_float_seconds=None,
                )
            )
    order = SimpleNamespace(
        id=1,
        customer_id="C",
        state="inProgress",
        change_seq=1,
        jeopardy=draw(_LEVELS),
        predicted_lateness_seconds=None,
        expected_completion_at=now + timedelta(seconds=draw(st.integers(-3600, 3600))),
        committed_completion_at=now + timedelta(hours=1),
        requested_start_date=None,
        submitted_at=now - timedelta(hours=1),
        created_at=now - timedelta(hours=1),
        paused_at=None,
        priority=None,
        segment=None,
    )
    snapshot = jp._Snapshot({1: order}, {1: lines}, {1: domain_orders}, {1: tasks})
    return snapshot, now


@given(_orders())
def test_rolled_up_levels_are_the_max_of_what_they_cover(case):
    snapshot, now = case
    evaluator = JeopardyEvaluator(None, Registry())  # type: ignore[arg-type]  # never writes here
    order = snapshot.orders[1]
    change = evaluator._evaluate_order(order, snapshot, None, jp.SlaAnswers(Registry()), now)
    tasks = {t.id: t.jeopardy for t in snapshot.tasks[1]} | {t.id: level for t, level, *_ in change.tasks}
    assert all(jp.rank(level) >= jp.rank(t.jeopardy) for t, level, *_ in change.tasks)  # tasks only rise
    domain = {d.id: d.jeopardy for d in snapshot.domain_orders[1]} | {d.id: level for d, level, _, _ in change.domain_orders}
    lines = {line.id: line.jeopardy for line in snapshot.lines[1]} | {line.id: level for line, level in change.line_levels}
    open_domain = [d for d in snapshot.domain_orders[1] if d.state != "completed"]
    for d in open_domain:
        covered = [tasks[t.id] for t in snapshot.tasks[1] if t.domain_order_id == d.id]
        covered += [domain[c.id] for c in open_domain if c.parent_id == d.id]
        assert domain[d.id] == highest(covered)
    for line in snapshot.lines[1]:
        assert lines[line.id] == highest(domain[d.id] for d in open_domain if d.line_id == line.id)
        assert jp.rank(change.order_level) >= jp.rank(lines[line.id])
    late = change.lateness is not None and change.lateness > 0
    assert (jp.rank(change.order_level) >= 1) if late else True  # any predicted lateness: at least LOW


def test_the_reconciler_runs_a_pass_at_most_every_interval(services):
    order_id = _unscheduled(services, _place(services))
    reconciler = services.reconciler
    reconciler.jeopardy_interval = 3600
    reconciler.run_once()  # the first pass runs at once (nothing is late yet)
    assert reconciler.last_jeopardy is not None and reconciler.last_jeopardy.orders_evaluated == 1
    with services.uow() as uow:  # the installation is now three days late
        uow.session.execute(
            update(Task).where(Task.order_id == order_id, Task.key == "test.install").values(due_at=utcnow() - timedelta(days=3))
        )
    assert reconciler.run_once().jeopardy_changes == 0  # within the interval: no pass
    reconciler.jeopardy_interval = 0
    assert reconciler.run_once().jeopardy_changes == 1


def test_the_jeopardy_settings_come_from_the_environment(monkeypatch):
    from om_graph.settings import Settings

    monkeypatch.setenv("OM_GRAPH_JEOPARDY_BATCH", "50")
    monkeypatch.setenv("OM_GRAPH_JEOPARDY_WRITE_GROUP", "5")
    monkeypatch.setenv("OM_GRAPH_JEOPARDY_INTERVAL", "120")
    settings = Settings.from_env()
    assert (settings.jeopardy_batch, settings.jeopardy_write_group, settings.jeopardy_interval_seconds) == (50, 5, 120.0)


def test_a_hold_pauses_the_sla_clock_and_resuming_moves_it_by_the_pause(services):
    order_id = _unscheduled(services, _place(services))
    services.holds.hold_order(AGENT, order_id, "the customer is away")
    assert services.reconciler.jeopardy.run(utcnow() + timedelta(days=4)).orders_paused == 1
    assert _alerts(services, order_id) == []  # held: not evaluated, whatever the clock says
    with services.uow() as uow:  # as if released, then held, two days ago (a pause shifts a clock from its start)
        uow.session.execute(update(Order).where(Order.id == order_id).values(paused_at=utcnow() - timedelta(days=2)))
        for task in uow.session.scalars(select(Task).where(Task.order_id == order_id, Task.due_at.is_not(None))):
            task.due_at = task.due_at - timedelta(days=2)
    services.holds.resume_order(AGENT, order_id)
    _drain(services)
    report = services.reconciler.jeopardy.run(utcnow() + timedelta(days=1, hours=1))  # 3 days + 1 h after release
    assert report.tasks_changed == 0  # the two held days do not count: 1 day 1 h of its 3-day SLA
    assert _levels(services, order_id).tasks["test.install"] is None
    assert services.reconciler.jeopardy.run(utcnow() + timedelta(days=3, hours=1)).tasks_changed == 1


def test_an_order_whose_work_all_waits_is_still_predicted(services):
    order_id = _place(services)
    now = utcnow()
    with services.uow() as uow:  # every open task waits (a lag, a predecessor): no open task leads to it
        uow.session.execute(update(Task).where(Task.order_id == order_id, Task.state == "ready").values(state="pending"))
        uow.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                submitted_at=now,
                committed_completion_at=now + timedelta(hours=4),
                expected_completion_at=now + timedelta(hours=5),
            )
        )
    report = services.reconciler.jeopardy.run(now)
    assert report.tasks_read == 0 and report.orders_evaluated == 1
    assert _levels(services, order_id).order == "HIGH"  # an hour late on a 4-hour span
