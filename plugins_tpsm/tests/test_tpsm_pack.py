"""Tests of the TPSM pack against the core contracts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

import om_graph_tpsm.plugin as plugin
from om_graph.api import (
    ALL_ACTIONS,
    JEOPARDY_ALERT,
    ORDER_STATE_CHANGE,
    LineView,
    OrderEvent,
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
    TaskTiming,
)
from om_graph.testing import Registry, line_view, task_context
from om_graph_tpsm import events
from om_graph_tpsm.southbound import ALL_SYSTEMS, WAREHOUSE

pytestmark = pytest.mark.om_graph_pack("om_graph_tpsm.plugin:pack")


@pytest.fixture
def registry(om_registry):
    """Core defaults + this pack, collected as at startup (om_graph.testing)."""
    return om_registry


@pytest.fixture(autouse=True)
def _clean():
    for system in ALL_SYSTEMS:
        system.clear()
    events.reset()
    yield


def ctx(task: str, spec_key: str, key: str = "idem-1", action: str = "add", **chars) -> TaskContext:
    return task_context(task, spec_key, idempotency_key=key, action=action, **chars)


def line(offering: str, spec: str, quantity: int = 1, action: str = "add", **chars) -> LineView:
    return line_view(offering, spec, quantity, action, **chars)


def expand(registry: Registry, spec_key: str, chars: dict) -> Counter:
    found: Counter = Counter({spec_key: 1})
    for rel in registry.specifications[spec_key].relationships:
        if not all(rule.include(chars) for rule in registry.rules_by_relationship.get((spec_key, rel.target), [])):
            continue
        count = chars.get(rel.count_from, rel.min_cardinality) if rel.count_from else rel.min_cardinality
        for _ in range(count):
            found += expand(registry, rel.target, chars)
    return found


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


def enrich(registry, view: LineView) -> dict:
    chars = dict(view.characteristics)
    for step in registry.enrichment_steps:
        if step.applies_to(view):
            for name, value in step.enrich(view).items():
                chars.setdefault(name, value)
    return chars


# --- registration and catalog -------------------------------------------------------------------


def test_catalog_content(registry):
    for key in ("saas-analytics-starter", "saas-analytics-pro", "saas-analytics-enterprise", "edge-appliance"):
        assert key in registry.offerings
    for key in (
        "tpsm.saas-subscription",
        "tpsm.tenant",
        "tpsm.sso-integration",
        "tpsm.edge-appliance",
        "tpsm.appliance",
        "tpsm.rack-mount-kit",
    ):
        assert key in registry.specifications
    pro = registry.offerings["saas-analytics-pro"]
    seats = next(e for e in pro.entitlements if e.name == "licence-seats")
    assert (seats.unit, seats.quantity_from) == ("seat", "seats")
    assert any(e.name.startswith("support-") and e.quantity_from is None for e in pro.entitlements)
    appliance = registry.offerings["edge-appliance"]
    assert (appliance.min_quantity, appliance.max_quantity) == (1, 20)
    assert str(appliance.one_time_price) == "1890.00"
    chars = {c.name: c for c in registry.specifications["tpsm.saas-subscription"].characteristics}
    assert chars["companyName"].required and chars["seats"].required
    assert (chars["seats"].min_value, chars["seats"].max_value) == (1, 10000)
    assert chars["region"].allowed_values == ("eu", "us", "apac")


def test_keys_prefixed_handlers_used_and_dependencies_hold(registry):
    specs = [s for s in registry.specifications.values() if s.key.startswith("tpsm.")]
    used = {t.handler for s in specs for t in s.tasks if t.kind == "automatic"}
    assert used == {h.key for h in plugin.pack.om_register_task_handlers()}
    for spec in specs:
        for action in ALL_ACTIONS:
            present = {t.key for t in spec.tasks if action in t.actions}
            for t in spec.tasks:
                assert t.key.startswith("tpsm.")
                if action in t.actions:
                    assert set(t.depends_on) <= present, (spec.key, t.key, action)


def test_manual_tasks(registry):
    appliance = {t.key: t for t in registry.specifications["tpsm.appliance"].tasks}
    assert appliance["tpsm.ship-to-site"].kind == "manual"
    assert appliance["tpsm.site-acceptance"].kind == "manual"
    assert appliance["tpsm.site-acceptance"].depends_on == ("tpsm.ship-to-site",)
    assert appliance["tpsm.reserve-stock"].kind == "automatic"
    sso = {t.key: t for t in registry.specifications["tpsm.sso-integration"].tasks}
    assert sso["tpsm.configure-sso"].kind == "manual"


# --- decomposition ------------------------------------------------------------------------------


def test_sso_only_when_required(registry):
    assert "tpsm.sso-integration" not in expand(registry, "tpsm.saas-subscription", {"ssoRequired": False})
    with_sso = expand(registry, "tpsm.saas-subscription", {"ssoRequired": True})
    assert with_sso["tpsm.sso-integration"] == 1 and with_sso["tpsm.tenant"] == 1


def test_rack_kit_only_when_rack_mounted(registry):
    assert expand(registry, "tpsm.edge-appliance", {"rackMount": False}) == Counter(
        {"tpsm.edge-appliance": 1, "tpsm.appliance": 1}
    )
    assert expand(registry, "tpsm.edge-appliance", {"rackMount": True})["tpsm.rack-mount-kit"] == 1


# --- handlers -----------------------------------------------------------------------------------

SAAS = {"companyName": "Globex", "seats": 40, "region": "us", "tenantDomain": "globex-us.analytics.tpsm.example"}
CASES = [
    ("tpsm.provision-licences", "tpsm.tenant", SAAS, "licencePoolId"),
    ("tpsm.send-welcome", "tpsm.saas-subscription", SAAS, "adminInviteId"),
    ("tpsm.billing-sync", "tpsm.saas-subscription", SAAS, "billingEventReference"),
    ("tpsm.reserve-stock", "tpsm.appliance", {"country": "DE", "applianceModel": "EA-2400"}, "applianceSerial"),
    ("tpsm.register-warranty", "tpsm.appliance", {"applianceSerial": "EA2400-1"}, "warrantyId"),
    ("tpsm.issue-rma", "tpsm.appliance", {"country": "US"}, "rmaNumber"),
    ("tpsm.pick-rack-kit", "tpsm.rack-mount-kit", {"warehouse": "AMS-DC1"}, "rackKitPickList"),
]


@pytest.mark.parametrize(("key", "spec", "chars", "output"), CASES)
def test_handlers_idempotent_and_deterministic(registry, key, spec, chars, output):
    handler = registry.handlers[key]
    first = handler.do(ctx(key, spec, "o20/t1", **chars))
    assert isinstance(first, TaskOutcome) and first.characteristics[output]
    assert handler.do(ctx(key, spec, "o20/t1", **chars)) == first
    for system in ALL_SYSTEMS:
        system.clear()
    assert handler.do(ctx(key, spec, "o20/t1", **chars)) == first
    assert handler.do(ctx(key, spec, "o21/t5", **chars)).characteristics[output] != first.characteristics[output]


def test_tenant_id_follows_the_tenant_domain(registry):
    create = registry.handlers["tpsm.create-tenant"]
    first = create.do(ctx("tpsm.create-tenant", "tpsm.tenant", "k1", **SAAS))
    assert first.characteristics["tenantUrl"] == "https://globex-us.analytics.tpsm.example"
    assert first.characteristics["platformCell"] == "us-east-1.platform"
    modify = create.do(ctx("tpsm.create-tenant", "tpsm.tenant", "k2", action="modify", **SAAS))
    assert modify.characteristics["tenantId"] == first.characteristics["tenantId"]
    other = create.do(ctx("tpsm.create-tenant", "tpsm.tenant", "k3", **{**SAAS, "tenantDomain": "initech-eu.x"}))
    assert other.characteristics["tenantId"] != first.characteristics["tenantId"]


def test_reserve_stock_uses_the_serving_warehouse_and_undo_releases(registry):
    handler = registry.handlers["tpsm.reserve-stock"]
    c = ctx("tpsm.reserve-stock", "tpsm.appliance", "res-1", country="sg", applianceModel="EA-2400R")
    out = handler.do(c).characteristics
    assert out["warehouse"] == "SIN-DC1" and out["applianceSerial"].startswith("EA2400R-")
    assert WAREHOUSE.get("res-1") is not None
    handler.undo(c)
    handler.undo(c)
    assert WAREHOUSE.get("res-1") is None


def test_missing_data_raises_handler_errors(registry):
    with pytest.raises(TaskHandlerError) as err:
        registry.handlers["tpsm.register-warranty"].do(ctx("tpsm.register-warranty", "tpsm.appliance"))
    assert err.value.retryable is True
    with pytest.raises(TaskHandlerError) as err:
        registry.handlers["tpsm.provision-licences"].do(ctx("tpsm.provision-licences", "tpsm.tenant", tenantDomain="x"))
    assert err.value.retryable is False and "seats" in str(err.value)


# --- enrichment and validation ------------------------------------------------------------------


def test_enrichment_derives_tenant_domain(registry):
    chars = enrich(
        registry, line("saas-analytics-pro", "tpsm.saas-subscription", companyName="ACME Widgets B.V.", seats=10, region="eu")
    )
    assert chars["tenantDomain"] == "acme-widgets-eu.analytics.tpsm.example"
    apac = enrich(
        registry, line("saas-analytics-pro", "tpsm.saas-subscription", companyName="Müller & Söhne GmbH", seats=10, region="apac")
    )
    assert apac["tenantDomain"] == "muller-sohne-apac.analytics.tpsm.example"
    given = enrich(
        registry,
        line("saas-analytics-pro", "tpsm.saas-subscription", companyName="Acme", region="us", tenantDomain="custom.example"),
    )
    assert given["tenantDomain"] == "custom.example"


def test_enrichment_sets_appliance_model_and_warehouse(registry):
    chars = enrich(registry, line("edge-appliance-rugged", "tpsm.edge-appliance", country="us"))
    assert chars["applianceModel"] == "EA-2400R" and chars["warehouse"] == "DFW-DC1"


def test_saas_validator(registry):
    ok = line("saas-analytics-pro", "tpsm.saas-subscription", companyName="Globex", seats=200, ssoRequired=True)
    assert issues(registry, ok) == []
    # The edition's seats and SSO are the offerings' constraints (checked at capture).
    assert refused(registry, "saas-analytics-starter", seats=26, ssoRequired=True) == {"seats": "range", "ssoRequired": "allowed"}
    assert refused(registry, "saas-analytics-starter", seats=25, ssoRequired=False) == {}
    assert refused(registry, "saas-analytics-pro", seats=4) == {"seats": "range"}
    assert refused(registry, "saas-analytics-pro", seats=1000, ssoRequired=True) == {}
    assert refused(registry, "saas-analytics-enterprise", seats=99) == {"seats": "range"}
    seats = registry.rules_for("saas-analytics-enterprise").by_name["seats"]
    assert (seats.min_value, seats.max_value) == (100, 10000)
    unusable = issues(registry, line("saas-analytics-pro", "tpsm.saas-subscription", companyName="株式会社", seats=10))
    assert [i.code for i in unusable] == ["COMPANY_NAME_UNUSABLE"]


def test_shipping_validator(registry):
    ok = line(
        "edge-appliance",
        "tpsm.edge-appliance",
        quantity=3,
        shippingAddress="Herengracht 1, 1015 BA Amsterdam",
        country="NL",
        siteContactName="Jan",
    )
    assert issues(registry, ok) == []
    # The address's number and the countries we ship to are in the catalog (checked at capture).
    assert refused(registry, "edge-appliance", shippingAddress="Main Street", country="KP") == {
        "shippingAddress": "pattern",
        "country": "allowed",
    }
    assert refused(registry, "edge-appliance-rugged", shippingAddress="Main St 5", country="SG") == {}
    country = registry.rules_for("edge-appliance").by_name["country"]
    assert "NL" in country.allowed_values and "KP" not in country.allowed_values
    pallet = issues(
        registry,
        line(
            "edge-appliance", "tpsm.edge-appliance", quantity=12, shippingAddress="Main St 5", country="US", siteContactName="Ann"
        ),
    )
    assert [i.code for i in pallet] == ["CONTACT_PHONE_REQUIRED"]
    assert issues(registry, line("edge-appliance", "tpsm.edge-appliance", action="delete")) == []


# --- jeopardy and events ------------------------------------------------------------------------


def test_jeopardy_durations(registry):
    def planned(task_key, kind, spec):
        found = registry.policy_for(TaskTiming(task_key, kind, spec, None))
        return found[1] if found else None

    assert planned("tpsm.ship-to-site", "manual", "tpsm.appliance") == timedelta(days=5)
    assert planned("tpsm.site-acceptance", "manual", "tpsm.appliance") == timedelta(days=3)
    assert planned("tpsm.create-tenant", "automatic", "tpsm.tenant") == timedelta(minutes=30)
    assert planned("tpsm.reserve-stock", "automatic", "tpsm.appliance") == timedelta(minutes=10)
    assert all(
        p.planned_duration(TaskTiming("other", "automatic", "other.spec", None)) is None
        for p in plugin.pack.om_register_jeopardy_policies()
    )


def test_event_hook_keeps_alerts():
    def event(event_type, order_id):
        return OrderEvent(
            order_id,
            order_id,
            "cust-7",
            event_type,
            "task",
            5,
            None,
            None,
            "system",
            datetime(2025, 1, 1, tzinfo=UTC),
            {"jeopardyType": "High"},
        )

    plugin.pack.om_handle_order_event(event(JEOPARDY_ALERT, 1))
    plugin.pack.om_handle_order_event(event(ORDER_STATE_CHANGE, 1))
    plugin.pack.om_handle_order_event(event(JEOPARDY_ALERT, 2))
    assert [a.order_id for a in events.recent_alerts()] == [1, 2]
    assert events.recent_alerts(order_id=2)[0].payload == {"jeopardyType": "High"}
    assert events.event_counts() == {JEOPARDY_ALERT: 2, ORDER_STATE_CHANGE: 1}
    for i in range(events.MAX_REMEMBERED + 5):
        plugin.pack.om_handle_order_event(event(JEOPARDY_ALERT, 100 + i))
    assert len(events.recent_alerts()) == events.MAX_REMEMBERED
