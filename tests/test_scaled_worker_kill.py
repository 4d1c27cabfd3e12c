"""Scaled mode for real: PostgreSQL, Redis, a server process and separate worker processes.
A worker is killed with SIGKILL in the middle of a task; the orders still complete and each
task's effect is recorded exactly once."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text

from tests import support

pytestmark = pytest.mark.slow

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
SUBMIT = """mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { state } errors { code } } }"""
STATE = """query($id: ID!) { order(id: $id) { state } }"""


def scaled_env(postgres_url, redis_server_url, redis_namespace, tmp_path, **extra):
    return support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=postgres_url,
        OM_GRAPH_REDIS_URL=redis_server_url,
        OM_GRAPH_REDIS_NAMESPACE=redis_namespace,
        OM_GRAPH_PLUGINS="tests.fixture_pack,tests.fixture_auto_pack",
        OM_GRAPH_TASK_LEASE_SECONDS="3",
        OM_GRAPH_REDISPATCH_SECONDS="2",
        OM_GRAPH_RECONCILE_INTERVAL="0.5",
        OM_GRAPH_BROKER_HEARTBEAT_MS="2000",
        OM_TEST_LEDGER=str(tmp_path / "ledger.db"),
        **extra,
    )


def test_killed_worker_loses_nothing_and_repeats_no_effect(postgres_url, redis_server_url, redis_namespace, tmp_path):
    env = scaled_env(postgres_url, redis_server_url, redis_namespace, tmp_path, OM_TEST_HANDLER_DELAY="1.5")
    server, url = support.start_server(env, tmp_path)
    first = support.start_worker(env, tmp_path, "worker-1", threads=2)
    second = None
    try:
        gql = support.GraphQLClient(url, support.demo_tokens(tmp_path)["order_agent"])
        ids = []
        for _ in range(4):
            order = gql(CREATE, {"input": {"customerId": "KILL", "lines": [{"offering": "test-auto"}]}})["orderCreate"]["order"]
            gql(SUBMIT, {"id": order["id"]})
            ids.append(order["id"])
        ledger = tmp_path / "ledger.db"

        def calls() -> int:
            if not ledger.exists():
                return 0
            with sqlite3.connect(ledger, timeout=30) as conn:
                try:
                    return conn.execute("SELECT count(*) FROM calls").fetchone()[0]
                except sqlite3.OperationalError:
                    return 0

        support.wait_for(lambda: calls() >= 1, 60, message="a handler to start")
        first.kill()  # SIGKILL mid-handler: the handler sleeps 1.5 s after recording its call
        interrupted = calls()
        second = support.start_worker(env, tmp_path, "worker-2", threads=2)
        for order_id in ids:
            support.wait_for(
                lambda: gql(STATE, {"id": order_id})["order"]["state"] == "COMPLETED", 120, message=f"order {order_id}"
            )
    finally:
        for proc in (first, second, server):
            if proc is not None:
                proc.kill()

    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        tasks = conn.execute(text("SELECT id, state, attempts, outcome, idempotency_key FROM order_task")).all()
        completions = dict(
            conn.execute(
                text(
                    "SELECT entity_id, count(*) FROM order_event WHERE entity_kind = 'task' AND to_state = 'completed' GROUP BY entity_id"
                )
            ).all()
        )
    engine.dispose()
    assert len(tasks) == 8 and all(state == "completed" for _, state, *_ in tasks)
    # Exactly one completion (one recorded effect) per task, whatever was re-run.
    assert completions == {task_id: 1 for task_id, *_ in tasks}
    for _, _, _, outcome, key in tasks:
        assert list(outcome["characteristics"].values()) == [f"val-{key}"]
    with sqlite3.connect(ledger) as conn:
        per_key = dict(conn.execute("SELECT key, count(*) FROM calls GROUP BY key").fetchall())
    assert interrupted >= 1
    # The killed attempt was re-run: some task saw its handler called twice with the same key.
    assert max(per_key.values()) >= 2, per_key
    assert max(attempts for _, _, attempts, *_ in tasks) >= 2
