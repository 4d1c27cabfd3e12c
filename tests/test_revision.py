"""In-flight revision (core/change/revision.py, versions.py, plan_diff.py): the compensation plan
undoes and redoes exactly the affected completed work in reverse dependency order, cancels and
replaces open work, leaves the rest untouched, and the order completes with the new values."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.change.revision import LineRevision, RevisionInput
from om_graph.core.fulfilment.models import Task
from tests.support import AGENT
from tests.test_orchestration import drain, load, place, services  # noqa: F401  (the fixture)


@pytest.fixture
def svc(services):  # noqa: F811
    return services


def _tasks(svc, order_id):
    with svc.sessions() as s:
        return list(s.scalars(select(Task).where(Task.order_id == order_id).order_by(Task.id)))


def _version(svc, order_id):
    return load(svc, order_id)


def test_address_change_undoes_and_redoes_completed_work(svc):
    order_id = place(svc)
    drain(svc)  # the automatic work ran; the manual installation waits
    before = {t.key: t.state for t in _tasks(svc, order_id)}
    assert before["test.install"] == "ready" and before["test.allocate-line"] == "completed"
    with svc.sessions() as s:
        from om_graph.core.ordering.models import Order

        version = s.get(Order, order_id).version
    revision = svc.revisions.revise(
        AGENT,
        order_id,
        RevisionInput(lines=(LineRevision(1, {"address": "new street 1"}),)),
        expected_version=version,
        reason="customer moved",
    )
    assert revision.state == "inProgress", revision.error
    summary = revision.compensation
    print(summary)
    assert {t["key"] for t in summary["undo"]} == {"test.allocate-line", "test.ship-router"}
    drain(svc, manual_chars={"ontSerial": "S2"})
    order = load(svc, order_id)
    print([(t.key, t.mode, t.state) for t in _tasks(svc, order_id)])
    assert order.state == "completed"
    [product] = order.products
    assert product.characteristics["address"] == "new street 1"
    revised = svc.revisions.revisions(order_id)
    assert revised[0].state == "completed"
