"""Diagnostic (not a benchmark row): what the garbage collector costs per "test-auto" order, with
the interpreter's settings or with the ones ``om-graph serve``/``worker`` use
(``om_graph.runtime.PROCESS_GC_ENV``: a gen-0 threshold of 50,000 and ``gc.freeze()`` after
start-up). In-process, single-threaded, no HTTP, on SQLite, like ``bench.core_profile``, with the
GraphQL schema built first so the heap holds what a server's does.

    python -m bench.gc_cost [--orders 300] [--gc default|tuned]

Prints the collections per generation per 100 orders, the CPU time spent in them (``gc.callbacks``
around each collection, thread CPU time) and the whole process's CPU per order. For a noise-free
A/B run both under callgrind and compare the instruction totals::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/gc-default.cg python -m bench.gc_cost --orders 100 --gc default
    valgrind --tool=callgrind --callgrind-out-file=/tmp/gc-tuned.cg python -m bench.gc_cost --orders 100 --gc tuned
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from bench import seed
from bench.common import sqlite_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.gc_cost")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--gc", choices=("default", "tuned"), default="default")
    args = parser.parse_args(argv)
    from om_graph.core.access.actor import Actor
    from om_graph.core.ordering.commands import LineInput, OrderInput
    from om_graph.runtime import PROCESS_GC_ENV, tune_gc
    from om_graph.schema import build_schema
    from om_graph.settings import Settings

    schema = build_schema()  # kept alive: the server's heap has it
    svc, jobs, engine, run_job = seed.services_for(sqlite_url(Path(tempfile.mkdtemp()) / "gc.db"))
    staff = Actor("bench", frozenset({"order_manager"}))

    def one_order():
        order = svc.orders.create(staff, OrderInput(customer_id="GC", lines=(LineInput(offering="test-auto"),)))
        svc.orders.submit(staff, order.id)
        for _ in range(100):
            batch = jobs.take()
            if not batch:
                return
            for job in batch:
                run_job(job)

    for _ in range(20):  # warm-up: caches, prepared statements, the first connections
        one_order()
    if args.gc == "tuned":
        tune_gc(
            Settings(
                gc_freeze=PROCESS_GC_ENV["OM_GRAPH_GC_FREEZE"] == "true",
                gc_threshold=int(PROCESS_GC_ENV["OM_GRAPH_GC_THRESHOLD"]),
            )
        )
    collections = [0, 0, 0]
    in_gc = [0.0]
    started_at = [0.0]

    def callback(phase, info):
        if phase == "start":
            started_at[0] = time.thread_time()
        else:
            in_gc[0] += time.thread_time() - started_at[0]
            collections[info["generation"]] += 1

    gc.callbacks.append(callback)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.orders):
        one_order()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(callback)
    n = args.orders
    print(
        f"gc {args.gc} (threshold {gc.get_threshold()}, frozen {gc.get_freeze_count()} objects, "
        f"tracked {len(gc.get_objects())}): {n} orders, CPU {1000 * cpu / n:.2f} ms/order "
        f"(wall {1000 * wall / n:.2f}), in gc {1000 * in_gc[0] / n:.3f} ms/order; "
        f"collections per 100 orders gen0 {100 * collections[0] / n:.1f}, gen1 {100 * collections[1] / n:.1f}, "
        f"gen2 {100 * collections[2] / n:.2f}"
    )
    del schema
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
