"""Every way a task completes goes through the machine and the one completion of the
orchestrator: a person completing a manual task behind a shut finish gate is checked like any
other completion, and fallout's skip / domainOrderClose respect (or clear) the finish gate."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment.fallout import open_for_task
from om_graph.core.fulfilment.models import Fallout, Task, TaskDependency
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.kernel.errors import DomainError
from tests.support import AGENT
from tests.test_orchestration import FALLOUT_MANAGER, drain, place, services  # noqa: F401 (the fixture)

WORKER = Actor("worker", frozenset({"order_fulfillment_agent"}))  # completes tasks, assigns none
MANAGER = Actor("manager", frozenset({"order_fulfillment_manager"}))


def _tasks(svc, order_id) -> dict[str, Task]:
    with svc.sessions() as s:
        return {t.key: t for t in s.scalars(select(Task).where(Task.order_id == order_id))}


def _finish_gate(svc, task_id: int, predecessor_id: int) -> None:
    with svc.sessions.begin() as s:
        s.add(TaskDependency(task_id=task_id, predecessor_id=predecessor_id, dependency_type=DependencyTypes.FINISH_TO_FINISH))


def test_a_manual_completion_behind_a_shut_finish_gate_is_checked_by_the_machine(services):  # noqa: F811
    order_id = place(services)
    drain(services)
    tasks = _tasks(services, order_id)
    install, design = tasks["test.install"], tasks["test.design"]
    assert (install.state, design.state) == (TaskStates.READY, TaskStates.PENDING)
    _finish_gate(services, install.id, design.id)
    with services.sessions.begin() as s:
        s.get(Task, install.id).assignee = "someone-else"

    with pytest.raises(DomainError) as refused:  # not theirs, no values: the guard still answers
        services.processing.complete_task(WORKER, install.id, {})
    assert refused.value.errors[0].code == "NOT_ASSIGNEE"
    assert _tasks(services, order_id)["test.install"].finish_blocked is False

    services.processing.complete_task(MANAGER, install.id, {})  # a manager: held by the gate
    held = _tasks(services, order_id)["test.install"]
    assert (held.state, held.finish_blocked) == (TaskStates.IN_PROGRESS, True)
    with pytest.raises(DomainError) as again:
        services.processing.complete_task(MANAGER, install.id, {})
    assert again.value.errors[0].code == "INVALID_STATE"

    # Closing its domain order by hand completes it and clears the gate bookkeeping.
    services.fallout.close_domain_order(FALLOUT_MANAGER, install.domain_order_id, "done on site")
    closed = _tasks(services, order_id)["test.install"]
    assert (closed.state, closed.finish_blocked, closed.release_at) == (TaskStates.COMPLETED, False, None)


def test_a_fallout_skip_waits_for_a_shut_finish_gate(services):  # noqa: F811
    order_id = place(services)
    drain(services)
    tasks = _tasks(services, order_id)
    design, activate = tasks["test.design"], tasks["test.activate-product"]
    _finish_gate(services, design.id, activate.id)
    with services.sessions.begin() as s:
        s.get(Task, design.id).state = TaskStates.READY
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id)
        with session:
            open_for_task(session, session.plan.tasks[design.id], "BOOM", "it broke")
    with services.sessions() as s:
        fallout_id = s.scalars(select(Fallout.id).where(Fallout.task_id == design.id)).one()
    services.fallout.skip(FALLOUT_MANAGER, fallout_id, None, {}, "done by hand")
    skipped = _tasks(services, order_id)["test.design"]
    assert (skipped.state, skipped.finish_blocked) == (TaskStates.IN_PROGRESS, True)
    assert skipped.completed_by == FALLOUT_MANAGER.label


def test_a_finish_blocked_successor_of_a_failed_task_is_cancelled(services):  # noqa: F811
    order_id = place(services)
    drain(services)
    tasks = _tasks(services, order_id)
    install, design = tasks["test.install"], tasks["test.design"]
    _finish_gate(services, install.id, design.id)
    services.processing.complete_task(MANAGER, install.id, {})
    assert _tasks(services, order_id)["test.install"].finish_blocked is True
    with services.sessions.begin() as s:
        s.get(Task, design.id).state = TaskStates.READY
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id)
        with session:
            services.orchestrator._fail(session, session.plan.tasks[design.id], "BOOM", "it broke")
    cancelled = _tasks(services, order_id)["test.install"]
    assert (cancelled.state, cancelled.finish_blocked) == (TaskStates.CANCELLED, False)


def test_a_running_task_is_not_cancelled_in_progress(services):  # noqa: F811
    from om_graph.core.fulfilment.states import TASK

    order_id = place(services)
    drain(services)
    install = _tasks(services, order_id)["test.install"]
    install.state, install.finish_blocked = TaskStates.IN_PROGRESS, False
    with pytest.raises(DomainError) as refused:
        TASK.enter(install, install.state, "cancelBlocked", AGENT)
    assert refused.value.errors[0].code == "NOT_FINISH_BLOCKED"


def test_a_session_that_moves_nothing_skips_the_schedule(services, monkeypatch):  # noqa: F811
    from om_graph.core.fulfilment import session as session_module

    order_id = place(services)
    drain(services)
    calls: list[int] = []
    monkeypatch.setattr(session_module, "reschedule", lambda uow, plan, now: calls.append(plan.order.id))
    with services.uow() as uow, services.orchestrator.open(uow, order_id):
        pass  # e.g. a queue claim or a fallout take: no task, line or order changed state
    assert calls == []
    install = _tasks(services, order_id)["test.install"]
    services.processing.complete_task(MANAGER, install.id, {"ontSerial": "S1"})
    assert calls == [order_id]


def test_fallout_actions_refuse_held_work(services):  # noqa: F811
    order_id = place(services)
    drain(services)
    design = _tasks(services, order_id)["test.design"]
    with services.sessions.begin() as s:
        s.get(Task, design.id).state = TaskStates.READY
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id)
        with session:
            open_for_task(session, session.plan.tasks[design.id], "BOOM", "it broke")
    with services.sessions() as s:
        fallout_id = s.scalars(select(Fallout.id).where(Fallout.task_id == design.id)).one()
    services.holds.hold_order(AGENT, order_id, "the customer is away")
    for act in (
        lambda: services.fallout.skip(FALLOUT_MANAGER, fallout_id, None, {}, None),
        lambda: services.fallout.resolve(FALLOUT_MANAGER, fallout_id, None),
        lambda: services.fallout.retry(FALLOUT_MANAGER, fallout_id, None),
        lambda: services.fallout.close_domain_order(FALLOUT_MANAGER, design.domain_order_id, "closing"),
    ):
        with pytest.raises(DomainError) as refused:
            act()
        assert refused.value.code == "HELD"
    assert _tasks(services, order_id)["test.design"].state == TaskStates.ON_HOLD
