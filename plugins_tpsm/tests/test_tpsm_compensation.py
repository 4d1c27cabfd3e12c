"""Compensation of the TPSM pack's work: every handler with an effect has an undo, and do, then
undo twice with one key (a retried undo), then a late duplicate, leaves the simulated southbound
systems as they were before do (om_graph.testing.check_compensation)."""

from __future__ import annotations

import pytest

import om_graph_tpsm.plugin as plugin
from om_graph.api import TaskContext, TaskHandler
from om_graph.testing import check_compensation, task_context, undo_context
from om_graph_tpsm.southbound import ALL_SYSTEMS, LICENSING, TENANT_PLATFORM

pytestmark = pytest.mark.om_graph_pack("om_graph_tpsm.plugin:pack")

WITHOUT_EFFECT: frozenset[str] = frozenset()
"""Handlers whose work changes nothing southbound (undo None allowed): none in this pack. Even the
welcome invitation is sent work (its undo revokes it), and the asset record update is versioned."""

CHARACTERISTICS = {
    "companyName": "Globex",
    "seats": 40,
    "region": "us",
    "tenantDomain": "globex-us.analytics.tpsm.example",
    "country": "DE",
    "applianceModel": "EA-2400",
    "applianceSerial": "EA2400-000000001",
    "shippingAddress": "Hauptstr. 1, Berlin",
    "siteContactName": "A. Admin",
    "warehouse": "AMS-DC1",
}
"""Enough of every domain order's characteristics for each handler's do."""


def handlers() -> list[TaskHandler]:
    return list(plugin.pack.om_register_task_handlers())


def context(handler: TaskHandler, key: str) -> TaskContext:
    return task_context(handler.key, "tpsm.any", idempotency_key=key, **CHARACTERISTICS)


@pytest.fixture(autouse=True)
def _clean_systems():
    for system in ALL_SYSTEMS:
        system.clear()
    yield


def test_every_handler_with_an_effect_has_an_undo():
    missing = [h.key for h in handlers() if h.key not in WITHOUT_EFFECT and h.undo is None]
    assert missing == []


@pytest.mark.parametrize("handler", handlers(), ids=lambda h: h.key)
def test_do_then_undo_twice_leaves_the_systems_as_before(handler):
    for system in ALL_SYSTEMS:  # other tasks' work stays where it is
        system.allocate("someone-else", {"task": "other"})
    check = check_compensation(handler, context(handler, f"order-1/{handler.key}"), systems=ALL_SYSTEMS)
    first, again, late = check.undo_outcomes
    assert first is not None and "nothing left" not in first.message
    assert again is not None and "nothing left" in again.message  # the retried undo released nothing more
    assert late is not None and "nothing left" in late.message  # work already gone: a success
    assert all(system.get("someone-else") is not None for system in ALL_SYSTEMS)


def test_undoing_a_tenant_and_its_licences_in_reverse_order():
    by_key = {h.key: h for h in handlers()}
    tenant_ctx = context(by_key["tpsm.create-tenant"], "order-1/tenant")
    tenant = by_key["tpsm.create-tenant"].do(tenant_ctx)
    seats_ctx = task_context(
        "tpsm.provision-licences", "tpsm.tenant", idempotency_key="order-1/seats", **CHARACTERISTICS, **tenant.characteristics
    )
    seats = by_key["tpsm.provision-licences"].do(seats_ctx)
    # The core undoes the licences (the successor) first, then the tenant.
    released = by_key["tpsm.provision-licences"].undo(undo_context(seats_ctx, seats))
    assert released.message == f"40 seats of pool {seats.characteristics['licencePoolId']} released"
    assert LICENSING.active_count() == 0 and TENANT_PLATFORM.active_count() == 1
    deleted = by_key["tpsm.create-tenant"].undo(undo_context(tenant_ctx, tenant))
    assert deleted.message == f"tenant {tenant.characteristics['tenantId']} deleted"
    assert TENANT_PLATFORM.active_count() == 0


# --- against a running om-graph: a cancelled order's undo calls (om_handler_calls, om_cancel_order) ---


def test_cancelling_an_appliance_order_undoes_its_completed_work(om_place_order, om_cancel_order, om_handler_calls):
    chars = {"shippingAddress": "Hauptstr. 1, 10115 Berlin", "country": "DE", "siteContactName": "A. Admin", "rackMount": True}
    order_id = om_place_order({"offering": "edge-appliance", "characteristics": chars})  # approved: a new customer's 1,890
    done = [call.task_key for call in om_handler_calls if call.mode == "do"]
    assert {"tpsm.reserve-stock", "tpsm.pick-rack-kit"} <= set(done)  # the shipment (manual) waits
    cancellation = om_cancel_order(order_id, reason="the site closed")
    assert cancellation.errors == []
    assert cancellation.order_state == "CANCELLED"
    assert sorted(cancellation.undone) == sorted(done)
    by_key = {call.task_key: call for call in om_handler_calls if call.mode == "do"}
    for undo in cancellation.undo_calls:  # each undo names the do it compensates, under its own key
        assert undo.compensates == by_key[undo.task_key].idempotency_key != undo.idempotency_key
    assert all(system.active_count() == 0 for system in ALL_SYSTEMS)
