"""The plan session: callers mutate; releases, the roll-up and the advance job happen once, at close."""

from __future__ import annotations

from sqlalchemy import func, select

from om_graph.core.fulfilment import session as session_module
from om_graph.core.fulfilment.models import DomainOrder
from om_graph.core.kernel.models import EventRecord
from om_graph.core.kernel.ports import ADVANCE_ORDER
from tests.test_orchestration import place, services  # noqa: F401  (the fixture)


def _advance_jobs(svc, order_id):
    return [j for j in svc.jobs.take() if j.name == ADVANCE_ORDER and j.args["order_id"] == order_id]


def test_roll_up_runs_once_when_the_session_closes(services, monkeypatch):  # noqa: F811
    order_id = place(services, {}, {}, {})
    services.processing.process(order_id)
    calls = []
    real = session_module.rollup
    monkeypatch.setattr(session_module, "rollup", lambda *a: (calls.append(1), real(*a)))
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id, advancing=True)
        with session:
            pass
        claims = session.claims
    assert len(claims) == 6 and calls == [1]
    results = services.orchestrator.run_wave(claims)
    with services.uow() as uow:
        session = services.orchestrator.open(uow, order_id, advancing=True)
        before = [d.state for d in session.plan.domain_orders]
        for claim, result in results:  # six completions, one roll-up
            services.orchestrator._finish(session, claim.context.task_id, claim.attempt, result)
        mid = [d.state for d in session.plan.domain_orders]
        session.close()
    assert calls == [1, 1]
    assert mid == before  # completions alone move no parent: the roll-up waits for the close
    with services.sessions() as s:
        per_domain_order = s.execute(
            select(EventRecord.entity_id, func.count())
            .where(EventRecord.order_id == order_id, EventRecord.entity_kind == "domainOrder")
            .group_by(EventRecord.entity_id, EventRecord.to_state)
        ).all()
        assert all(count == 1 for _, count in per_domain_order)  # one event per transition
        assert s.scalar(select(func.count()).select_from(DomainOrder).where(DomainOrder.order_id == order_id)) > 0


def test_an_advance_job_only_when_automatic_work_became_ready_outside_the_advance_loop(services):  # noqa: F811
    order_id = place(services)
    services.jobs.take()
    services.processing.process(order_id)  # roots released in a session that is not the advance loop
    assert len(_advance_jobs(services, order_id)) == 1

    with services.uow() as uow:
        claims, _ = services.orchestrator.advance_wave(uow, order_id)  # the advance loop claims them itself
    assert claims and _advance_jobs(services, order_id) == []

    with services.uow() as uow, services.orchestrator.open(uow, order_id):
        pass  # nothing became ready
    assert _advance_jobs(services, order_id) == []


def test_processing_in_the_worker_claims_the_first_wave_without_an_advance_job(services):  # noqa: F811
    order_id = place(services)
    services.jobs.take()
    services.processing.process(order_id, then_advance=True)
    remaining = _advance_jobs(services, order_id)
    # The first waves ran in this call; any job left comes from releases made by those waves' own
    # results, which the loop claims too, so none is needed.
    assert remaining == []
