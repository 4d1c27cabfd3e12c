"""The staged lifecycle, driven through the core services: the stages an order passes, waiting
in enrichment and resuming, restart and the reconciler, and the fence on each stage's write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment.models import Task
from om_graph.core.inventory.models import Product
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.errors import InvalidTransition, NotFound
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, NullEventSink, RecordingJobSink
from om_graph.core.lifecycle.processing import OrderProcessing
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_lock_probe_pack as probe
from tests import support
from tests.support import AGENT

STAGE_EVENT = "ProductOrderAttributeValueChangeEvent"


def _services(database_url, **options) -> Services:
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[probe]))
    svc = Services(make_session_factory(engine), registry, RecordingJobSink(), NullEventSink(), **options)
    svc.load_catalog()
    return svc


@pytest.fixture
def svc(database_url):
    probe.reset()
    services = _services(database_url)
    yield services
    services.sessions.kw["bind"].dispose()


def _drain(svc: Services) -> None:
    while jobs := svc.uow.args[1].take():
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])
            elif job.name == ADVANCE_ORDER:
                svc.processing.advance(job.args["order_id"])


def _place(svc: Services) -> int:
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput(probe.OFFERING),)))
    svc.orders.submit(AGENT, order.id)
    return order.id


def _row(svc: Services, order_id: int) -> Order:
    with svc.sessions() as session:
        return session.get(Order, order_id)


def _stage_events(svc: Services, order_id: int) -> list[dict]:
    events = svc.queries.order(AGENT, order_id).events
    return [e.payload for e in events if e.event_type == STAGE_EVENT and "stage" in e.payload]


def test_an_order_passes_the_stages_in_order_and_its_tasks_carry_their_sla(svc):
    order_id = _place(svc)
    assert _row(svc, order_id).stage == "validation"
    _drain(svc)
    row = _row(svc, order_id)
    assert row.state == "completed" and row.stage == "orchestration" and row.stage_changed_at is not None
    # Stages with nothing to stop them are passed in one write, recorded as one event.
    [passed] = _stage_events(svc, order_id)
    assert passed["previousStage"] == "validation" and passed["events"] == ["validated", "enriched", "cleared", "decomposed"]
    detail = svc.queries.order(AGENT, order_id)
    assert detail.lines[0].characteristics["routerModel"] == "R-1"
    with svc.sessions() as session:
        tasks = session.scalars(select(Task).where(Task.order_id == order_id)).all()
    assert {t.planned_seconds for t in tasks} == {300}  # the probe policy, asked at decomposition
    assert all(t.due_at is not None for t in tasks)
    assert [what for what, under_lock in probe.PROBES if under_lock] == []


def test_a_pending_enrichment_makes_the_order_wait_and_resume_continues_it(svc):
    probe.PENDING["routerModel"] = "the warehouse has not answered"
    order_id = _place(svc)
    _drain(svc)
    row = _row(svc, order_id)
    assert row.state == "acknowledged" and row.stage == "enrichmentWaiting"
    assert row.stage_waiting_for == "characteristic routerModel: the warehouse has not answered"
    assert _stage_events(svc, order_id)[-1]["events"] == ["validated", "awaitCharacteristic"]
    with pytest.raises(NotFound):
        svc.processing.resume(AGENT, order_id + 1000)
    svc.processing.resume(AGENT, order_id)  # still pending: it waits again
    _drain(svc)
    assert _row(svc, order_id).stage == "enrichmentWaiting"
    probe.PENDING.clear()
    svc.processing.resume(AGENT, order_id)
    assert _row(svc, order_id).stage == "enrichment"
    _drain(svc)
    row = _row(svc, order_id)
    assert row.state == "completed" and row.stage_waiting_for is None
    assert _stage_events(svc, order_id)[-1]["events"] == ["enriched", "cleared", "decomposed"]
    with pytest.raises(InvalidTransition):
        svc.processing.resume(AGENT, order_id)  # not waiting any more


def test_a_restart_resumes_an_order_left_mid_stage_and_leaves_a_waiting_one_waiting(sqlite_url):
    probe.reset()
    before = _services(sqlite_url)
    probe.PENDING["routerModel"] = "later"
    left_mid_stage, waiting = _place(before), _place(before)
    _drain(before)
    before.processing.resume(AGENT, left_mid_stage)  # its process message is lost in the crash
    before.uow.args[1].take()
    before.sessions.kw["bind"].dispose()
    probe.PENDING.clear()

    after = _services(sqlite_url, redispatch_after=0)
    report = after.reconciler.run_once()
    assert report.orders_requeued == 1  # the waiting order is not re-run until resumed
    _drain(after)
    assert _row(after, left_mid_stage).state == "completed"
    assert (_row(after, waiting).state, _row(after, waiting).stage) == ("acknowledged", "enrichmentWaiting")
    assert after.reconciler.run_once().orders_requeued == 0
    after.sessions.kw["bind"].dispose()


def test_a_stage_result_computed_on_a_stale_read_is_discarded(svc):
    order_id = _place(svc)

    def another_writer(_line):
        with svc.uow() as uow:
            lock_order(uow, order_id)  # bumps change_seq: the read the stages run on is stale

    probe.ON_VALIDATE.append(another_writer)
    _drain(svc)
    assert [what for what, _ in probe.PROBES].count("validator") == 2  # the stale run, then the fresh one
    row = _row(svc, order_id)
    assert row.state == "completed"
    [passed] = _stage_events(svc, order_id)  # the stale result wrote nothing
    assert passed["events"][0] == "validated"
    detail = svc.queries.order(AGENT, order_id)
    assert len(detail.domain_orders) == 2  # decomposed once


def _with_gate(svc: Services, gate=probe.approve) -> Services:
    """The services with an approval gate (a constructor argument of OrderProcessing)."""
    svc.processing = OrderProcessing(svc.uow, svc.registry, svc.orchestrator, approval=gate)
    return svc


def _process_only(svc: Services) -> None:
    """Run the process jobs and drop the advance ones: the first tasks stay ready."""
    while jobs := svc.uow.args[1].take():
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])


def _bump(svc: Services, order_id: int) -> None:
    with svc.uow() as uow:
        lock_order(uow, order_id)


def test_a_stale_pass_writes_nothing_not_even_the_change_seq_bump(svc):
    order_id = _place(svc)
    before = _row(svc, order_id).change_seq

    def another_writer_every_time(order, lines):
        _bump(svc, order_id)  # the read every pass runs on is stale by the time it writes

    _with_gate(svc, another_writer_every_time)
    _drain(svc)
    row = _row(svc, order_id)
    assert (row.stage, row.change_seq) == ("validation", before + 3)  # three passes, each discarded
    assert _stage_events(svc, order_id) == []


def test_the_stage_fence_covers_the_installed_products_the_stages_read(svc):
    first = _place(svc)
    _drain(svc)
    [product] = svc.queries.order(AGENT, first).products
    order = svc.orders.create(
        AGENT, OrderInput("ACME", (LineInput(action="modify", product_id=product.id, characteristics={"done": "again"}),))
    )
    svc.orders.submit(AGENT, order.id)

    def fulfilment_records_on_the_product(_line):
        with svc.uow() as uow:  # another order's write: only the first order's change_seq moves
            lock_order(uow, first)
            row = uow.session.get(Product, product.id)
            row.characteristics = {**row.characteristics, "serial": "S-2"}

    probe.ON_VALIDATE.append(fulfilment_records_on_the_product)
    _drain(svc)
    assert [what for what, _ in probe.PROBES].count("validator") == 3  # the first order's, the stale run, the fresh one
    detail = svc.queries.order(AGENT, order.id)
    assert detail.order.state == "completed"
    assert {d.characteristics.get("serial") for d in detail.domain_orders} == {"S-2"}


APPROVER = Actor("approver-1", frozenset({"order_approver"}))


def test_an_approval_gate_makes_the_order_wait_and_its_approver_continues_it(svc):
    _with_gate(svc)
    probe.APPROVAL["reason"] = "credit check"
    order_id = _place(svc)
    _drain(svc)
    row = _row(svc, order_id)
    assert (row.state, row.stage, row.stage_waiting_for) == (
        "acknowledged",
        "approvalWaiting",
        "approval level 1 of 1: credit check",
    )
    assert _stage_events(svc, order_id)[-1]["events"] == ["validated", "enriched", "awaitApproval"]
    with pytest.raises(InvalidTransition) as refused:  # only its approvers continue an approval wait
        svc.processing.resume(AGENT, order_id)
    assert refused.value.errors[0].code == "APPROVAL_REQUIRED"
    svc.approvals.approve(APPROVER, order_id, None, "checked")
    assert _row(svc, order_id).stage == "approval"
    _drain(svc)
    row = _row(svc, order_id)
    assert (row.state, row.stage_waiting_for) == ("completed", None)
    assert _stage_events(svc, order_id)[-2:][0]["events"] == ["approved"]
    assert _stage_events(svc, order_id)[-1]["events"] == ["cleared", "decomposed"]
    assert [what for what, _ in probe.PROBES].count("approval gate") == 1  # asked once per round
    assert [what for what, under_lock in probe.PROBES if under_lock] == []


def test_an_order_waiting_for_approval_survives_a_restart_and_its_approval_continues_it(sqlite_url):
    probe.reset()
    before = _with_gate(_services(sqlite_url))
    probe.APPROVAL["reason"] = "credit check"
    order_id = _place(before)
    _drain(before)
    before.sessions.kw["bind"].dispose()
    probe.APPROVAL.clear()

    after = _with_gate(_services(sqlite_url, redispatch_after=0))
    assert after.reconciler.run_once().orders_requeued == 0  # waiting: not re-run until approved
    assert _row(after, order_id).stage == "approvalWaiting"
    after.approvals.approve(APPROVER, order_id, None)
    _drain(after)
    assert _row(after, order_id).state == "completed"
    after.sessions.kw["bind"].dispose()


@pytest.mark.parametrize("answer", [RuntimeError("no SLA table"), 300], ids=["raises", "not-a-timedelta"])
def test_a_failing_jeopardy_policy_rejects_the_order_like_any_pack_failure(svc, answer):
    probe.POLICY_ANSWER.append(answer)
    order_id = _place(svc)
    _drain(svc)
    assert _row(svc, order_id).state == "rejected"
    [error] = [e.payload for e in svc.queries.order(AGENT, order_id).events if e.event_type == "ProductOrderErrorMessageEvent"]
    assert error["reason"] == "processingFailed" and "jeopardy polic" in error["errors"][0]["message"]


def test_jeopardy_locks_and_bumps_only_an_order_whose_task_really_changes(svc):
    order_id = _place(svc)
    _process_only(svc)
    later = utcnow() + timedelta(days=1)
    seq = _row(svc, order_id).change_seq
    assert svc.reconciler.evaluate_jeopardy(later) == 1  # the ready task breached its SLA
    assert _row(svc, order_id).change_seq == seq + 1
    assert svc.reconciler.evaluate_jeopardy(later) == 0  # nothing rose: nothing locked or bumped
    assert _row(svc, order_id).change_seq == seq + 1

    other = _place(svc)
    _process_only(svc)

    def the_task_moves_on(_timing):
        with svc.uow() as uow:
            lock_order(uow, other)
            for task in uow.session.scalars(select(Task).where(Task.order_id == other)):
                task.jeopardy = "HIGH"

    probe.ON_POLICY.append(the_task_moves_on)  # between the reconciler's read and its write
    seq = _row(svc, other).change_seq
    assert svc.reconciler.evaluate_jeopardy(later) == 0
    assert _row(svc, other).change_seq == seq + 1  # the other writer's bump only


_GQL_ORDER = "query($id: ID!) { order(id: $id) { id state stage waitingFor } }"
_GQL_RESUME = """
mutation($input: OrderResumeInput!) {
  orderResume(input: $input) { order { id state stage waitingFor } errors { field message code } }
}"""
_GQL_CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""


def test_a_waiting_order_is_seen_and_resumed_through_graphql(make_runtime, database_url):
    probe.reset()
    probe.PENDING["routerModel"] = "the warehouse has not answered"
    runtime = make_runtime(database_url, extra_plugins=(probe,))
    app = create_app(runtime=runtime)

    def gql(client, query, variables):
        body = client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in body, body
        return body["data"]

    with (
        TestClient(app, headers=support.bearer(runtime, "order_manager")) as staff,
        TestClient(app, headers=support.bearer(runtime, "customer", account="OTHER")) as stranger,
    ):
        line = {"offering": probe.OFFERING, "quantity": 1}
        created = gql(
            staff, _GQL_CREATE, {"input": {"customerId": "ACME", "lines": [line], "requestedInitialState": "ACKNOWLEDGED"}}
        )
        order_id = created["orderCreate"]["order"]["id"]
        support.wait_for(lambda: gql(staff, _GQL_ORDER, {"id": order_id})["order"]["stage"] == "ENRICHMENT_WAITING", 30)
        order = gql(staff, _GQL_ORDER, {"id": order_id})["order"]
        assert (order["state"], order["waitingFor"]) == (
            "ACKNOWLEDGED",
            "characteristic routerModel: the warehouse has not answered",
        )

        refused = stranger.post("/graphql", json={"query": _GQL_RESUME, "variables": {"input": {"id": order_id}}}).json()
        assert refused["data"] is None and [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
        viewer = TestClient(app, headers=support.bearer(runtime, "viewer"))  # staff without order:resume
        assert (
            viewer.post("/graphql", json={"query": _GQL_RESUME, "variables": {"input": {"id": order_id}}}).json()["errors"][0][
                "extensions"
            ]["code"]
            == "FORBIDDEN"
        )
        assert gql(staff, _GQL_ORDER, {"id": order_id})["order"]["stage"] == "ENRICHMENT_WAITING"  # still waiting

        probe.PENDING.clear()
        resumed = gql(staff, _GQL_RESUME, {"input": {"id": order_id}})["orderResume"]
        assert resumed["errors"] == [] and resumed["order"]["waitingFor"] is None
        support.wait_for(lambda: gql(staff, _GQL_ORDER, {"id": order_id})["order"]["state"] == "COMPLETED", 30)
        assert gql(staff, _GQL_ORDER, {"id": order_id})["order"]["stage"] == "ORCHESTRATION"

        again = gql(staff, _GQL_RESUME, {"input": {"id": order_id}})["orderResume"]
        assert again["order"] is None and [e["code"] for e in again["errors"]] == ["NOT_WAITING"]
