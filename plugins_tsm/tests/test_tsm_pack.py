"""Tests of the TSM pack against the core contracts (registry, handlers, rules, enrichment...)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

import om_graph_tsm.plugin as plugin
from om_graph.api import (
    ALL_ACTIONS,
    ORDER_STATE_CHANGE,
    TASK_STATE_CHANGE,
    LineView,
    OrderEvent,
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
    TaskTiming,
)
from om_graph.testing import Registry, line_view, task_context
from om_graph_tsm import events
from om_graph_tsm import southbound as identifiers
from om_graph_tsm.southbound import ALL_SYSTEMS, NETWORK_INVENTORY

pytestmark = pytest.mark.om_graph_pack("om_graph_tsm.plugin:pack")


@pytest.fixture
def registry(om_registry):
    """Core defaults + this pack, collected as at startup (om_graph.testing)."""
    return om_registry


@pytest.fixture(autouse=True)
def _clean_systems():
    for system in ALL_SYSTEMS:
        system.clear()
    events.reset()
    yield


def ctx(handler_task: str, spec_key: str, key: str = "task-1:idem", action: str = "add", **chars) -> TaskContext:
    return task_context(
        handler_task,
        spec_key,
        idempotency_key=key,
        action=action,
        order_id=10,
        customer_id="cust-42",
        line_id=7,
        domain_kind="resource",
        **chars,
    )


def line(offering: str, spec: str, quantity: int = 1, action: str = "add", **chars) -> LineView:
    return line_view(offering, spec, quantity, action, customer_id="cust-42", **chars)


def expand(registry: Registry, spec_key: str, chars: dict) -> Counter:
    """Domain orders one line unit decomposes into, mirroring the core's rules (for asserting the catalog)."""
    found: Counter = Counter({spec_key: 1})
    for rel in registry.specifications[spec_key].relationships:
        rules = registry.rules_by_relationship.get((spec_key, rel.target), [])
        if not all(rule.include(chars) for rule in rules):
            continue
        count = chars.get(rel.count_from, rel.min_cardinality) if rel.count_from else rel.min_cardinality
        for _ in range(count):
            found += expand(registry, rel.target, chars)
    return found


# --- registration ---------------------------------------------------------------------------------


def test_catalog_offerings_and_specs(registry):
    for key in ("fibre-broadband-500", "fibre-broadband-1000", "sdwan-site", "mobile-plan-unlimited", "mobile-plan-20gb"):
        assert key in registry.offerings
    for key in (
        "tsm.fibre-broadband",
        "tsm.internet-access-cfs",
        "tsm.access-line",
        "tsm.ont",
        "tsm.home-router",
        "tsm.static-ip",
        "tsm.sdwan-site",
        "tsm.wan-link",
        "tsm.sdwan-edge-secondary",
        "tsm.mobile-plan",
        "tsm.sim-card",
        "tsm.msisdn",
        "tsm.number-port",
    ):
        assert key in registry.specifications
    assert registry.specifications["tsm.internet-access-cfs"].kind == "service"
    assert registry.specifications["tsm.ont"].kind == "resource"
    sdwan = registry.offerings["sdwan-site"]
    assert (sdwan.min_quantity, sdwan.max_quantity) == (1, 50)
    assert str(registry.offerings["fibre-broadband-1000"].recurring_price) == "54.95"
    bandwidth = {c.name: c for c in registry.specifications["tsm.fibre-broadband"].characteristics}["bandwidth"]
    assert bandwidth.required and bandwidth.allowed_values == (500, 1000)


def test_keys_are_prefixed_and_every_handler_is_used(registry):
    tsm_specs = [s for s in registry.specifications.values() if s.key.startswith("tsm.")]
    used = {t.handler for s in tsm_specs for t in s.tasks if t.kind == "automatic"}
    pack_handlers = {h.key for h in plugin.pack.om_register_task_handlers()}
    assert used == pack_handlers
    for s in tsm_specs:
        assert all(t.key.startswith("tsm.") for t in s.tasks)
    for items in (
        plugin.pack.om_register_decomposition_rules(),
        plugin.pack.om_register_enrichment_steps(),
        plugin.pack.om_register_business_validators(),
        plugin.pack.om_register_jeopardy_policies(),
    ):
        assert all(item.key.startswith("tsm.") for item in items)


def test_dependencies_hold_for_every_action(registry):
    """A task's predecessors must exist for every action the task runs for."""
    for spec in (s for s in registry.specifications.values() if s.key.startswith("tsm.")):
        for action in ALL_ACTIONS:
            present = {t.key for t in spec.tasks if action in t.actions}
            for t in spec.tasks:
                if action in t.actions:
                    assert set(t.depends_on) <= present, (spec.key, t.key, action)


def test_onsite_installation_is_a_manual_add_task(registry):
    tasks = {t.key: t for t in registry.specifications["tsm.access-line"].tasks}
    install = tasks["tsm.onsite-installation"]
    assert install.kind == "manual" and install.handler is None and install.actions == ("add",)
    assert tasks["tsm.release-access-line"].actions == ("delete",)


# --- decomposition ------------------------------------------------------------------------------


def test_static_ip_rule_includes_and_excludes(registry):
    (rule,) = registry.rules_by_relationship[("tsm.internet-access-cfs", "tsm.static-ip")]
    assert rule.include({"staticIp": True}) is True
    assert rule.include({"staticIp": False}) is False
    assert rule.include({}) is False
    base = {"bandwidth": 500, "installationAddress": "Main St 1", "staticIp": False}
    without = expand(registry, "tsm.fibre-broadband", base)
    with_ip = expand(registry, "tsm.fibre-broadband", {**base, "staticIp": True})
    assert "tsm.static-ip" not in without
    assert with_ip["tsm.static-ip"] == 1
    assert without["tsm.access-line"] == without["tsm.ont"] == without["tsm.home-router"] == 1


def test_sdwan_links_follow_wan_links_and_ha_adds_second_edge(registry):
    single = expand(registry, "tsm.sdwan-site", {"wanLinks": 1, "haPair": False})
    ha = expand(registry, "tsm.sdwan-site", {"wanLinks": 3, "haPair": True})
    assert single["tsm.wan-link"] == 1 and "tsm.sdwan-edge-secondary" not in single
    assert ha["tsm.wan-link"] == 3 and ha["tsm.sdwan-edge-secondary"] == 1 and ha["tsm.sdwan-edge"] == 1
    rel = next(r for r in registry.specifications["tsm.sdwan-cfs"].relationships if r.target == "tsm.wan-link")
    assert (rel.min_cardinality, rel.max_cardinality, rel.count_from) == (1, 3, "wanLinks")


def test_number_port_only_for_port_in(registry):
    assert "tsm.number-port" not in expand(registry, "tsm.mobile-plan", {"portIn": False})
    assert expand(registry, "tsm.mobile-plan", {"portIn": True})["tsm.number-port"] == 1


# --- handlers -----------------------------------------------------------------------------------

HANDLER_CASES = [
    ("tsm.allocate-access-line", "tsm.access-line", {"installationAddress": "Main St 1"}, "accessLineId"),
    ("tsm.reserve-olt-port", "tsm.access-line", {"installationAddress": "Main St 1", "accessLineId": "AL-1"}, "oltPort"),
    ("tsm.configure-ont", "tsm.ont", {"bandwidth": 1000}, "ontSerial"),
    ("tsm.push-router-config", "tsm.home-router", {"routerModel": "FRITZ!Box 5590 Fiber"}, "routerSerial"),
    ("tsm.ship-router", "tsm.home-router", {"installationAddress": "Main St 1"}, "shipmentTracking"),
    ("tsm.allocate-static-ip", "tsm.static-ip", {"staticIp": True}, "staticIpAddress"),
    ("tsm.activate-internet-service", "tsm.internet-access-cfs", {"bandwidth": 500}, "pppoeUsername"),
    ("tsm.provision-sdwan-site", "tsm.sdwan-cfs", {"siteName": "Rotterdam DC", "bandwidth": 200}, "overlaySiteId"),
    ("tsm.reserve-edge-device", "tsm.sdwan-edge", {"edgeModel": "SD-WAN Edge 640"}, "edgeSerial"),
    ("tsm.configure-wan-link", "tsm.wan-link", {}, "transitSubnet"),
    ("tsm.allocate-msisdn", "tsm.msisdn", {"portIn": False}, "msisdn"),
    ("tsm.assign-sim", "tsm.sim-card", {"simType": "physical"}, "iccid"),
    (
        "tsm.submit-port-request",
        "tsm.number-port",
        {"portInNumber": "+31 6 12345678", "donorOperator": "Odido"},
        "portingReference",
    ),
    ("tsm.activate-mobile-subscription", "tsm.mobile-service-cfs", {"networkProfile": "5G-20GB"}, "subscriberId"),
    ("tsm.billing-sync", "tsm.fibre-broadband", {}, "billingEventReference"),
]


@pytest.mark.parametrize(("handler_key", "spec_key", "chars", "output"), HANDLER_CASES)
def test_handlers_are_idempotent_and_deterministic(registry, handler_key, spec_key, chars, output):
    handler = registry.handlers[handler_key]
    first = handler.do(ctx(handler_key, spec_key, "order-10/task-1", **chars))
    retry = handler.do(ctx(handler_key, spec_key, "order-10/task-1", **chars))
    for system in ALL_SYSTEMS:  # another process (no ledger) must still derive the same value
        system.clear()
    elsewhere = handler.do(ctx(handler_key, spec_key, "order-10/task-1", **chars))
    other = handler.do(ctx(handler_key, spec_key, "order-11/task-9", **chars))
    assert isinstance(first, TaskOutcome)
    assert first.characteristics[output]
    assert first == retry == elsewhere
    assert other.characteristics[output] != first.characteristics[output]


def test_billing_handles_every_action_its_template_opts_into(registry):
    template = next(t for s in registry.specifications.values() for t in s.tasks if t.key == "tsm.billing-sync")
    handler = registry.handlers["tsm.billing-sync"]
    references = {
        action: handler.do(ctx("tsm.billing-sync", "tsm.fibre-broadband", f"k-{action}", action=action))
        for action in template.actions
    }
    assert {"suspend", "resume"} <= set(references)
    assert len({o.characteristics["billingEventReference"] for o in references.values()}) == len(references)


def test_undo_releases_what_do_allocated_and_is_idempotent(registry):
    handler = registry.handlers["tsm.allocate-static-ip"]
    c = ctx("tsm.allocate-static-ip", "tsm.static-ip", "k-undo", staticIp=True)
    handler.do(c)
    assert NETWORK_INVENTORY.get("k-undo") is not None
    handler.undo(c)
    handler.undo(c)
    assert NETWORK_INVENTORY.get("k-undo") is None and NETWORK_INVENTORY.was_released("k-undo")
    for h in plugin.pack.om_register_task_handlers():
        assert callable(h.undo)


def test_identifier_formats():
    out = plugin.pack.om_register_task_handlers()
    by_key = {h.key: h for h in out}
    sim = by_key["tsm.assign-sim"].do(ctx("tsm.assign-sim", "tsm.sim-card", "k1", simType="esim")).characteristics
    assert len(sim["iccid"]) == 19 and identifiers.luhn_valid(sim["iccid"])
    assert sim["imsi"].startswith("20408") and len(sim["imsi"]) == 15
    assert sim["esimActivationCode"].startswith("LPA:1$")
    msisdn = by_key["tsm.allocate-msisdn"].do(ctx("tsm.allocate-msisdn", "tsm.msisdn", "k2")).characteristics
    assert msisdn["msisdn"].startswith("3161") and len(msisdn["msisdn"]) == 11
    ip = by_key["tsm.allocate-static-ip"].do(ctx("tsm.allocate-static-ip", "tsm.static-ip", "k3")).characteristics
    assert ip["staticIpAddress"].startswith(("198.51.100.", "203.0.113."))
    assert not ip["staticIpAddress"].endswith((".0", ".255"))
    assert identifiers.luhn_check_digit("7992739871") == "3"


def test_port_in_msisdn_takes_the_ported_number(registry):
    handler = registry.handlers["tsm.allocate-msisdn"]
    out = handler.do(ctx("tsm.allocate-msisdn", "tsm.msisdn", "k", portIn=True, portInNumber="06 1234 5678"))
    assert out.characteristics == {"msisdn": "31612345678", "msisdnSource": "port-in"}
    with pytest.raises(TaskHandlerError) as err:
        handler.do(ctx("tsm.allocate-msisdn", "tsm.msisdn", "k-missing", portIn=True))
    assert err.value.retryable is False and err.value.code == "MISSING_CHARACTERISTIC"


def test_modify_keeps_existing_identifiers(registry):
    handler = registry.handlers["tsm.configure-ont"]
    out = handler.do(ctx("tsm.configure-ont", "tsm.ont", "mod-1", action="modify", bandwidth=1000, ontSerial="HWTC0000ABCD"))
    assert out.characteristics == {"ontSerial": "HWTC0000ABCD", "ontProfile": "GPON-1000M"}


def test_olt_port_retries_when_access_line_not_visible(registry):
    with pytest.raises(TaskHandlerError) as err:
        registry.handlers["tsm.reserve-olt-port"].do(ctx("tsm.reserve-olt-port", "tsm.access-line", installationAddress="x 1"))
    assert err.value.retryable is True


# --- enrichment and validation ------------------------------------------------------------------


def _enrich(registry, view: LineView) -> dict:
    chars = dict(view.characteristics)
    for step in registry.enrichment_steps:
        if step.applies_to(view):
            for name, value in step.enrich(view).items():
                chars.setdefault(name, value)
    return chars


def test_enrichment_fills_router_model(registry):
    chars = _enrich(registry, line("fibre-broadband-1000", "tsm.fibre-broadband", bandwidth=1000, staticIp=False))
    assert chars["routerModel"] == "FRITZ!Box 5590 Fiber"
    chars = _enrich(registry, line("fibre-broadband-500", "tsm.fibre-broadband", bandwidth=500, staticIp=True))
    assert chars["routerModel"] == "FRITZ!Box 5690 Pro"
    kept = _enrich(registry, line("fibre-broadband-500", "tsm.fibre-broadband", bandwidth=500, routerModel="Own"))
    assert kept["routerModel"] == "Own"
    assert "routerModel" not in _enrich(registry, line("mobile-plan-20gb", "tsm.mobile-plan"))


def test_enrichment_sizes_edge_and_sets_network_profile(registry):
    assert _enrich(registry, line("sdwan-site", "tsm.sdwan-site", bandwidth=1000, wanLinks=2))["edgeModel"] == "SD-WAN Edge 680"
    assert _enrich(registry, line("sdwan-site", "tsm.sdwan-site", bandwidth=50, wanLinks=3))["edgeModel"] == "SD-WAN Edge 620"
    assert _enrich(registry, line("mobile-plan-unlimited", "tsm.mobile-plan"))["networkProfile"] == "5G-UNLIMITED"


def issues(registry, view: LineView) -> list:
    return [i for v in registry.validators_for(view.spec_key) for i in v.validate(view)]


def refused(registry, offering: str, **values) -> dict[str, str]:
    """What the catalog's characteristic constraints (checked at capture) refuse in ``values``:
    {characteristic: kind of rule} (the offering's narrowing, then the dependent constraints)."""
    rules = registry.rules_for(offering)
    found = {n: broken.kind for n in values if (broken := rules.violation(n, values[n])) is not None}
    with_defaults = {**{c.name: c.default for c in rules.characteristics if c.default is not None}, **values}
    for name, violation in rules.dependent_violations(with_defaults):
        found.setdefault(name, violation.kind)
    return found


def test_mobile_port_in_validator(registry):
    good = line("mobile-plan-unlimited", "tsm.mobile-plan", portIn=True, portInNumber="+31612345678", donorOperator="Odido")
    assert issues(registry, good) == []
    assert issues(registry, line("mobile-plan-unlimited", "tsm.mobile-plan", portIn=False)) == []
    assert refused(registry, "mobile-plan-unlimited", portIn=True) == {"portInNumber": "required", "donorOperator": "required"}
    assert refused(registry, "mobile-plan-unlimited", portIn=False) == {}
    assert refused(registry, "mobile-plan-20gb", portIn=True, portInNumber="call me", donorOperator="KPN") == {
        "portInNumber": "pattern"
    }
    assert refused(registry, "mobile-plan-20gb", portIn=True, portInNumber="+31 6 1234 5678", donorOperator="KPN") == {}
    ours = issues(
        registry,
        line("mobile-plan-20gb", "tsm.mobile-plan", portIn=True, portInNumber="0612345678", donorOperator=" TSM Mobile "),
    )
    assert [i.code for i in ours] == ["DONOR_IS_US"]
    multi = issues(
        registry,
        line("mobile-plan-20gb", "tsm.mobile-plan", quantity=3, portIn=True, portInNumber="0612345678", donorOperator="KPN"),
    )
    assert [i.code for i in multi] == ["PORT_IN_QUANTITY"]


def test_sdwan_validator(registry):
    ok = line("sdwan-site", "tsm.sdwan-site", quantity=50, bandwidth=500, wanLinks=2, haPair=True, siteRole="branch")
    assert issues(registry, ok) == []
    too_many = issues(registry, line("sdwan-site", "tsm.sdwan-site", quantity=11, bandwidth=50, wanLinks=1, haPair=False))
    assert [(i.field, i.code) for i in too_many] == [("quantity", "SITE_LIMIT")]
    # In the catalog now: an HA pair's links (wanLinks defaults to 1) and hubs being HA pairs.
    assert refused(registry, "sdwan-site", bandwidth=100, haPair=True) == {"wanLinks": "range"}
    assert refused(registry, "sdwan-site", bandwidth=100, wanLinks=2, haPair=True) == {}
    assert refused(registry, "sdwan-site", bandwidth=1000, wanLinks=2, haPair=False, siteRole="hub") == {"haPair": "allowed"}
    assert refused(registry, "sdwan-site", bandwidth=1000, siteRole="datacenter") == {"haPair": "allowed"}
    assert refused(registry, "sdwan-site", bandwidth=1000, wanLinks=2, haPair=True, siteRole="datacenter") == {}


def test_fibre_constraints_in_the_catalog(registry):
    """The tier per offering and the address's house number are catalog constraints now: no
    business validator is left for fibre."""
    assert registry.validators_for("tsm.fibre-broadband") == []
    assert refused(registry, "fibre-broadband-500", bandwidth=500, installationAddress="Kerkstraat 12, 1017 GL") == {}
    assert refused(registry, "fibre-broadband-500", bandwidth=1000) == {"bandwidth": "allowed"}
    assert refused(registry, "fibre-broadband-1000", bandwidth=500) == {"bandwidth": "allowed"}
    assert refused(registry, "fibre-broadband-1000", installationAddress="Kerkstraat") == {"installationAddress": "pattern"}
    bandwidth = registry.rules_for("fibre-broadband-1000").by_name["bandwidth"]
    assert (bandwidth.allowed_values, bandwidth.default) == ((1000,), 1000)


# --- jeopardy and events ------------------------------------------------------------------------


def test_jeopardy_durations(registry):
    def planned(task_key, kind, spec_key):
        found = registry.policy_for(TaskTiming(task_key, kind, spec_key, None))
        return found[1] if found else None

    from datetime import timedelta

    assert planned("tsm.onsite-installation", "manual", "tsm.access-line") == timedelta(days=3)
    assert planned("tsm.configure-ont", "automatic", "tsm.ont") == timedelta(minutes=5)
    assert planned("tsm.ship-router", "automatic", "tsm.home-router") == timedelta(minutes=30)
    own = [p for p in plugin.pack.om_register_jeopardy_policies()]
    assert all(p.planned_duration(TaskTiming("x.other", "automatic", "x.spec", None)) is None for p in own)


def _event(event_type: str, to_state: str, order_id: int = 1) -> OrderEvent:
    return OrderEvent(
        id=order_id,
        order_id=order_id,
        customer_id="cust-42",
        event_type=event_type,
        entity_kind="order",
        entity_id=order_id,
        from_state="inProgress",
        to_state=to_state,
        actor="system",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_event_hook_keeps_bounded_log_of_completed_orders():
    plugin.pack.om_handle_order_event(_event(ORDER_STATE_CHANGE, "completed", 1))
    plugin.pack.om_handle_order_event(_event(ORDER_STATE_CHANGE, "failed", 2))
    plugin.pack.om_handle_order_event(_event(TASK_STATE_CHANGE, "completed", 3))
    plugin.pack.om_handle_order_event(_event(ORDER_STATE_CHANGE, "inProgress", 4))
    assert [o.order_id for o in events.completed_orders()] == [1]
    assert events.outcome_counts() == {"completed": 1, "failed": 1}
    for i in range(events.MAX_REMEMBERED + 10):
        plugin.pack.om_handle_order_event(_event(ORDER_STATE_CHANGE, "completed", 100 + i))
    assert len(events.completed_orders()) == events.MAX_REMEMBERED
    assert events.outcome_counts()["completed"] == events.MAX_REMEMBERED + 11
