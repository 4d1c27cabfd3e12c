"""The TMF facade (om_graph/tmf): three figures.

1. **TMF622 POST throughput** as a ratio to GraphQL ``orderCreate`` for the same order (a draft of
   one ``test-auto`` line, so the workers stay idle): the same embedded server, load generator and
   connections, one after the other in the same run. Target: ratio >= 0.8.
2. **om-graph import** of N1 and N2 orders (TMF622 JSON lines, submitted) into fresh SQLite
   databases, each import its own process: orders/s and CPU per order from the larger; the peak
   RSS of both, which must be flat in the file's size (target: RSS(N2) <= 1.25 x RSS(N1)).
3. **Hub delivery latency**: a listener on a local port registered with ``POST /hub``; orders
   posted one at a time; for each one's ``ProductOrderCreateEvent``, the listener's receipt time
   minus the moment the POST answered (its commit). Delivery polls the outbox every
   ``OM_GRAPH_HUB_INTERVAL`` (0.05 s here), which bounds the latency from below. Target: p99 <= 500 ms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench.common import (
    CREATE,
    ROOT,
    Result,
    free_port,
    gql_body,
    percentile,
    request_headers,
    run_load,
    server_env,
    sqlite_url,
    start_server,
)

PARAMS = {
    "tiny": dict(duration=2.0, warmup=0.5, imports=(100, 400), hub_orders=10),
    "small": dict(duration=8.0, warmup=2.0, imports=(2_000, 10_000), hub_orders=60),
    "full": dict(duration=15.0, warmup=3.0, imports=(10_000, 100_000), hub_orders=200),
}
CONNECTIONS = 16
TARGET_RATIO = 0.8
TARGET_RSS_GROWTH = 1.25
TARGET_HUB_P99_MS = 500.0
TMF_ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
LINE = {"offering": "test-auto", "characteristics": [{"name": "label", "value": "x"}]}
GRAPHQL_BODY = gql_body(CREATE, {"input": {"customerId": "BENCH-TMF", "lines": [LINE]}})


def tmf_order(state: str | None = "draft", external_id: str | None = None) -> dict:
    body: dict = {
        "relatedParty": [{"id": "BENCH-TMF", "role": "customer", "@referredType": "Customer"}],
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": "test-auto"},
                "product": {"productCharacteristic": [{"name": "label", "value": "x"}]},
            }
        ],
    }
    if state:
        body["state"] = state
    if external_id:
        body["externalId"] = external_id
    return body


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    return [_post_ratio(p, workdir), _import(p, workdir), _hub_latency(p, workdir)]


def _post_ratio(p: dict, workdir: Path) -> Result:
    server = start_server(server_env(sqlite_url(workdir / "tmf-post.db")), workdir, name="tmf-post")
    try:
        load = dict(duration=p["duration"], warmup=p["warmup"], connections=CONNECTIONS)
        cpu = server.cpu_seconds()
        graphql = run_load(server.url + "/graphql", token=server.token, body=GRAPHQL_BODY, expect='"state":"DRAFT"', **load)
        graphql_cpu = 1000 * (server.cpu_seconds() - cpu) / max(1, graphql["all_requests"])
        cpu = server.cpu_seconds()
        tmf = run_load(
            server.url + TMF_ORDERS,
            token=server.token,
            body=json.dumps(tmf_order()),
            expect='"state":"draft"',
            expect_status=201,
            **load,
        )
        tmf_cpu = 1000 * (server.cpu_seconds() - cpu) / max(1, tmf["all_requests"])
    finally:
        server.stop()
    ratio = tmf["rps"] / graphql["rps"] if graphql["rps"] else None
    lat = tmf["latency_ms"]
    return Result(
        f"TMF622 POST productOrder ({CONNECTIONS} conns)",
        tmf["rps"],
        "req/s",
        target=f"ratio to orderCreate >= {TARGET_RATIO}",
        ok=ratio is not None and ratio >= TARGET_RATIO and not tmf["errors"],
        reference=graphql["rps"],
        reference_unit="req/s orderCreate",
        ratio=ratio,
        note=f"p50 {lat.get('p50', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms; server CPU {tmf_cpu:.2f} ms/order "
        f"(orderCreate {graphql_cpu:.2f})" + (f"; {tmf['errors']} errors" if tmf["errors"] else ""),
        data={"tmf": tmf, "graphql": graphql, "tmf_cpu_ms": tmf_cpu, "graphql_cpu_ms": graphql_cpu},
    )


_CHILD = (
    "import json, resource, sys, time\n"
    "from om_graph import cli\n"
    "started = time.perf_counter()\n"
    "code = cli.main(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print(json.dumps({'code': code, 'seconds': time.perf_counter() - started, 'cpu': usage.ru_utime + usage.ru_stime,"
    " 'maxrss_mb': usage.ru_maxrss / 1024}))\n"
)


def _import_once(count: int, workdir: Path) -> dict:
    source = workdir / f"import-{count}.jsonl"
    with source.open("w") as out:
        for n in range(count):
            out.write(json.dumps(tmf_order(state=None, external_id=f"BENCH-{n}")) + "\n")
    db = workdir / f"import-{count}.db"
    subprocess.run(  # migrate and load the catalog first: not part of the measured import
        [sys.executable, "-m", "om_graph.cli", "db", "upgrade"],
        env=server_env(sqlite_url(db)),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "import", str(source), "--quiet", "--partner", "bench"],
        env=server_env(sqlite_url(db), OM_GRAPH_DEMO_TOKENS_FILE=str(workdir / "import-tokens.json")),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"import of {count} failed ({done.returncode}):\n{done.stderr[-3000:]}{done.stdout[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["summary"] = done.stdout.strip().splitlines()[-2]
    return figures


def _import(p: dict, workdir: Path) -> Result:
    small, large = p["imports"]
    first, second = _import_once(small, workdir), _import_once(large, workdir)
    rate = large / second["seconds"]
    growth = second["maxrss_mb"] / first["maxrss_mb"]
    cpu_ms = 1000 * second["cpu"] / large
    return Result(
        f"om-graph import ({large:,} orders, JSON lines)",
        rate,
        "orders/s",
        target=f"peak RSS flat: {large:,} vs {small:,} orders <= {TARGET_RSS_GROWTH}x",
        ok=growth <= TARGET_RSS_GROWTH,
        reference=first["maxrss_mb"],
        reference_unit=f"MB peak RSS at {small:,}",
        ratio=growth,
        note=f"peak RSS {first['maxrss_mb']:.0f} MB at {small:,}, {second['maxrss_mb']:.0f} MB at {large:,}; "
        f"CPU {cpu_ms:.2f} ms/order, orders/s with the start-up; {second['summary']}",
        data={"small": first, "large": second},
    )


class _Listener:
    def __init__(self) -> None:
        self.received: dict[str, float] = {}  # order id -> receipt time of its create event
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("eventType") == "ProductOrderCreateEvent":
                    listener.received.setdefault(str(body["event"]["productOrder"]["id"]), time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _hub_latency(p: dict, workdir: Path) -> Result:
    listener = _Listener()
    env = server_env(sqlite_url(workdir / "tmf-hub.db"), OM_GRAPH_HUB_INTERVAL="0.05")
    server = start_server(env, workdir, name="tmf-hub")
    committed: dict[str, float] = {}
    try:
        headers = {**request_headers(server.token), "Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            hub = client.post(
                "/tmf-api/productOrderingManagement/v4/hub", json={"callback": f"http://127.0.0.1:{listener.port}/"}
            )
            hub.raise_for_status()
            for _ in range(p["hub_orders"]):
                answer = client.post(TMF_ORDERS, json=tmf_order())
                answer.raise_for_status()
                committed[answer.json()["id"]] = time.time()
                time.sleep(0.02)
        deadline = time.monotonic() + 30
        while len(listener.received) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        listener.stop()
    latencies = [1000 * (listener.received[i] - t) for i, t in committed.items() if i in listener.received]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    missing = len(committed) - len(latencies)
    return Result(
        f"hub delivery latency ({len(committed)} orders)",
        p99,
        "ms p99",
        target=f"p99 <= {TARGET_HUB_P99_MS:.0f} ms, none lost",
        ok=p99 is not None and p99 <= TARGET_HUB_P99_MS and not missing,
        note=f"p50 {p50 or 0:.0f} ms; commit (the POST's answer) to the listener's receipt; hub interval 0.05 s"
        + (f"; {missing} not delivered" if missing else ""),
        data={"latencies_ms": latencies},
    )
