"""GET /health: liveness plus the figures an operator watches (response cache, SQLite writer)."""

from __future__ import annotations

import threading
import time

from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
HOLD = 0.5


def test_health_reports_how_busy_the_sqlite_writer_is(make_runtime, database_url):
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime, "order_manager")
        before = client.get("/health").json()
        assert before["status"] == "ok" and before["mode"] == "embedded"
        if not database_url.startswith("sqlite"):
            assert before["sqliteWriter"] is None  # PostgreSQL has no single writer to watch
            return
        before = before["sqliteWriter"]
        holding = threading.Event()

        def hold_the_writer_lock():
            with runtime.engine.begin():
                holding.set()
                time.sleep(HOLD)

        holder = threading.Thread(target=hold_the_writer_lock)
        holder.start()
        holding.wait(5)
        started = time.perf_counter()
        body = client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": {"customerId": "ACME", "lines": [{"offering": "test-auto"}]}}},
            headers=staff,
        ).json()
        waited_here = time.perf_counter() - started
        holder.join()
        assert body["data"]["orderCreate"]["errors"] == []
        after = client.get("/health").json()["sqliteWriter"]
    assert after["transactions"] == before["transactions"] + 2  # the holder and the create; reads take no write lock
    assert after["heldSeconds"] - before["heldSeconds"] >= HOLD
    # The create queued behind the holder for the rest of its hold (its own work excluded).
    assert after["waitedSeconds"] - before["waitedSeconds"] >= HOLD / 2
    assert waited_here >= after["waitedSeconds"] - before["waitedSeconds"]
