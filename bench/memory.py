"""Server memory: RSS of the embedded server process (VmRSS from /proc, peak VmHWM too) with many
orders stored (tiny 2k, small 100k, full 1M: the bulk database of :mod:`bench.orders_page`, copied)
after it has served a mix of the other benchmarks' traffic:

1. order(id) detail of the seeded 5-line order, then of bulk orders rotating over many ids;
2. orders(first: 50) pages: newest, at cursors spread over the whole id range, filtered;
3. orderCreate;
4. a lifecycle burst (create+submit, run to completion) with a websocket subscriber attached.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench import seed
from bench.common import (
    CREATE,
    SUBMIT,
    Result,
    gql_body,
    profiling,
    run_load,
    server_env,
    sqlite_url,
    start_server,
    wait_for,
)
from bench.event_latency import Subscriber, db_scalar
from bench.order_detail import DETAIL, global_id
from bench.orders_page import PAGE, cursor

PARAMS = {
    "tiny": dict(orders=2_000, seconds=1.0, burst=30),
    "small": dict(orders=100_000, seconds=4.0, burst=300),
    "full": dict(orders=1_000_000, seconds=6.0, burst=500),
}
TARGET_MB = 250.0


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    n = p["orders"]
    cached, seeded = seed.cached_orders_db(n)
    db = seed.copy_db(cached, workdir / f"memory-{n}.db")
    detail_id = seed.detail_order(sqlite_url(db))
    rng = random.Random(11)
    ids = [rng.randrange(1, n + 1) for _ in range(500)]
    server = start_server(server_env(sqlite_url(db)), workdir)
    sub = None
    phases = {}
    try:
        url, token, t = server.url + "/graphql", server.token, p["seconds"]
        phases["started"] = server.memory()
        with profiling(server, "memory"):
            run_load(url, token=token, body=gql_body(DETAIL, {"id": global_id("Order", detail_id)}), duration=t, connections=8)
            run_load(
                url,
                token=token,
                bodies=[gql_body(DETAIL, {"id": global_id("Order", i)}) for i in ids],
                duration=t,
                connections=8,
                workdir=workdir,
            )
            phases["detail"] = server.memory()
            pages = [gql_body(PAGE, {"first": 50, "after": cursor(i)}) for i in ids[:200]]
            pages += [
                gql_body(PAGE, {"first": 50}),
                gql_body(PAGE, {"first": 50, "states": ["FAILED"]}),
                gql_body(PAGE, {"first": 50, "customerId": "CUST-3"}),
            ]
            run_load(url, token=token, bodies=pages, duration=t, connections=8, workdir=workdir)
            phases["pages"] = server.memory()
            create = gql_body(CREATE, {"input": {"customerId": "BENCH-MEM", "lines": [{"offering": "test-auto"}]}})
            run_load(url, token=token, body=create, duration=t, connections=16)
            phases["create"] = server.memory()
            sub = Subscriber(server.url, token)
            sub.start()
            sub.ready.wait(15)
            burst = gql_body(CREATE, {"input": {"customerId": "BENCH-MEM-LC", "lines": [{"offering": "test-auto"}]}})
            load = run_load(
                url,
                token=token,
                body=burst,
                then_body=gql_body(SUBMIT, {"id": "__ID__"}),
                requests=p["burst"],
                duration=120,
                connections=16,
                expect='"errors":[]',
            )
            wait_for(
                lambda: (
                    db_scalar(
                        db, "SELECT count(*) FROM customer_order WHERE customer_id = 'BENCH-MEM-LC' AND state = 'completed'"
                    )
                    >= load["iterations"]
                ),
                300,
                interval=0.2,
                message="the burst's orders completed",
            )
            phases["lifecycle"] = server.memory()
        sub.stopping.set()
        sub.join(5)
        sub = None
        after = server.memory()
    finally:
        if sub is not None:
            sub.stopping.set()
        server.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    rss = after["VmRSS"]
    return [
        Result(
            f"server RSS after serving, {n:,} orders stored",
            rss,
            "MB",
            target=f"<= {TARGET_MB:.0f} MB",
            ok=rss <= TARGET_MB,
            note=f"peak {after['VmHWM']:.0f} MB; at start {phases['started']['VmRSS']:.0f} MB"
            + (f"; seeded in {seeded:.0f}s" if seeded else ""),
            data={"phases": phases, "after": after, "orders": n, "burst": load["iterations"]},
        )
    ]
