"""Orchestration semantics driven through the core services with a recording job sink:
failures, retries, cascades, roll-up, and serialised completion of parallel tasks."""

from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from om_graph.core.access.actor import Actor
from om_graph.core.catalog.extensions import TaskHandler
from om_graph.core.fulfilment.models import Fallout, Task
from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.models import EventRecord
from om_graph.core.kernel.ports import (
    ADVANCE_ORDER,
    PROCESS_ORDER,
    NullEventSink,
    RecordingJobSink,
)
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests import fixture_auto_pack, fixture_pack
from tests.support import AGENT


@pytest.fixture
def services(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, fixture_auto_pack]))
    jobs = RecordingJobSink()
    svc = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    svc.load_catalog()
    svc.jobs = jobs
    yield svc
    engine.dispose()


def drain(svc, *, manual_chars=None):
    """Run queued jobs until none are left, completing manual tasks when asked to."""
    while True:
        jobs = svc.jobs.take()
        if not jobs:
            if manual_chars is None:
                return
            with svc.sessions() as s:
                ready = s.scalars(select(Task.id).where(Task.kind == "manual", Task.state == "ready")).all()
            if not ready:
                return
            for task_id in ready:
                svc.processing.complete_task(AGENT, task_id, manual_chars)
            continue
        for job in jobs:
            if job.name == PROCESS_ORDER:
                svc.processing.process(job.args["order_id"])
            elif job.name == ADVANCE_ORDER:
                svc.processing.advance(job.args["order_id"])


def place(svc, *lines: dict, customer="ACME") -> int:
    lines = lines or ({},)
    order = svc.orders.create(
        AGENT,
        OrderInput(
            customer, tuple(LineInput("test-internet", characteristics={"speed": 100, "address": "x", **c}) for c in lines)
        ),
    )
    svc.orders.submit(AGENT, order.id)
    return order.id


def load(svc, order_id):
    detail = svc.queries.order(AGENT, order_id)
    return SimpleNamespace(
        state=detail.order.state, lines=detail.lines, tasks=detail.tasks, events=detail.events, products=detail.products
    )


FALLOUT_MANAGER = Actor("fallout-boss", frozenset({"order_fallout_manager"}))


def give_up_fallout(svc, order_id: int) -> None:
    """A failed task waits on hold in fallout (core/fulfilment/fallout.py): a manager gives up."""
    with svc.sessions() as s:
        open_ids = s.scalars(select(Fallout.id).where(Fallout.order_id == order_id, Fallout.state == "open")).all()
    assert open_ids, "the failure opened a fallout record"
    for fallout_id in open_ids:
        svc.fallout.give_up(FALLOUT_MANAGER, fallout_id, None)
    drain(svc, manual_chars={})


def test_failing_handler_fails_task_cascades_and_never_completes(services):
    order_id = place(services, {"failAt": "test.allocate-line"})
    drain(services, manual_chars={})
    held = {t.key: t.state for t in load(services, order_id).tasks}
    assert held["test.allocate-line"] == "onHold" and held["test.install"] == "pending"  # fallout, not failure
    give_up_fallout(services, order_id)
    order = load(services, order_id)
    states = {t.key: t.state for t in order.tasks}
    assert states["test.allocate-line"] == "failed"
    assert states["test.install"] == "cancelled"  # depends on the failed task
    assert states["test.activate-product"] == "cancelled"  # the product waited for its resources
    assert states["test.ship-router"] == "completed"  # independent work still ran
    assert order.state == "failed" and order.lines[0].state == "failed"
    [product] = order.products
    assert product.status == "aborted"
    errors = [e for e in order.events if e.event_type == "ProductOrderErrorMessageEvent"]
    assert errors and errors[0].payload["code"] == "PROVISIONING_FAILED"


def test_one_failed_line_of_two_makes_the_order_partial(services):
    order_id = place(services, {}, {"failAt": "test.ship-router"})
    drain(services, manual_chars={})
    give_up_fallout(services, order_id)
    order = load(services, order_id)
    assert sorted(line.state for line in order.lines) == ["completed", "failed"]
    assert order.state == "partial"
    assert sorted(p.status for p in order.products) == ["aborted", "active"]


def test_retryable_error_is_retried_with_the_same_idempotency_key(services):
    order_id = place(services, {"flakyAt": "test.design"})
    drain(services, manual_chars={})
    order = load(services, order_id)
    design = next(t for t in order.tasks if t.key == "test.design")
    assert design.state == "completed" and design.attempts == 2
    assert design.outcome["characteristics"] == {"design": f"val-{design.idempotency_key}"}
    assert order.state == "completed"


def test_duplicate_and_stale_messages_change_nothing(services):
    order_id = place(services)
    services.processing.process(order_id)
    jobs = services.jobs.take()
    assert ADVANCE_ORDER in [j.name for j in jobs]
    assert services.processing.advance(order_id) == 2  # allocate-line and ship-router; the rest waits for the installer
    with services.sessions() as s:
        events_before = s.scalar(select(EventRecord.id).order_by(EventRecord.id.desc()).limit(1))
    assert services.processing.advance(order_id) == 0  # a redelivered message
    services.processing.process(order_id)  # a redelivered process message
    with services.sessions() as s:
        assert s.scalar(select(EventRecord.id).order_by(EventRecord.id.desc()).limit(1)) == events_before


def test_stale_attempt_result_is_discarded(services):
    order_id = place(services)
    services.processing.process(order_id)
    services.jobs.take()
    with services.sessions() as s:
        task_id = s.scalars(select(Task.id).where(Task.order_id == order_id, Task.state == "ready")).first()
    with services.uow() as uow:
        claim = services.orchestrator.claim(uow, task_id)
    with services.uow() as uow:  # the lease ran out; another worker took over
        lock_order(uow, order_id)
        uow.session.get(Task, task_id).state = "ready"
    with services.uow() as uow:
        second = services.orchestrator.claim(uow, task_id)
    assert second.attempt == claim.attempt + 1
    result = services.orchestrator.run_handler(claim)
    with services.uow() as uow:
        assert services.orchestrator.finish(uow, task_id, claim.attempt, result) is False
    with services.uow() as uow:
        assert services.orchestrator.finish(uow, task_id, second.attempt, result) is True


def test_parallel_completions_roll_up_once(services):
    """Many independent tasks finishing at the same moment: one event per transition."""
    order_id = place(services, {}, {}, {})
    services.processing.process(order_id)
    services.jobs.take()
    with services.uow() as uow:
        claims, _ = services.orchestrator.advance_wave(uow, order_id)
    assert len(claims) == 6  # three lines: allocate-line and ship-router each, all runnable at once
    results = services.orchestrator.run_wave(claims)

    def finish(claim, result):
        with services.uow() as uow:
            assert services.orchestrator.finish(uow, claim.context.task_id, claim.attempt, result)

    threads = [threading.Thread(target=finish, args=pair) for pair in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(services, manual_chars={"ontSerial": "S"})
    order = load(services, order_id)
    assert order.state == "completed"
    transitions = [(e.entity_kind, e.entity_id, e.to_state) for e in order.events if e.to_state]
    assert len(transitions) == len(set(transitions)), "a transition was announced twice"
    order_changes = [e.to_state for e in order.events if e.entity_kind == "order" and e.from_state]
    assert order_changes == ["acknowledged", "inProgress", "completed"]
    assert len(order.products) == 3 and all(p.status == "active" for p in order.products)


def test_completion_writes_contract_and_modify_and_delete_change_inventory(services):
    order_id = place(services)
    drain(services, manual_chars={"ontSerial": "S1"})
    with services.sessions() as s:
        product = s.scalars(select(Product).where(Product.order_id == order_id)).one()
        assert product.agreement_id is not None and product.status == "active"
    change = services.orders.create(
        AGENT, OrderInput("ACME", (LineInput(action="modify", product_id=product.id, characteristics={"speed": 1000}),))
    )
    services.orders.submit(AGENT, change.id)
    drain(services, manual_chars={})
    with services.sessions() as s:
        assert s.get(Product, product.id).characteristics["speed"] == 1000
        assert s.get(Order, change.id).state == "completed"
    stop = services.orders.create(AGENT, OrderInput("ACME", (LineInput(action="delete", product_id=product.id),)))
    services.orders.submit(AGENT, stop.id)
    drain(services, manual_chars={})
    with services.sessions() as s:
        assert s.get(Product, product.id).status == "terminated"
        # Disconnection runs top-down: the product task before the resources'.
        tasks = s.scalars(select(Task).where(Task.order_id == stop.id).order_by(Task.finished_at)).all()
        assert tasks[0].key == "test.activate-product"


def test_business_validation_rejects_whole_order(services):
    from om_graph.core.kernel.errors import ValidationFailed

    order_id = place(services)
    drain(services, manual_chars={"ontSerial": "S1"})
    with services.sessions() as s:
        product_id = s.scalars(select(Product.id).where(Product.order_id == order_id)).one()
    busy = services.orders.create(AGENT, OrderInput("ACME", (LineInput(action="delete", product_id=product_id),)))
    with pytest.raises(ValidationFailed) as err:
        services.orders.create(AGENT, OrderInput("ACME", (LineInput(action="delete", product_id=product_id),)))
    assert err.value.errors[0].code == "PRODUCT_BUSY"
    with pytest.raises(ValidationFailed) as err:
        services.orders.create(AGENT, OrderInput("OTHER", (LineInput(action="delete", product_id=product_id),)))
    assert err.value.errors[0].code == "UNKNOWN_PRODUCT"
    assert busy.state == "draft"


def test_a_failing_pack_extension_rejects_the_order_instead_of_retrying(database_url):
    from om_graph.core.catalog.extensions import EnrichmentStep
    from om_graph.plugins import hookimpl

    class Broken:
        __name__ = "broken-enrichment"

        @hookimpl
        def om_register_enrichment_steps(self):
            return [EnrichmentStep("broken.step", enrich=lambda line: 1 / 0)]

    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, Broken()]))
    jobs = RecordingJobSink()
    svc = Services(make_session_factory(engine), registry, jobs, NullEventSink())
    svc.load_catalog()
    svc.jobs = jobs
    order_id = place(svc)
    drain(svc)
    order = load(svc, order_id)
    assert order.state == "rejected" and all(line.state == "rejected" for line in order.lines)
    [error] = [e for e in order.events if e.event_type == "ProductOrderErrorMessageEvent"]
    assert error.payload["reason"] == "processingFailed" and "ZeroDivisionError" in error.payload["errors"][0]["message"]
    assert order.tasks == []
    engine.dispose()


def test_advance_reuses_its_plan_only_while_nobody_else_wrote_the_order(services):
    order_id = place(services)
    drain(services)  # automatic work done; the installation work order waits for a person
    orchestrator = services.orchestrator
    with services.uow() as uow, orchestrator.open(uow, order_id) as session:
        first = session.plan
    with services.uow() as uow, orchestrator.open(uow, order_id, first) as session:
        assert session.plan is first  # unchanged: re-attached

    [manual] = [t for t in first.tasks.values() if t.kind == "manual" and t.state == "ready"]
    services.processing.complete_task(AGENT, manual.id, {"ontSerial": "S9"})  # another writer
    with services.uow() as uow, orchestrator.open(uow, order_id, first) as session:
        fresh = session.plan
        assert fresh is not first
        assert fresh.tasks[manual.id].state == "completed"
        assert fresh.order.change_seq == first.order.change_seq + 2


def test_a_line_with_nothing_to_fulfil_completes_when_processed(services):
    order = services.orders.create(AGENT, OrderInput("ACME", (LineInput("test-licence"), LineInput("test-licence"))), submit=True)
    services.processing.process(order.id, then_advance=True)
    detail = load(services, order.id)
    assert detail.state == "completed" and [line.state for line in detail.lines] == ["completed", "completed"]
    assert [p.status for p in detail.products] == ["active", "active"]
    assert all(p.agreement_id is not None for p in detail.products)


def test_changing_an_order_without_lock_order_still_bumps_its_change_seq(services):
    order_id = place(services)
    services.processing.process(order_id)
    with services.sessions() as s:
        task_id = s.scalars(select(Task.id).where(Task.order_id == order_id)).first()
        before = s.get(Order, order_id).change_seq
    with services.uow() as uow:  # the database's triggers bump it (tests/test_write_path.py)
        uow.session.get(Task, task_id).jeopardy = "critical"
    with services.sessions() as s:
        assert s.get(Task, task_id).jeopardy == "critical"
        assert s.get(Order, order_id).change_seq == before + 1


# -- dispatch by the stored handler ------------------------------------------------------------


def _store_handler(svc, order_id: int, key: str, handler: str) -> int:
    with svc.uow() as uow:
        lock_order(uow, order_id)
        task = uow.session.scalars(select(Task).where(Task.order_id == order_id, Task.key == key)).one()
        task.handler = handler
        return task.id


def test_a_task_runs_the_handler_stored_on_it_not_the_templates(services):
    order_id = place(services)
    services.processing.process(order_id)  # decomposed: each task stores its template's handler
    ran = []
    services.registry.handlers["test.other"] = TaskHandler("test.other", do=lambda ctx: ran.append(ctx.task_key))
    task_id = _store_handler(services, order_id, "test.ship-router", "test.other")
    drain(services, manual_chars={"ontSerial": "S1"})
    assert ran == ["test.ship-router"]
    with services.sessions() as s:
        assert s.get(Task, task_id).state == "completed" and s.get(Order, order_id).state == "completed"


def test_a_task_whose_stored_handler_no_pack_provides_fails_with_unknown_handler(services):
    order_id = place(services)
    services.processing.process(order_id)
    task_id = _store_handler(services, order_id, "test.ship-router", "gone.handler")
    drain(services, manual_chars={"ontSerial": "S1"})
    with services.sessions() as s:
        assert (s.get(Task, task_id).state, s.get(Task, task_id).error_code) == ("onHold", "UNKNOWN_HANDLER")
    give_up_fallout(services, order_id)
    with services.sessions() as s:
        task = s.get(Task, task_id)
        assert (task.state, task.error_code) == ("failed", "UNKNOWN_HANDLER")
        assert s.get(Order, order_id).state == "failed"


# -- inventory: the order's currency, contracts and entitlements, the owners' lock order -------


def test_products_are_priced_in_the_orders_currency_when_the_catalog_changed_before_decomposition(services):
    order = services.orders.create(AGENT, OrderInput("ACME", (LineInput("test-licence"),)), submit=True)
    assert order.currency == "EUR"
    offering = services.registry.offerings["test-licence"]
    services.registry.offerings["test-licence"] = dataclasses.replace(offering, currency="USD")  # a catalog change meanwhile
    drain(services)
    with services.sessions() as s:
        [product] = s.scalars(select(Product).where(Product.order_id == order.id)).all()
        assert (product.status, product.currency, product.recurring_price) == ("active", "EUR", Decimal("9"))


def _licences(svc, count: int) -> list[Product]:
    """``count`` active licence products, each from its own (completed) order, oldest first."""
    products = []
    for _ in range(count):
        order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("test-licence"),)), submit=True)
        drain(svc)
        with svc.sessions() as s:
            products.append(s.scalars(select(Product).where(Product.order_id == order.id)).one())
    return products


def test_deleting_a_contracts_last_product_revokes_its_entitlements_and_terminates_the_contract(services):
    [product] = _licences(services, 1)
    with services.uow() as uow:
        lock_order(uow, product.order_id)
        uow.session.add(
            Entitlement(
                customer_id="ACME",
                product_id=product.id,
                agreement_id=product.agreement_id,
                name="seats",
                quantity=1,
                unit="seat",
                status="active",
            )
        )  # the test packs' offerings grant none
    stop = services.orders.create(AGENT, OrderInput("ACME", (LineInput(action="delete", product_id=product.id),)), submit=True)
    drain(services)
    with services.sessions() as s:
        assert s.get(Product, product.id).status == "terminated"
        assert s.get(Agreement, product.agreement_id).status == "terminated"
        assert s.scalars(select(Entitlement.status).where(Entitlement.product_id == product.id)).all() == ["revoked"]
        changes = s.execute(
            select(EventRecord.event_type, EventRecord.from_state, EventRecord.to_state)
            .where(EventRecord.order_id == stop.id, EventRecord.entity_kind.in_(["agreement", "entitlement"]))
            .order_by(EventRecord.id)
        ).all()
    assert [tuple(c) for c in changes] == [
        ("EntitlementStateChangeEvent", "active", "revoked"),
        ("AgreementStateChangeEvent", "approved", "terminated"),
    ]


def test_settlement_locks_every_owner_newest_first_before_it_reads_a_product(services, monkeypatch):
    older, newer = _licences(services, 2)
    lines = tuple(
        LineInput(action="modify", product_id=p.id, characteristics={}) for p in (older, newer)
    )  # line order: oldest owner first
    change = services.orders.create(AGENT, OrderInput("ACME", lines), submit=True)
    seen: list[object] = []
    real = UnitOfWork.lock_other_order
    monkeypatch.setattr(UnitOfWork, "lock_other_order", lambda uow, order_id: (seen.append(order_id), real(uow, order_id))[1])

    def statement(conn, cursor, sql, *args):
        if "product.characteristics" in sql and "WHERE product.id = " in sql:  # a product loaded to be settled
            seen.append("product read")

    engine = services.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", statement)
    try:
        drain(services)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    with services.sessions() as s:
        assert s.get(Order, change.id).state == "completed"
    first_read = seen.index("product read")
    assert list(dict.fromkeys(seen[:first_read])) == [newer.order_id, older.order_id], seen  # (repeats find them locked)
    assert newer.order_id > older.order_id
