"""Seeding: one fully processed order through the core services, and large data sets by bulk
``sqlite3.executemany`` straight into the tables of om_graph/core/models.py (migrations first).

Bulk data sets are cached in bench/results/cache/orders-N.db and reused while the schema is at
the same migration head.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import CACHE, migrated_engine, sqlite_url
from om_graph.core.kernel.db import register_sqlite_functions

# Bulk orders: 1 line and 1 product each; states and customers spread so filtered pages are full.
CUSTOMERS = 20  # "CUST-0".."CUST-19": 50 orders each at 1k
STATES = (
    ("completed", 80),
    ("inProgress", 5),
    ("failed", 5),
    ("rejected", 5),
    ("draft", 5),
)  # no "acknowledged": the reconciler would process those


def services_for(database_url: str):
    """Core services on a migrated database with the test packs, jobs recorded (not dispatched).
    Returns (services, jobs, engine, run_job) where run_job(job) runs a recorded job synchronously
    through the project's own actor functions (whatever jobs the core currently emits)."""
    from om_graph.core.kernel.db import make_session_factory
    from om_graph.core.kernel.ports import NullEventSink, RecordingJobSink
    from om_graph.core.services import Services
    from om_graph.plugins.manager import build_plugin_manager, collect_registry
    from tests import fixture_auto_pack, fixture_pack

    engine = migrated_engine(database_url)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, fixture_auto_pack]))
    jobs = RecordingJobSink()
    svc = Services(make_session_factory(engine), registry, jobs, NullEventSink(), retry_backoff_ms=0)
    svc.load_catalog()
    from om_graph.settings import Settings
    from om_graph.worker.actors import declare_actors
    from om_graph.worker.broker import build_broker

    actors = declare_actors(build_broker(Settings()), lambda: svc, time_limit_ms=60_000).by_name

    def run_job(job) -> None:
        actors[job.name].fn(**job.args)

    return svc, jobs, engine, run_job


def detail_order(database_url: str) -> int:
    """An order of 5 lines (3 'test-internet': product, service, line and router orders with 6 tasks
    each including a manual installation; 2 'test-auto' with 2 tasks each): 22 tasks, 14 domain
    orders, 5 products, run to completion (contract and inventory written). Returns its id."""
    from sqlalchemy import select

    from om_graph.core.access.actor import Actor
    from om_graph.core.fulfilment.models import Task
    from om_graph.core.ordering.commands import LineInput, OrderInput
    from om_graph.core.ordering.models import Order

    staff = Actor("bench", frozenset({"order_manager"}))
    svc, jobs, engine, run_job = services_for(database_url)
    try:
        internet = LineInput(offering="test-internet", characteristics={"speed": 100, "address": "1 Bench Street"})
        auto = LineInput(offering="test-auto", characteristics={"label": "bench"})
        order = svc.orders.create(staff, OrderInput(customer_id="BENCH-DETAIL", lines=(internet, internet, internet, auto, auto)))
        svc.orders.submit(staff, order.id)
        for _ in range(1000):  # bounded: the order needs a few dozen jobs
            batch = jobs.take()
            if not batch:
                with svc.sessions() as s:
                    manual = s.scalars(
                        select(Task.id).where(Task.order_id == order.id, Task.kind == "manual", Task.state == "ready")
                    ).all()
                if not manual:
                    break
                for task_id in manual:
                    svc.processing.complete_task(staff, task_id, {"ontSerial": f"ONT-{task_id}"})
                continue
            for job in batch:
                run_job(job)
        with svc.sessions() as s:
            state = s.get(Order, order.id).state
        if state != "completed":
            raise RuntimeError(f"detail order ended {state}")
        return order.id
    finally:
        engine.dispose()


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from om_graph.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def bulk_orders(path: Path, n: int, chunk: int = 50_000) -> float:
    """Append ``n`` orders (each with one line and one product) to a migrated SQLite database.
    Returns the seconds it took."""
    migrated_engine(sqlite_url(path)).dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    register_sqlite_functions(conn)  # the order tables' change_seq triggers call it
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    base = datetime(2025, 1, 1)
    first = (conn.execute("SELECT max(id) FROM customer_order").fetchone()[0] or 0) + 1
    line_first = (conn.execute("SELECT max(id) FROM order_line").fetchone()[0] or 0) + 1
    product_first = (conn.execute("SELECT max(id) FROM product").fetchone()[0] or 0) + 1
    states = [s for s, weight in STATES for _ in range(weight)]
    chars = json.dumps({"label": "bulk"})
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        orders, lines, products = [], [], []
        for k in range(start, start + count):
            oid, lid, pid = first + k, line_first + k, product_first + k
            state = states[k % len(states)]
            at = (base + timedelta(seconds=k)).isoformat(sep=" ", timespec="microseconds")
            done = at if state == "completed" else None
            customer = f"CUST-{k % CUSTOMERS}"
            orders.append((oid, customer, state, 3, "", None, None, None, "EUR", 1, 1, None, "bench", at, at, at, done, None))
            lines.append((lid, oid, 1, "add", "test-auto", "test.auto", 1, chars, None, state, 1, 1))
            products.append(
                (
                    pid,
                    customer,
                    "Auto",
                    "test-auto",
                    "test.auto",
                    "active" if done else "created",
                    chars,
                    1,
                    1,
                    oid,
                    lid,
                    lid,
                    "EUR",
                    None,
                    done,
                    None,
                    at,
                    at,
                )
            )
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO customer_order ({','.join(ORDER_COLS)}) VALUES ({','.join('?' * len(ORDER_COLS))})", orders
        )
        conn.executemany(f"INSERT INTO order_line ({','.join(LINE_COLS)}) VALUES ({','.join('?' * len(LINE_COLS))})", lines)
        conn.executemany(f"INSERT INTO product ({','.join(PRODUCT_COLS)}) VALUES ({','.join('?' * len(PRODUCT_COLS))})", products)
        conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


ORDER_COLS = (
    "id",
    "customer_id",
    "state",
    "version",
    "description",
    "external_id",
    "idempotency_key",
    "request_hash",
    "currency",
    "one_time_total",
    "recurring_total",
    "requested_completion_date",
    "created_by",
    "created_at",
    "updated_at",
    "submitted_at",
    "completed_at",
    "processing_dispatched_at",
)
LINE_COLS = (
    "id",
    "order_id",
    "line_number",
    "action",
    "offering_key",
    "spec_key",
    "quantity",
    "characteristics",
    "product_id",
    "state",
    "unit_one_time_price",
    "unit_recurring_price",
)
PRODUCT_COLS = (
    "id",
    "customer_id",
    "name",
    "offering_key",
    "spec_key",
    "status",
    "characteristics",
    "one_time_price",
    "recurring_price",
    "order_id",
    "order_line_id",
    "last_order_line_id",
    "currency",
    "agreement_id",
    "start_date",
    "termination_date",
    "created_at",
    "updated_at",
)


def cached_orders_db(n: int) -> tuple[Path, float | None]:
    """A database with ``n`` bulk orders, seeded once and cached. Returns (path, seed seconds or
    None when the cache was used)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"orders-{n}.db"
    head = _head_revision()
    if path.exists():
        try:
            conn = sqlite3.connect(path)
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM customer_order").fetchone()[0]
            conn.close()
            if revision == head and count == n:
                return path, None
        except sqlite3.Error:
            pass
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    seconds = bulk_orders(tmp, n)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    return path, seconds


def copy_db(src: Path, dst: Path) -> Path:
    """A private copy of a cached database (benchmarks that write must not change the cache)."""
    shutil.copyfile(src, dst)
    return dst
