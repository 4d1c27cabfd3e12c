"""The demo packs end to end through the core services: orders for each kind of product run to
completion with the installed packs' handlers, rules, enrichment and validators, and write
inventory, contracts and entitlements; a change and a disconnect reuse what was recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.models import EventRecord
from om_graph.core.kernel.ports import NullEventSink, RecordingJobSink
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.models import Order
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from tests.support import AGENT
from tests.test_orchestration import drain


@pytest.fixture
def demo(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager())  # the installed tsm and tpsm packs
    jobs = RecordingJobSink()
    svc = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    svc.load_catalog()
    svc.jobs = jobs
    yield svc
    engine.dispose()


def run(svc, customer, *lines: LineInput) -> Order:
    order = svc.orders.create(AGENT, OrderInput(customer, tuple(lines)))
    svc.orders.submit(AGENT, order.id)
    drain(svc, manual_chars={})
    with svc.sessions() as s:
        return s.get(Order, order.id)


def test_saas_subscription_writes_contract_and_seat_entitlements(demo):
    order = run(
        demo,
        "ACME",
        LineInput("saas-analytics-pro", characteristics={"companyName": "Acme Widgets Ltd", "seats": 25, "region": "eu"}),
    )
    assert order.state == "completed"
    with demo.sessions() as s:
        product = s.scalars(select(Product).where(Product.order_id == order.id)).one()
        assert product.status == "active" and product.characteristics["tenantDomain"].startswith("acme")
        agreement = s.scalars(select(Agreement).where(Agreement.order_id == order.id)).one()
        assert product.agreement_id == agreement.id and agreement.status == "approved"
        entitlements = {e.name: e.quantity for e in s.scalars(select(Entitlement).where(Entitlement.product_id == product.id))}
        assert entitlements["licence-seats"] == 25


def test_fibre_with_static_ip_then_change_then_disconnect(demo):
    order = run(
        demo,
        "HOME-1",
        LineInput(
            "fibre-broadband-1000", characteristics={"bandwidth": 1000, "installationAddress": "3 Quay St", "staticIp": True}
        ),
    )
    assert order.state == "completed"
    with demo.sessions() as s:
        specs = set(s.scalars(select(DomainOrder.spec_key).where(DomainOrder.order_id == order.id)))
        assert "tsm.static-ip" in specs  # included by the pack's rule because staticIp is true
        product = s.scalars(select(Product).where(Product.order_id == order.id)).one()
        serial = product.characteristics["ontSerial"]
    change = run(demo, "HOME-1", LineInput(action="modify", product_id=product.id, characteristics={"staticIp": False}))
    assert change.state == "completed"
    with demo.sessions() as s:
        changed = s.get(Product, product.id)
        assert changed.characteristics["staticIp"] is False and changed.characteristics["ontSerial"] == serial
    stop = run(demo, "HOME-1", LineInput(action="delete", product_id=product.id))
    assert stop.state == "completed"
    with demo.sessions() as s:
        assert s.get(Product, product.id).status == "terminated"


def test_mobile_port_in_is_validated_and_rejected_as_a_whole(demo):
    order = run(
        demo,
        "MOB-1",
        # What the catalog cannot say (a number and a donor are its constraints, checked at capture):
        # the donor is ourselves.
        LineInput(
            "mobile-plan-unlimited",
            characteristics={"portIn": True, "portInNumber": "+31612345678", "donorOperator": "TSM Mobile"},
        ),
        LineInput("mobile-plan-20gb"),
    )
    assert order.state == "rejected"
    with demo.sessions() as s:
        error = s.scalars(
            select(EventRecord).where(EventRecord.order_id == order.id, EventRecord.event_type == "ProductOrderErrorMessageEvent")
        ).one()
        fields = {e["field"] for e in error.payload["errors"]}
        assert fields == {"lines.0.characteristics.donorOperator"}
        assert s.scalars(select(Task).where(Task.order_id == order.id)).all() == []  # nothing decomposed


def test_sdwan_sites_decompose_per_unit_and_per_wan_link(demo):
    order = run(
        demo,
        "CORP-1",
        LineInput(
            "sdwan-site",
            quantity=2,
            characteristics={"siteName": "Leeds", "bandwidth": 100, "wanLinks": 2, "siteAddress": "1 Park Row"},
        ),
    )
    assert order.state == "completed"
    with demo.sessions() as s:
        links = s.scalars(
            select(DomainOrder).where(DomainOrder.order_id == order.id, DomainOrder.spec_key == "tsm.wan-link")
        ).all()
        assert len(links) == 4  # two sites, two links each
        assert len(s.scalars(select(Product).where(Product.order_id == order.id, Product.status == "active")).all()) == 2
