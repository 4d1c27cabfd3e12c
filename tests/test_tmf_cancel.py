"""TMF622 cancelProductOrder through the REST facade: a task resource over the core's cancellation
(accepted, denied, dated), read back by id and in lists, scoped to the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests import support
from tests.test_tmf_product_order import BASE, _running, order_body, tmf  # noqa: F401


def test_cancelling_a_running_order_through_the_task_resource(tmf):  # noqa: F811
    order = _running(tmf, tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"])
    answer = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order["id"]}, "cancellationReason": "moved"})
    assert answer.status_code == 201, answer.text
    request = answer.json()
    assert answer.headers["location"] == request["href"]
    assert request["@type"] == "CancelProductOrder" and request["state"] in ("inProgress", "done")
    assert request["productOrder"]["id"] == order["id"] and request["productOrder"]["href"].endswith(
        f"/productOrder/{order['id']}"
    )

    def done():
        found = tmf.get(f"{BASE}/cancelProductOrder/{request['id']}").json()
        return found if found["state"] == "done" else None

    finished = support.wait_for(done, 30, message="the cancellation to finish")
    assert finished["result"] == "accepted" and finished["effectiveCancellationDate"].endswith("Z")
    assert tmf.get(f"{BASE}/productOrder/{order['id']}").json()["state"] == "cancelled"
    listed = tmf.get(f"{BASE}/cancelProductOrder", params={"productOrder.id": order["id"]})
    assert listed.headers["x-total-count"] == "1" and [r["id"] for r in listed.json()] == [request["id"]]
    again = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order["id"]}, "cancellationReason": "again"})
    assert again.status_code == 400 and again.json()["code"] == "NOT_CANCELLABLE"


def test_a_dated_cancellation_waits_acknowledged(tmf):  # noqa: F811
    order = _running(tmf, tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"])
    date = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    body = {"productOrder": {"id": order["id"]}, "cancellationReason": "end of month", "requestedCancellationDate": date}
    request = tmf.post(f"{BASE}/cancelProductOrder", json=body).json()
    assert request["state"] == "acknowledged" and request["requestedCancellationDate"].startswith(date[:16])
    second = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order["id"]}, "cancellationReason": "now"})
    assert second.status_code == 409 and second.json()["code"] == "CANCELLATION_IN_PROGRESS"


def test_bad_requests_unknown_orders_and_other_accounts(tmf):  # noqa: F811
    order_id = tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"]
    missing = tmf.post(f"{BASE}/cancelProductOrder", json={"cancellationReason": "r"})
    assert missing.status_code == 400 and "productOrder" in missing.json()["message"]
    no_reason = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order_id}})
    assert no_reason.status_code == 400 and "cancellationReason" in no_reason.json()["message"]
    unknown = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": "999999"}, "cancellationReason": "r"})
    assert unknown.status_code == 404
    other = support.bearer(tmf.runtime, "customer", account="GLOBEX")
    hidden = tmf.post(
        f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order_id}, "cancellationReason": "r"}, headers=other
    )
    assert hidden.status_code == 404
    request = tmf.post(f"{BASE}/cancelProductOrder", json={"productOrder": {"id": order_id}, "cancellationReason": "r"}).json()
    assert tmf.get(f"{BASE}/cancelProductOrder/{request['id']}", headers=other).status_code == 404
    assert tmf.get(f"{BASE}/cancelProductOrder", headers=other).json() == []
    assert tmf.get(f"{BASE}/cancelProductOrder/x").status_code == 404
