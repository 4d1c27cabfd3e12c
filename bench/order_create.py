"""orderCreate over HTTP: 16 keep-alive connections, closed loop, against an embedded server on a
fresh SQLite database (the created drafts are not submitted, so the workers stay idle).

Reference: a plain Starlette endpoint doing nothing (``/noop`` of :mod:`bench.reference_app`),
same uvicorn settings, same load generator and connection count, in the same run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.common import (
    CREATE,
    Result,
    gql_body,
    profiling,
    run_load,
    server_env,
    sqlite_url,
    start_reference,
    start_server,
)

PARAMS = {
    "tiny": dict(duration=2.0, warmup=0.5),
    "small": dict(duration=10.0, warmup=2.0),
    "full": dict(duration=20.0, warmup=3.0),
}
CONNECTIONS = 16
TARGET_RPS, TARGET_P99_MS = 1000.0, 30.0
BODY = gql_body(
    CREATE,
    {
        "input": {
            "customerId": "BENCH-CREATE",
            "lines": [{"offering": "test-auto", "characteristics": [{"name": "label", "value": "x"}]}],
        }
    },
)


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    db = workdir / "create.db"
    server = start_server(server_env(sqlite_url(db)), workdir)
    try:
        cpu = server.cpu_seconds()
        with profiling(server, "order_create"):
            load = run_load(
                server.url + "/graphql",
                token=server.token,
                body=BODY,
                duration=p["duration"],
                warmup=p["warmup"],
                connections=CONNECTIONS,
                expect='"state":"DRAFT"',
            )
        cpu_ms = 1000 * (server.cpu_seconds() - cpu) / max(1, load["all_requests"])
    finally:
        server.stop()
    conn = sqlite3.connect(db)
    drafts = conn.execute(
        "SELECT count(*) FROM customer_order WHERE customer_id = 'BENCH-CREATE' AND state = 'draft'"
    ).fetchone()[0]
    conn.close()
    reference = start_reference(workdir)
    try:
        ref = run_load(reference.url + "/noop", body=BODY, duration=p["duration"], warmup=p["warmup"], connections=CONNECTIONS)
    finally:
        reference.stop()
    lat = load["latency_ms"]
    ok = load["rps"] >= TARGET_RPS and (lat.get("p99") or 1e9) <= TARGET_P99_MS and not load["errors"]
    return [
        Result(
            f"orderCreate over HTTP ({CONNECTIONS} conns)",
            load["rps"],
            "req/s",
            target=f">= {TARGET_RPS:.0f}/s, p99 <= {TARGET_P99_MS:.0f} ms",
            ok=ok,
            reference=ref["rps"],
            reference_unit="req/s noop",
            ratio=load["rps"] / ref["rps"],
            note=f"p50 {lat.get('p50', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms, server CPU {cpu_ms:.1f} ms/req (noop p99 {ref['latency_ms'].get('p99', 0):.1f} ms)"
            + (f"; {load['errors']} errors" if load["errors"] else ""),
            data={"server_cpu_ms_per_request": cpu_ms, "load": load, "reference": ref, "drafts_in_db": drafts},
        )
    ]
