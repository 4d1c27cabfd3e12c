"""Diagnostic (not a benchmark row): the core's own cost per "test-auto" order, single-threaded,
in-process, no HTTP, no broker, on SQLite: per service call, the wall time, SQL statements,
Session.flush() calls and the time the SQLite write lock was held. It bounds what the embedded lifecycle could reach with no contention.

    python -m bench.core_profile [--orders 300] [--db PATH] [--sql]

``--sql`` also prints the statements of one order after the warm-up, transaction by transaction
(what docs/architecture.md's statement list is checked against). For CPU, prefer instruction
counts (noise-free): run it under ``valgrind --tool=callgrind`` with two ``--orders`` values and
divide the difference of the totals by the difference of the orders (startup cancels out).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from bench import seed
from bench.common import sqlite_url
from om_graph.core.kernel.db import sqlite_writer_stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.core_profile")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--sql", action="store_true", help="print one order's statements, per transaction")
    args = parser.parse_args(argv)
    from om_graph.core.access.actor import Actor
    from om_graph.core.ordering.commands import LineInput, OrderInput

    db = args.db or Path(tempfile.mkdtemp()) / "core.db"
    svc, jobs, engine, run_job = seed.services_for(sqlite_url(db))
    staff = Actor("bench", frozenset({"order_manager"}))
    current: list[str | None] = [None]
    wall, calls, sql, flushes = defaultdict(float), defaultdict(int), defaultdict(int), defaultdict(int)
    held, txns = defaultdict(float), defaultdict(int)

    shown: list[str] | None = None  # one order's statements, when --sql

    @event.listens_for(engine, "before_cursor_execute")
    def _count_sql(_conn, _cursor, statement, _params, _context, many):
        if current[0]:
            sql[current[0]] += 1
        if shown is not None:
            shown.append(("executemany " if many else "") + " ".join(statement.split())[:110])

    @event.listens_for(engine, "begin")
    def _begin(_conn):
        if shown is not None:
            shown.append(f"-- {current[0]}: BEGIN")

    @event.listens_for(Session, "before_flush")
    def _count_flush(*_):
        if current[0]:
            flushes[current[0]] += 1

    def timed(name, fn, *a, **kw):
        current[0] = name
        writer = sqlite_writer_stats(engine)
        started = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            wall[name] += time.perf_counter() - started
            calls[name] += 1
            current[0] = None
            after = sqlite_writer_stats(engine)
            held[name] += after.held_seconds - writer.held_seconds
            txns[name] += after.transactions - writer.transactions

    def one_order():
        order = timed(
            "create", svc.orders.create, staff, OrderInput(customer_id="CORE", lines=(LineInput(offering="test-auto"),))
        )
        timed("submit", svc.orders.submit, staff, order.id)
        for _ in range(100):
            batch = jobs.take()
            if not batch:
                return
            for job in batch:
                timed(f"job {job.name}", run_job, job)

    for _ in range(20):  # warm-up
        one_order()
    if args.sql:
        shown = []
        one_order()
        print("\n".join(shown))
        shown = None
    for d in (wall, calls, sql, flushes, held, txns):
        d.clear()
    started = time.perf_counter()
    for _ in range(args.orders):
        one_order()
    elapsed = time.perf_counter() - started
    n = args.orders
    print(f"{n} orders single-threaded: {n / elapsed:.0f} orders/s, {1000 * elapsed / n:.2f} ms/order")
    for name in wall:
        print(
            f"  {name:28s} {1000 * wall[name] / n:6.2f} ms/order  calls {calls[name] / n:4.1f}  "
            f"SQL {sql[name] / n:5.1f}  flushes {flushes[name] / n:5.1f}  write lock {1000 * held[name] / n:5.2f} ms "
            f"in {txns[name] / n:3.1f} transactions"
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
