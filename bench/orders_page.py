"""orders(first: 50) pages with 1k orders stored and with many (tiny 2k, small 100k, full 1M).

Bulk-seeded databases (orders with one line and one product each, 20 customers, 80 % completed;
see :mod:`bench.seed`). Four pages, each timed against both databases with 4 connections, closed
loop: the newest page; a page deep in the middle (``after`` a cursor at half the ids); a state
filter (FAILED, 5 % of orders); a customer filter (1 customer in 20). The figure is the mean time
per page with many orders stored, the reference the same page with 1k stored, the ratio their
quotient (target <= 1.5: keyset pagination and indexes keep a page's cost flat).
"""

from __future__ import annotations

import base64
from pathlib import Path

from bench import seed
from bench.common import (
    Client,
    Result,
    gql_body,
    profiling,
    run_load,
    server_env,
    sqlite_url,
    start_server,
)

PARAMS = {
    "tiny": dict(large=2_000, duration=1.5),
    "small": dict(large=100_000, duration=5.0),
    "full": dict(large=1_000_000, duration=8.0),
}
SMALL = 1_000
CONNECTIONS = 4
TARGET_RATIO = 1.5
PAGE = """
query($first: Int!, $after: String, $states: [OrderState!], $customerId: String) {
  orders(first: $first, after: $after, states: $states, customerId: $customerId) {
    edges { cursor node { id state customerId createdAt completedAt oneTimeTotal { amount currency } lines { offeringKey quantity state } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(f"k:{order_id}".encode()).decode()


def variants(n: int) -> dict[str, dict]:
    return {
        "newest": {"first": 50},
        "deep (after n/2)": {"first": 50, "after": cursor(n // 2)},
        "state=FAILED": {"first": 50, "states": ["FAILED"]},
        "customer 1/20": {"first": 50, "customerId": "CUST-7"},
    }


def measure(db: Path, n: int, duration: float, workdir: Path, label: str) -> dict[str, dict]:
    server = start_server(server_env(sqlite_url(db)), workdir)
    out = {}
    try:
        gql = Client(server.url, server.token)
        try:
            for name, variables in variants(n).items():
                edges = gql(PAGE, variables)["orders"]["edges"]
                if len(edges) != 50:
                    raise RuntimeError(f"page {name!r} at {n} orders has {len(edges)} edges")
        finally:
            gql.close()
        with profiling(server, f"orders_page_{label}"):
            for name, variables in variants(n).items():
                out[name] = run_load(
                    server.url + "/graphql",
                    token=server.token,
                    body=gql_body(PAGE, variables),
                    duration=duration,
                    warmup=min(1.0, duration / 3),
                    connections=CONNECTIONS,
                    expect='"hasNextPage"',
                )
    finally:
        server.stop()
    return out


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    results = {}
    seeded = {}
    for n in (SMALL, p["large"]):
        cached, seconds = seed.cached_orders_db(n)
        seeded[n] = seconds
        db = seed.copy_db(cached, workdir / f"orders-{n}.db")
        try:
            results[n] = measure(db, n, p["duration"], workdir, str(n))
        finally:
            db.unlink(missing_ok=True)
    rows = []
    for name in variants(SMALL):
        small, large = results[SMALL][name], results[p["large"]][name]
        per_page = 1000 * CONNECTIONS / large["rps"]
        reference = 1000 * CONNECTIONS / small["rps"]
        ratio = per_page / reference
        errors = small["errors"] + large["errors"]
        rows.append(
            Result(
                f"orders(first: 50) {name}, {p['large']:,} vs 1k",
                per_page,
                "ms/page",
                target=f"ratio <= {TARGET_RATIO}",
                ok=ratio <= TARGET_RATIO and not errors,
                reference=reference,
                reference_unit="ms/page at 1k",
                ratio=ratio,
                note=f"p99 {large['latency_ms'].get('p99', 0):.1f} ms vs {small['latency_ms'].get('p99', 0):.1f} ms"
                + (f"; seeded {p['large']:,} in {seeded[p['large']]:.0f}s" if seeded.get(p["large"]) else "")
                + (f"; {errors} errors" if errors else ""),
                data={"large": large, "small": small, "orders": p["large"], "seed_seconds": seeded},
            )
        )
    return rows
