"""A revision whose new plan parks a part (staggered decomposition: a relationship ``needs`` a
characteristic the line does not have) writes the part's waits as the decomposer does
(core/change/revision_work.py ``write_work``: ``decomposition.wait_rows``, ``staggered.park``):
the line goes pending with the InformationRequired field path, and supplying the value builds the
part and completes the order, the product carrying it. The waits of the plan a revision ends
are released (the revision supplies the value: its new plan builds the part) or cancelled (the
part is switched off), and the line goes on. A revision completes when the work it planned has
finished: a part it parks is not that work (it proceeds as any parked part), so a revision whose
only new work is parked completes at once."""

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
    SpecificationDef,
    SpecRelationshipDef,
    TaskHandler,
    TaskOutcome,
    TaskTemplate,
    hookimpl,
)
from om_graph.app import create_app
from tests import support
from tests.test_revision import COMPLETE, _create, _gql, _revise, _tasks, _wait_state

# -- a small pack: a box realised by a base service (manual installation); when ``withExtra``, an
# extra service (automatic) over a port that needs ``portCode``; when ``withPlus``, a plus service
# without tasks of its own over a port that needs ``plusCode`` -------------------------------------

OUTPUTS = {"park.enable": "extraRef", "park.configure": "portRef", "park.plus-configure": "plusRef"}


def _do(ctx):
    return TaskOutcome({OUTPUTS[ctx.task_key]: f"{ctx.task_key}-done"})


CATALOG = CatalogContribution(
    pack="park",
    specifications=(
        SpecificationDef(
            "park.box",
            "product",
            "Box",
            characteristics=(
                CharacteristicDef("label", "string", required=True),
                CharacteristicDef("withExtra", "boolean", default=False),
                CharacteristicDef("withPlus", "boolean", default=False),
                CharacteristicDef("portCode", "string"),
                CharacteristicDef("plusCode", "string"),
            ),
            relationships=(SpecRelationshipDef("park.base"), SpecRelationshipDef("park.extra"), SpecRelationshipDef("park.plus")),
        ),
        SpecificationDef(
            "park.base",
            "service",
            "Base service",
            characteristics=(CharacteristicDef("label", "string"),),
            tasks=(TaskTemplate("park.install", "Install on site", kind="manual"),),
        ),
        SpecificationDef(
            "park.extra",
            "service",
            "Extra service",
            characteristics=(CharacteristicDef("label", "string"), CharacteristicDef("portCode", "string")),
            relationships=(SpecRelationshipDef("park.port", needs=("portCode",)),),
            tasks=(TaskTemplate("park.enable", "Enable the extra", handler="park.work"),),
        ),
        SpecificationDef(
            "park.port",
            "resource",
            "Extra port",
            characteristics=(CharacteristicDef("portCode", "string"),),
            tasks=(TaskTemplate("park.configure", "Configure the port", handler="park.work"),),
        ),
        SpecificationDef(
            "park.plus",
            "service",
            "Plus service",
            characteristics=(CharacteristicDef("label", "string"), CharacteristicDef("plusCode", "string")),
            relationships=(SpecRelationshipDef("park.plus-port", needs=("plusCode",)),),
        ),
        SpecificationDef(
            "park.plus-port",
            "resource",
            "Plus port",
            characteristics=(CharacteristicDef("plusCode", "string"),),
            tasks=(TaskTemplate("park.plus-configure", "Configure the plus port", handler="park.work"),),
        ),
    ),
    offerings=(OfferingDef("park-box", "Box", "park.box", Decimal("10"), Decimal("5")),),
)

PACK = types.ModuleType("tests.revision_parked_pack")
PACK.om_register_catalog = hookimpl(lambda: CATALOG)  # type: ignore[attr-defined]
PACK.om_register_decomposition_rules = hookimpl(  # type: ignore[attr-defined]
    lambda: [
        DecompositionRule("park.extra-when-asked", "park.box", "park.extra", include=lambda c: bool(c.get("withExtra"))),
        DecompositionRule("park.plus-when-asked", "park.box", "park.plus", include=lambda c: bool(c.get("withPlus"))),
    ]
)
PACK.om_register_task_handlers = hookimpl(lambda: [TaskHandler("park.work", do=_do, max_attempts=1)])  # type: ignore[attr-defined]

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state version
    lines {
      lineNumber state informationRequired
      decompositionWaits { specKey characteristic fieldPath unitIndex parentDomainOrderId }
    }
    domainOrders { id specKey state parentId tasks { id key name state mode compensatesId } }
    events { type entityKind entityId fromState toState payload }
    revisions { id state compensation }
  }
}"""
SUPPLY = """
mutation($input: OrderLineCharacteristicsSupplyInput!) {
  orderLineCharacteristicsSupply(input: $input) { order { id } errors { field message code } }
}"""
PRODUCTS = """
query($o: ID) { products(orderId: $o) { edges { node { status characteristics { name value } } } } }"""


@pytest.fixture
def parking(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, extra_plugins=(PACK,), task_lease_seconds=30)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def _order(client, order_id):
    return _gql(client, ORDER, {"id": order_id})["order"]


def _domain(order, spec_key):
    [found] = [d for d in order["domainOrders"] if d["specKey"] == spec_key]
    return found


def _box(**values):
    chars = {"label": "b1", **values}
    return {"offering": "park-box", "characteristics": [{"name": k, "value": v} for k, v in chars.items()]}


def _install_ready(client, order_id):
    def ready():
        order = _order(client, order_id)
        return [t for t in _tasks(order) if t["key"] == "park.install" and t["state"] == "READY"] and order

    return support.wait_for(ready, 60, message="the installation ready")


def _install(client, order_id):
    [install] = [t for t in _tasks(_order(client, order_id)) if t["key"] == "park.install" and t["state"] == "READY"]
    done = _gql(client, COMPLETE, {"id": install["id"], "chars": []})["taskComplete"]
    assert done["errors"] == [], done["errors"]


def _supply(client, order_id, name, value):
    supplied = _gql(
        client,
        SUPPLY,
        {"input": {"orderId": order_id, "lineNumber": 1, "characteristics": [{"name": name, "value": value}]}},
    )["orderLineCharacteristicsSupply"]
    assert supplied["errors"] == [], supplied["errors"]


def _product_values(client, order_id):
    [edge] = _gql(client, PRODUCTS, {"o": order_id})["products"]["edges"]
    return edge["node"]["status"], {c["name"]: c["value"] for c in edge["node"]["characteristics"]}


def _revise_line(client, order_id, **values):
    order = _order(client, order_id)
    chars = [{"name": k, "value": v} for k, v in values.items()]
    revised = _revise(client, order_id, order["version"], lines=[{"lineNumber": 1, "characteristics": chars}])
    assert revised["errors"] == [], revised["errors"]
    return revised["revision"]


def test_a_revision_that_switches_on_a_part_needing_data_parks_it_until_it_is_supplied(parking):
    order_id = _create(parking, [_box()], customer="PARK")
    _install_ready(parking, order_id)

    revision = _revise_line(parking, order_id, withExtra=True)
    assert revision["state"] == "IN_PROGRESS"
    compensation = revision["compensation"]
    assert [t["key"] for t in compensation["add"]] == ["park.enable"]
    assert [(w["specKey"], w["characteristic"], w["lineNumber"], w["unitIndex"]) for w in compensation["parked"]] == [
        ("park.port", "portCode", 1, 0)
    ]

    order = _order(parking, order_id)
    [line] = order["lines"]
    assert line["state"] == "PENDING" and line["informationRequired"] == ["lines.1.characteristics.portCode"]
    extra = _domain(order, "park.extra")
    assert line["decompositionWaits"] == [
        {
            "specKey": "park.port",
            "characteristic": "portCode",
            "fieldPath": "lines.1.characteristics.portCode",
            "unitIndex": 0,
            "parentDomainOrderId": extra["id"],
        }
    ]
    assert "park.port" not in {d["specKey"] for d in order["domainOrders"]}  # parked: not built
    # The extra is built on its port: its task does not start while the port waits.
    assert [(t["key"], t["state"]) for t in extra["tasks"]] == [("park.enable", "PENDING")]
    required = [e for e in order["events"] if e["type"] == "ProductOrderInformationRequiredEvent"]
    assert [e["payload"]["fieldPath"] for e in required] == [["lines.1.characteristics.portCode"]]

    _install(parking, order_id)
    order = _order(parking, order_id)
    assert order["state"] == "IN_PROGRESS" and order["revisions"][0]["state"] == "IN_PROGRESS"
    assert _domain(order, "park.extra")["tasks"][0]["state"] == "PENDING"

    _supply(parking, order_id, "portCode", "PC-9")
    _wait_state(parking, order_id, "COMPLETED")
    order = _order(parking, order_id)
    [line] = order["lines"]
    assert line["state"] == "COMPLETED" and line["decompositionWaits"] == [] and line["informationRequired"] is None
    port = _domain(order, "park.port")
    assert port["state"] == "COMPLETED" and port["parentId"] == _domain(order, "park.extra")["id"]
    assert [r["state"] for r in order["revisions"]] == ["COMPLETED"]
    status, values = _product_values(parking, order_id)
    assert status == "ACTIVE"
    assert values["portCode"] == "PC-9" and values["portRef"] == "park.configure-done"
    assert values["extraRef"] == "park.enable-done" and values["withExtra"] is True


def test_a_revision_whose_only_new_work_is_parked_completes_and_the_part_proceeds_when_supplied(parking):
    order_id = _create(parking, [_box()], customer="PARK")
    _install_ready(parking, order_id)

    # The plus service has no tasks of its own: the revision plans no task, only a parked part.
    revision = _revise_line(parking, order_id, withPlus=True)
    assert revision["state"] == "COMPLETED"
    assert [(w["specKey"], w["characteristic"]) for w in revision["compensation"]["parked"]] == [("park.plus-port", "plusCode")]
    order = _order(parking, order_id)
    [line] = order["lines"]
    assert line["state"] == "PENDING" and [w["specKey"] for w in line["decompositionWaits"]] == ["park.plus-port"]

    _install(parking, order_id)
    order = _order(parking, order_id)
    assert order["state"] == "IN_PROGRESS" and _domain(order, "park.plus")["state"] != "COMPLETED"

    _supply(parking, order_id, "plusCode", "Q-1")
    _wait_state(parking, order_id, "COMPLETED")
    order = _order(parking, order_id)
    assert _domain(order, "park.plus-port")["state"] == "COMPLETED" and _domain(order, "park.plus")["state"] == "COMPLETED"
    _, values = _product_values(parking, order_id)
    assert values["plusCode"] == "Q-1" and values["plusRef"] == "park.plus-configure-done"


def test_a_revision_that_switches_a_parked_part_off_cancels_its_wait_and_the_line_goes_on(parking):
    order_id = _create(parking, [_box(withExtra=True)], customer="PARK")
    order = _install_ready(parking, order_id)
    assert order["lines"][0]["state"] == "PENDING"  # the port waits for its code

    revision = _revise_line(parking, order_id, withExtra=False)
    assert [(w["specKey"], w["characteristic"], w["state"]) for w in revision["compensation"]["unparked"]] == [
        ("park.port", "portCode", "cancelled")
    ]
    assert "parked" not in revision["compensation"]
    order = _order(parking, order_id)
    [line] = order["lines"]
    assert line["state"] == "IN_PROGRESS" and line["informationRequired"] is None and line["decompositionWaits"] == []

    _install(parking, order_id)
    _wait_state(parking, order_id, "COMPLETED")
    order = _order(parking, order_id)
    assert _domain(order, "park.extra")["state"] == "CANCELLED"
    assert [r["state"] for r in order["revisions"]] == ["COMPLETED"]


def test_a_revision_that_supplies_what_a_parked_part_needs_builds_it_and_releases_its_wait(parking):
    order_id = _create(parking, [_box(withExtra=True)], customer="PARK")
    order = _install_ready(parking, order_id)
    assert order["lines"][0]["state"] == "PENDING"

    revision = _revise_line(parking, order_id, portCode="PC-1")
    assert [(w["specKey"], w["state"]) for w in revision["compensation"]["unparked"]] == [("park.port", "released")]
    assert "park.configure" in {t["key"] for t in revision["compensation"]["add"]}
    order = _order(parking, order_id)
    [line] = order["lines"]
    assert line["state"] == "IN_PROGRESS" and line["decompositionWaits"] == []
    assert _domain(order, "park.port")["parentId"] == _domain(order, "park.extra")["id"]

    _install(parking, order_id)
    _wait_state(parking, order_id, "COMPLETED")
    _, values = _product_values(parking, order_id)
    assert values["portCode"] == "PC-1" and values["portRef"] == "park.configure-done"


def test_a_line_a_revision_adds_parks_its_part_like_a_decomposed_one(parking):
    order_id = _create(parking, [_box()], customer="PARK")
    order = _install_ready(parking, order_id)
    added = _revise(parking, order_id, order["version"], addLines=[_box(label="b2", withExtra=True)])
    assert added["errors"] == [], added["errors"]
    assert [(w["specKey"], w["lineNumber"]) for w in added["revision"]["compensation"]["parked"]] == [("park.port", 2)]
    order = _order(parking, order_id)
    by_number = {line["lineNumber"]: line for line in order["lines"]}
    assert by_number[1]["state"] == "IN_PROGRESS"
    assert by_number[2]["state"] == "PENDING" and by_number[2]["informationRequired"] == ["lines.2.characteristics.portCode"]

    supplied = _gql(
        parking,
        SUPPLY,
        {"input": {"orderId": order_id, "lineNumber": 2, "characteristics": [{"name": "portCode", "value": "PC-2"}]}},
    )["orderLineCharacteristicsSupply"]
    assert supplied["errors"] == [], supplied["errors"]

    def installs_done():
        order = _order(parking, order_id)
        for task in [t for t in _tasks(order) if t["key"] == "park.install" and t["state"] == "READY"]:
            assert _gql(parking, COMPLETE, {"id": task["id"], "chars": []})["taskComplete"]["errors"] == []
        return order["state"] == "COMPLETED" and order

    order = support.wait_for(installs_done, 60, interval=0.5, message="the order completed")
    assert {d["specKey"] for d in order["domainOrders"] if d["state"] == "COMPLETED"} >= {"park.port", "park.extra"}
