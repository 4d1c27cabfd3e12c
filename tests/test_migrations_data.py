"""Migrations on a database with data: a database at 0006 (the last schema before the change_seq
rename, the triggers and the stages) with rows in every order table upgrades to head and back
without losing a row, carries each value over, and the app's write path works on the result."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from om_graph.core.kernel.db import make_engine, register_sqlite_functions
from om_graph.migrations import alembic_config, downgrade, upgrade

NOW = "2026-01-01 00:00:00"
# (order id, state, revision, currency): states of the old one-transaction pipeline.
ORDERS = [
    (1, "completed", 7, "USD"),
    (2, "acknowledged", 2, "EUR"),
    (3, "draft", 1, "EUR"),
    (4, "inProgress", 5, "GBP"),
    (5, "rejected", 3, "EUR"),
    (6, "failed", 9, "USD"),
]
TABLES = (
    "customer_order",
    "order_line",
    "domain_order",
    "order_task",
    "task_dependency",
    "agreement",
    "product",
    "entitlement",
    "order_event",
)


def _seed(c: sa.Connection) -> None:
    def x(sql: str, **params: object) -> None:
        c.execute(sa.text(sql), params)

    for oid, state, revision, currency in ORDERS:
        x(
            "INSERT INTO customer_order (id, customer_id, state, version, description, currency, one_time_total,"
            " recurring_total, created_by, created_at, updated_at, revision)"
            " VALUES (:i, 'c1', :s, 1, '', :cur, 10, 5, 'u', :n, :n, :r)",
            i=oid,
            s=state,
            cur=currency,
            n=NOW,
            r=revision,
        )
        x(
            "INSERT INTO order_line (id, order_id, line_number, action, offering_key, spec_key, quantity, characteristics,"
            " state, unit_one_time_price, unit_recurring_price) VALUES (:i, :i, 1, 'add', 'o', 's', 1, '{}', :s, 10, 5)",
            i=oid,
            s=state,
        )
        x(
            "INSERT INTO order_event (id, order_id, customer_id, event_type, entity_kind, entity_id, actor, payload,"
            " occurred_at, sequence) VALUES (:i, :i, 'c1', 'e', 'order', :i, 'a', '{}', :n, :i)",
            i=oid,
            n=NOW,
        )
        if state in ("completed", "inProgress", "failed"):
            x(
                "INSERT INTO domain_order (id, order_id, line_id, kind, spec_key, unit_index, state, characteristics,"
                " created_at) VALUES (:i, :i, :i, 'product', 's', 0, :s, '{}', :n)",
                i=oid,
                s=state,
                n=NOW,
            )
            for k in (0, 1):
                x(
                    "INSERT INTO order_task (id, order_id, domain_order_id, key, name, kind, state, attempts, max_attempts,"
                    " idempotency_key) VALUES (:t, :i, :i, :k, 'task', 'auto', 'completed', 1, 3, :key)",
                    t=10 * oid + k,
                    i=oid,
                    k=f"k{k}",
                    key=f"idem-{oid}-{k}",
                )
            x(
                "INSERT INTO task_dependency (task_id, predecessor_id, dependency_type) VALUES (:t, :p, 'finishToStart')",
                t=10 * oid + 1,
                p=10 * oid,
            )
        if state == "completed":
            x(
                "INSERT INTO agreement (id, customer_id, order_id, name, status, start_date, created_at)"
                " VALUES (:i, 'c1', :i, 'a', 'active', :n, :n)",
                i=oid,
                n=NOW,
            )
        if state in ("completed", "inProgress"):
            agreement = oid if state == "completed" else None
            x(
                "INSERT INTO product (id, customer_id, name, offering_key, spec_key, status, characteristics, one_time_price,"
                " recurring_price, order_id, order_line_id, last_order_line_id, agreement_id, created_at, updated_at)"
                " VALUES (:i, 'c1', 'p', 'o', 's', 'active', '{}', 10, 5, :i, :i, :i, :a, :n, :n)",
                i=oid,
                a=agreement,
                n=NOW,
            )
            x("UPDATE order_line SET product_id = :i WHERE id = :i", i=oid)
        if state == "completed":
            x(
                "INSERT INTO entitlement (id, customer_id, product_id, agreement_id, name, quantity, unit, status, created_at)"
                " VALUES (:i, 'c1', :i, :i, 'e', 1, 'unit', 'active', :n)",
                i=oid,
                n=NOW,
            )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(sql))]


@pytest.fixture
def seeded(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0006")
    with engine.begin() as c:
        _seed(c)
    counts = _counts(engine)
    assert all(counts.values()), counts  # every order table has rows
    yield engine, counts
    engine.dispose()


def _assert_at_head(engine: Engine, counts: dict[str, int]) -> None:
    assert _counts(engine) == counts
    orders = _rows(engine, "SELECT id, change_seq, stage FROM customer_order ORDER BY id")
    # Orders the old pipeline had decomposed are orchestrating; rejected ones stayed where they
    # failed (the lifecycle leaves a rejected order in its stage), the rest have not started.
    stages = {"completed": "orchestration", "inProgress": "orchestration", "failed": "orchestration"}
    assert orders == [(oid, revision, stages.get(state, "validation")) for oid, state, revision, _ in ORDERS]
    currencies = {oid: currency for oid, _, _, currency in ORDERS}
    products = _rows(engine, "SELECT id, order_id, currency FROM product ORDER BY id")
    assert products == [(pid, oid, currencies[oid]) for pid, oid, _ in products]


def test_upgrade_and_round_trip_keep_every_row(seeded):
    engine, counts = seeded
    upgrade(engine)
    _assert_at_head(engine, counts)

    downgrade(engine, "0006")
    assert _counts(engine) == counts
    revisions = _rows(engine, "SELECT id, revision FROM customer_order ORDER BY id")
    assert revisions == [(oid, revision) for oid, _, revision, _ in ORDERS]

    upgrade(engine)
    _assert_at_head(engine, counts)


def test_writes_bump_change_seq_after_the_migration(seeded):
    engine, _ = seeded
    upgrade(engine)
    before = dict(_rows(engine, "SELECT id, change_seq FROM customer_order"))
    with engine.begin() as c:  # one transaction writing two rows of order 1, one of order 4
        c.execute(sa.text("UPDATE order_line SET quantity = 2 WHERE id = 1"))
        c.execute(sa.text("UPDATE order_task SET state = 'failed' WHERE id = 11"))
        c.execute(sa.text("UPDATE product SET status = 'suspended' WHERE id = 4"))
    after = dict(_rows(engine, "SELECT id, change_seq FROM customer_order"))
    assert after == {**before, 1: before[1] + 1, 4: before[4] + 1}
    with engine.begin() as c:  # a migrated column of the order (0009's stage) bumps it too
        c.execute(sa.text("UPDATE customer_order SET stage = 'enrichment' WHERE id = 2"))
    assert dict(_rows(engine, "SELECT id, change_seq FROM customer_order"))[2] == before[2] + 1


def test_a_raw_sqlite_connection_writes_with_the_registered_functions(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    upgrade(engine, "0006")
    with engine.begin() as c:
        _seed(c)
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(tmp_path / "om_graph.db")
    conn.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(sqlite3.OperationalError, match="om_write_xact"):
        conn.execute("UPDATE order_line SET quantity = 3 WHERE id = 1")
    register_sqlite_functions(conn)
    with conn:
        conn.execute("UPDATE order_line SET quantity = 3 WHERE id = 1")
    with conn:
        conn.execute("UPDATE order_line SET quantity = 4 WHERE id = 1")
    assert conn.execute("SELECT change_seq FROM customer_order WHERE id = 1").fetchone()[0] == ORDERS[0][2] + 2
    conn.close()


def test_offline_sql_stops_clearly_at_the_triggers():
    config = alembic_config("sqlite:///unused.db")
    with pytest.raises(CommandError, match="cannot run offline"):
        command.upgrade(config, "0007:head", sql=True)
