"""A parked part (staggered decomposition) that will never be built does not hang its order:
closing its parent domain order by hand cancels its waits and the pending line continues."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.fulfilment.decomposition import CANCELLED_WAIT
from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.ports import NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_pack, fixture_staggered_pack
from tests.support import AGENT
from tests.test_orchestration import FALLOUT_MANAGER, drain


@pytest.fixture
def svc(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(
        build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, fixture_staggered_pack])
    )
    jobs = RecordingJobSink()
    services = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    services.load_catalog()
    services.jobs = jobs
    yield services
    engine.dispose()


def test_closing_the_parent_of_a_parked_part_cancels_its_waits_and_the_order_completes(svc):
    order = svc.orders.create(AGENT, OrderInput("STAGGER", (LineInput("test-site", characteristics={"address": "1 Main St"}),)))
    svc.orders.submit(AGENT, order.id)
    drain(svc)
    with svc.sessions() as s:
        line = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).one()
        assert line.state == "pending"
        [wait] = s.scalars(select(DecompositionWait).where(DecompositionWait.line_id == line.id)).all()
        parent = s.get(DomainOrder, wait.parent_id)
    svc.fallout.close_domain_order(FALLOUT_MANAGER, parent.id, "the VLAN is configured by the customer")
    drain(svc)
    with svc.sessions() as s:
        assert s.get(DecompositionWait, wait.id).state == CANCELLED_WAIT
        line = s.get(OrderLine, line.id)
        assert (line.state, line.information_required, line.paused_at) == ("completed", None, None)
        assert s.get(Order, order.id).state == "completed"
