"""Faults injected where they hurt: the broker unreachable at commit, the database connection
lost mid-request, a handler hanging past its lease. Each time, every answer must match what was
stored, a retry must not duplicate, and every order must still complete once the fault ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.models import Order
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field message code } }
}"""
STATE = """query($id: ID!) { order(id: $id) { state } }"""


def auto_order(customer: str, key: str | None = None) -> dict:
    order = {"customerId": customer, "lines": [{"offering": "test-auto"}], "requestedInitialState": "ACKNOWLEDGED"}
    if key is not None:
        order["idempotencyKey"] = key
    return order


def post(client, query: str, variables: dict) -> dict:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


def stored_orders(runtime, customer: str) -> dict[str | None, list[int]]:
    """The stored orders of a customer, by idempotency key."""
    with runtime.sessions() as session:
        rows = session.execute(select(Order.idempotency_key, Order.id).where(Order.customer_id == customer)).all()
    by_key: dict[str | None, list[int]] = {}
    for key, order_id in rows:
        by_key.setdefault(key, []).append(order_id)
    return by_key


def order_states(runtime, customer: str) -> dict[int, str]:
    with runtime.sessions() as session:
        return dict(session.execute(select(Order.id, Order.state).where(Order.customer_id == customer)).all())


class BrokerOutage:
    """Makes a dramatiq broker refuse every message while ``down`` is set, as Redis does when it
    is unreachable."""

    def __init__(self, broker):
        self.down = threading.Event()
        self.refused = 0
        self._enqueue = broker.enqueue
        broker.enqueue = self._guarded

    def _guarded(self, message, *, delay=None):
        if self.down.is_set():
            self.refused += 1
            raise ConnectionError("broker unreachable (injected)")
        return self._enqueue(message, delay=delay)


# -- the broker unreachable at commit ---------------------------------------------------------------


def test_broker_down_at_commit_answers_what_was_committed_and_the_work_runs_once_it_is_back(make_runtime, database_url):
    """While the broker refuses messages, orderCreate still answers the committed order (not
    "Unexpected error."), and once the broker is back the reconciler delivers the unsent jobs at
    its next pass instead of after the redispatch age (an hour here)."""
    runtime = make_runtime(database_url, reconcile_interval_seconds=0.2, redispatch_after_seconds=3600)
    outage = BrokerOutage(runtime.broker)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_agent")) as client:
        outage.down.set()
        answers = [post(client, CREATE, {"input": auto_order("OUTAGE", f"k-{n}")}) for n in range(6)]
        assert outage.refused >= 6
        stored = stored_orders(runtime, "OUTAGE")
        for n, answer in enumerate(answers):
            assert "errors" not in answer, answer
            payload = answer["data"]["orderCreate"]
            assert payload["errors"] == [] and payload["order"]["state"] == "ACKNOWLEDGED"
            assert len(stored[f"k-{n}"]) == 1
        # Nothing moves while the broker is down (the reconciler's own sends fail too) ...
        assert set(order_states(runtime, "OUTAGE").values()) == {"acknowledged"}
        outage.down.clear()
        # ... and everything completes promptly once it is back.
        support.wait_for(
            lambda: set(order_states(runtime, "OUTAGE").values()) == {"completed"}, 30, message="orders to complete"
        )
        assert len(stored_orders(runtime, "OUTAGE")) == 6
