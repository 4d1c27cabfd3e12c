"""The point of no return (core/change/ponr.py): assessing plans (hard, soft, bundles, undo work
ignored), refusing and charging, the catalog's checks, the bundles/bundledBy line relationships,
and through GraphQL a line reaching its PONRs (pointOfNoReturn, the event) with its bundle."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.catalog.definitions import CatalogContribution, SpecificationDef, TaskTemplate
from om_graph.core.catalog.extensions import TaskHandler
from om_graph.core.catalog.planning import ponr_problems
from om_graph.core.catalog.registry import Registry
from om_graph.core.change import charges, ponr
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.kernel.errors import PluginConfigurationError, ValidationFailed
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.relationships import bundles, relationship_errors
from tests import fixture_pack, fixture_ponr_pack, support

REGISTRY = Registry(catalogs=[fixture_ponr_pack.CATALOG], task_handlers=fixture_ponr_pack.om_register_task_handlers())
STARTED = datetime(2030, 1, 1, 12, 0)

# -- plans in memory -------------------------------------------------------------------------------


def _plan(lines: list[dict], tasks: list[dict]) -> OrderPlan:
    """An order plan: ``lines`` [{"relationships": [...]}] (line i+1), ``tasks`` [{"line": n, "key",
    "ponr", "started", "mode", "unit"}] (spec ponr.box, one domain order per line and unit)."""
    order = Order(id=1, customer_id="C", currency="EUR", state="inProgress", price_list=None)
    rows = [
        OrderLine(id=100 + n, order_id=1, line_number=n, action="add", relationships=line.get("relationships"))
        for n, line in enumerate(lines, start=1)
    ]
    domain_orders: dict[tuple[int, int], DomainOrder] = {}
    task_rows = []
    for i, t in enumerate(tasks, start=1):
        key = (t["line"], t.get("unit", 0))
        if key not in domain_orders:
            domain_orders[key] = DomainOrder(
                id=len(domain_orders) + 1, order_id=1, line_id=100 + t["line"], spec_key="ponr.box", kind="product"
            )
        task_rows.append(
            Task(
                id=i,
                order_id=1,
                domain_order_id=domain_orders[key].id,
                key=t["key"],
                name=t["key"].title(),
                kind=t.get("kind", "automatic"),
                state="inProgress" if t.get("started") else "pending",
                ponr=t.get("ponr"),
                mode=t.get("mode", "do"),
                started_at=STARTED if t.get("started") else None,
                assignee=None,
            )
        )
    return OrderPlan.build(order, rows, domain_orders.values(), task_rows, [])


def _hits(hits):
    return [(h.line_number, h.task_key, h.kind, h.source_line_number, h.charge) for h in hits]


def test_assess_finds_started_ponr_tasks_hard_and_soft_and_ignores_the_rest():
    plan = _plan(
        [{}, {}],
        [
            {"line": 1, "key": "ponr.prepare", "started": True},  # no PONR
            {"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True, "kind": "manual"},
            {"line": 1, "key": "ponr.activate", "ponr": "hard"},  # not started
            {"line": 2, "key": "ponr.activate", "ponr": "hard", "started": True},
            {"line": 2, "key": "ponr.ship", "ponr": "soft", "started": True, "mode": "undo"},  # compensation
        ],
    )
    one = ponr.assess(plan, [101], registry=REGISTRY)
    assert _hits(one.soft) == [(1, "ponr.ship", "soft", 1, Decimal("25.00"))] and one.hard == []
    both = ponr.assess(plan, [102, 101], registry=REGISTRY)
    assert _hits(both.hard) == [(2, "ponr.activate", "hard", 2, None)]
    assert [h.line_number for h in both.soft] == [1]
    assert ponr.assess(plan, [999], registry=REGISTRY).passed is False  # not a line of the plan


def test_a_template_hit_by_several_units_counts_once_and_a_recorded_reach_counts():
    plan = _plan(
        [{}],
        [
            {"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True, "unit": 0},
            {"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True, "unit": 1},
            {"line": 1, "key": "ponr.activate", "ponr": "hard", "unit": 0},
        ],
    )
    assert len(ponr.assess(plan, [101], registry=REGISTRY).soft) == 1
    plan.lines[0].ponr, plan.lines[0].ponr_task_id = "hard", 3  # reached (a manual claim, say) and recorded
    assert _hits(ponr.assess(plan, [101], registry=REGISTRY).hard) == [(1, "ponr.activate", "hard", 1, None)]


def test_a_bundle_member_past_ponr_holds_every_member_naming_its_task():
    plan = _plan(
        [{}, {"relationships": [{"lineNumber": 1, "relationshipType": "bundledBy"}]}, {}],
        [
            {"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True},
            {"line": 3, "key": "ponr.activate", "ponr": "hard", "started": True},
        ],
    )
    member = ponr.assess(plan, [102], registry=REGISTRY)
    assert _hits(member.soft) == [(2, "ponr.ship", "soft", 1, Decimal("25.00"))] and member.hard == []
    [hit] = member.soft
    assert hit.via_bundle and "bundled with line 1" in hit.describe()
    # the charge is the member's whose task it is, once, when both are assessed
    [charge] = ponr.charges(ponr.assess(plan, [101, 102], registry=REGISTRY))
    assert (charge["lineNumber"], charge["amount"], charge["currency"]) == (1, "25.00", "EUR")
    assert charge["name"] == "Point of no return charge: Ponr.Ship"
    # changed alone, the member carries it
    [alone] = ponr.charges(member)
    assert alone["lineNumber"] == 2


def test_refuse_past_ponr_hard_always_soft_unless_acknowledged():
    plan = _plan(
        [{}, {}],
        [
            {"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True},
            {"line": 2, "key": "ponr.activate", "ponr": "hard", "started": True},
        ],
    )
    soft = ponr.assess(plan, [101], registry=REGISTRY)
    with pytest.raises(ValidationFailed) as refused:
        ponr.refuse_past_ponr(soft, acknowledged=False)
    [error] = refused.value.errors
    assert error.code == ChangeErrorCode.PONR_ACKNOWLEDGEMENT_REQUIRED
    assert "line 1" in error.message and "'ponr.ship'" in error.message and "25.00 EUR" in error.message
    ponr.refuse_past_ponr(soft, acknowledged=True)  # goes on
    ponr.refuse_past_ponr(ponr.assess(plan, [], registry=REGISTRY), acknowledged=False)
    hard = ponr.assess(plan, [101, 102], registry=REGISTRY)
    with pytest.raises(ValidationFailed) as passed:
        ponr.refuse_past_ponr(hard, acknowledged=True)
    [error] = passed.value.errors
    assert error.code == ChangeErrorCode.PONR_PASSED and "line 2" in error.message and "'ponr.activate'" in error.message


class _Uow:
    def __init__(self):
        self.recorded = []

    def record(self, order, event_type, **kwargs):
        self.recorded.append((event_type, kwargs))


def test_apply_charges_adds_a_one_time_surcharge_to_the_line_and_the_order_totals():
    registry = REGISTRY
    plist = next(iter(registry.price_lists.values()))
    plist = dataclasses.replace(plist, tax_included=False, tax_rate=Decimal("20"), tax_rates={})
    registry = SimpleNamespace(specifications=REGISTRY.specifications, price_lists={"p": plist})
    plan = _plan([{}], [{"line": 1, "key": "ponr.ship", "ponr": "soft", "started": True}])
    order, [line] = plan.order, plan.lines
    order.price_list, order.one_time_total, order.total_prices = "p", Decimal("10.00"), []
    line.prices = {"itemTotalPrice": [{"name": "Recurring", "priceType": "recurring", "price": {}}]}
    uow = _Uow()
    applied = charges.charge_ponr(uow, order, [line], ponr.assess(plan, [101], registry=REGISTRY), "revised", registry=registry)  # type: ignore[arg-type]
    assert [(c["lineNumber"], c["amount"], c["currency"]) for c in applied] == [(1, "25.00", "EUR")]
    one_time = next(p for p in line.prices["itemTotalPrice"] if p["priceType"] == "oneTime")
    assert one_time["price"]["dutyFreeAmount"]["value"] == "25.00"
    assert one_time["price"]["taxIncludedAmount"]["value"] == "30.00"
    [alteration] = one_time["priceAlteration"]
    assert (alteration["name"], alteration["priceType"], alteration["source"]["kind"]) == (
        "Point of no return charge: Ponr.Ship",
        "surcharge",
        "pointOfNoReturn",
    )
    [total] = order.total_prices
    assert total["priceType"] == "oneTime" and total["price"]["dutyFreeAmount"]["value"] == "25.00"
    assert order.one_time_total == Decimal("35.00")
    assert [e for e, _ in uow.recorded] == ["ProductOrderAttributeValueChangeEvent"]
    # a later change of the same line past the same task is not charged again
    again = charges.charge_ponr(uow, order, [line], ponr.assess(plan, [101], registry=REGISTRY), "again", registry=registry)  # type: ignore[arg-type]
    assert again == []
    one_time = next(p for p in line.prices["itemTotalPrice"] if p["priceType"] == "oneTime")
    assert one_time["price"]["dutyFreeAmount"]["value"] == "25.00" and len(one_time["priceAlteration"]) == 1
    assert order.one_time_total == Decimal("35.00")
    # a repricing (a revision) recomputes the prices; the held charge is added back
    held = charges.held_charges(order, [line])
    line.prices = {"itemTotalPrice": [{"name": "Recurring", "priceType": "recurring", "price": {}}]}
    order.one_time_total, order.total_prices = Decimal("10.00"), []
    charges.restore_charges(order, [line], held, registry=registry)  # type: ignore[arg-type]
    one_time = next(p for p in line.prices["itemTotalPrice"] if p["priceType"] == "oneTime")
    assert one_time["price"]["dutyFreeAmount"]["value"] == "25.00"
    assert one_time["priceAlteration"][0]["source"]["taskId"] is not None
    assert order.one_time_total == Decimal("35.00") and order.total_prices[0]["price"]["dutyFreeAmount"]["value"] == "25.00"
    assert charges.charge_ponr(uow, order, [line], ponr.PonrAssessment(), "none", registry=registry) == []  # type: ignore[arg-type]


# -- the catalog's checks ------------------------------------------------------------------------


def _catalog(*templates: TaskTemplate) -> CatalogContribution:
    return CatalogContribution(pack="bad", specifications=(SpecificationDef("bad.spec", "product", "Bad", tasks=templates),))


def test_the_registry_refuses_a_charge_without_a_soft_ponr_a_negative_charge_and_an_unknown_kind():
    assert ponr_problems([fixture_ponr_pack.CATALOG]) == []
    problems = ponr_problems(
        [
            _catalog(
                TaskTemplate("a", "A", kind="manual", ponr_charge=Decimal("5")),
                TaskTemplate("b", "B", kind="manual", ponr="hard", ponr_charge=Decimal("5")),
                TaskTemplate("c", "C", kind="manual", ponr="soft", ponr_charge=Decimal("-1")),
                TaskTemplate("d", "D", kind="manual", ponr="later"),  # type: ignore[arg-type]
                TaskTemplate("e", "E", kind="manual", ponr="soft", ponr_charge=5),  # type: ignore[arg-type]
            )
        ]
    )
    assert len(problems) == 5, problems
    assert "task 'a'" in problems[0] and "needs ponr='soft'" in problems[0]
    assert "task 'b'" in problems[1]
    assert "negative" in problems[2] and "unknown ponr 'later'" in problems[3] and "Decimal" in problems[4]
    with pytest.raises(PluginConfigurationError, match="needs ponr='soft'"):
        Registry(
            catalogs=[_catalog(TaskTemplate("a", "A", kind="manual", ponr_charge=Decimal("5")))],
            task_handlers=[TaskHandler("x", do=print)],
        )


# -- bundles/bundledBy ---------------------------------------------------------------------------


def test_bundle_relationships_are_checked_at_capture():
    assert relationship_errors([[(2, "bundles")], [], [(1, "bundledBy"), (2, "reliesOn")]]) == []
    both = relationship_errors([[(2, "bundles"), (2, "bundledBy")], []])
    assert [(e.field, e.code) for e in both] == [("lines.0.relationships.1.relationshipType", "INVALID")]
    [loop] = relationship_errors([[(2, "bundles")], [(3, "bundles")], [(1, "bundles")]])
    assert "bundles contain each other in a cycle: 1 -> 2 -> 3 -> 1" in loop.message
    [contra] = relationship_errors([[(2, "bundles")], [(1, "bundles")]])  # each inside the other
    assert "cycle" in contra.message
    # a bundle and reliesOn between the same lines are independent (no reliesOn cycle)
    assert relationship_errors([[(2, "bundles")], [(1, "reliesOn")]]) == []
    [self_] = relationship_errors([[(1, "bundledBy")]])
    assert self_.code == "INVALID"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(1, n), st.integers(1, n), st.sampled_from(["bundles", "bundledBy", "reliesOn"]))),
        )
    )
)
def test_bundles_partition_the_lines_by_bundle_links_either_way(drawn):
    n, links = drawn
    stored: dict[int, list[dict]] = {i: [] for i in range(1, n + 1)}
    for a, b, kind in links:
        stored[a].append({"lineNumber": b, "relationshipType": kind})
    found = bundles(list(stored.items()))
    assert set(found) == set(stored)
    for number, members in found.items():
        assert number in members and all(found[m] == members for m in members)  # a partition
    for a, b, kind in links:
        if kind != "reliesOn":
            assert found[a] == found[b]  # linked either way: one bundle
    # nothing but bundle links joins lines
    groups = {frozenset(m) for m in found.values()}
    linked = {frozenset((a, b)) for a, b, kind in links if kind != "reliesOn" and a != b}
    for group in groups:
        if len(group) > 1:
            assert all(any(pair <= group and number in pair for pair in linked) for number in group)


# -- through GraphQL -------------------------------------------------------------------------------

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id lines { id lineNumber relationships { lineNumber relationshipType } } } errors { field message code } }
}"""
LINES = """
query($id: ID!) { order(id: $id) { lines { id lineNumber } } }"""
ORDER = """
query($id: ID!) {
  order(id: $id) {
    state
    lines { lineNumber pointOfNoReturn { kind reachedAt taskId task { key name } } }
    domainOrders { tasks { id key state } }
    events { type entityKind payload }
  }
}"""
CLAIM = "mutation($id: ID!) { taskClaim(input: {id: $id}) { task { id assignee } errors { code message } } }"
COMPLETE = "mutation($id: ID!) { taskComplete(input: {id: $id}) { task { state } errors { code message } } }"


def _gql(client, query, variables=None, headers=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture
def client(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, extra_plugins=(fixture_pack, fixture_ponr_pack), worker_threads=2)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        client.agent = support.bearer(runtime, "order_fulfillment_agent")  # works the manual tasks
        yield client


LINE_CANCEL = """
mutation($input: OrderLineCancelInput!) {
  orderLineCancel(input: $input) { cancelRequest { state result resultMessage } errors { field code message } }
}"""
ORDER_CANCEL = """
mutation($input: OrderCancelInput!) {
  orderCancel(input: $input) { cancelRequest { state pointOfNoReturnAcknowledged } errors { field code message } }
}"""
PRICES = """
query($id: ID!) {
  order(id: $id) {
    lines { itemTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name priceType source { kind } } } }
    orderTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name } }
  }
}"""


def _order(client, order_id):
    return _gql(client, ORDER, {"id": order_id})["order"]


def _create(client, lines) -> str:
    created = _gql(client, CREATE, {"input": {"customerId": "PONR", "lines": lines, "requestedInitialState": "ACKNOWLEDGED"}})
    assert created["orderCreate"]["errors"] == []
    return created["orderCreate"]["order"]["id"]


def _task(order, key):
    return next((t for d in order["domainOrders"] for t in d["tasks"] if t["key"] == key), None)


def _ship_ready(client, order_id):
    def ready():
        order = _order(client, order_id)
        return order if (_task(order, "ponr.ship") or {}).get("state") == "READY" else None

    return support.wait_for(ready, 30, message="the manual shipment to be ready")


def _reached(order):
    found = [e["payload"] for e in order["events"] if e["type"] == "ProductOrderPointOfNoReturnEvent"]
    assert {e["entityKind"] for e in order["events"] if e["type"] == "ProductOrderPointOfNoReturnEvent"} <= {"line"}
    return sorted((p["lineNumber"], p["kind"], p["taskKey"], p.get("viaLineNumber")) for p in found)


def test_a_line_reaching_its_ponrs_shows_them_marks_its_bundle_and_holds_its_cancellation(client):
    order_id = _create(
        client,
        [
            {"offering": "ponr-box"},
            {"offering": "ponr-slow", "relationships": [{"lineNumber": 1, "relationshipType": "bundledBy"}]},
            {"offering": "ponr-plain"},
        ],
    )
    order = _ship_ready(client, order_id)
    assert [line["pointOfNoReturn"] for line in order["lines"]] == [None, None, None]  # prepare has none
    ship = _task(order, "ponr.ship")
    member_line_id = next(
        line["id"] for line in _gql(client, LINES, {"id": order_id})["order"]["lines"] if line["lineNumber"] == 2
    )

    claimed = _gql(client, CLAIM, {"id": ship["id"]}, client.agent)["taskClaim"]
    assert claimed["errors"] == []
    box, member, other = _order(client, order_id)["lines"]
    assert box["pointOfNoReturn"]["kind"] == "SOFT"
    assert box["pointOfNoReturn"]["task"] == {"key": "ponr.ship", "name": "Ship the box"}
    assert box["pointOfNoReturn"]["taskId"] == ship["id"] and box["pointOfNoReturn"]["reachedAt"]
    assert member["pointOfNoReturn"]["kind"] == "SOFT" and member["pointOfNoReturn"]["taskId"] == ship["id"]  # the bundle
    assert other["pointOfNoReturn"] is None
    assert _reached(_order(client, order_id)) == [(1, "soft", "ponr.ship", None), (2, "soft", "ponr.ship", 1)]

    # the bundle member's cancellation needs the soft PONR acknowledged (nothing is stored)
    refused = _gql(client, LINE_CANCEL, {"input": {"lineId": member_line_id, "reason": "customer changed their mind"}})
    [error] = refused["orderLineCancel"]["errors"]
    assert error["code"] == "PONR_ACKNOWLEDGEMENT_REQUIRED"
    assert "bundled with line 1" in error["message"] and "'ponr.ship'" in error["message"] and "25.00" in error["message"]

    assert _gql(client, COMPLETE, {"id": ship["id"]}, client.agent)["taskComplete"]["errors"] == []

    def box_done():
        order = _order(client, order_id)
        return order if (_task(order, "ponr.activate") or {}).get("state") == "COMPLETED" else None

    order = support.wait_for(box_done, 30, message="the activation")
    box, member, other = order["lines"]
    assert (box["pointOfNoReturn"]["kind"], box["pointOfNoReturn"]["task"]["key"]) == ("HARD", "ponr.activate")
    assert member["pointOfNoReturn"]["kind"] == "HARD" and other["pointOfNoReturn"] is None
    assert _reached(order) == [
        (1, "hard", "ponr.activate", None),
        (1, "soft", "ponr.ship", None),
        (2, "hard", "ponr.activate", 1),
        (2, "soft", "ponr.ship", 1),
    ]  # once per line and kind: completing the claimed task reached nothing new

    # past the hard PONR (through the bundle), the member's cancellation is denied, acknowledged or not
    denied = _gql(
        client,
        LINE_CANCEL,
        {"input": {"lineId": member_line_id, "reason": "too late?", "acknowledgePointOfNoReturn": True}},
    )["orderLineCancel"]
    assert denied["errors"] == []
    request = denied["cancelRequest"]
    assert (request["state"], request["result"]) == ("DONE", "DENIED")
    assert "PONR_PASSED" in request["resultMessage"] and "'ponr.activate'" in request["resultMessage"]


def test_an_acknowledged_cancellation_past_a_soft_ponr_is_charged(client):
    order_id = _create(client, [{"offering": "ponr-box"}])
    ship = _task(_ship_ready(client, order_id), "ponr.ship")
    assert _gql(client, CLAIM, {"id": ship["id"]}, client.agent)["taskClaim"]["errors"] == []
    before = _gql(client, PRICES, {"id": order_id})["order"]
    one_time = next(p for p in before["orderTotalPrice"] if p["priceType"] == "oneTime")
    total_before = Decimal(one_time["price"]["dutyFreeAmount"]["amount"])

    refused = _gql(client, ORDER_CANCEL, {"input": {"id": order_id, "reason": "moving abroad"}})["orderCancel"]
    assert [e["code"] for e in refused["errors"]] == ["PONR_ACKNOWLEDGEMENT_REQUIRED"]
    accepted = _gql(
        client, ORDER_CANCEL, {"input": {"id": order_id, "reason": "moving abroad", "acknowledgePointOfNoReturn": True}}
    )["orderCancel"]
    assert accepted["errors"] == [] and accepted["cancelRequest"]["pointOfNoReturnAcknowledged"] is True

    after = _gql(client, PRICES, {"id": order_id})["order"]
    [line] = after["lines"]
    line_one_time = next(p for p in line["itemTotalPrice"] if p["priceType"] == "oneTime")
    charge = line_one_time["priceAlteration"][-1]
    assert charge == {
        "name": "Point of no return charge: Ship the box",
        "priceType": "surcharge",
        "source": {"kind": "pointOfNoReturn"},
    }
    one_time = next(p for p in after["orderTotalPrice"] if p["priceType"] == "oneTime")
    assert Decimal(one_time["price"]["dutyFreeAmount"]["amount"]) == total_before + fixture_ponr_pack.SHIP_CHARGE


REVISE = """
mutation($input: OrderReviseInput!) {
  orderRevise(input: $input) { revision { state } errors { field code message } }
}"""


def test_a_revision_of_a_bundle_member_past_a_soft_ponr_needs_the_acknowledgement(client):
    order_id = _create(
        client,
        [
            {"offering": "ponr-box"},
            {"offering": "ponr-slow", "relationships": [{"lineNumber": 1, "relationshipType": "bundledBy"}]},
        ],
    )
    ship = _task(_ship_ready(client, order_id), "ponr.ship")
    assert _gql(client, CLAIM, {"id": ship["id"]}, client.agent)["taskClaim"]["errors"] == []
    revise = {"id": order_id, "reason": "drop the add-on", "lines": [{"lineNumber": 2, "remove": True}]}
    [error] = _gql(client, REVISE, {"input": revise})["orderRevise"]["errors"]
    assert error["code"] == "PONR_ACKNOWLEDGEMENT_REQUIRED" and "bundled with line 1" in error["message"]


_TASKS = st.lists(
    st.fixed_dictionaries(
        {
            "line": st.integers(1, 5),
            "key": st.sampled_from(["ponr.prepare", "ponr.ship", "ponr.activate"]),
            "started": st.booleans(),
            "mode": st.sampled_from(["do", "do", "undo", "redo"]),
            "unit": st.integers(0, 1),
        }
    ),
    max_size=12,
)
_KINDS = {"ponr.prepare": None, "ponr.ship": "soft", "ponr.activate": "hard"}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.sampled_from(["bundles", "bundledBy"])), max_size=4), _TASKS)
def test_assess_is_the_union_of_the_bundle_members_started_ponr_work(links, tasks):
    relationships: dict[int, list[dict]] = {n: [] for n in range(1, 6)}
    for a, b, kind in links:
        if a != b:
            relationships[a].append({"lineNumber": b, "relationshipType": kind})
    plan = _plan(
        [{"relationships": relationships[n] or None} for n in range(1, 6)], [{**t, "ponr": _KINDS[t["key"]]} for t in tasks]
    )
    members = bundles([(n, relationships[n]) for n in range(1, 6)])
    for number in range(1, 6):
        found = ponr.assess(plan, [100 + number], registry=REGISTRY)
        expected = {
            (t["line"], t["key"], _KINDS[t["key"]])
            for t in tasks
            if t["line"] in members[number] and t["started"] and t["mode"] == "do" and _KINDS[t["key"]]
        }
        got = [(h.source_line_number, h.task_key, h.kind) for h in found.hard + found.soft]
        assert sorted(got) == sorted(expected)  # each (member, template) once, undo/redo work never
        assert all(h.kind == "hard" for h in found.hard) and all(h.kind == "soft" for h in found.soft)
        assert all(h.line_number == number for h in found.hard + found.soft)
        assert all((h.charge is not None) == (h.kind == "soft") for h in found.hard + found.soft)
