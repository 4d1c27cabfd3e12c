"""Cancellation (core/change/cancellation.py) and the compensation engine (core/change/compensation.py):
undo in reverse dependency order, placeholders cancelled, denial restoring the order, line
cancellation, the fee, one open request at a time, other accounts, through the core services
and GraphQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from om_graph.core.access.actor import Actor
from om_graph.core.fulfilment.models import DomainOrder, Fallout, Task
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.errors import DomainError, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_undo_pack as pack
from tests.support import AGENT
from tests.test_orchestration import FALLOUT_MANAGER


@pytest.fixture
def svc(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[pack]))
    jobs = RecordingJobSink()
    services = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    services.load_catalog()
    services.jobs = jobs
    pack.reset()
    yield services
    engine.dispose()


def drain(svc):
    while jobs := svc.jobs.take():
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])
            elif job.name == ADVANCE_ORDER:
                svc.processing.advance(job.args["order_id"])


def place(svc, *offerings: str, customer: str = "ACME") -> int:
    order = svc.orders.create(
        AGENT, OrderInput(customer, tuple(LineInput(o, characteristics={"label": "x"}) for o in offerings or ("undo-box",)))
    )
    svc.orders.submit(AGENT, order.id)
    drain(svc)
    return order.id


def tasks_of(svc, order_id):
    with svc.sessions() as s:
        return {t.id: t for t in s.scalars(select(Task).where(Task.order_id == order_id).order_by(Task.id))}


def test_cancelling_undoes_completed_work_in_reverse_dependency_order(svc):
    order_id = place(svc)
    states = {t.key: t.state for t in tasks_of(svc, order_id).values()}
    assert states == {"undo.reserve": "completed", "undo.configure": "completed", "undo.install": "ready"}
    request = svc.cancellations.request(AGENT, order_id, reason="customer changed their mind")
    assert request.state == "inProgress"
    assert request.fee is not None and request.fee["amount"] == "15.00"
    drain(svc)
    tasks = tasks_of(svc, order_id)
    undo_keys = [task for _, _, task in pack.undo_calls()]
    assert undo_keys == ["undo.configure", "undo.reserve"]
    detail = svc.queries.order(AGENT, order_id)
    assert detail.order.state == "cancelled"
    assert [line.state for line in detail.lines] == ["cancelled"]
    assert [p.status for p in detail.products] == ["cancelled"]
    done = svc.cancel_requests.get(AGENT, request.id)
    assert (done.state, done.result) == ("done", "accepted")
    assert {t.name: t.state for t in tasks.values()}["Undo: Reserve stock"] == "completed"
    # An undo's outputs stay on its own outcome, not on the domain order (what it released is no data of it).
    undo = next(t for t in tasks.values() if t.name == "Undo: Reserve stock")
    assert undo.outcome["characteristics"]["released"]
    with svc.sessions() as s:
        domain = s.scalars(select(DomainOrder).where(DomainOrder.order_id == order_id)).all()
    assert not [d for d in domain if "released" in d.characteristics]


def events_of(svc, order_id):
    return svc.queries.order(AGENT, order_id).events


def test_the_cancellation_is_recorded_as_events(svc):
    order_id = place(svc)
    svc.cancellations.request(AGENT, order_id, reason="moved house", reason_type="commercial")
    drain(svc)
    events = events_of(svc, order_id)
    kinds = [e.event_type for e in events]
    assert "CancelProductOrderCreateEvent" in kinds
    order_states = [e.to_state for e in events if e.entity_kind == "order" and e.event_type == "ProductOrderStateChangeEvent"]
    assert order_states[-3:] == ["assessingCancellation", "pendingCancellation", "cancelled"]
    request_states = [e.to_state for e in events if e.entity_kind == "cancelRequest"]
    assert request_states == ["acknowledged", "inProgress", "done"]
    undo_events = [e for e in events if e.entity_kind == "task" and (e.payload or {}).get("event") == "planUndo"]
    assert len(undo_events) == 2
    domain = [e.payload.get("event") for e in events if e.entity_kind == "domainOrder"]
    assert domain[-1] == "withdraw"


def test_a_second_request_while_one_is_open_is_refused_and_a_retry_after_it_too(svc):
    order_id = place(svc)
    first = svc.cancellations.request(AGENT, order_id, reason="r")
    assert first.state == "inProgress"  # its undos wait for the workers (not drained)
    with pytest.raises(ValidationFailed) as again:
        svc.cancellations.request(AGENT, order_id, reason="r")
    assert again.value.errors[0].code == "CANCELLATION_IN_PROGRESS"
    [line] = svc.queries.order(AGENT, order_id).lines
    with pytest.raises(ValidationFailed) as line_too:
        svc.cancellations.request(AGENT, order_id, line_id=line.id, reason="r")
    assert line_too.value.errors[0].code == "CANCELLATION_IN_PROGRESS"
    drain(svc)
    with pytest.raises(ValidationFailed) as after:
        svc.cancellations.request(AGENT, order_id, reason="r")
    assert after.value.errors[0].code == "NOT_CANCELLABLE"
    assert len(svc.cancel_requests.of_orders(AGENT, [order_id])[order_id]) == 1


def test_input_is_checked(svc):
    order_id = place(svc)
    with pytest.raises(ValidationFailed) as bad:
        svc.cancellations.request(AGENT, order_id, reason=" ", reason_type="whim")
    assert sorted(e.code for e in bad.value.errors) == ["INVALID", "REQUIRED"]


def test_a_hard_point_of_no_return_denies_and_restores_the_order(svc):
    order_id = place(svc, "undo-hard")
    request = svc.cancellations.request(AGENT, order_id, reason="too late?")
    assert (request.state, request.result) == ("done", "denied")
    assert request.result_message.startswith("PONR_PASSED") and "undo.commit" in request.result_message
    detail = svc.queries.order(AGENT, order_id)
    assert detail.order.state == "inProgress" and [line.state for line in detail.lines] == ["inProgress"]
    assert pack.undo_calls() == []


def test_a_held_order_denied_goes_back_to_held(svc):
    order_id = place(svc, "undo-hard")
    svc.holds.hold_order(AGENT, order_id, "customer asked to wait")
    request = svc.cancellations.request(AGENT, order_id, reason="r")
    assert request.result == "denied" and request.previous_state == "held"
    assert svc.queries.order(AGENT, order_id).order.state == "held"


def test_a_held_order_accepted_runs_its_compensation(svc):
    order_id = place(svc)
    svc.holds.hold_order(AGENT, order_id, "customer asked to wait")
    svc.cancellations.request(AGENT, order_id, reason="r")
    drain(svc)
    assert svc.queries.order(AGENT, order_id).order.state == "cancelled"
    assert [t for _, _, t in pack.undo_calls()] == ["undo.configure", "undo.reserve"]


def test_a_soft_point_of_no_return_needs_the_acknowledgement_and_charges(svc):
    order_id = place(svc, "undo-soft")
    with pytest.raises(ValidationFailed) as refused:
        svc.cancellations.request(AGENT, order_id, reason="r")
    assert refused.value.errors[0].code == "PONR_ACKNOWLEDGEMENT_REQUIRED"
    assert svc.cancel_requests.of_orders(AGENT, [order_id])[order_id] == []  # nothing stored
    request = svc.cancellations.request(AGENT, order_id, reason="r", acknowledge_ponr=True)
    assert request.ponr_acknowledged and request.compensation["charges"][0]["amount"] == "7.50"
    drain(svc)
    assert svc.queries.order(AGENT, order_id).order.state == "cancelled"


def test_work_that_cannot_be_undone_denies(svc):
    order_id = place(svc, "undo-plain")
    request = svc.cancellations.request(AGENT, order_id, reason="r")
    assert request.result == "denied" and request.result_message.startswith("NOT_COMPENSABLE")
    assert svc.queries.order(AGENT, order_id).order.state == "inProgress"


def test_a_line_cancellation_leaves_the_other_line_to_complete(svc):
    order_id = place(svc, "undo-box", "undo-box")
    first, second = svc.queries.order(AGENT, order_id).lines
    request = svc.cancellations.request(AGENT, order_id, line_id=first.id, reason="only one")
    assert request.line_id == first.id
    drain(svc)
    detail = svc.queries.order(AGENT, order_id)
    assert {line.line_number: line.state for line in detail.lines} == {1: "cancelled", 2: "inProgress"}
    assert detail.order.state == "inProgress"
    [manual] = [t for t in tasks_of(svc, order_id).values() if t.state == "ready" and t.kind == "manual"]
    svc.processing.complete_task(AGENT, manual.id, {})
    drain(svc)
    detail = svc.queries.order(AGENT, order_id)
    assert detail.order.state == "completed"
    statuses = {p.order_line_id: p.status for p in detail.products}
    assert statuses == {first.id: "cancelled", second.id: "active"}
    assert svc.cancel_requests.get(AGENT, request.id).result == "accepted"


def test_cancelling_the_last_live_line_cancels_the_order(svc):
    order_id = place(svc)
    [line] = svc.queries.order(AGENT, order_id).lines
    svc.cancellations.request(AGENT, order_id, line_id=line.id, reason="r")
    drain(svc)
    assert svc.queries.order(AGENT, order_id).order.state == "cancelled"


def test_a_completed_line_is_not_cancelled(svc):
    order_id = place(svc, "undo-box", "undo-box")
    first, _ = svc.queries.order(AGENT, order_id).lines
    [manual, _] = [t for t in tasks_of(svc, order_id).values() if t.state == "ready" and t.kind == "manual"]
    svc.processing.complete_task(AGENT, manual.id, {})
    drain(svc)
    done_line = next(line for line in svc.queries.order(AGENT, order_id).lines if line.state == "completed")
    with pytest.raises(ValidationFailed) as refused:
        svc.cancellations.request(AGENT, order_id, line_id=done_line.id, reason="r")
    assert refused.value.errors[0].code == "LINE_COMPLETED"
    request = svc.cancellations.request(AGENT, order_id, reason="all of it")  # the order: denied
    assert request.result == "denied" and request.result_message.startswith("LINE_COMPLETED")
    assert svc.queries.order(AGENT, order_id).order.state == "inProgress"


def test_no_fee_before_work_started_and_another_account_sees_nothing(svc):
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("undo-box", characteristics={"label": "x"}),)))
    svc.orders.submit(AGENT, order.id)
    svc.processing.process(order.id)  # decomposed; the first wave is left to its advance job
    request = svc.cancellations.request(AGENT, order.id, reason="r")
    assert request.fee is None
    drain(svc)
    assert pack.undo_calls() == [] and svc.queries.order(AGENT, order.id).order.state == "cancelled"
    stranger = Actor("someone", frozenset({"customer"}), account_id="OTHER")
    with pytest.raises(DomainError) as hidden:
        svc.cancel_requests.get(stranger, request.id)
    assert hidden.value.code == "NOT_FOUND"
    with pytest.raises(DomainError) as hidden_order:
        svc.cancellations.request(stranger, order.id, reason="r")
    assert hidden_order.value.code == "NOT_FOUND"


def test_a_failed_undo_ends_the_request_with_an_error(svc):
    order_id = place(svc)
    pack.FAIL_UNDO.add("undo.configure")
    svc.cancellations.request(AGENT, order_id, reason="r")
    drain(svc)
    with svc.sessions() as s:
        open_ids = s.scalars(select(Fallout.id).where(Fallout.order_id == order_id, Fallout.state == "open")).all()
    for fallout_id in open_ids:
        svc.fallout.give_up(FALLOUT_MANAGER, fallout_id, None)
    drain(svc)
    detail = svc.queries.order(AGENT, order_id)
    [request] = svc.cancel_requests.of_orders(AGENT, [order_id])[order_id]
    assert request.state == "terminatedWithError"
    # Back in progress, its work over with a failed undo: the roll-up fails the line and the order.
    assert (detail.order.state, [line.state for line in detail.lines]) == ("failed", ["failed"])
    assert [p.status for p in detail.products] == ["aborted"]
    states = {t.name: t.state for t in tasks_of(svc, order_id).values()}
    assert states["Undo: Configure box"] == "failed" and states["Undo: Reserve stock"] == "cancelled"


def _expire_leases(svc, order_id):
    with svc.sessions.begin() as s:
        s.execute(
            update(Task)
            .where(Task.order_id == order_id, Task.state == "inProgress")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


def test_a_worker_killed_during_an_undo_neither_repeats_nor_skips_it(svc):
    """Fault injection: a worker claims the first undo, runs its handler (the reversal reaches the
    external system) and dies before recording it. The lease expires, the next attempt runs with
    the same idempotency key (the external system dedupes by it), the lost attempt's late result
    is discarded, and every completed effect is undone exactly once."""
    order_id = place(svc)
    request = svc.cancellations.request(AGENT, order_id, reason="r")
    svc.jobs.take()  # the advance job the request sent: this test plays the workers
    with svc.uow() as uow:
        claims, _ = svc.orchestrator.advance_wave(uow, order_id)
    [claim] = claims
    assert claim.context.mode == "undo" and claim.context.task_key == "undo.configure"
    lost = svc.orchestrator.run_handler(claim)  # the effect happens; the worker dies before recording it
    _expire_leases(svc, order_id)
    svc.processing.advance(order_id)  # the reconciler's re-dispatch: the next attempt
    drain(svc)
    with svc.uow() as uow:
        assert svc.orchestrator.finish(uow, claim.context.task_id, claim.attempt, lost) is False  # stale
    calls = pack.undo_calls()
    configure = [key for key, _, task in calls if task == "undo.configure"]
    assert len(configure) == 2 and len(set(configure)) == 1  # retried, with the same (the undo's own) key
    originals = {t.idempotency_key: t for t in tasks_of(svc, order_id).values() if t.mode == "do" and t.state == "completed"}
    assert set(pack.UNDONE) == set(originals)  # none skipped, each reversed once
    assert all(comp in originals for _, comp, _ in calls)
    undo_tasks = [t for t in tasks_of(svc, order_id).values() if t.mode == "undo"]
    assert {t.idempotency_key for t in undo_tasks}.isdisjoint(originals)  # own keys
    assert next(t for t in undo_tasks if t.key == "undo.configure").attempts == 2
    assert svc.cancel_requests.get(AGENT, request.id).result == "accepted"
    assert svc.queries.order(AGENT, order_id).order.state == "cancelled"


def test_an_acknowledged_order_not_yet_decomposed_is_cancelled_at_once(svc):
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("undo-box", characteristics={"label": "x"}),)))
    svc.orders.submit(AGENT, order.id)  # its stage pass is still queued
    request = svc.cancellations.request(AGENT, order.id, reason="r")
    assert (request.state, request.result, request.fee) == ("done", "accepted", None)
    drain(svc)  # the queued stage pass finds a cancelled order: nothing is decomposed
    detail = svc.queries.order(AGENT, order.id)
    assert (detail.order.state, [line.state for line in detail.lines], detail.tasks) == ("cancelled", ["cancelled"], [])


def test_a_revision_being_applied_refuses_a_cancellation(svc):
    from om_graph.core.change.revision_input import LineRevision, RevisionInput

    order_id = place(svc)
    change = RevisionInput(lines=(LineRevision(line_number=1, characteristics={"label": "y"}),))
    revision = svc.revisions.revise(AGENT, order_id, change, expected_version=None, reason="relabel")
    if revision.state != "inProgress":
        pytest.skip(f"the revision is {revision.state} at once")
    with pytest.raises(ValidationFailed) as refused:
        svc.cancellations.request(AGENT, order_id, reason="r")
    assert refused.value.errors[0].code == "REVISION_IN_PROGRESS"


def test_work_running_downstream_at_acceptance_is_undone_before_what_it_built_on(svc):
    """Reverse dependency order holds when a successor is still running when the cancellation is
    accepted: the predecessor's undo waits until that work has finished, and both undos are
    planned then, the successor's first."""
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("undo-box", characteristics={"label": "x"}),)))
    svc.orders.submit(AGENT, order.id)
    for job in svc.jobs.take():
        if job.name == PROCESS_ORDER:
            svc.processing.process(job.args["order_id"])
    svc.jobs.take()  # this test plays the workers
    with svc.uow() as uow:
        [reserve], plan = svc.orchestrator.advance_wave(uow, order.id)
    result = svc.orchestrator.run_handler(reserve)
    with svc.uow() as uow:  # reserve recorded, configure claimed (its worker is running it)
        [configure], _ = svc.orchestrator.advance_wave(uow, order.id, plan, [(reserve, result)])
    assert configure.context.task_key == "undo.configure"
    request = svc.cancellations.request(AGENT, order.id, reason="r")
    assert request.state == "inProgress"
    assert not [t for t in tasks_of(svc, order.id).values() if t.mode == "undo"]  # reserve's undo waits for configure
    result = svc.orchestrator.run_handler(configure)
    with svc.uow() as uow:
        assert svc.orchestrator.finish(uow, configure.context.task_id, configure.attempt, result)
    drain(svc)
    assert [task for _, _, task in pack.undo_calls()] == ["undo.configure", "undo.reserve"]
    assert svc.queries.order(AGENT, order.id).order.state == "cancelled"
