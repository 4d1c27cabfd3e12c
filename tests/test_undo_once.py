"""A completed task has at most one live undo: an undo cancelled before it ran undid nothing, so a
later compensation plans the task's undo again (core/change/compensation.py ``undo_of``; the
partial unique index ``ix_order_task_undo_of`` of migration 0016 ignores cancelled undos)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from om_graph.core.change import compensation
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import TaskModes
from tests.test_cancellation import place, svc  # noqa: F401  (the fixture)


def _plan_undos(svc, order_id):  # noqa: F811
    with svc.uow() as uow:
        session = PlanSession.open(uow, svc.orchestrator, order_id)
        with session:
            done = [t for t in session.plan.tasks.values() if t.state == "completed" and t.mode == TaskModes.DO]
            return [(u.id, u.compensates_id) for u in compensation.undo_tasks(session, done, reason="test")]


def _cancel(svc, order_id, task_ids):  # noqa: F811
    with svc.uow() as uow:
        session = PlanSession.open(uow, svc.orchestrator, order_id)
        with session:
            compensation.cancel_open(session, [session.plan.tasks[i] for i in task_ids], reason="overtaken")


def test_a_cancelled_undo_leaves_its_task_to_be_undone_again_once(svc):  # noqa: F811
    order_id = place(svc)
    first = _plan_undos(svc, order_id)
    assert len(first) == 2
    assert _plan_undos(svc, order_id) == []  # undone once: a second compensation plans nothing
    _cancel(svc, order_id, [undo_id for undo_id, _ in first])
    again = _plan_undos(svc, order_id)
    assert sorted(original for _, original in again) == sorted(original for _, original in first)
    assert {undo_id for undo_id, _ in again}.isdisjoint(undo_id for undo_id, _ in first)
    assert _plan_undos(svc, order_id) == []


def test_two_live_undos_of_one_task_are_refused_by_the_database(svc):  # noqa: F811
    order_id = place(svc)
    [(undo_id, original), *_] = _plan_undos(svc, order_id)
    with pytest.raises(IntegrityError), svc.uow() as uow:
        session = PlanSession.open(uow, svc.orchestrator, order_id)
        with session:
            undo = session.plan.tasks[undo_id]
            undo.state = "cancelled"
            uow.session.flush()
            compensation.undo_tasks(session, [session.plan.tasks[original]], reason="test")
            undo.state = "pending"  # back to live: two live undos of one task
            uow.session.flush()
