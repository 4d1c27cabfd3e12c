"""A revision that changes a kept line so that its new decomposition no longer produces a domain
order (a characteristic switches a child service off) withdraws that domain order once its work is
over (core/change/plan_diff.py ``CompensationPlan.dropped``, revision.py ``on_plan_close``): its
completed work is undone, it ends cancelled rather than completed, the order completes, and its
outputs do not reach the product (fulfilment/rollup.py ``unit_outputs``). An undo that fails
withdraws nothing: the dropped domain order is left to fallout and fails."""

from __future__ import annotations

import types
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from om_graph.api import (
    CatalogContribution,
    CharacteristicDef,
    DecompositionRule,
    OfferingDef,
    RetryPolicy,
    SpecificationDef,
    SpecRelationshipDef,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)
from om_graph.app import create_app
from tests import support
from tests.test_revision import COMPLETE, _create, _gql, _revise, _tasks, _wait_state

# -- a small pack: a box realised by a base service (manual installation) and, when ``withExtra``,
# an extra service whose automatic task records an output (``extraRef``) ----------------------------

FAIL_UNDO: set[str] = set()  # task keys whose undo fails (not retried, no fallout: the task fails)


def _do(ctx):
    return TaskOutcome({"extraRef": f"ref-{ctx.idempotency_key[-6:]}"})


def _undo(ctx):
    if ctx.task_key in FAIL_UNDO:
        raise TaskHandlerError("the network refused the release", code="RELEASE_REFUSED")
    return TaskOutcome({"released": ctx.compensates}, message="released")


CATALOG = CatalogContribution(
    pack="drop",
    specifications=(
        SpecificationDef(
            "drop.box",
            "product",
            "Box",
            characteristics=(
                CharacteristicDef("label", "string", required=True),
                CharacteristicDef("withExtra", "boolean", default=False),
            ),
            relationships=(SpecRelationshipDef("drop.base"), SpecRelationshipDef("drop.extra")),
        ),
        SpecificationDef(
            "drop.base",
            "service",
            "Base service",
            characteristics=(CharacteristicDef("label", "string"),),
            tasks=(TaskTemplate("drop.install", "Install on site", kind="manual"),),
        ),
        SpecificationDef(
            "drop.extra",
            "service",
            "Extra service",
            characteristics=(CharacteristicDef("label", "string"),),
            tasks=(TaskTemplate("drop.enable", "Enable the extra", handler="drop.work"),),
        ),
    ),
    offerings=(OfferingDef("drop-box", "Box", "drop.box", Decimal("10"), Decimal("5")),),
)

PACK = types.ModuleType("tests.revision_dropped_pack")
PACK.om_register_catalog = hookimpl(lambda: CATALOG)  # type: ignore[attr-defined]
PACK.om_register_decomposition_rules = hookimpl(  # type: ignore[attr-defined]
    lambda: [DecompositionRule("drop.extra-when-asked", "drop.box", "drop.extra", include=lambda c: bool(c.get("withExtra")))]
)
PACK.om_register_task_handlers = hookimpl(  # type: ignore[attr-defined]
    lambda: [TaskHandler("drop.work", do=_do, undo=_undo, max_attempts=1, retry=RetryPolicy(fallout=False))]
)

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state version
    domainOrders { id specKey state characteristics { name value } tasks { id key name state mode compensatesId } }
    events { type entityKind entityId fromState toState payload }
    revisions { id state compensation }
  }
}"""
PRODUCTS = """
query($o: ID) { products(orderId: $o) { edges { node { status characteristics { name value } } } } }"""


@pytest.fixture
def dropping(make_runtime, sqlite_url):
    FAIL_UNDO.clear()
    runtime = make_runtime(sqlite_url, extra_plugins=(PACK,), task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client
    FAIL_UNDO.clear()


def _order(client, order_id):
    return _gql(client, ORDER, {"id": order_id})["order"]


def _domain(order, spec_key):
    [found] = [d for d in order["domainOrders"] if d["specKey"] == spec_key]
    return found


def _box(with_extra: bool):
    return {
        "offering": "drop-box",
        "characteristics": [{"name": "label", "value": "b1"}, {"name": "withExtra", "value": with_extra}],
    }


def _switched_off(client):
    """An order with the extra on, its extra task completed (the install waits), then revised to
    switch the extra off. Returns the order id and the revision."""
    order_id = _create(client, [_box(True)], customer="DROP")

    def extra_enabled():
        order = _order(client, order_id)
        done = [t for t in _tasks(order) if t["key"] == "drop.enable" and t["state"] == "COMPLETED"]
        ready = [t for t in _tasks(order) if t["key"] == "drop.install" and t["state"] == "READY"]
        return done and ready and order

    order = support.wait_for(extra_enabled, 60, message="the extra enabled, the install ready")
    assert _domain(order, "drop.extra")["state"] == "COMPLETED"
    revised = _revise(
        client, order_id, order["version"], lines=[{"lineNumber": 1, "characteristics": [{"name": "withExtra", "value": False}]}]
    )
    assert revised["errors"] == [], revised["errors"]
    return order_id, revised["revision"]


def _undo_finished(client, order_id, state):
    def finished():
        order = _order(client, order_id)
        undos = [t for t in _tasks(order) if t["mode"] == "UNDO"]
        return undos and all(t["state"] == state for t in undos) and order

    return support.wait_for(finished, 60, message=f"the undo {state}")


def _install(client, order_id):
    [install] = [t for t in _tasks(_order(client, order_id)) if t["key"] == "drop.install" and t["state"] == "READY"]
    done = _gql(client, COMPLETE, {"id": install["id"], "chars": []})["taskComplete"]
    assert done["errors"] == [], done["errors"]


def _product_values(client, order_id):
    [edge] = _gql(client, PRODUCTS, {"o": order_id})["products"]["edges"]
    return edge["node"]["status"], {c["name"]: c["value"] for c in edge["node"]["characteristics"]}


def test_a_child_service_switched_off_is_undone_withdrawn_and_kept_out_of_the_product(dropping):
    order_id, revision = _switched_off(dropping)
    compensation = revision["compensation"]
    assert [t["key"] for t in compensation["undo"]] == ["drop.enable"]
    assert [(d["specKey"], d["unitIndex"], d["lineNumber"]) for d in compensation["dropped"]] == [("drop.extra", 0, 1)]

    order = _undo_finished(dropping, order_id, "COMPLETED")
    extra = _domain(order, "drop.extra")
    [enable] = [t for t in extra["tasks"] if t["key"] == "drop.enable" and t["mode"] == "DO"]
    [undo] = [t for t in extra["tasks"] if t["mode"] == "UNDO"]
    assert undo["compensatesId"] == enable["id"] and enable["state"] == "COMPLETED"
    # Withdrawn once its undo is over, before anything else finished.
    assert extra["state"] == "CANCELLED"
    assert order["state"] == "IN_PROGRESS"

    _install(dropping, order_id)
    order = _wait_state(dropping, order_id, "COMPLETED")
    order = _order(dropping, order_id)
    assert {d["specKey"]: d["state"] for d in order["domainOrders"]} == {
        "drop.box": "COMPLETED",
        "drop.base": "COMPLETED",
        "drop.extra": "CANCELLED",
    }
    events = [e for e in order["events"] if e["entityKind"] == "domainOrder" and e["toState"] == "cancelled"]
    assert [(e["payload"] or {}).get("event") for e in events] == ["withdraw"]
    assert [r["state"] for r in order["revisions"]] == ["COMPLETED"]
    # The dropped service's output stays off the product: what it produced was released.
    status, values = _product_values(dropping, order_id)
    assert status == "ACTIVE"
    assert "extraRef" not in values and values["withExtra"] is False


def test_a_dropped_child_whose_undo_failed_is_not_withdrawn(dropping):
    FAIL_UNDO.add("drop.enable")
    order_id, revision = _switched_off(dropping)
    assert [d["specKey"] for d in revision["compensation"]["dropped"]] == ["drop.extra"]

    order = _undo_finished(dropping, order_id, "FAILED")
    support.wait_for(lambda: _order(dropping, order_id)["revisions"][0]["state"] == "FAILED", 30, message="revision failed")
    _install(dropping, order_id)
    order = _wait_state(dropping, order_id, "FAILED")
    order = _order(dropping, order_id)
    # Left to fallout: its effect may still be out there, so it is not withdrawn but fails (roll-up).
    extra = _domain(order, "drop.extra")
    assert extra["state"] == "FAILED"
    assert not [e for e in order["events"] if e["entityKind"] == "domainOrder" and e["toState"] == "cancelled"]
    status, values = _product_values(dropping, order_id)
    assert status != "ACTIVE"
