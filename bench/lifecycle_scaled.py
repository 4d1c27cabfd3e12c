"""Full lifecycle, scaled: PostgreSQL + Redis, the server plus separate ``om-graph worker``
processes (half the cores, 8 threads each: see WORKER_PROCESSES). Same driver as :mod:`bench.lifecycle`.

Reference: the order tables' rows copied, in the same database, into empty tables of a scratch
schema created ``LIKE`` the originals ``INCLUDING ALL`` (same columns, defaults, indexes; foreign
keys are not copied) with ``COPY ... FROM STDIN`` in one transaction (the table's figure);
``executemany`` (psycopg pipeline) is measured too and kept in the JSON. Skipped, with a note, when PostgreSQL or Redis is unreachable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import (
    ORDER_TABLES,
    PG_ADMIN_URL,
    REDIS_URL,
    Result,
    check_postgres,
    check_redis,
    count_rows,
    redis_namespace,
    scratch_postgres,
    server_env,
    skipped,
    start_server,
    start_worker,
)
from bench.cpu import CpuMeter, pg_app_env
from bench.lifecycle import PARAMS, TARGET_RATE, TARGET_RATIO, cpu_result, drive, result, warm_up

NAME = "lifecycle (scaled: PostgreSQL, Redis, {} worker procs)"
# Worker processes sized to cores: the server and PostgreSQL run on the same host and take about
# half of it, so the workers get the other half, one process per core (each uses at most one core
# for Python) with 8 threads to overlap database round trips. Same-run A/B on 2 cores (bench.ab,
# 2026-12-01): 1 x 8 against the earlier 2 x 4 was 0.82x the CPU per order and 1.47x the orders/s.
WORKER_PROCESSES, WORKER_THREADS = max(1, (os.cpu_count() or 2) // 2), 8
TARGET_CPU_MS = 6.0


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_completed(url: str):
    import psycopg

    def read(customer: str):
        with psycopg.connect(_dsn(url)) as conn:
            return conn.execute(
                "SELECT count(*), max(completed_at) FROM customer_order WHERE customer_id = %s AND state = 'completed'",
                (customer,),
            ).fetchone()

    return read


def raw_postgres_write(url: str) -> dict:
    """COPY, then executemany, of the order tables' rows into same-shaped empty tables of a scratch
    schema (each one committed transaction; the tables are emptied in between)."""
    import psycopg

    data = []
    with psycopg.connect(_dsn(url)) as conn:
        for table in ORDER_TABLES:
            columns = [d.name for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
            rows = conn.execute(f"SELECT {','.join(c + '::text' for c in columns)} FROM {table}").fetchall()
            data.append((table, columns, rows))
        conn.execute("CREATE SCHEMA bench_ref")
        for table in ORDER_TABLES:
            conn.execute(f"CREATE TABLE bench_ref.{table} (LIKE public.{table} INCLUDING ALL)")
        conn.commit()
        out = {"rows": sum(len(rows) for _, _, rows in data)}
        started = time.perf_counter()
        with conn.cursor() as cur:
            for table, columns, rows in data:
                with cur.copy(f"COPY bench_ref.{table} ({','.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        out["copy_seconds"] = time.perf_counter() - started
        conn.execute("TRUNCATE " + ",".join(f"bench_ref.{t}" for t in ORDER_TABLES))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for table, columns, rows in data:
                if rows:
                    cur.executemany(
                        f"INSERT INTO bench_ref.{table} ({','.join(columns)}) VALUES ({','.join(['%s'] * len(columns))})", rows
                    )
        conn.commit()
        out["executemany_seconds"] = time.perf_counter() - started
        conn.execute("DROP SCHEMA bench_ref CASCADE")
        conn.commit()
    return out


def run(
    size: str,
    workdir: Path,
    *,
    postgres_admin_url: str = PG_ADMIN_URL,
    redis_url: str = REDIS_URL,
    extra_env: dict[str, str] | None = None,
    workers: tuple[int, int] = (WORKER_PROCESSES, WORKER_THREADS),
) -> list[Result]:
    """``extra_env``: more variables for the server and the workers; ``workers``: (processes,
    threads) of the one ``om-graph worker`` (``bench.ab`` compares settings with them)."""
    target = f">= {TARGET_RATE:.0f} orders/s, <= {TARGET_RATIO:.0f}x raw (reported)"
    problem = check_postgres(postgres_admin_url) or check_redis(redis_url)
    if problem:
        return [skipped(NAME.format(workers[0]), target, f"PostgreSQL/Redis unreachable ({problem})")]
    p = PARAMS[size]
    with scratch_postgres(postgres_admin_url) as db_url, redis_namespace(redis_url) as namespace:
        env = server_env(db_url, OM_GRAPH_REDIS_URL=redis_url, OM_GRAPH_REDIS_NAMESPACE=namespace, **(extra_env or {}))
        server = start_server({**env, **pg_app_env("server")}, workdir)
        worker = start_worker({**env, **pg_app_env("worker")}, workdir, processes=workers[0], threads=workers[1])
        try:
            completed = pg_completed(db_url)
            warm_up(server, completed)
            meter = CpuMeter(
                server=server,
                worker=worker,
                postgres_db=db_url.rsplit("/", 1)[1],
                postgres_admin_url=postgres_admin_url,
                redis=True,
            )
            measured = drive(server, p["orders"], p["connections"], completed, worker, "lifecycle_scaled_workers", meter)
        finally:
            worker.stop()
            server.stop()
        if measured["completed"] < p["orders"] or measured["load"]["errors"]:
            raise RuntimeError(
                f"scaled lifecycle incomplete: {measured['completed']}/{p['orders']}, {measured['load']['error_samples']}"
            )
        rows = count_rows(db_url)
        raw = raw_postgres_write(db_url)
    assert raw["rows"] == sum(rows.values())
    row = result(NAME.format(workers[0]), measured, rows, raw["copy_seconds"], "PostgreSQL COPY", judge=False)
    row.data["raw"] = raw
    row.data["workers"] = {"processes": workers[0], "threads": workers[1]}
    row.note += f"; executemany {raw['executemany_seconds'] * 1000:.0f} ms (ratio {measured['elapsed'] / raw['executemany_seconds']:.0f}x)"
    return [row, cpu_result("lifecycle CPU per order (scaled)", measured, TARGET_CPU_MS)]
