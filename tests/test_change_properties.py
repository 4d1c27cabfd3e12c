"""A property over change management (core/change): any interleaving of cancellations (of the
order or a line), revisions (a line's characteristic), manual completions, worker claims,
finished waves and worker restarts (claims lost, leases expired, the order re-dispatched) ends with the inventory consistent with the final
order state, and every completed effect undone at most once (exactly once for a cancelled line)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from om_graph.core.change.revision_input import LineRevision, RevisionInput
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.errors import DomainError
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_undo_pack as pack
from tests.support import AGENT
from tests.test_cancellation import drain


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('change') / 'change.db'}"
    engine = make_engine(url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[pack]))
    jobs = RecordingJobSink()
    services = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    services.load_catalog()
    services.jobs = jobs
    yield services
    engine.dispose()


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("cancelOrder"), st.just(0)),
        st.tuples(st.just("cancelLine"), st.integers(0, 1)),
        st.tuples(st.just("complete"), st.integers(0, 1)),
        st.tuples(st.just("claim"), st.just(0)),
        st.tuples(st.just("finish"), st.just(0)),
        st.tuples(st.just("restart"), st.just(0)),
        st.tuples(st.just("drain"), st.just(0)),
        st.tuples(st.just("revise"), st.integers(0, 1)),
    ),
    max_size=12,
)


def _tasks(svc, order_id):
    with svc.sessions() as s:
        rows = s.execute(
            select(Task, DomainOrder.line_id)
            .join(DomainOrder, DomainOrder.id == Task.domain_order_id)
            .where(Task.order_id == order_id)
        ).all()
        s.expunge_all()
    return [(task, line_id) for task, line_id in rows]


def _complete_manual(svc, order_id, index=None):
    ready = [t for t, _ in _tasks(svc, order_id) if t.kind == "manual" and t.state == "ready"]
    chosen = ready if index is None else ready[index : index + 1]
    for task in chosen:
        try:
            svc.processing.complete_task(AGENT, task.id, {})
        except DomainError:
            pass  # its line is being cancelled meanwhile, or held
    return bool(chosen)


def _restart(svc, order_id, claims):
    claims.clear()  # the worker died: its results are lost
    with svc.sessions.begin() as s:
        s.execute(
            update(Task)
            .where(Task.order_id == order_id, Task.state == "inProgress")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    svc.processing.advance(order_id)  # the reconciler's re-dispatch


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_any_interleaving_leaves_inventory_consistent_and_undoes_each_effect_once(svc, actions):
    pack.reset()
    svc.jobs.take()
    order = svc.orders.create(
        AGENT, OrderInput("PROP", tuple(LineInput("undo-box", characteristics={"label": "p"}) for _ in range(2)))
    )
    svc.orders.submit(AGENT, order.id)
    order_id = order.id
    svc.processing.process(order_id)
    lines = [line.id for line in svc.queries.order(AGENT, order_id).lines]
    claims: list = []
    revised = any(action == "revise" for action, _ in actions)
    for action, arg in actions:
        try:
            if action == "cancelOrder":
                svc.cancellations.request(AGENT, order_id, reason="prop")
            elif action == "cancelLine":
                svc.cancellations.request(AGENT, order_id, line_id=lines[arg], reason="prop")
            elif action == "complete":
                _complete_manual(svc, order_id, arg)
            elif action == "claim":
                svc.jobs.take()  # this worker takes the order's work itself
                with svc.uow() as uow:
                    found, _ = svc.orchestrator.advance_wave(uow, order_id)
                claims.extend(found)
            elif action == "finish":
                results = [(c, svc.orchestrator.run_handler(c)) for c in claims]
                claims.clear()
                for claim, result in results:
                    with svc.uow() as uow:
                        svc.orchestrator.finish(uow, claim.context.task_id, claim.attempt, result)
            elif action == "revise":
                change = RevisionInput(lines=(LineRevision(line_number=arg + 1, characteristics={"label": f"r{len(claims)}"}),))
                revision = svc.revisions.revise(AGENT, order_id, change, expected_version=None, reason="prop")
                event(f"revision {revision.state}")
            elif action == "restart":
                _restart(svc, order_id, claims)
            else:
                drain(svc)
        except DomainError:
            pass  # refused (not cancellable, in progress, completed line): a valid outcome
    # Let everything finish: lost claims expire, the rest runs, people complete manual work.
    _restart(svc, order_id, claims)
    for _ in range(10):
        drain(svc)
        if not _complete_manual(svc, order_id):
            break
    drain(svc)

    detail = svc.queries.order(AGENT, order_id)
    assert detail.order.state in ("completed", "cancelled", "partial", "failed"), detail.order.state
    line_state = {line.id: line.state for line in detail.lines}
    event(f"order {detail.order.state}, lines {sorted(line_state.values())}")
    products = defaultdict(list)
    for product in detail.products:
        products[product.order_line_id].append(product.status)
    undos_of: dict[str, set[str]] = defaultdict(set)
    for own_key, compensated, _ in pack.undo_calls():
        undos_of[compensated].add(own_key)
    assert all(len(keys) <= 1 for keys in undos_of.values())  # at most one undo (retries share its key)
    for task, line_id in _tasks(svc, order_id):
        if task.mode != "undo" and task.state == "completed" and line_state[line_id] == "cancelled":
            assert task.idempotency_key in pack.UNDONE, task.key  # a cancelled line's effects: undone
        if task.mode == "do" and task.state == "completed" and task.idempotency_key in pack.UNDONE:
            assert line_state[line_id] == "cancelled" or revised, task.key  # only a revision undoes otherwise
    for line_id, state in line_state.items():
        if state == "cancelled":
            assert "active" not in products[line_id] and "pendingActive" not in products[line_id]
        if state == "completed":
            assert products[line_id] and all(s == "active" for s in products[line_id])
