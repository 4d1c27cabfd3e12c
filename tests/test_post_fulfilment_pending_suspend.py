"""A resume while a future-dated suspend still waits voids that suspend: when the resume's order
is submitted the suspend line is cancelled (a TMF622 line cancellation whose reason names the
resume; no fee, nothing undone), the resume completes with nothing to do (its line says why), and
the product stays active with no suspend in its history. A draft resume cancels nothing until it
is submitted, a retry or a second submit cancels nothing twice, and a suspend whose work already
started is still refused (SUSPEND_PENDING: wait for it or cancel it). Through GraphQL on the
post-fulfilment fixture pack."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta

from tests import fixture_post_pack, support
from tests.test_post_fulfilment import (  # noqa: F401  (client: the fixture)
    _completed,
    _create,
    _gql,
    _history,
    _product,
    _sold,
    _tasks,
    client,
)

SUSPEND_ORDER = """
query($id: ID!) {
  order(id: $id) {
    id state
    lines { id lineNumber action state }
    cancelRequests { state cancellationReason result lineId fee { amount } requestedBy compensation }
    events { type entityKind entityId payload }
    timeline { lines { domainOrders { tasks { key state releaseAt } } } }
  }
}"""
SUBMIT = """
mutation($input: OrderSubmitInput!) {
  orderSubmit(input: $input) { order { id state } errors { field message code } }
}"""
SOLD_HISTORY = [
    ("create", None, "CREATED"),
    ("startActivation", "CREATED", "PENDING_ACTIVE"),
    ("activate", "PENDING_ACTIVE", "ACTIVE"),
]


def _row(node_id: str) -> str:
    return base64.b64decode(node_id).decode().split(":")[1]


def _detail(api, order_id):
    return _gql(api, SUSPEND_ORDER, {"id": order_id})["order"]


def _waiting_suspend(api, product_id):
    """A suspend dated two hours ahead, its bar task waiting for the date (released at it)."""
    start = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    suspend = _create(api, [{"action": "SUSPEND", "productId": product_id}], requestedStartDate=start)
    assert suspend["errors"] == []
    suspend_id = suspend["order"]["id"]

    def waiting():
        tasks = _tasks(_detail(api, suspend_id))
        return tasks if tasks and tasks[0]["releaseAt"] else None

    [bar] = support.wait_for(waiting, 15, message="the bar task to wait for the start date")
    assert bar["key"] == "test.post.bar" and bar["state"] == "PENDING"
    return suspend_id


def _voided_by(api, suspend_id, resume_id):
    """The suspend order as the resume left it: cancelled by one accepted line cancellation."""
    suspend = _detail(api, suspend_id)
    assert suspend["state"] == "CANCELLED"
    assert [(line["action"], line["state"]) for line in suspend["lines"]] == [("SUSPEND", "CANCELLED")]
    [request] = suspend["cancelRequests"]
    assert request["state"] == "DONE" and request["result"] == "ACCEPTED"
    assert request["cancellationReason"] == f"voided by resume order {_row(resume_id)} line 1"
    assert request["lineId"] == suspend["lines"][0]["id"]
    assert request["fee"] is None and request["compensation"]["undone"] == []  # nothing had started
    assert [t["state"] for t in _tasks(suspend)] == ["CANCELLED"]
    return suspend


def test_a_resume_voids_a_waiting_suspend_and_completes_with_nothing_to_do(client):  # noqa: F811
    _, product_id = _sold(client)
    suspend_id = _waiting_suspend(client, product_id)

    key = {"idempotencyKey": "resume-while-suspend-waits"}
    resume = _create(client, [{"action": "RESUME", "productId": product_id}], **key)
    assert resume["errors"] == []
    resume_id = resume["order"]["id"]
    _voided_by(client, suspend_id, resume_id)

    order = _completed(client, resume_id)
    assert _tasks(order) == []  # no unbar against a product that never got suspended
    line_events = [
        e["payload"] for e in order["events"] if e["entityKind"] == "line" and e["type"].endswith("AttributeValueChangeEvent")
    ]
    [voided] = [p for p in line_events if "voidedSuspend" in p]
    assert voided["voidedSuspend"]["orderId"] == int(_row(suspend_id)) and voided["voidedSuspend"]["lineNumber"] == 1
    assert f"the pending suspend of order {_row(suspend_id)} line 1 was cancelled" in voided["reason"]
    assert "the product stayed active" in voided["reason"]
    [outcome] = [p for p in line_events if "outcome" in p]
    assert outcome["outcome"] == "nothingToDo" and "nothing to resume" in outcome["reason"]
    assert [line["state"] for line in order["lines"]] == ["COMPLETED"]

    product = _product(client, product_id)
    assert product["status"] == "ACTIVE"
    assert _history(product) == SOLD_HISTORY  # never suspended, never resumed
    assert fixture_post_pack.calls("test.post.bar") == [] and fixture_post_pack.calls("test.post.unbar") == []

    # A retry of the resume (its idempotency key) answers with the same order: nothing cancelled twice.
    again = _create(client, [{"action": "RESUME", "productId": product_id}], **key)
    assert again["errors"] == [] and again["order"]["id"] == resume_id
    assert len(_detail(client, suspend_id)["cancelRequests"]) == 1
    # With no suspend pending any more, the active product resumes nothing, and may be suspended.
    refused = _create(client, [{"action": "RESUME", "productId": product_id}])
    assert [e["code"] for e in refused["errors"]] == ["PRODUCT_NOT_SUSPENDED"]
    assert _create(client, [{"action": "SUSPEND", "productId": product_id}])["errors"] == []


def test_a_draft_resume_cancels_nothing_until_submitted_and_a_second_submit_nothing_twice(client):  # noqa: F811
    _, product_id = _sold(client)
    suspend_id = _waiting_suspend(client, product_id)

    draft = _create(client, [{"action": "RESUME", "productId": product_id}], requestedInitialState="DRAFT")
    assert draft["errors"] == [] and draft["order"]["state"] == "DRAFT"
    resume_id = draft["order"]["id"]
    waiting = _detail(client, suspend_id)
    assert waiting["state"] == "IN_PROGRESS" and waiting["cancelRequests"] == []

    submitted = _gql(client, SUBMIT, {"input": {"id": resume_id}})["orderSubmit"]
    assert submitted["errors"] == [] and submitted["order"]["state"] == "ACKNOWLEDGED"
    _voided_by(client, suspend_id, resume_id)

    second = _gql(client, SUBMIT, {"input": {"id": resume_id}})["orderSubmit"]
    assert second["errors"] and second["order"] is None
    assert len(_detail(client, suspend_id)["cancelRequests"]) == 1
    _completed(client, resume_id)
    assert _product(client, product_id)["status"] == "ACTIVE"
    assert fixture_post_pack.calls("test.post.bar") == [] and fixture_post_pack.calls("test.post.unbar") == []


def test_a_resume_of_a_suspend_under_way_or_in_draft_is_refused(client, monkeypatch):  # noqa: F811
    _, drafted_id = _sold(client)  # a draft suspends nothing: there is nothing to void
    assert _create(client, [{"action": "SUSPEND", "productId": drafted_id}], requestedInitialState="DRAFT")["errors"] == []
    refused = _create(client, [{"action": "RESUME", "productId": drafted_id}])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.productId", "SUSPEND_PENDING")]
    assert "draft" in refused["errors"][0]["message"]

    # A resume dated after a waiting suspend's date ends that suspension: placed once it happened.
    _, dated_id = _sold(client)
    waiting_id = _waiting_suspend(client, dated_id)
    later = (datetime.now(UTC) + timedelta(hours=4)).isoformat().replace("+00:00", "Z")
    refused = _create(client, [{"action": "RESUME", "productId": dated_id}], requestedStartDate=later)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("lines.0.productId", "SUSPEND_PENDING")]
    assert "after the suspend" in refused["errors"][0]["message"]
    assert _detail(client, waiting_id)["cancelRequests"] == []

    _, product_id = _sold(client)

    # The bar handler blocks until released: the suspend's work has started.
    started, release = threading.Event(), threading.Event()
    record = fixture_post_pack._record

    def blocking(ctx):
        record(ctx)
        if ctx.task_key == "test.post.bar":
            started.set()
            release.wait(30)

    monkeypatch.setattr(fixture_post_pack, "_record", blocking)
    suspend = _create(client, [{"action": "SUSPEND", "productId": product_id}])
    assert suspend["errors"] == []
    suspend_id = suspend["order"]["id"]
    try:
        assert started.wait(15), "the bar task never started"
        refused = _create(client, [{"action": "RESUME", "productId": product_id}])
        codes = [(e["field"], e["code"]) for e in refused["errors"]]
        assert codes == [("lines.0.productId", "SUSPEND_PENDING")]
        message = refused["errors"][0]["message"]
        assert f"order {_row(suspend_id)} line 1" in message and "started" in message and "orderLineCancel" in message
        again = _create(client, [{"action": "SUSPEND", "productId": product_id}])
        assert [e["code"] for e in again["errors"]] == ["PRODUCT_BUSY"]
        assert _detail(client, suspend_id)["cancelRequests"] == []
    finally:
        release.set()
    _completed(client, suspend_id)
    assert _product(client, product_id)["status"] == "SUSPENDED"
    resume = _create(client, [{"action": "RESUME", "productId": product_id}])
    assert resume["errors"] == []
    _completed(client, resume["order"]["id"])
    assert [c[0] for c in fixture_post_pack.calls("test.post.unbar")] == ["test.post.unbar"]
    assert _product(client, product_id)["status"] == "ACTIVE"
