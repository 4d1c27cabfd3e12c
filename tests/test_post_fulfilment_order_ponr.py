"""The order's point of no return (Order.pointOfNoReturn, core/change/ponr_order.py): the strongest
any live line passed (hard beats soft, then the earliest), with its line and task; through GraphQL
on the PONR fixture pack, and the choice rules directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from om_graph.core.change.ponr_order import order_point_of_no_return
from tests import support
from tests.test_ponr import CLAIM, COMPLETE, _create, _gql, _ship_ready, _task, client  # noqa: F401  (the fixture)

ORDER_PONR = """
query($id: ID!) { order(id: $id) { pointOfNoReturn { kind reachedAt lineId taskId task { key } } } }"""
LINES = """
query($id: ID!) { order(id: $id) { lines { id lineNumber } } }"""


def _ponr(client, order_id):  # noqa: F811
    return _gql(client, ORDER_PONR, {"id": order_id})["order"]["pointOfNoReturn"]


def test_the_order_shows_its_strongest_point_of_no_return_with_line_and_task(client):  # noqa: F811
    order_id = _create(client, [{"offering": "ponr-plain"}, {"offering": "ponr-box"}])
    order = _ship_ready(client, order_id)
    assert _ponr(client, order_id) is None
    box_line = next(line["id"] for line in _gql(client, LINES, {"id": order_id})["order"]["lines"] if line["lineNumber"] == 2)
    ship = _task(order, "ponr.ship")

    assert _gql(client, CLAIM, {"id": ship["id"]}, client.agent)["taskClaim"]["errors"] == []
    soft = _ponr(client, order_id)  # selected alone: the order's lines are loaded for it
    assert (soft["kind"], soft["lineId"], soft["taskId"], soft["task"]["key"]) == ("SOFT", box_line, ship["id"], "ponr.ship")
    assert soft["reachedAt"]

    assert _gql(client, COMPLETE, {"id": ship["id"]}, client.agent)["taskComplete"]["errors"] == []
    hard = support.wait_for(
        lambda: p if (p := _ponr(client, order_id)) and p["kind"] == "HARD" else None, 30, message="the hard PONR"
    )
    assert (hard["lineId"], hard["task"]["key"]) == (box_line, "ponr.activate")


def _line(number, state, ponr, minutes, task):
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return SimpleNamespace(id=100 + number, line_number=number, state=state, ponr=ponr, ponr_at=at, ponr_task_id=task)


def test_hard_beats_soft_then_the_earliest_and_cancelled_lines_do_not_count():
    soft_early = _line(1, "inProgress", "soft", 0, 11)
    hard_late = _line(2, "completed", "hard", 9, 12)
    hard_early_cancelled = _line(3, "cancelled", "hard", 1, 13)
    hard_mid = _line(4, "inProgress", "hard", 5, 14)
    none = _line(5, "inProgress", None, 0, None)
    found = order_point_of_no_return([soft_early, hard_late, hard_early_cancelled, hard_mid, none])
    assert found is not None and (found.kind, found.line_id, found.task_id) == ("hard", 104, 14)
    assert order_point_of_no_return([soft_early, none]).kind == "soft"  # type: ignore[union-attr]
    assert order_point_of_no_return([hard_early_cancelled, none]) is None
