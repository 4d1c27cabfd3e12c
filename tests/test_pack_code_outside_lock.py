"""Pack code never runs while a writing transaction is open (the order's row on PostgreSQL, the
process's write lock on SQLite): a whole order lifecycle through GraphQL with a pack whose every
extension records where it ran, and the guard that refuses pack code under the lock."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.kernel.errors import PackCodeUnderLock, call_plugin
from om_graph.core.kernel.models import utcnow
from om_graph.core.lifecycle.processing import OrderProcessing
from tests import fixture_auto_pack, fixture_pack, support
from tests import fixture_lock_probe_pack as probe

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field message code } }
}"""
SUBMIT = """
mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id state } errors { field message code } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id state } }"""


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_no_pack_extension_runs_under_the_write_lock_in_a_whole_lifecycle(make_runtime, database_url):
    probe.reset()
    runtime = make_runtime(database_url, extra_plugins=(fixture_pack, fixture_auto_pack, probe))
    services = runtime.services  # with an approval gate (OrderProcessing's constructor argument)
    services.processing = OrderProcessing(services.uow, services.registry, services.orchestrator, approval=probe.approve)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        created = _gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [{"offering": probe.OFFERING, "quantity": 1}]}})
        order_id = created["orderCreate"]["order"]["id"]
        _gql(client, SUBMIT, {"id": order_id})
        support.wait_for(
            lambda: _gql(client, ORDER, {"id": order_id})["order"]["state"] == "COMPLETED", 30, message="order completion"
        )
        runtime.services.reconciler.evaluate_jeopardy(utcnow())
    ran = {what for what, _ in probe.PROBES}
    assert ran == {
        "validator",
        "enrichment",
        "approval gate",
        "decomposition rule",
        "jeopardy policy",
        "task handler",
        "order event handler",
    }
    assert [what for what, under_lock in probe.PROBES if under_lock] == []


def test_calling_pack_code_inside_a_writing_transaction_is_refused(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with runtime.services.uow() as _uow, pytest.raises(PackCodeUnderLock, match="probe call"):
        call_plugin("probe call", lambda: None)
    with runtime.services.uow(read_only=True):
        assert call_plugin("probe call", lambda: 42) == 42  # reading is fine
    assert call_plugin("probe call", lambda: 42) == 42
