"""The declared fulfilment rules as data: dependency release reads each dependency's type, and the
runnable rule's SQL selects exactly the tasks its Python predicate accepts."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import DEPENDENCY_RULES, RELEASED_BY, RUNNABLE, DependencyTypes, Gates, releases
from om_graph.core.fulfilment.states import TASK, TaskKinds, TaskStates

# -- dependency release ------------------------------------------------------------------------


def _plan(predecessor_state: str, dependency_type: str, lag: int = 0, at: datetime | None = None) -> OrderPlan:
    predecessor = SimpleNamespace(id=1, state=predecessor_state, started_at=at, finished_at=at)
    tasks = [predecessor, SimpleNamespace(id=2, state=TaskStates.PENDING)]
    return OrderPlan.build(SimpleNamespace(id=1), [], [], tasks, [(2, 1, dependency_type, lag)])


@pytest.mark.parametrize("state", sorted(TASK.states))
def test_finish_to_start_releases_a_successor_only_once_its_predecessor_completed(state):
    released = [t.id for t in _plan(state, DependencyTypes.FINISH_TO_START).releasable()]
    assert (2 in released) == (state == TaskStates.COMPLETED)
    assert releases(DependencyTypes.FINISH_TO_START, SimpleNamespace(state=state)) == (state == TaskStates.COMPLETED)


@pytest.mark.parametrize("state", sorted(TASK.states))
def test_start_to_start_releases_a_successor_once_its_predecessor_started(state):
    released = [t.id for t in _plan(state, DependencyTypes.START_TO_START).releasable()]
    assert (2 in released) == (state in {TaskStates.IN_PROGRESS, TaskStates.ON_HOLD, TaskStates.COMPLETED})


@pytest.mark.parametrize("kind", [DependencyTypes.START_TO_START, DependencyTypes.START_TO_FINISH])
@pytest.mark.parametrize("state", [TaskStates.READY, TaskStates.FAILED, TaskStates.CANCELLED])
def test_a_start_gate_stays_open_while_its_started_predecessor_retries(kind, state):
    at = datetime(2030, 1, 1, 12)
    plan = _plan(state, kind, at=at)  # it ran (started_at kept), then a back-off or fallout retry made it ready
    gate = DEPENDENCY_RULES[kind].gate
    opened = plan.gate(2, gate)
    assert (opened == at) == (state == TaskStates.READY)
    assert releases(kind, SimpleNamespace(state=state, started_at=at)) == (state == TaskStates.READY)


@pytest.mark.parametrize("kind", [DependencyTypes.FINISH_TO_FINISH, DependencyTypes.START_TO_FINISH])
def test_finish_gates_do_not_hold_the_release(kind):
    plan = _plan(TaskStates.PENDING, kind)
    assert [t.id for t in plan.releasable()] == [1, 2]  # the predecessor has none itself
    assert plan.gate(2, Gates.FINISH) is None  # but the finish waits for the predecessor


@pytest.mark.parametrize("kind", sorted(DEPENDENCY_RULES))
def test_a_lag_delays_the_gate_by_its_seconds(kind):
    at = datetime(2030, 1, 1, 12)
    plan = _plan(TaskStates.COMPLETED, kind, lag=90, at=at)
    gate = DEPENDENCY_RULES[kind].gate
    assert plan.gate(2, gate) == at + timedelta(seconds=90)
    due, later = plan.release_gates(at + timedelta(seconds=30))
    if gate == Gates.START:
        assert due == [] and [(t.id, when) for t, when in later] == [(2, at + timedelta(seconds=90))]
        assert [t.id for t in plan.releasable(at + timedelta(seconds=90))] == [2]
    else:
        assert [t.id for t in due] == [2] and later == []


def test_every_dependency_type_names_its_gate_moment_and_states():
    assert set(DEPENDENCY_RULES) == {
        DependencyTypes.FINISH_TO_START,
        DependencyTypes.START_TO_START,
        DependencyTypes.FINISH_TO_FINISH,
        DependencyTypes.START_TO_FINISH,
    }
    assert set(RELEASED_BY) == set(DEPENDENCY_RULES)
    for rule in DEPENDENCY_RULES.values():
        assert rule.gate in {Gates.START, Gates.FINISH} and rule.at in {"started_at", "finished_at"}
        assert rule.states and rule.states <= TASK.states


# -- the runnable rule: .matches and .sql agree --------------------------------------------------

NOW = datetime(2030, 1, 1, 12)
moments = st.one_of(st.none(), st.sampled_from([NOW - timedelta(seconds=1), NOW, NOW + timedelta(seconds=1)]))
rows = st.lists(
    st.fixed_dictionaries(
        {
            "state": st.sampled_from(sorted(TASK.states)),
            "kind": st.sampled_from([TaskKinds.AUTOMATIC, TaskKinds.MANUAL]),
            "retry_at": moments,
            "lease_until": moments,
        }
    ),
    max_size=12,
)


@pytest.fixture
def task_table(database_url):
    """A table named like the task table, with the columns the rule reads (same types)."""
    engine = create_engine(database_url)
    columns = Task.__table__.c
    table = Table(
        Task.__tablename__,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        *(Column(name, columns[name].type, nullable=True) for name in ("state", "kind", "retry_at", "lease_until")),
    )
    table.metadata.create_all(engine)
    yield engine, table
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_the_runnable_sql_selects_exactly_the_tasks_matches_accepts(task_table, generated):
    engine, table = task_table
    tasks = [SimpleNamespace(id=i, **row) for i, row in enumerate(generated, 1)]
    with engine.begin() as conn:
        conn.execute(table.delete())
        if tasks:
            conn.execute(table.insert(), [vars(t) for t in tasks])
        selected = set(conn.scalars(select(Task.id).where(RUNNABLE.sql(NOW))))
    assert selected == {t.id for t in tasks if RUNNABLE.matches(t, NOW)}


def test_the_generated_rows_reach_both_runnable_cases():
    ready = SimpleNamespace(state=TaskStates.READY, kind=TaskKinds.AUTOMATIC, retry_at=None, lease_until=None)
    lost = SimpleNamespace(state=TaskStates.IN_PROGRESS, kind=TaskKinds.AUTOMATIC, retry_at=None, lease_until=NOW - timedelta(1))
    assert RUNNABLE.matches(ready, NOW) and RUNNABLE.matches(lost, NOW)
    assert not RUNNABLE.matches(SimpleNamespace(**{**vars(ready), "kind": TaskKinds.MANUAL}), NOW)
