"""Fallout units: the retry policy's decisions and back-off, classification (the handler's, the
hook's, a raising hook's fallback, the code's), the queue's keyset paging (every open record once,
in priority order, whatever the filter) and a worker lost on the last attempt."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bench import fallout_queue
from bench.seed import services_for
from om_graph.core.access.actor import Actor
from om_graph.core.catalog.extensions import FalloutClassification, RetryPolicy, TaskHandler, TaskHandlerError
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.fallout import FalloutFilter, classify, default_classification
from om_graph.core.fulfilment.models import Fallout, Task
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.commands import LineInput, OrderInput
from tests.support import AGENT

AGENT_FO = Actor("fo", frozenset({"order_fallout_agent"}))


def test_the_retry_policy_retries_transient_codes_never_permanent_ones_and_backs_off():
    policy = RetryPolicy(backoff_ms=100, multiplier=3, max_backoff_ms=1_000, retry_on=("TIMEOUT",), permanent=("NO_SUCH_PORT",))
    assert policy.retries("TIMEOUT", retryable=False) and policy.retries("OTHER", retryable=True)
    assert not policy.retries("NO_SUCH_PORT", retryable=True) and not policy.retries("OTHER", retryable=False)
    assert [policy.delay_ms(n, 5) for n in (1, 2, 3, 4)] == [100, 300, 900, 1_000]
    assert RetryPolicy().delay_ms(3, 250) == 1_000  # the default: the host's base, doubled
    assert TaskHandler("x", do=lambda ctx: None).retry == RetryPolicy()  # packs written before it


def test_classification_the_handlers_then_the_hooks_then_the_code():
    claim = SimpleNamespace(
        handler="h",
        attempt=3,
        context=SimpleNamespace(task_key="t", spec_key="s", domain_kind="resource", order_id=1, line_id=2),
    )
    assert default_classification(RetryPolicy(), "INVENTORY_EXHAUSTED").fallout_type == "inventoryAllocation"
    assert default_classification(RetryPolicy(), "BILLING_DOWN").fallout_type == "billing"
    assert default_classification(RetryPolicy(fallout_type="radio", priority=1), "X") == FalloutClassification("radio", 1)
    seen = []

    def hook(failure):
        seen.append(failure)
        return FalloutClassification("custom", 2, "nms") if failure.code == "NMS" else None

    registry = Registry(classify_fallout=hook)
    assert classify(registry, claim, "NMS", "m", {"status": 500}) == FalloutClassification("custom", 2, "nms")
    assert (seen[0].attempt, seen[0].response, seen[0].spec_key) == (3, {"status": 500}, "s")
    assert classify(registry, claim, "OTHER", "m", None).fallout_type == "provisioning"

    def broken(failure):
        raise RuntimeError("bug in the pack")

    assert classify(Registry(classify_fallout=broken), claim, "OTHER", "m", None).fallout_type == "provisioning"
    error = TaskHandlerError("x", fallout=FalloutClassification("billing", 1))
    assert error.fallout.fallout_type == "billing" and error.response is None


@pytest.fixture
def seeded(tmp_path):
    svc, _jobs, engine, _run = services_for(f"sqlite:///{tmp_path / 'q.db'}")
    fallout_queue.seed(engine, 2_000)
    yield svc
    engine.dispose()


@pytest.mark.parametrize(
    "where",
    [
        FalloutFilter(),
        FalloutFilter(types=("provisioning",)),
        FalloutFilter(assignee="agent-0"),
        FalloutFilter(states=("closed",)),
    ],
    ids=["open", "type", "assignee", "closed"],
)
def test_keyset_pages_give_every_record_once_in_priority_order(seeded, where):
    pages, after, more = [], None, True
    while more:
        rows, more = seeded.fallout.queue(AGENT_FO, where, first=7, after=after)
        pages.extend((r.priority, r.id) for r in rows)
        after = pages[-1] if rows else None
    with seeded.sessions() as s:
        statement = select(Fallout.priority, Fallout.id).order_by(Fallout.priority, Fallout.id)
        states = where.states or ("open", "inProgress", "onHold", "awaitingInformation")
        statement = statement.where(Fallout.state.in_(states))
        if where.types:
            statement = statement.where(Fallout.fallout_type.in_(where.types))
        if where.assignee:
            statement = statement.where(Fallout.assignee == where.assignee)
        expected = [tuple(r) for r in s.execute(statement)]
    assert pages == expected and expected


def test_a_worker_lost_on_the_last_attempt_opens_fallout(seeded):
    svc = seeded
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("test-auto", characteristics={}),)), submit=True)
    svc.processing.process(order.id)
    with svc.uow() as uow:
        [claim] = svc.orchestrator.advance_wave(uow, order.id)[0]
    with svc.uow() as uow:  # the worker died: its lease runs out on the last attempt
        task = uow.session.get(Task, claim.context.task_id)
        task.max_attempts = task.attempts
        task.lease_until = utcnow() - timedelta(seconds=1)
    with svc.uow() as uow:
        assert svc.orchestrator.advance_wave(uow, order.id)[0] == []
    with svc.sessions() as s:
        task = s.get(Task, claim.context.task_id)
        [record] = s.scalars(select(Fallout).where(Fallout.task_id == task.id)).all()
    assert (task.state, task.error_code) == ("onHold", "WORKER_LOST")
    assert (record.state, record.error_code, record.fallout_type, record.attempt) == ("open", "WORKER_LOST", "provisioning", 1)
