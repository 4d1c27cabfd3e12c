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
    domainOrders { specKey unitIndex state tasks { id key name state } }
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


def _task_events(order):
    """Task state changes in commit order: (task key as planned, event, to state)."""
    names = {t["id"]: t["name"] for t in _tasks(order)}
    return [
        (names.get(e["entityId"]), (e["payload"] or {}).get("event"), e["toState"])
        for e in order["events"]
        if e["entityKind"] == "task"
    ]


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

    # The evidence: undo of the port before undo of the line (reverse dependency order), each redo after its undo.
    finished = [name for name, _, to in _task_events(order) if to == "completed"]
    undo_port, undo_line = (
        finished.index("Undo: Reserve GPON port on the OLT"),
        finished.index("Undo: Allocate access line at the address"),
    )
    assert undo_port < undo_line
    redone = [i for i, name in enumerate(finished) if name == "Allocate access line at the address"]
    assert redone[-1] > undo_line
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
        order_id = _create(client, [_internet()])
        _ready(client, order_id, "test.install")
        order = _order(client, order_id)
        asked = _revise(client, order_id, order["version"], manualDiscountPercent="25")  # over the policy's 10 %
        assert asked["errors"] == [], asked["errors"]
        revision = asked["revision"]
        assert revision["state"] == "PENDING_APPROVAL" and revision["newVersion"] is None
        waiting = _order(client, order_id)
        assert waiting["version"] > order["version"] and waiting["revisions"][0]["state"] == "PENDING_APPROVAL"
        forbidden = client.post("/graphql", json={"query": APPROVE, "variables": {"id": revision["id"]}}).json()
        assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # order:approve

        approved = _gql(approver, APPROVE, {"id": revision["id"]})["revisionApprove"]
        assert approved["errors"] == [], approved["errors"]
        assert approved["revision"]["state"] in ("IN_PROGRESS", "COMPLETED") and approved["revision"]["newVersion"] == 2
        order = _order(client, order_id)
        events = [e["toState"] for e in order["events"] if e["type"] == "ProductOrderRevisionStateChangeEvent"]
        assert events[:3] == ["assessing", "pendingApproval", "inProgress"]
        assert [v["number"] for v in order["versions"]] == [1, 2]


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
