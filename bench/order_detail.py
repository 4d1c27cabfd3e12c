"""order(id) detail over HTTP, one server process: an order of 5 lines, 14 domain orders, 22 tasks
and 5 products (completed, inventory written; seeded through the core services), read with lines,
domain orders with tasks and their dependencies, and products; 16 connections, closed loop.

Reference: a plain Starlette endpoint (``/json`` of :mod:`bench.reference_app`) returning the very
JSON document the real query returned (captured at the start of the run), serialised per request.

Measured twice: as the server runs by default (repeated reads answered from the validated
response cache, after one indexed read of the order's change_seq) and with the cache off
(``OM_GRAPH_RESPONSE_CACHE_MB=0``: every read loads the rows and completes every field), which is
what a read of an order nobody read since its last change costs.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from bench import seed
from bench.common import (
    Client,
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
TARGET_RPS, TARGET_SHARE = 2000.0, 0.40
DETAIL = """
query($id: ID!) {
  order(id: $id) {
    id state version customerId createdAt submittedAt completedAt
    oneTimeTotal { amount currency } recurringTotal { amount currency }
    lines { id lineNumber action offeringKey quantity state productId characteristics { name value } unitOneTimePrice { amount currency } }
    domainOrders {
      id kind specKey state unitIndex lineNumber parentId completedAt characteristics { name value }
      tasks { id key name kind state attempts startedAt finishedAt completedBy dependencies { predecessorId } }
    }
    products { id name status offeringKey startDate agreementId characteristics { name value } }
  }
}"""


def global_id(type_name: str, value: int) -> str:
    import base64

    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def capture(server, order_id: int) -> tuple[str, bytes, dict]:
    """The request body, the raw response and the parsed order (checked for shape)."""
    variables = {"id": global_id("Order", order_id)}
    gql = Client(server.url, server.token)
    try:
        raw = gql.raw(DETAIL, variables)
    finally:
        gql.close()
    order = json.loads(raw)["data"]["order"]
    tasks = [t for d in order["domainOrders"] for t in d["tasks"]]
    shape = {
        "lines": len(order["lines"]),
        "domainOrders": len(order["domainOrders"]),
        "tasks": len(tasks),
        "products": len(order["products"]),
        "state": order["state"],
        "bytes": len(raw),
    }
    if order["state"] != "COMPLETED" or shape["lines"] != 5 or not tasks or not order["products"]:
        raise RuntimeError(f"unexpected detail order: {shape}")
    return gql_body(DETAIL, variables), raw, shape


def measure(
    db: Path, order_id: int, workdir: Path, p: dict, *, cache_mb: str, label: str
) -> tuple[dict, float, str, bytes, dict]:
    server = start_server(server_env(sqlite_url(db), OM_GRAPH_RESPONSE_CACHE_MB=cache_mb), workdir)
    try:
        body, raw, shape = capture(server, order_id)
        cpu = server.cpu_seconds()
        with profiling(server, label):
            load = run_load(
                server.url + "/graphql",
                token=server.token,
                body=body,
                duration=p["duration"],
                warmup=p["warmup"],
                connections=CONNECTIONS,
                expect='"state":"COMPLETED"',
            )
        cpu_ms = 1000 * (server.cpu_seconds() - cpu) / max(1, load["all_requests"])
        load["response_cache"] = httpx.get(server.url + "/health", timeout=5).json()["responseCache"]
    finally:
        server.stop()
    return load, cpu_ms, body, raw, shape


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    db = workdir / "detail.db"
    order_id = seed.detail_order(sqlite_url(db))
    load, cpu_ms, body, raw, shape = measure(db, order_id, workdir, p, cache_mb="32", label="order_detail")
    uncached, uncached_cpu_ms, *_ = measure(db, order_id, workdir, p, cache_mb="0", label="order_detail_uncached")
    document = workdir / "detail-response.json"
    document.write_bytes(raw)
    reference = start_reference(workdir, document)
    try:
        ref = run_load(reference.url + "/json", body=body, duration=p["duration"], warmup=p["warmup"], connections=CONNECTIONS)
    finally:
        reference.stop()
    share = load["rps"] / ref["rps"]
    lat = load["latency_ms"]
    return [
        Result(
            f"order(id) detail over HTTP ({CONNECTIONS} conns)",
            load["rps"],
            "req/s",
            target=f">= {TARGET_RPS:.0f}/s, >= {TARGET_SHARE:.0%} of ref",
            ok=load["rps"] >= TARGET_RPS and share >= TARGET_SHARE and not load["errors"],
            reference=ref["rps"],
            reference_unit="req/s same JSON",
            ratio=share,
            note=f"{shape['tasks']} tasks, {shape['domainOrders']} domain orders, {shape['bytes']} B; p50 {lat.get('p50', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms, server CPU {cpu_ms:.1f} ms/req"
            + (f"; {load['errors']} errors" if load["errors"] else ""),
            data={"server_cpu_ms_per_request": cpu_ms, "load": load, "reference": ref, "shape": shape},
        ),
        Result(
            "same, response cache off (every read executed)",
            uncached["rps"],
            "req/s",
            reference=ref["rps"],
            reference_unit="req/s same JSON",
            ratio=uncached["rps"] / ref["rps"],
            note=f"p50 {uncached['latency_ms'].get('p50', 0):.1f} ms, p99 {uncached['latency_ms'].get('p99', 0):.1f} ms, "
            f"server CPU {uncached_cpu_ms:.1f} ms/req" + (f"; {uncached['errors']} errors" if uncached["errors"] else ""),
            data={"server_cpu_ms_per_request": uncached_cpu_ms, "load": uncached},
        ),
    ]
