"""Cancellation (core/change/cancellation.py) and the compensation engine (core/change/compensation.py):
undo in reverse dependency order, placeholders cancelled, denial restoring the order, line
cancellation, the fee, one open request at a time, other accounts, through the core services
and GraphQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.fulfilment.models import Task
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_undo_pack as pack
from tests.support import AGENT


@pytest.fixture
def svc(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[pack]))
    jobs = RecordingJobSink()
    services = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    services.load_catalog()
    services.jobs = jobs
    pack.reset()
    yield services
    engine.dispose()


def drain(svc):
    while jobs := svc.jobs.take():
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])
            elif job.name == ADVANCE_ORDER:
                svc.processing.advance(job.args["order_id"])


def place(svc, *offerings: str, customer: str = "ACME") -> int:
    order = svc.orders.create(
        AGENT, OrderInput(customer, tuple(LineInput(o, characteristics={"label": "x"}) for o in offerings or ("undo-box",)))
    )
    svc.orders.submit(AGENT, order.id)
    drain(svc)
    return order.id


def tasks_of(svc, order_id):
    with svc.sessions() as s:
        return {t.id: t for t in s.scalars(select(Task).where(Task.order_id == order_id).order_by(Task.id))}


def test_cancelling_undoes_completed_work_in_reverse_dependency_order(svc):
    order_id = place(svc)
    states = {t.key: t.state for t in tasks_of(svc, order_id).values()}
    assert states == {"undo.reserve": "completed", "undo.configure": "completed", "undo.install": "ready"}
    request = svc.cancellations.request(AGENT, order_id, reason="customer changed their mind")
    assert request.state == "inProgress"
    assert request.fee is not None and request.fee["amount"] == "15.00"
    drain(svc)
    tasks = tasks_of(svc, order_id)
    undo_keys = [task for _, _, task in pack.undo_calls()]
    assert undo_keys == ["undo.configure", "undo.reserve"]
    detail = svc.queries.order(AGENT, order_id)
    assert detail.order.state == "cancelled"
    assert [line.state for line in detail.lines] == ["cancelled"]
    assert [p.status for p in detail.products] == ["cancelled"]
    done = svc.cancellations.get(AGENT, request.id)
    assert (done.state, done.result) == ("done", "accepted")
    assert {t.name: t.state for t in tasks.values()}["Undo: Reserve stock"] == "completed"
