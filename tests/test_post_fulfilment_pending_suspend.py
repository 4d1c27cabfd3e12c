"""A resume while a future-dated suspend still waits is refused with SUSPEND_PENDING naming the
suspend's order and line (the agent cancels that line instead); a second suspend meanwhile is
PRODUCT_BUSY. Through GraphQL on the post-fulfilment fixture pack."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from tests.test_post_fulfilment import _create, _product, _sold, client  # noqa: F401  (the fixture)


def test_a_resume_before_a_waiting_suspend_names_the_suspend_to_cancel(client):  # noqa: F811
    _, product_id = _sold(client)
    start = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    suspend = _create(client, [{"action": "SUSPEND", "productId": product_id}], requestedStartDate=start)
    assert suspend["errors"] == []
    assert _product(client, product_id)["status"] == "ACTIVE"

    resume = _create(client, [{"action": "RESUME", "productId": product_id}])
    codes = [(e["field"], e["code"]) for e in resume["errors"]]
    assert ("lines.0.productId", "SUSPEND_PENDING") in codes and ("lines.0.productId", "PRODUCT_NOT_SUSPENDED") not in codes
    [pending] = [e for e in resume["errors"] if e["code"] == "SUSPEND_PENDING"]
    suspend_row = base64.b64decode(suspend["order"]["id"]).decode().split(":")[1]
    assert f"order {suspend_row} line 1" in pending["message"] and "orderLineCancel" in pending["message"]

    again = _create(client, [{"action": "SUSPEND", "productId": product_id}])
    assert [e["code"] for e in again["errors"]] == ["PRODUCT_BUSY"]
