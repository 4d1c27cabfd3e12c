"""A value propagated to a line that a parked part waits for sends the order's advance job,
whoever completed the task (a person, a finish gate, fallout): the advance loop then resumes
the part (LineSupply.resume_ready), even with nothing to claim."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from om_graph.core.fulfilment.decomposition import WAITING
from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder
from om_graph.core.fulfilment.propagation import propagate
from om_graph.core.ordering.models import OrderLine
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_staggered_pack


@pytest.mark.parametrize(("waiting_for", "sent"), [("vlan", True), ("other", False)])
def test_a_propagated_value_a_part_waits_for_sends_the_advance_job(waiting_for, sent):
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_staggered_pack]))
    line = OrderLine(id=1, line_number=1, spec_key="test.auto-site", characteristics={})
    source = DomainOrder(id=2, line_id=1, spec_key="test.auto-access", characteristics={})
    wait = DecompositionWait(line_id=1, parent_id=1, spec_key="test.site-vlan", characteristic=waiting_for, state=WAITING)
    plan = SimpleNamespace(line=lambda _id: line, domain_orders=[source], waits=[wait])
    session = SimpleNamespace(plan=plan, order=None, uow=SimpleNamespace(record=lambda *a, **k: None), automatic_work_ready=False)
    assert propagate(session, registry, source, {"vlan": 42}) == ["vlan"]  # type: ignore[arg-type]
    assert session.automatic_work_ready is sent
