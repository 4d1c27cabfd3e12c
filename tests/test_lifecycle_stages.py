"""The staged lifecycle, driven through the core services: the stages an order passes, waiting
in enrichment and resuming, restart and the reconciler, and the fence on each stage's write."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.fulfilment.models import Task
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.errors import InvalidTransition, NotFound
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_lock_probe_pack as probe
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
