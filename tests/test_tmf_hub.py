"""TMF622's event hub end to end: a listener registered with POST /hub is sent the order events
from the events table (the outbox) by the runtime's hub runner, to a real HTTP server on a local
port: in order per order, signed with its secret, retried with back-off, dead-lettered and
retried by an admin over GraphQL, across a restart of the runtime, scoped to a customer's account,
filtered by its eventType query, and no longer once unregistered."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.kernel import events as ev
from om_graph.schema.types.common import gid
from tests import support
from tests.test_tmf_product_order import BASE, order_body

FAST = {
    "hub_interval_seconds": 0.05,
    "hub_backoff_seconds": 0.05,
    "hub_backoff_cap_seconds": 0.2,
    "hub_max_attempts": 3,
    "hub_timeout_seconds": 2.0,
}


class Listener:
    """An HTTP server in a thread: records each POST; answers with ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with listener.lock:
                    status = listener.statuses.pop(0) if listener.statuses else 200
                    listener.received.append({"status": status, "body": body, "headers": dict(self.headers), "path": self.path})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.port = support.free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}/listener"

    def delivered(self) -> list[dict]:
        """The 2xx-answered events, in arrival order (parsed)."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.received if 200 <= r["status"] < 300]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.stop()


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def client_for(runtime, role: str = "service_account", account: str | None = None) -> TestClient:
    client = TestClient(create_app(runtime=runtime))
    client.headers.update(support.bearer(runtime, role, account))
    return client


def register(client: TestClient, callback: str, **extra) -> dict:
    answer = client.post(f"{BASE}/hub", json={"callback": callback, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def order_events(received: list[dict], order_id: str) -> list[dict]:
    return [e for e in received if e["event"].get("productOrder", {}).get("id") == order_id]


def started(received: list[dict], order_id: str) -> bool:
    """The order's move to inProgress was delivered (the test pack's order then waits for work)."""
    return any(
        e["eventType"] == ev.ORDER_STATE_CHANGE and e["event"]["productOrder"]["state"] == "inProgress"
        for e in order_events(received, order_id)
    )


def test_register_receive_in_order_signed_and_unregister(make_runtime, sqlite_url, listener):
    runtime = make_runtime(sqlite_url, **FAST)
    with client_for(runtime) as tmf:
        sub = register(tmf, listener.url)
        assert sub["callback"] == listener.url and sub["secret"] and sub["href"].endswith(f"{BASE}/hub/{sub['id']}")
        order = tmf.post(f"{BASE}/productOrder", json=order_body()).json()
        wait_for(lambda: started(listener.delivered(), order["id"]), what="the order's start")
        received = order_events(listener.delivered(), order["id"])
        assert received[0]["eventType"] == ev.ORDER_CREATE
        assert received[0]["event"]["productOrder"]["id"] == order["id"]
        states = [e["event"]["productOrder"]["state"] for e in received if e["eventType"] == ev.ORDER_STATE_CHANGE]
        assert states == ["acknowledged", "inProgress"], states
        ids = [int(e["eventId"]) for e in received]
        assert len(set(ids)) == len(ids)  # each event once
        for raw in listener.received:
            expected = "sha256=" + hmac.new(sub["secret"].encode(), raw["body"], hashlib.sha256).hexdigest()
            assert raw["headers"]["X-OM-Signature"] == expected
            assert raw["headers"]["X-OM-Event-Id"] == json.loads(raw["body"])["eventId"]
        # Only TMF622's notifications: no task or domain order events.
        assert {e["eventType"] for e in listener.delivered()} <= {
            ev.ORDER_CREATE,
            ev.ORDER_STATE_CHANGE,
            ev.ORDER_ATTRIBUTE_CHANGE,
            ev.INFORMATION_REQUIRED,
            ev.JEOPARDY_ALERT,
            ev.ERROR_MESSAGE,
        }
        assert tmf.get(f"{BASE}/hub/{sub['id']}").json()["callback"] == listener.url

        assert tmf.delete(f"{BASE}/hub/{sub['id']}").status_code == 204
        assert tmf.delete(f"{BASE}/hub/{sub['id']}").status_code == 404
        before = len(listener.received)
        tmf.post(f"{BASE}/productOrder", json=order_body())
        runtime.drain()
        time.sleep(0.5)
        assert len(listener.received) == before


def test_failures_are_retried_with_backoff_and_delivered_in_order(make_runtime, sqlite_url, listener):
    runtime = make_runtime(sqlite_url, **FAST)
    listener.statuses = [500, 500]
    with client_for(runtime) as tmf:
        register(tmf, listener.url, query=f"eventType={ev.ORDER_CREATE},{ev.ORDER_STATE_CHANGE}")
        order = tmf.post(f"{BASE}/productOrder", json=order_body()).json()
        wait_for(lambda: started(listener.delivered(), order["id"]), what="the order's start")
        assert [r["status"] for r in listener.received][:3] == [500, 500, 200]
        first = [json.loads(r["body"])["eventId"] for r in listener.received[:3]]
        assert len(set(first)) == 1  # the same event, tried three times, before any later one
        received = order_events(listener.delivered(), order["id"])
        assert [e["eventType"] for e in received] == [ev.ORDER_CREATE, ev.ORDER_STATE_CHANGE, ev.ORDER_STATE_CHANGE]
        assert [e["event"]["productOrder"]["state"] for e in received[1:]] == ["acknowledged", "inProgress"]


def test_a_query_other_than_event_types_or_a_bad_callback_is_a_400(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, **FAST)
    with client_for(runtime) as tmf:
        for body in (
            {"callback": "ftp://example.com/x"},
            {"callback": "not a url"},
            {"callback": "http://example.com/x", "query": "state=completed"},
            {"callback": "http://example.com/x", "query": "eventType=TaskStateChangeEvent"},
            {"query": "eventType=ProductOrderCreateEvent"},
        ):
            answer = tmf.post(f"{BASE}/hub", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["@type"] == "Error"


DEAD = """query($state: [HubDeliveryState!]) {
  hubDeliveries(filter: {states: $state}) { id eventId eventType orderId state attempts lastError }
}"""
RETRY = "mutation($id: ID!) { hubDeliveryRetry(input: {id: $id}) { delivery { id state attempts } errors { code field } } }"
SKIP = "mutation($id: ID!) { hubDeliverySkip(input: {id: $id}) { delivery { id state } errors { code field } } }"


def graphql(client: TestClient, query: str, variables: dict, headers: dict) -> dict:
    answer = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_dead_delivery_blocks_its_order_until_an_admin_retries_it(make_runtime, sqlite_url, listener):
    runtime = make_runtime(sqlite_url, **FAST)
    listener.statuses = [503] * 3  # hub_max_attempts: the first event dies
    admin = support.bearer(runtime, "process_admin")
    with client_for(runtime) as tmf:
        register(tmf, listener.url)
        order = tmf.post(f"{BASE}/productOrder", json=order_body()).json()
        runtime.drain()
        [dead] = wait_for(lambda: graphql(tmf, DEAD, {"state": ["DEAD"]}, admin)["hubDeliveries"], what="a dead delivery")
        assert (dead["eventType"], dead["orderId"], dead["attempts"]) == (ev.ORDER_CREATE, str(gid("Order", order["id"])), 3)
        assert dead["lastError"] == "HTTP 503"
        time.sleep(0.5)
        assert listener.delivered() == []  # the later events of the order wait
        waiting = graphql(tmf, DEAD, {"state": ["PENDING"]}, admin)["hubDeliveries"]
        assert waiting and all(d["orderId"] == dead["orderId"] and d["attempts"] == 0 for d in waiting)

        # Not for everyone: a service account may not retry.
        denied = tmf.post("/graphql", json={"query": RETRY, "variables": {"id": dead["id"]}}).json()
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        retried = graphql(tmf, RETRY, {"id": dead["id"]}, admin)["hubDeliveryRetry"]
        assert retried["errors"] == [] and retried["delivery"]["state"] == "PENDING"
        wait_for(lambda: started(listener.delivered(), order["id"]), what="the order's events after the retry")
        received = order_events(listener.delivered(), order["id"])
        assert received[0]["eventType"] == ev.ORDER_CREATE
        assert [e["event"]["productOrder"]["state"] for e in received if e["eventType"] == ev.ORDER_STATE_CHANGE] == [
            "acknowledged",
            "inProgress",
        ]
        again = graphql(tmf, RETRY, {"id": dead["id"]}, admin)["hubDeliveryRetry"]
        assert again["delivery"] is None and again["errors"] == [{"code": "DELIVERY_NOT_DEAD", "field": "id"}]
        unknown = graphql(tmf, SKIP, {"id": "999999"}, admin)["hubDeliverySkip"]
        assert unknown["errors"] == [{"code": "UNKNOWN_DELIVERY", "field": "id"}]


def test_a_restart_loses_nothing(make_runtime, sqlite_url, listener):
    # The first runtime's hub runner never runs: the events wait in the table.
    first = make_runtime(sqlite_url, **{**FAST, "hub_interval_seconds": 3600})
    with client_for(first) as tmf:
        register(tmf, listener.url)
        order = tmf.post(f"{BASE}/productOrder", json=order_body()).json()
        first.drain()
    first.stop()
    assert listener.received == []
    second = make_runtime(sqlite_url, **FAST)
    with client_for(second):
        wait_for(lambda: started(listener.delivered(), order["id"]), what="the events after the restart")
        received = order_events(listener.delivered(), order["id"])
        assert received[0]["eventType"] == ev.ORDER_CREATE
        assert [e["event"]["productOrder"]["state"] for e in received if e["eventType"] == ev.ORDER_STATE_CHANGE] == [
            "acknowledged",
            "inProgress",
        ]
        ids = [int(e["eventId"]) for e in received]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_customers_listener_hears_only_its_own_account(make_runtime, sqlite_url, listener):
    runtime = make_runtime(sqlite_url, **FAST)
    other = Listener()
    try:
        with client_for(runtime) as staff, client_for(runtime, "customer", "ACME") as acme:
            mine = register(acme, listener.url)
            register(staff, other.url, query=f"eventType={ev.ORDER_CREATE}")
            # A customer's listener is theirs: staff of another owner get a 404 for it.
            assert staff.delete(f"{BASE}/hub/{mine['id']}").status_code == 404
            own = acme.post(f"{BASE}/productOrder", json=order_body("ACME")).json()
            foreign = staff.post(f"{BASE}/productOrder", json=order_body("GLOBEX")).json()
            wait_for(lambda: started(listener.delivered(), own["id"]), what="the customer's order events")
            wait_for(lambda: len(other.delivered()) >= 2, what="the staff listener's create events")
            runtime.drain()
            time.sleep(0.3)
            assert order_events(listener.delivered(), foreign["id"]) == []
            assert {e["event"]["productOrder"]["relatedParty"][0]["id"] for e in listener.delivered()} == {"ACME"}
            assert {e["eventType"] for e in other.delivered()} == {ev.ORDER_CREATE}
            assert {e["event"]["productOrder"]["id"] for e in other.delivered()} == {own["id"], foreign["id"]}
    finally:
        other.stop()
