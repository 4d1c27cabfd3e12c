"""In-flight revision (core/change/revision.py, versions.py, plan_diff.py) through GraphQL: the
compensation plan undoes and redoes exactly the affected completed work in reverse dependency
order, cancels and replaces open work, leaves the rest untouched, and the order completes with the
new values; versions and their diff; one revision at a time; approval by the policy; PONR. Each
scenario reads the order's event history as its evidence."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_pack, fixture_ponr_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version } errors { field message code } }
}"""
DETAIL = """
query($id: ID!) {
  order(id: $id) {
    id state version
    lines { lineNumber quantity state characteristics { name value } }
    domainOrders { specKey unitIndex state tasks { id key name state mode compensatesId } }
    events { type entityKind entityId fromState toState payload }
    versions { number reason revisionId createdBy }
    revisions { id state baseVersion newVersion compensation diff { path kind from to } }
  }
}"""
REVISE = """
mutation($input: OrderReviseInput!) {
  orderRevise(input: $input) {
    revision { id state baseVersion newVersion compensation charges diff { path kind from to } }
    order { id version }
    errors { field message code }
  }
}"""
DIFF = """
query($id: ID!, $a: Int!, $b: Int!) { orderVersionDiff(orderId: $id, from: $a, to: $b) { path kind from to } }"""
COMPLETE = """
mutation($id: ID!, $chars: [CharacteristicInput!]) {
  taskComplete(input: {id: $id, characteristics: $chars}) { task { id state } errors { code message } }
}"""
APPROVE = """
mutation($id: ID!) { revisionApprove(input: {id: $id}) { revision { state newVersion } errors { code message } } }"""
CLAIM = """mutation($id: ID!) { taskClaim(input: {id: $id}) { task { state } errors { code message } } }"""


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _order(client, order_id):
    return _gql(client, DETAIL, {"id": order_id})["order"]


def _tasks(order):
    return [t for d in order["domainOrders"] for t in d["tasks"]]


def _ready(client, order_id, key):
    def found():
        order = _order(client, order_id)
        return [t for t in _tasks(order) if t["key"] == key and t["state"] == "READY"]

    return support.wait_for(found, 60, message=f"{key} ready")


def _wait_state(client, order_id, state, timeout=60):
    return support.wait_for(lambda: (o := _order(client, order_id))["state"] == state and o, timeout, message=f"order {state}")


def _revise(client, order_id, version, **fields):
    return _gql(client, REVISE, {"input": {"id": order_id, "version": version, "reason": "customer asked", **fields}})[
        "orderRevise"
    ]


def _create(client, lines, customer="REV"):
    created = _gql(client, CREATE, {"input": {"customerId": customer, "lines": lines, "requestedInitialState": "ACKNOWLEDGED"}})
    assert created["orderCreate"]["errors"] == []
    return created["orderCreate"]["order"]["id"]


# -- the fibre order (tsm pack) ------------------------------------------------------------------


@pytest.fixture
def packs(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, extra_plugins=(), load_entrypoints=True, task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def test_a_fibre_order_revised_mid_flight_undoes_and_redoes_the_access_line(packs):
    chars = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": "12 Harbour Road, Leith"}]
    order_id = _create(packs, [{"offering": "fibre-broadband-500", "characteristics": chars}], customer="CUST-REV")
    _ready(packs, order_id, "tsm.onsite-installation")  # the access line is allocated, its OLT port reserved
    before = _order(packs, order_id)
    completed_before = {t["id"]: t["key"] for t in _tasks(before) if t["state"] == "COMPLETED"}
    assert {"tsm.allocate-access-line", "tsm.reserve-olt-port"} <= set(completed_before.values())

    address = "7 New Street, Portobello"
    revised = _revise(
        packs,
        order_id,
        before["version"],
        lines=[{"lineNumber": 1, "characteristics": [{"name": "installationAddress", "value": address}]}],
    )
    assert revised["errors"] == []
    revision = revised["revision"]
    assert (revision["state"], revision["baseVersion"], revision["newVersion"]) == ("IN_PROGRESS", 1, 2)
    assert revision["diff"] == [
        {
            "path": "lines.1.characteristics.installationAddress",
            "kind": "characteristic",
            "from": "12 Harbour Road, Leith",
            "to": address,
        }
    ]
    plan = revision["compensation"]
    # Exactly the access line's completed work is undone and redone; the ONT, router and service work is untouched.
    assert sorted(t["key"] for t in plan["undo"]) == ["tsm.allocate-access-line", "tsm.reserve-olt-port"]
    assert sorted(t["key"] for t in plan["redo"]) == ["tsm.allocate-access-line", "tsm.reserve-olt-port"]
    assert "tsm.onsite-installation" in [t["key"] for t in plan["cancel"]]
    untouched = {i for i, k in completed_before.items() if k not in ("tsm.allocate-access-line", "tsm.reserve-olt-port")}
    assert untouched and not untouched & {t["id"] for t in plan["undo"]}

    [installation] = _ready(packs, order_id, "tsm.onsite-installation")
    done = _gql(packs, COMPLETE, {"id": installation["id"], "chars": []})["taskComplete"]
    assert done["errors"] == []
    order = _wait_state(packs, order_id, "COMPLETED")

    # The evidence: undo of the port before undo of the line (reverse dependency order), each redo
    # after its undo (Task.mode and Task.compensatesId say which task is which).
    tasks = _tasks(order)
    key_of = {t["id"]: t["key"] for t in tasks}
    undo = {key_of[t["compensatesId"]]: t["id"] for t in tasks if t["mode"] == "UNDO"}
    redo = {key_of[t["compensatesId"]]: t["id"] for t in tasks if t["mode"] == "REDO"}
    assert set(undo) == set(redo) == {"tsm.allocate-access-line", "tsm.reserve-olt-port"}
    finished = [e["entityId"] for e in order["events"] if e["entityKind"] == "task" and e["toState"] == "completed"]
    assert finished.index(undo["tsm.reserve-olt-port"]) < finished.index(undo["tsm.allocate-access-line"])
    for key in undo:
        assert finished.index(redo[key]) > finished.index(undo[key])
    assert not {t["mode"] for t in tasks if t["id"] in completed_before} - {"DO"}
    # The untouched tasks ran once: no second completion, no undo.
    for task_id in untouched:
        assert (
            sum(
                1
                for e in order["events"]
                if e["entityKind"] == "task" and e["entityId"] == task_id and e["toState"] == "completed"
            )
            == 1
        )
    assert [r["state"] for r in order["revisions"]] == ["COMPLETED"]
    assert [v["number"] for v in order["versions"]] == [1, 2]
    revision_events = [e for e in order["events"] if e["type"] == "ProductOrderRevisionStateChangeEvent"]
    assert [e["toState"] for e in revision_events] == ["assessing", "inProgress", "completed"]
    line_values = {c["name"]: c["value"] for c in order["lines"][0]["characteristics"]}
    assert line_values["installationAddress"] == address
    products = _gql(
        packs,
        "query($o: ID) { products(orderId: $o) { edges { node { status characteristics { name value } } } } }",
        {"o": order_id},
    )
    [edge] = products["products"]["edges"]
    values = {c["name"]: c["value"] for c in edge["node"]["characteristics"]}
    assert edge["node"]["status"] == "ACTIVE" and values["installationAddress"] == address
    # The redo acted on the new values: the access line's domain order (what its tasks read) has them.
    domain = _gql(
        packs,
        "query($id: ID!) { order(id: $id) { domainOrders { specKey characteristics { name value } } } }",
        {"id": order_id},
    )["order"]["domainOrders"]
    access = next(d for d in domain if d["specKey"] == "tsm.access-line")
    assert {c["name"]: c["value"] for c in access["characteristics"]}["installationAddress"] == address


# -- the test pack -------------------------------------------------------------------------------


@pytest.fixture
def client(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, extra_plugins=(fixture_pack, fixture_auto_pack, fixture_ponr_pack), task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def _internet(**chars):
    values = {"speed": 100, "address": "1 Main St", **chars}
    return {"offering": "test-internet", "characteristics": [{"name": k, "value": v} for k, v in values.items()]}


def test_quantity_lines_versions_conflict_and_one_at_a_time(client):
    order_id = _create(client, [_internet(), _internet(address="2 Side St")])
    _ready(client, order_id, "test.install")
    order = _order(client, order_id)
    stale = order["version"] - 1

    conflict = _revise(client, order_id, stale, lines=[{"lineNumber": 1, "quantity": 2}])
    assert [e["code"] for e in conflict["errors"]] == ["CONFLICT"]
    nothing = _revise(client, order_id, order["version"], lines=[{"lineNumber": 1, "quantity": 1}])
    assert [e["code"] for e in nothing["errors"]] == ["NO_CHANGE"]
    both = _revise(client, order_id, order["version"], lines=[{"lineNumber": 2, "remove": True, "quantity": 3}])
    assert [(e["field"], e["code"]) for e in both["errors"]] == [("lines.0.remove", "INVALID")]

    # Quantity up on line 1, line 2 removed, a line added.
    first = _revise(
        client,
        order_id,
        order["version"],
        lines=[{"lineNumber": 1, "quantity": 2}, {"lineNumber": 2, "remove": True}],
        addLines=[_internet(address="3 New St")],
    )
    assert first["errors"] == [], first["errors"]
    kinds = sorted(c["kind"] for c in first["revision"]["diff"])
    assert {"quantity", "lineRemoved", "lineAdded"} <= set(kinds)
    plan = first["revision"]["compensation"]
    assert plan["add"] and plan["undo"]  # units and line 3 added; line 2's completed work undone
    order = _order(client, order_id)
    assert sorted(d["unitIndex"] for d in order["domainOrders"] if d["specKey"] == "test.internet") == [0, 0, 0, 1]
    # A second revision while the first runs (its new installation work is open).
    second = _revise(client, order_id, order["version"], lines=[{"lineNumber": 1, "quantity": 1}])
    assert [e["code"] for e in second["errors"]] == ["REVISION_IN_PROGRESS"]

    # Only the installations the revision added: line 1's first unit keeps the order running.
    added = {t["id"] for t in plan["add"] if t["key"] == "test.install"}

    def revision_done():
        order = _order(client, order_id)
        for task in [t for t in _tasks(order) if t["id"] in added and t["state"] == "READY"]:
            done = _gql(client, COMPLETE, {"id": task["id"], "chars": [{"name": "ontSerial", "value": "S"}]})["taskComplete"]
            assert done["errors"] == [], done["errors"]
        return order["revisions"][-1]["state"] == "COMPLETED"

    support.wait_for(revision_done, 60, interval=0.5, message="revision 1 done")
    assert _order(client, order_id)["state"] == "IN_PROGRESS"

    # Quantity down: the highest unit goes.
    order = _order(client, order_id)
    down = _revise(client, order_id, order["version"], lines=[{"lineNumber": 1, "quantity": 1}])
    assert down["errors"] == [] and down["revision"]["newVersion"] == 3
    units = {t["id"] for t in down["revision"]["compensation"]["undo"] + down["revision"]["compensation"]["cancel"]}
    # The second unit's six tasks (all completed: undone), added by revision 1; line 3's stay.
    assert len(units) == 6 and units <= {t["id"] for t in plan["add"]}
    assert {t["key"] for t in down["revision"]["compensation"]["undo"]} == {t["key"] for t in plan["add"]}

    diff = _gql(client, DIFF, {"id": order_id, "a": 1, "b": 3})["orderVersionDiff"]
    assert {"path": "lines.2", "kind": "lineRemoved"}.items() <= {
        k: v for k, v in diff[0].items() if k in ("path", "kind")
    }.items() or any(c["path"] == "lines.2" and c["kind"] == "lineRemoved" for c in diff)
    assert any(c["path"] == "lines.3" and c["kind"] == "lineAdded" for c in diff)
    assert not any(c["path"] == "lines.1.quantity" for c in diff)  # 1 -> 2 -> 1
    unknown = client.post("/graphql", json={"query": DIFF, "variables": {"id": order_id, "a": 1, "b": 9}}).json()
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_ORDER_VERSION" or "UNKNOWN_ORDER_VERSION" in str(unknown)


def test_a_revision_the_approval_policy_asks_for_waits_for_an_approver(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, task_lease_seconds=30)
    app = create_app(runtime=runtime)
    with (
        TestClient(app, headers=support.bearer(runtime, "order_manager")) as client,
        TestClient(app, headers=support.bearer(runtime, "order_approver")) as approver,
    ):
        order_id = _create(client, [_internet(), _internet(address="2 Side St")])
        _ready(client, order_id, "test.install")
        order = _order(client, order_id)
        # Over the policy's 10 %; a line added and one removed: the approver applies them (the
        # derived line transitions are the system's: an approver holds no order:capture or order:cancel).
        asked = _revise(
            client,
            order_id,
            order["version"],
            manualDiscountPercent="25",
            addLines=[_internet(address="3 New St")],
            lines=[{"lineNumber": 2, "remove": True}],
        )
        assert asked["errors"] == [], asked["errors"]
        revision = asked["revision"]
        assert revision["state"] == "PENDING_APPROVAL" and revision["newVersion"] is None
        waiting = _order(client, order_id)
        assert waiting["version"] > order["version"] and waiting["revisions"][0]["state"] == "PENDING_APPROVAL"
        forbidden = client.post("/graphql", json={"query": APPROVE, "variables": {"id": revision["id"]}}).json()
        assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # order:approve
        queue = "{ revisionsAwaitingApproval { id orderId state reason } }"
        assert revision["id"] in [r["id"] for r in _gql(approver, queue)["revisionsAwaitingApproval"]]

        approved = _gql(approver, APPROVE, {"id": revision["id"]})["revisionApprove"]
        assert approved["errors"] == [], approved["errors"]
        assert approved["revision"]["state"] in ("IN_PROGRESS", "COMPLETED") and approved["revision"]["newVersion"] == 2
        order = _order(client, order_id)
        events = [e["toState"] for e in order["events"] if e["type"] == "ProductOrderRevisionStateChangeEvent"]
        assert events[:3] == ["assessing", "pendingApproval", "inProgress"]
        assert [v["number"] for v in order["versions"]] == [1, 2]
        assert revision["id"] not in [r["id"] for r in _gql(approver, queue)["revisionsAwaitingApproval"]]


def test_a_revision_past_a_hard_point_of_no_return_is_refused_naming_the_task(client):
    box = {"offering": "ponr-box", "relationships": [{"lineNumber": 2, "relationshipType": "bundles"}]}
    order_id = _create(client, [box, {"offering": "ponr-slow"}])
    [ship] = _ready(client, order_id, "ponr.ship")
    _gql(client, COMPLETE, {"id": ship["id"], "chars": []})
    support.wait_for(
        lambda: any(t["key"] == "ponr.activate" and t["state"] == "COMPLETED" for t in _tasks(_order(client, order_id))),
        60,
        message="the hard PONR task",
    )
    order = _order(client, order_id)
    refused = _revise(client, order_id, order["version"], lines=[{"lineNumber": 2, "remove": True}])
    assert {e["code"] for e in refused["errors"]} == {"PONR_PASSED"}
    assert any("ponr.activate" in e["message"] for e in refused["errors"])
    assert refused["revision"] is None
    assert not [e for e in _order(client, order_id)["events"] if e["type"] == "ProductOrderRevisionStateChangeEvent"]


# -- quantity and inventory ----------------------------------------------------------------------

PRODUCTS = """
query($o: ID) { products(orderId: $o) { edges { node { id status history { event toStatus } } } } }"""


def _complete_installs_until(client, order_id, state):
    def finished():
        order = _order(client, order_id)
        for task in [t for t in _tasks(order) if t["key"] == "test.install" and t["state"] == "READY"]:
            done = _gql(client, COMPLETE, {"id": task["id"], "chars": [{"name": "ontSerial", "value": "S"}]})["taskComplete"]
            assert done["errors"] == [], done["errors"]
        return order["state"] == state and order

    return support.wait_for(finished, 60, interval=0.5, message=f"order {state}")


def _products(client, order_id):
    return [e["node"] for e in _gql(client, PRODUCTS, {"o": order_id})["products"]["edges"]]


def test_raising_a_quantity_adds_the_units_products_and_lowering_it_cancels_the_surplus(client):
    up = _create(client, [{**_internet(), "quantity": 2}])
    _ready(client, up, "test.install")
    raised = _revise(client, up, _order(client, up)["version"], lines=[{"lineNumber": 1, "quantity": 3}])
    assert raised["errors"] == [], raised["errors"]
    assert len(_products(client, up)) == 3  # the third unit's placeholder, with the others
    _complete_installs_until(client, up, "COMPLETED")
    assert sorted(p["status"] for p in _products(client, up)) == ["ACTIVE"] * 3

    down = _create(client, [{**_internet(), "quantity": 3}], customer="REV-DOWN")
    _ready(client, down, "test.install")
    lowered = _revise(client, down, _order(client, down)["version"], lines=[{"lineNumber": 1, "quantity": 2}])
    assert lowered["errors"] == [], lowered["errors"]
    order = _complete_installs_until(client, down, "COMPLETED")
    products = _products(client, down)
    assert sorted(p["status"] for p in products) == ["ACTIVE", "ACTIVE", "CANCELLED"]
    [cancelled] = [p for p in products if p["status"] == "CANCELLED"]
    assert [h["event"] for h in cancelled["history"]][-1] == "cancel"
    # The removed unit's domain orders are withdrawn after its undos, the kept units' completed.
    states = {d["unitIndex"]: d["state"] for d in order["domainOrders"] if d["specKey"] == "test.internet"}
    assert states == {0: "COMPLETED", 1: "COMPLETED", 2: "CANCELLED"}
    withdrawn = [
        e for e in order["events"] if e["entityKind"] == "domainOrder" and (e["payload"] or {}).get("event") == "withdraw"
    ]
    assert withdrawn or any(e["toState"] == "cancelled" for e in order["events"] if e["entityKind"] == "domainOrder")


def test_a_unit_removed_and_added_again_is_provisioned_again(client):
    """Quantity 3 → 2 → 3: the third unit's work is undone and its domain orders withdrawn, then a
    new unit is planned and built (work whose effect was reversed never stands for the new one)."""
    order_id = _create(client, [{**_internet(), "quantity": 3}], customer="REV-AGAIN")
    _ready(client, order_id, "test.install")
    lowered = _revise(client, order_id, _order(client, order_id)["version"], lines=[{"lineNumber": 1, "quantity": 2}])
    assert lowered["errors"] == [], lowered["errors"]
    support.wait_for(
        lambda: _order(client, order_id)["revisions"][0]["state"] == "COMPLETED", 30, message="the first revision done"
    )
    raised = _revise(client, order_id, _order(client, order_id)["version"], lines=[{"lineNumber": 1, "quantity": 3}])
    assert raised["errors"] == [], raised["errors"]
    order = _complete_installs_until(client, order_id, "COMPLETED")
    assert sorted(p["status"] for p in _products(client, order_id)) == ["ACTIVE"] * 3 + ["CANCELLED"]
    third = sorted(d["state"] for d in order["domainOrders"] if d["specKey"] == "test.internet" and d["unitIndex"] == 2)
    assert third == ["CANCELLED", "COMPLETED"]  # the withdrawn one, and the new one built


# -- pending approval ----------------------------------------------------------------------------

LINE_INSTALLS = """
query($id: ID!) { order(id: $id) { domainOrders { lineNumber tasks { id key } } } }"""
REJECT = """
mutation($id: ID!) { revisionReject(input: {id: $id, comment: "too generous"}) { revision { state } errors { code } } }"""


def _install_by_line(client, order_id):
    domain_orders = _gql(client, LINE_INSTALLS, {"id": order_id})["order"]["domainOrders"]
    return {d["lineNumber"]: t["id"] for d in domain_orders for t in d["tasks"] if t["key"] == "test.install"}


def test_a_revision_waiting_for_approval_holds_its_lines_work_until_rejected(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, task_lease_seconds=30)
    app = create_app(runtime=runtime)
    with (
        TestClient(app, headers=support.bearer(runtime, "order_manager")) as client,
        TestClient(app, headers=support.bearer(runtime, "order_approver")) as approver,
        TestClient(app, headers=support.bearer(runtime, "order_fulfillment_agent")) as agent,
    ):
        order_id = _create(client, [_internet(), _internet(address="2 Side St")])
        _ready(client, order_id, "test.install")
        order = _order(client, order_id)
        asked = _revise(
            client,
            order_id,
            order["version"],
            lines=[{"lineNumber": 1, "characteristics": [{"name": "address", "value": "9 Far St"}]}],
            manualDiscountPercent="25",
        )
        assert asked["errors"] == [] and asked["revision"]["state"] == "PENDING_APPROVAL", asked
        lines = _gql(client, "query($id: ID!) { order(id: $id) { lines { lineNumber holdReason } } }", {"id": order_id})
        reasons = {line["lineNumber"]: line["holdReason"] for line in lines["order"]["lines"]}
        assert reasons[1] and "awaits approval" in reasons[1] and reasons[2] is None
        by_line = _install_by_line(client, order_id)
        held = _gql(agent, CLAIM, {"id": by_line[1]})["taskClaim"]
        assert [e["code"] for e in held["errors"]] == ["HELD"]  # the revised line's work waits
        free = _gql(agent, CLAIM, {"id": by_line[2]})["taskClaim"]
        assert free["errors"] == []  # the other line's does not

        rejected = _gql(approver, REJECT, {"id": asked["revision"]["id"]})["revisionReject"]
        assert rejected["errors"] == [] and rejected["revision"]["state"] == "REJECTED"
        released = _gql(agent, CLAIM, {"id": by_line[1]})["taskClaim"]
        assert released["errors"] == [], released


# -- a soft point of no return -------------------------------------------------------------------

PRICES = """
query($id: ID!) { order(id: $id) {
  orderTotalPrice { priceType price { dutyFreeAmount { amount } } }
  lines { itemTotalPrice { priceType price { dutyFreeAmount { amount } } priceAlteration { name priceType } } }
} }"""


def test_a_revision_past_a_soft_point_of_no_return_needs_acknowledging_and_is_charged(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, extra_plugins=(fixture_ponr_pack,), task_lease_seconds=30)
    app = create_app(runtime=runtime)
    with (
        TestClient(app, headers=support.bearer(runtime, "order_manager")) as client,
        TestClient(app, headers=support.bearer(runtime, "order_fulfillment_agent")) as agent,
    ):
        order_id = _create(client, [{"offering": "ponr-box"}, {"offering": "ponr-slow"}])
        [ship] = _ready(client, order_id, "ponr.ship")
        taken = _gql(agent, CLAIM, {"id": ship["id"]})["taskClaim"]
        assert taken["errors"] == [], taken  # taken: its soft point of no return
        version = _order(client, order_id)["version"]
        change = {"lines": [{"lineNumber": 1, "remove": True}]}
        asked = _revise(client, order_id, version, **change)
        assert [e["code"] for e in asked["errors"]] == ["PONR_ACKNOWLEDGEMENT_REQUIRED"] and asked["revision"] is None, asked
        acknowledged = _revise(client, order_id, version, acknowledgePointOfNoReturn=True, **change)
        assert acknowledged["errors"] == [], acknowledged["errors"]
        [charge] = acknowledged["revision"]["charges"]
        assert (charge["lineNumber"], charge["amount"]) == (1, fixture_ponr_pack.SHIP_CHARGE.to_eng_string())
        prices = _gql(client, PRICES, {"id": order_id})["order"]
        line = prices["lines"][0]
        one_time = next(p for p in line["itemTotalPrice"] if p["priceType"] == "oneTime")
        assert any(a["name"].startswith("Point of no return charge") for a in one_time["priceAlteration"])
        assert one_time["price"]["dutyFreeAmount"]["amount"] == "35.00"  # its 10.00 and the 25.00 charge
        # The order: the removed box's own prices are gone, its charge stays; the add-on's recurring price.
        totals = {p["priceType"]: p["price"]["dutyFreeAmount"]["amount"] for p in prices["orderTotalPrice"]}
        assert totals == {"oneTime": "25.00", "recurring": "3.00"}
