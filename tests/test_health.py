"""GET /health: liveness plus the figures an operator watches (response cache, SQLite writer)."""

from __future__ import annotations

from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""


def test_health_reports_how_busy_the_sqlite_writer_is(make_runtime, database_url):
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime, "order_manager")
        before = client.get("/health").json()
        assert before["status"] == "ok" and before["mode"] == "embedded"
        if not database_url.startswith("sqlite"):
            assert before["sqliteWriter"] is None  # PostgreSQL has no single writer to watch
            return
        for _ in range(3):
            body = client.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": {"customerId": "ACME", "lines": [{"offering": "test-auto"}]}}},
                headers=staff,
            ).json()
            assert body["data"]["orderCreate"]["errors"] == []
        after = client.get("/health").json()["sqliteWriter"]
    assert after["transactions"] == before["sqliteWriter"]["transactions"] + 3  # one per create; reads take no write lock
    assert after["heldSeconds"] > before["sqliteWriter"]["heldSeconds"]
    assert after["waitedSeconds"] >= before["sqliteWriter"]["waitedSeconds"]
