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
from om_graph.core.fulfilment.rules import RELEASED_BY, RUNNABLE, DependencyTypes, releases
from om_graph.core.fulfilment.states import TASK, TaskKinds, TaskStates

# -- dependency release ------------------------------------------------------------------------

START_TO_START = "startToStart"  # not a shipped type: a row of the table, added for the test


def _plan(predecessor_state: str, dependency_type: str) -> OrderPlan:
    tasks = [SimpleNamespace(id=1, state=predecessor_state), SimpleNamespace(id=2, state=TaskStates.PENDING)]
    return OrderPlan.build(SimpleNamespace(id=1), [], [], tasks, [(2, 1, dependency_type)])


@pytest.mark.parametrize("state", sorted(TASK.states))
def test_finish_to_start_releases_a_successor_only_once_its_predecessor_completed(state):
    released = [t.id for t in _plan(state, DependencyTypes.FINISH_TO_START).releasable()]
    assert (2 in released) == (state == TaskStates.COMPLETED)
    assert releases(DependencyTypes.FINISH_TO_START, SimpleNamespace(state=state)) == (state == TaskStates.COMPLETED)


@pytest.mark.parametrize("state", sorted(TASK.states))
def test_the_release_follows_the_dependencys_own_type(state, monkeypatch):
    """A type whose row names other predecessor states releases by those: the plan reads each
    dependency's stored type, not one rule for all."""
    monkeypatch.setitem(RELEASED_BY, START_TO_START, frozenset({TaskStates.IN_PROGRESS, TaskStates.COMPLETED}))
    released = [t.id for t in _plan(state, START_TO_START).releasable()]
    assert (2 in released) == (state in {TaskStates.IN_PROGRESS, TaskStates.COMPLETED})


def test_every_dependency_type_names_the_states_that_release_it():
    assert set(RELEASED_BY) == {DependencyTypes.FINISH_TO_START}
    assert all(states and states <= TASK.states for states in RELEASED_BY.values())


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
