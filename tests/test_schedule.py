"""Schedules: the CPM over typed dependencies with lags (pure), the dependency gates driven through
the real orchestrator code on a virtual clock (property: actual dates respect every dependency
type and lag, whatever the order of completions), and dates, float and expected completion
revisions written by the plan sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from om_graph.core.fulfilment import orchestration, schedule
from om_graph.core.fulfilment.models import CompletionEstimate, DomainOrder, Task
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import DEPENDENCY_RULES, DependencyTypes, Gates
from om_graph.core.fulfilment.schedule import Reasons, estimate_dates, plan_dates
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import TaskKinds, TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import EventRecord, utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.models import Order
from tests.support import AGENT
from tests.test_orchestration import drain, place, services  # noqa: F401 (the fixture)

T0 = datetime(2030, 1, 1, 8)
FS, SS, FF, SF = (
    DependencyTypes.FINISH_TO_START,
    DependencyTypes.START_TO_START,
    DependencyTypes.FINISH_TO_FINISH,
    DependencyTypes.START_TO_FINISH,
)


def _row(task_id: int, seconds: int, **extra):
    base = {
        "id": task_id,
        "kind": TaskKinds.AUTOMATIC,
        "state": TaskStates.PENDING,
        "duration_seconds": seconds,
        "started_at": None,
        "finished_at": None,
        "domain_order_id": 1,
    }
    return SimpleNamespace(**{**base, **extra})


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- the CPM ----------------------------------------------------------------------------------


def test_forward_plan_follows_each_dependency_type_and_lag():
    tasks = [_row(1, 100), _row(2, 50), _row(3, 30), _row(4, 40), _row(5, 10)]
    edges = [(2, 1, FS, 10), (3, 1, SS, 20), (4, 3, FF, 5), (5, 1, SF, 200)]
    dates = plan_dates(tasks, edges, T0)
    assert (dates[1].start, dates[1].end) == (_at(0), _at(100))
    assert (dates[2].start, dates[2].end) == (_at(110), _at(160))  # FS + 10
    assert (dates[3].start, dates[3].end) == (_at(20), _at(50))  # SS + 20
    assert (dates[4].start, dates[4].end) == (_at(15), _at(55))  # FF + 5: ends 5 s after 3 ends
    assert (dates[5].start, dates[5].end) == (_at(190), _at(200))  # SF + 200: ends 200 s after 1 starts
    # The end (200 s) is set by 5; 1 → 2 ends at 160, so 2 has 40 s of float; 1 and 5 none.
    assert dates[1].critical and dates[5].critical
    assert dates[2].float_seconds == 40 and not dates[2].critical


def test_a_requested_completion_plans_backward_from_it():
    tasks = [_row(1, 100), _row(2, 50), _row(3, 10)]
    edges = [(2, 1, FS, 0)]
    deadline = _at(1000)
    dates = plan_dates(tasks, edges, T0, deadline)
    assert (dates[2].start, dates[2].end) == (_at(950), _at(1000))
    assert (dates[1].start, dates[1].end) == (_at(850), _at(950))
    assert dates[3].end == deadline  # the latest it may end
    assert dates[1].critical and dates[2].critical and dates[3].float_seconds == 140


def test_estimates_fix_actuals_and_start_the_rest_from_now():
    tasks = [
        _row(1, 100, state=TaskStates.COMPLETED, started_at=_at(0), finished_at=_at(300)),  # 200 s late
        _row(2, 50, state=TaskStates.IN_PROGRESS, started_at=_at(300)),
        _row(3, 10, state=TaskStates.PENDING),
    ]
    edges = [(2, 1, FS, 0), (3, 2, FS, 0)]
    now = _at(400)  # 2 should have ended at 350: it runs late, so it ends now at the earliest
    dates = estimate_dates(tasks, edges, now)
    assert (dates[1].start, dates[1].end) == (_at(0), _at(300))
    assert (dates[2].start, dates[2].end) == (_at(300), now)
    assert (dates[3].start, dates[3].end) == (now, _at(410))


def test_cancelled_tasks_have_no_dates_and_hold_nothing_back():
    tasks = [_row(1, 100, state=TaskStates.CANCELLED), _row(2, 50)]
    dates = plan_dates(tasks, [(2, 1, FS, 0)], T0)
    assert set(dates) == {2} and dates[2].start == T0


dag = st.integers(2, 9).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 600), min_size=n, max_size=n),
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from(sorted(DEPENDENCY_RULES)), st.integers(0, 300)
            ),
            max_size=2 * n,
        ),
    )
)


def _edges(raw) -> list[tuple[int, int, str, int]]:
    """Edges from lower to higher ids only (a DAG), one per pair."""
    seen: dict[tuple[int, int], tuple[int, int, str, int]] = {}
    for a, b, kind, lag in raw:
        if a != b:
            p, t = sorted((a, b))
            seen.setdefault((t + 1, p + 1), (t + 1, p + 1, kind, lag))
    return list(seen.values())


def _respects(edges, start_of, end_of) -> list[str]:
    broken = []
    for task_id, predecessor_id, kind, lag in edges:
        rule = DEPENDENCY_RULES[kind]
        moment = start_of(predecessor_id) if rule.at == "started_at" else end_of(predecessor_id)
        gated = start_of(task_id) if rule.gate == Gates.START else end_of(task_id)
        if moment is None or gated is None or gated < moment + timedelta(seconds=lag):
            broken.append(f"{kind} {predecessor_id}→{task_id} lag {lag}: {moment} / {gated}")
    return broken


@settings(max_examples=150, deadline=None)
@given(dag, st.booleans())
def test_planned_dates_respect_every_dependency(network, backward):
    durations, raw = network
    tasks = [_row(i + 1, d) for i, d in enumerate(durations)]
    edges = _edges(raw)
    deadline = _at(50_000) if backward else None
    dates = plan_dates(tasks, edges, T0, deadline)
    assert _respects(edges, lambda i: dates[i].start, lambda i: dates[i].end) == []
    assert all(d.end - d.start == timedelta(seconds=durations[i - 1]) for i, d in dates.items())
    if backward:
        assert max(d.end for d in dates.values()) == deadline
    else:
        assert min(d.start for d in dates.values()) == T0
    assert any(d.critical for d in dates.values())


# -- the gates, through the orchestrator's own code on a virtual clock -------------------------


class _Uow:
    def __init__(self):
        self.jobs = []

    def record(self, *args, **kwargs):
        pass

    def enqueue(self, job):
        self.jobs.append(job)


class _Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _task(task_id: int) -> Task:
    return Task(
        id=task_id,
        order_id=1,
        domain_order_id=1,
        key=f"t{task_id}",
        name=f"t{task_id}",
        kind=TaskKinds.AUTOMATIC,
        state=TaskStates.PENDING,
        attempts=0,
        max_attempts=1,
        finish_blocked=False,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dag, st.randoms(use_true_random=False))
def test_any_order_of_completions_respects_every_dependency_type_and_lag(monkeypatch, network, rnd):
    """Random DAGs of all four types with lags; tasks start and finish in a random order at
    random times. The orchestrator's gates (release, finish blocking, delayed jobs) must keep
    every actual date on the right side of every dependency, and every task must finish."""
    durations, raw = network
    edges = _edges(raw)
    clock = _Clock()
    monkeypatch.setattr(orchestration, "utcnow", clock)
    tasks = [_task(i + 1) for i in range(len(durations))]
    plan = OrderPlan.build(SimpleNamespace(id=1), [], [SimpleNamespace(id=1, line_id=1)], tasks, edges)
    uow = _Uow()
    orchestrator = Orchestrator(registry=None, handler_threads=1)  # type: ignore[arg-type]
    session = PlanSession(uow, plan, orchestrator)  # type: ignore[arg-type]
    orchestrator.advance_gates(session, clock.now)
    for _ in range(200):
        if all(t.state == TaskStates.COMPLETED for t in tasks):
            break
        ready = [t for t in tasks if t.state == TaskStates.READY]
        running = [t for t in tasks if t.state == TaskStates.IN_PROGRESS and not t.finish_blocked]
        choice = rnd.random()
        if ready and choice < 0.4:
            task = rnd.choice(ready)
            task.started_at = clock.now
            session.fire(task, "start")
        elif running and choice < 0.8:
            orchestrator._complete(session, rnd.choice(running), {}, orchestration.SYSTEM_ACTOR)
        else:
            # Time passes; a delayed advance job (or the reconciler) opens a new session.
            waits = [t.release_at for t in tasks if t.release_at is not None and t.release_at > clock.now]
            step = rnd.choice([1, 30, 120]) if not waits or rnd.random() < 0.5 else (min(waits) - clock.now).total_seconds()
            clock.now += timedelta(seconds=step)
        orchestrator.advance_gates(session, clock.now)
    assert all(t.state == TaskStates.COMPLETED for t in tasks), [(t.id, t.state, t.finish_blocked) for t in tasks]
    by_id = {t.id: t for t in tasks}
    assert _respects(edges, lambda i: by_id[i].started_at, lambda i: by_id[i].finished_at) == []
    for task in tasks:
        if task.release_at is not None:
            pytest.fail(f"task {task.id} still waits on a gate at {task.release_at}")
    # Every wait on a lag got its delayed advance job.
    assert all(job.delay_ms and job.delay_ms > 0 for job in uow.jobs)


# -- through the services: a plan session writes the dates ------------------------------------


def test_an_order_is_planned_estimated_and_its_expected_completion_revised(services):  # noqa: F811
    order_id = place(services)
    drain(services, manual_chars={})
    with services.sessions() as s:
        order = s.get(Order, order_id)
        tasks = s.scalars(select(Task).where(Task.order_id == order_id)).all()
        domain_orders = s.scalars(select(DomainOrder).where(DomainOrder.order_id == order_id)).all()
        revisions = s.scalars(
            select(CompletionEstimate).where(CompletionEstimate.order_id == order_id).order_by(CompletionEstimate.id)
        ).all()
        events = s.scalars(select(EventRecord).where(EventRecord.event_type == ev.EXPECTED_COMPLETION_CHANGE)).all()
    assert order.state == "completed"
    assert all(t.planned_start_at and t.planned_end_at and t.estimated_start_at and t.estimated_end_at for t in tasks)
    assert all(t.planned_start_at >= order.submitted_at for t in tasks)  # forward from submit
    # Done: the estimates are the actuals.
    assert all((t.estimated_start_at, t.estimated_end_at) == (t.started_at, t.finished_at) for t in tasks)
    assert any(t.critical for t in tasks)
    assert all(d.planned_start_at and d.estimated_end_at and d.started_at for d in domain_orders)
    assert order.expected_completion_at == max(t.finished_at for t in tasks)
    # Committed once: the first plan's end (no requested completion date).
    assert order.committed_completion_at == max(t.planned_end_at for t in tasks)
    order_revisions = [r for r in revisions if r.line_id is None]
    assert order_revisions[0].reason == Reasons.PLANNED and order_revisions[0].previous_at is None
    # The manual install (4 h planned) finished at once: the estimate moved earlier, naming it.
    assert any(r.reason == Reasons.TASK_FINISHED_EARLY and "test.install" in (r.detail or "") for r in order_revisions)
    assert order_revisions[-1].expected_at == order.expected_completion_at
    assert len(events) == len(order_revisions)
    assert {r.line_id for r in revisions if r.line_id is not None}  # lines revised too


def test_a_requested_completion_date_is_the_commitment_and_plans_backward(services):  # noqa: F811
    order_id = place(services)
    requested = datetime(2031, 6, 1, 12)
    with services.sessions.begin() as s:
        s.get(Order, order_id).requested_completion_date = requested
    drain(services, manual_chars={})
    with services.sessions() as s:
        order = s.get(Order, order_id)
        tasks = s.scalars(select(Task).where(Task.order_id == order_id)).all()
    assert order.committed_completion_at == requested
    assert max(t.planned_end_at for t in tasks) == requested


def test_a_requested_start_date_is_where_planning_starts(services):  # noqa: F811
    start = datetime(2031, 3, 1, 9)
    order = services.orders.create(
        AGENT,
        OrderInput(
            "ACME", (LineInput("test-internet", characteristics={"speed": 100, "address": "x"}),), requested_start_date=start
        ),
    )
    services.orders.submit(AGENT, order.id)
    drain(services, manual_chars={})
    with services.sessions() as s:
        tasks = s.scalars(select(Task).where(Task.order_id == order.id)).all()
        assert s.get(Order, order.id).requested_start_date == start
    assert min(t.planned_start_at for t in tasks) == start


def test_a_requested_start_after_the_requested_completion_is_refused(services):  # noqa: F811
    data = OrderInput(
        "ACME",
        (LineInput("test-internet", characteristics={"speed": 100, "address": "x"}),),
        requested_start_date=datetime(2031, 3, 2),
        requested_completion_date=datetime(2031, 3, 1),
    )
    with pytest.raises(ValidationFailed) as refused:
        services.orders.create(AGENT, data)
    assert [(e.field, e.code) for e in refused.value.errors] == [("requestedStartDate", "INVALID")]


@pytest.mark.parametrize("finish_blocked", [False, True])
def test_the_reconciler_resends_a_gate_whose_lag_ran_out(services, finish_blocked):  # noqa: F811
    """The delayed advance job of a lag is lost: the reconciler finds the task (pending, or
    finish-blocked: never taken for a lost worker) and re-sends its order's job, once."""
    order_id = place(services)
    drain(services, manual_chars={})
    now = utcnow()
    with services.sessions.begin() as s:
        task = s.scalars(select(Task).where(Task.order_id == order_id).order_by(Task.id)).first()
        task.state = TaskStates.IN_PROGRESS if finish_blocked else TaskStates.PENDING
        task.finish_blocked, task.lease_until = finish_blocked, None
        task.release_at, task.dispatched_at = now - timedelta(seconds=1), now - timedelta(hours=1)
    services.jobs.take()
    services.reconciler.run_once()
    assert [(j.name, j.args) for j in services.jobs.take()] == [(ADVANCE_ORDER, {"order_id": order_id})]
    services.reconciler.run_once()
    assert services.jobs.take() == []  # dispatched_at moved: not again before the re-dispatch delay
    with services.sessions() as s:
        assert s.get(Task, task.id).state == (TaskStates.IN_PROGRESS if finish_blocked else TaskStates.PENDING)


def test_a_session_that_ends_a_pause_names_it_as_the_reason(services):  # noqa: F811
    order_id = place(services)
    drain(services, manual_chars={})
    with services.sessions.begin() as s:
        s.get(Order, order_id).paused_at = utcnow() - timedelta(hours=1)
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id)
        assert schedule._resumed([session.order, *session.plan.lines]) is None
        session.order.paused_at = None  # as holds.resume does
        assert schedule._resumed([session.order, *session.plan.lines]) == f"order {order_id}"
        session.close()
