"""A revision waiting for approval withholds its lines' work (core/change/revision.py,
fulfilment/holds.py): a manager's hold and resume of such a line ends the manager's hold only."""

from __future__ import annotations

from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support
from tests.test_revision import (  # noqa: F401  (client: the fixture)
    CLAIM,
    _complete_installs_until,
    _create,
    _gql,
    _install_by_line,
    _internet,
    _order,
    _ready,
    _revise,
    client,
)

LINE_HOLD = """
mutation($input: OrderLineHoldInput!) {
  orderLineHold(input: $input) { order { version lines { lineNumber state holdReason } } errors { code } }
}"""
LINE_RESUME = """
mutation($input: OrderLineResumeInput!) {
  orderLineResume(input: $input) { order { version lines { lineNumber state holdReason } } errors { code } }
}"""


def test_resuming_a_line_a_waiting_revision_withholds_keeps_it_withheld(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, task_lease_seconds=30)
    app = create_app(runtime=runtime)
    with (
        TestClient(app, headers=support.bearer(runtime, "order_manager")) as client,  # noqa: F811
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
        held = _gql(client, LINE_HOLD, {"input": {"orderId": order_id, "lineNumber": 1, "reason": "site closed"}})
        assert held["orderLineHold"]["errors"] == [], held
        resumed = _gql(client, LINE_RESUME, {"input": {"orderId": order_id, "lineNumber": 1}})["orderLineResume"]
        assert resumed["errors"] == [], resumed
        line = next(line for line in resumed["order"]["lines"] if line["lineNumber"] == 1)
        assert line["state"] == "IN_PROGRESS" and "awaits approval" in (line["holdReason"] or ""), line
        claim = _gql(agent, CLAIM, {"id": _install_by_line(client, order_id)[1]})["taskClaim"]
        assert [e["code"] for e in claim["errors"]] == ["HELD"]  # still waiting for the approver


def test_a_revision_still_waiting_when_the_order_completes_is_rejected(client):  # noqa: F811
    order_id = _create(client, [_internet()])
    _ready(client, order_id, "test.install")
    asked = _revise(client, order_id, _order(client, order_id)["version"], manualDiscountPercent="25")
    assert asked["errors"] == [] and asked["revision"]["state"] == "PENDING_APPROVAL", asked
    order = _complete_installs_until(client, order_id, "COMPLETED")  # a price alone withholds no work
    [revision] = order["revisions"]
    assert revision["state"] == "REJECTED" and revision["newVersion"] is None
    rejected = [e for e in order["events"] if e["entityKind"] == "revision" and e["toState"] == "rejected"]
    assert [e["payload"]["reason"] for e in rejected] == ["the order is completed"]
    paused = _gql(client, "query($id: ID!) { order(id: $id) { pausedAt } }", {"id": order_id})["order"]["pausedAt"]
    assert paused is None  # the clock the waiting revision stopped runs no more
