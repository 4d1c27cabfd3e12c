"""Full lifecycle, embedded (SQLite, workers inside the server process).

Orders for the offering "test-auto" (two automatic tasks) are created and submitted over HTTP by
:mod:`bench.load` (16 keep-alive connections, create then submit per order), decomposed and run by
the server's in-process workers, and completed with their product and contract written. The clock
runs from the first measured create to the last order's ``completed_at`` in the database.

Reference: the rows the run left in the order tables, counted and copied with raw ``sqlite3``
``executemany`` in one transaction into an empty database with the very same schema (the DDL of
the run's database: tables, indexes, foreign keys) and the server's WAL/synchronous pragmas.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import (
    CREATE,
    ORDER_TABLES,
    SUBMIT,
    Client,
    Result,
    count_rows,
    gql_body,
    profiling,
    run_load,
    server_env,
    sqlite_url,
    start_server,
    wait_for,
)
from bench.cpu import CpuMeter, split_text
from om_graph.core.kernel.db import register_sqlite_functions

PARAMS = {
    "tiny": dict(orders=40, connections=8),
    "small": dict(orders=1000, connections=16),
    "full": dict(orders=5000, connections=16),
}
TARGET_RATE, TARGET_RATIO = 300.0, 25.0
TARGET_CPU_MS = 4.0  # CPU-ms per order, every process that served it
CUSTOMER = "BENCH-LC"


def epoch(value) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).timestamp() if value.tzinfo is None else value.timestamp()


def warm_up(server, wait_completed) -> None:
    """One order end to end before measuring (imports, caches, first connections)."""
    gql = Client(server.url, server.token)
    try:
        order = gql(CREATE, {"input": {"customerId": "BENCH-WARM", "lines": [{"offering": "test-auto"}]}})["orderCreate"]["order"]
        gql(SUBMIT, {"id": order["id"]})
        wait_for(lambda: wait_completed("BENCH-WARM")[0] >= 1, 60, message="the warm-up order")
    finally:
        gql.close()


def drive(server, orders: int, connections: int, completed, profiled, label: str, meter: CpuMeter | None = None) -> dict:
    """Create and submit ``orders`` orders over HTTP (one orderCreate with TMF622
    requestedInitialState ACKNOWLEDGED each) and wait for all to complete.
    ``completed(customer) -> (count, last completed_at)`` reads the database. ``meter``: the CPU
    of the processes serving the orders, from before the first request to the last completion
    seen (its report is the result's ``cpu``)."""
    body = gql_body(
        CREATE, {"input": {"customerId": CUSTOMER, "lines": [{"offering": "test-auto"}], "requestedInitialState": "ACKNOWLEDGED"}}
    )
    with profiling(profiled, label):
        if meter is not None:
            meter.start()
        load = run_load(
            server.url + "/graphql",
            token=server.token,
            body=body,
            requests=orders,
            duration=120 + orders / 5,
            connections=connections,
            expect='"errors":[]',
        )
        count, last = wait_for(
            lambda: (r := completed(CUSTOMER))[0] >= load["iterations"] and r,
            120 + orders / 10,
            interval=0.1,
            message="all orders completed",
        )
        if meter is not None:
            meter.stop()
    elapsed = epoch(last) - load["started_at"]
    out = {"load": load, "completed": count, "elapsed": elapsed, "rate": count / elapsed}
    if meter is not None:
        out["cpu"] = meter.report(count)
    return out


def sqlite_completed(path: Path):
    def read(customer: str):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(
                "SELECT count(*), max(completed_at) FROM customer_order WHERE customer_id = ? AND state = 'completed'",
                (customer,),
            ).fetchone()
        finally:
            conn.close()

    return read


def raw_sqlite_write(src: Path, dst: Path) -> tuple[float, int]:
    """Copy every row of the order tables into an empty database with the source's schema: one
    transaction, executemany per table. Returns (seconds, rows)."""
    source = sqlite3.connect(src)
    schema = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
            " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
        )
    ]
    target = sqlite3.connect(dst)
    for sql in schema:  # tables first, then their indexes and triggers
        target.execute(sql)
    target.commit()
    target.close()
    data = []
    for table in ORDER_TABLES:
        cursor = source.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description]
        data.append((f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", cursor.fetchall()))
    source.close()
    conn = sqlite3.connect(dst, isolation_level=None)
    register_sqlite_functions(conn)  # the copied change_seq triggers call it
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for sql, rows in data:
        conn.executemany(sql, rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, sum(len(rows) for _, rows in data)


def writer_stats(server) -> dict:
    return httpx.get(server.url + "/health", timeout=10).json()["sqliteWriter"]


def writer_share(before: dict, after: dict, run: dict) -> dict:
    """How long the measured orders held SQLite's single write lock: per order, as a share of the
    run, and the rate that bounds (no number of cores or processes runs writes side by side)."""
    held = after["heldSeconds"] - before["heldSeconds"]
    per_order_ms = 1000 * held / max(run["completed"], 1)
    return {
        "held_seconds": held,
        "transactions": after["transactions"] - before["transactions"],
        "held_ms_per_order": per_order_ms,
        "share_of_run": held / run["elapsed"],
        "ceiling_orders_per_s": 1000 / per_order_ms if per_order_ms else None,
    }


def result(name: str, run: dict, rows: dict, raw_seconds: float, raw_label: str, judge: bool = True) -> Result:
    ratio = run["elapsed"] / raw_seconds
    load = run["load"]
    writer = run.get("writer")
    ok = (run["rate"] >= TARGET_RATE and ratio <= TARGET_RATIO) if judge else None
    return Result(
        name,
        run["rate"],
        "orders/s",
        target=f">= {TARGET_RATE:.0f} orders/s, <= {TARGET_RATIO:.0f}x raw",
        ok=ok,
        reference=raw_seconds * 1000,
        reference_unit=f"ms {raw_label} of {sum(rows.values())} rows",
        ratio=ratio,
        note=f"{run['completed']} orders in {run['elapsed']:.1f}s; HTTP create+submit p99 {load['latency_ms'].get('p99', 0):.0f} ms"
        + (f"; {load['errors']} HTTP errors" if load["errors"] else "")
        + (
            f"; SQLite write lock held {writer['held_ms_per_order']:.1f} ms/order ({writer['transactions'] / run['completed']:.1f}"
            f" transactions), {100 * writer['share_of_run']:.0f}% of the run: ceiling {writer['ceiling_orders_per_s']:.0f} orders/s"
            if writer
            else ""
        ),
        data={"run": run, "rows": rows, "raw_seconds": raw_seconds},
    )


def cpu_result(name: str, run: dict, target_ms: float) -> Result:
    """The row of CPU time per completed order, split by process (``bench.cpu``)."""
    cpu = run["cpu"]
    return Result(
        name,
        cpu["ms_per_order"],
        "CPU-ms/order",
        target=f"<= {target_ms:g} CPU-ms/order",
        ok=cpu["ms_per_order"] <= target_ms,
        note=split_text(cpu),
        data={"cpu": cpu},
    )


def run(size: str, workdir: Path, *, extra_env: dict[str, str] | None = None) -> list[Result]:
    """``extra_env``: more variables for the server (``bench.ab`` compares settings with it)."""
    p = PARAMS[size]
    db = workdir / "lifecycle.db"
    server = start_server(server_env(sqlite_url(db), **(extra_env or {})), workdir)
    try:
        completed = sqlite_completed(db)
        warm_up(server, completed)
        before = writer_stats(server)
        measured = drive(server, p["orders"], p["connections"], completed, server, "lifecycle", CpuMeter(server=server))
        measured["writer"] = writer_share(before, writer_stats(server), measured)
    finally:
        server.stop()
    rows = count_rows(sqlite_url(db))
    if measured["completed"] < p["orders"] or measured["load"]["errors"]:
        raise RuntimeError(
            f"lifecycle incomplete: {measured['completed']}/{p['orders']} completed, {measured['load']['error_samples']}"
        )
    raw_seconds, raw_rows = raw_sqlite_write(db, workdir / "raw-reference.db")
    assert raw_rows == sum(rows.values())
    return [
        result("lifecycle (embedded, SQLite)", measured, rows, raw_seconds, "sqlite3 executemany"),
        cpu_result("lifecycle CPU per order (embedded)", measured, TARGET_CPU_MS),
    ]
