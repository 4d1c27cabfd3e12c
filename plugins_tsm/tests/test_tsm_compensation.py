"""Compensation of the TSM pack's work: every handler with an effect has an undo, and do, then
undo twice with one key (a retried undo), then a late duplicate, leaves the simulated southbound
systems as they were before do (om_graph.testing.check_compensation)."""

from __future__ import annotations

import pytest

import om_graph_tsm.plugin as plugin
from om_graph.api import TaskContext, TaskHandler
from om_graph.testing import check_compensation, check_redo, task_context, undo_context
from om_graph_tsm.southbound import ALL_SYSTEMS, ELEMENT_MANAGER, NETWORK_INVENTORY

pytestmark = pytest.mark.om_graph_pack("om_graph_tsm.plugin:pack")

WITHOUT_EFFECT: frozenset[str] = frozenset()
"""Handlers whose work changes nothing southbound (undo None allowed): none in this pack. Every
handler allocates, configures, ships, bills or releases something, so each has a reverse."""

CHARACTERISTICS = {
    "installationAddress": "Main St 1, Amsterdam",
    "accessLineId": "AL-1",
    "oltPort": "AMS-CO01-OLT01 0/1/0:1",
    "bandwidth": 1000,
    "ontSerial": "HWTC00000001",
    "routerModel": "FRITZ!Box 5590 Fiber",
    "staticIp": True,
    "staticIpAddress": "198.51.100.7",
    "pppoeUsername": "ftth-x@fibre.tsm.example",
    "siteName": "Rotterdam DC",
    "siteAddress": "Haven 1, Rotterdam",
    "overlaySiteId": "site-rotterdam-dc-x",
    "edgeSerial": "VC0000000001",
    "wanLinkId": "WL-1",
    "portIn": False,
    "portInNumber": "+31 6 12345678",
    "donorOperator": "Odido",
    "msisdn": "31612345678",
    "simType": "physical",
    "iccid": "8931080000000000001",
    "networkProfile": "5G-20GB",
    "subscriberId": "SUB-1",
}
"""Enough of every domain order's characteristics for each handler's do."""

ACTION = {"tsm.billing-sync": "modify"}  # other handlers take the action of their own templates


def handlers() -> list[TaskHandler]:
    return list(plugin.pack.om_register_task_handlers())


def context(handler: TaskHandler, key: str) -> TaskContext:
    return task_context(handler.key, "tsm.any", idempotency_key=key, action=ACTION.get(handler.key, "add"), **CHARACTERISTICS)


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


def test_an_undo_names_what_it_releases_from_the_original_outcome():
    handler = next(h for h in handlers() if h.key == "tsm.allocate-static-ip")
    do = context(handler, "order-1/static-ip")
    outcome = handler.do(do)
    address = outcome.characteristics["staticIpAddress"]
    undo = undo_context(do, outcome, idempotency_key="order-1/undo-static-ip")
    assert undo.mode == "undo" and undo.compensates == do.idempotency_key
    answer = handler.undo(undo)
    assert answer.message == f"static IPv4 {address} returned to the pool"
    assert NETWORK_INVENTORY.get(do.idempotency_key) is None
    assert NETWORK_INVENTORY.reversed_by("order-1/undo-static-ip") == do.idempotency_key


def test_an_undo_leaves_a_retried_do_of_another_task_alone():
    handler = next(h for h in handlers() if h.key == "tsm.configure-ont")
    one, two = context(handler, "order-1/ont"), context(handler, "order-2/ont")
    first = handler.do(one)
    handler.do(two)
    handler.undo(undo_context(one, first))
    assert ELEMENT_MANAGER.get(one.idempotency_key) is None
    assert ELEMENT_MANAGER.get(two.idempotency_key) is not None


# --- against a running om-graph: a cancelled order's undo calls (om_handler_calls, om_cancel_order) ---


def test_cancelling_a_fibre_order_undoes_its_work_in_reverse_dependency_order(om_place_order, om_cancel_order, om_handler_calls):
    chars = {"installationAddress": "Main St 1, 1011 AB Amsterdam", "staticIp": True}
    order_id = om_place_order({"offering": "fibre-broadband-500", "characteristics": chars})
    done = [call.task_key for call in om_handler_calls if call.mode == "do"]
    assert {"tsm.allocate-access-line", "tsm.reserve-olt-port", "tsm.push-router-config", "tsm.ship-router"} <= set(done)
    cancellation = om_cancel_order(order_id, reason="moved abroad")  # before the (manual) installation
    assert cancellation.errors == []
    assert cancellation.order_state == "CANCELLED"
    assert sorted(cancellation.undone) == sorted(done)
    undone = cancellation.undone  # a successor's undo runs before its predecessor's
    assert undone.index("tsm.reserve-olt-port") < undone.index("tsm.allocate-access-line")
    assert undone.index("tsm.ship-router") < undone.index("tsm.push-router-config")
    by_key = {call.task_key: call for call in om_handler_calls if call.mode == "do"}
    for undo in cancellation.undo_calls:  # each undo names the do it compensates, under its own key
        assert undo.compensates == by_key[undo.task_key].idempotency_key != undo.idempotency_key
    assert all(system.active_count() == 0 for system in ALL_SYSTEMS)


def test_a_redo_with_a_new_bandwidth_keeps_the_ont_and_changes_its_profile():
    handler = next(h for h in handlers() if h.key == "tsm.configure-ont")
    chars = {"bandwidth": 500}
    do = task_context(handler.key, "tsm.ont", idempotency_key="order-1/ont", **chars)
    check = check_redo(handler, do, systems=ALL_SYSTEMS, bandwidth=1000)
    assert check.redo_context.mode == "redo" and check.redo_context.compensates == "order-1/ont"
    assert check.redo_outcome.characteristics["ontSerial"] == check.outcome.characteristics["ontSerial"]
    assert (check.outcome.characteristics["ontProfile"], check.redo_outcome.characteristics["ontProfile"]) == (
        "GPON-500M",
        "GPON-1000M",
    )
