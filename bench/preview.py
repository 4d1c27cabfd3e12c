"""orderPreview against orderCreate of the same order, over HTTP, one server process, same run.

The order is the 5-line detail order of :mod:`bench.order_detail` (3 'test-internet' lines, 2
'test-auto': 14 domain orders, 22 tasks once decomposed). orderCreate validates, prices and
stores it as a draft; orderPreview captures it the same way in memory, runs the stages (business
validators, enrichment, the policy tables, decomposition with its jeopardy policies) and
schedules the plan, writing nothing. Both run as closed loops of ``CONNECTIONS`` connections
against the same server, alternated in ``ROUNDS`` so drift (the database growing with drafts, a
warm cache) falls on both; the figure is preview's server CPU per request over create's
(target <= 1.5x), with the latency ratio beside it.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import CREATE, Result, gql_body, run_load, server_env, sqlite_url, start_server

PARAMS = {
    "tiny": dict(duration=1.0, warmup=0.3, rounds=1),
    "small": dict(duration=5.0, warmup=1.0, rounds=2),
    "full": dict(duration=10.0, warmup=2.0, rounds=3),
}
CONNECTIONS = 4
TARGET_RATIO = 1.5
INTERNET = {
    "offering": "test-internet",
    "characteristics": [{"name": "speed", "value": 100}, {"name": "address", "value": "1 Bench Street"}],
}
AUTO = {"offering": "test-auto", "characteristics": [{"name": "label", "value": "bench"}]}
ORDER = {"customerId": "BENCH-PREVIEW", "lines": [INTERNET, INTERNET, INTERNET, AUTO, AUTO]}
PREVIEW = """
query($input: OrderPreviewInput!) {
  orderPreview(input: $input) {
    preview {
      oneTimeTotal { amount currency } recurringTotal { amount currency }
      lines { lineNumber characteristics { name value } itemTotalPrice { priceType price { dutyFreeAmount { amount } } } }
      enrichmentTasks { lineNumber key } approvalSteps { level role reasons } waits { stage waitingFor }
      domainOrders { ref parentRef lineNumber kind specKey }
      tasks { ref domainOrderRef key kind plannedSeconds dependsOn earliestFinish critical }
      predictedCompletionDate criticalPath
    }
    errors { field code message }
  }
}"""
CREATE_BODY = gql_body(CREATE, {"input": ORDER})
PREVIEW_BODY = gql_body(PREVIEW, {"input": {"order": ORDER}})


def _measure(server, body: str, expect: str, p: dict) -> tuple[dict, float]:
    cpu = server.cpu_seconds()
    load = run_load(
        server.url + "/graphql",
        token=server.token,
        body=body,
        duration=p["duration"],
        warmup=p["warmup"],
        connections=CONNECTIONS,
        expect=expect,
    )
    return load, server.cpu_seconds() - cpu


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    server = start_server(server_env(sqlite_url(workdir / "preview.db")), workdir)
    totals = {"create": [0, 0.0, 0.0, 0], "preview": [0, 0.0, 0.0, 0]}  # requests, cpu s, wall s, errors
    loads: dict[str, list[dict]] = {"create": [], "preview": []}
    try:
        for _ in range(p["rounds"]):
            for name, body, expect in (
                ("create", CREATE_BODY, '"state":"DRAFT"'),
                ("preview", PREVIEW_BODY, '"criticalPath":['),
            ):
                load, cpu = _measure(server, body, expect, p)
                loads[name].append(load)
                t = totals[name]
                t[0] += load["all_requests"]
                t[1] += cpu
                t[2] += load["requests"] / load["rps"] if load["rps"] else 0.0
                t[3] += load["errors"]
    finally:
        server.stop()
    cpu_ms = {name: 1000 * t[1] / max(1, t[0]) for name, t in totals.items()}
    rps = {name: sum(x["requests"] for x in loads[name]) / max(1e-9, totals[name][2]) for name in totals}
    ratio = cpu_ms["preview"] / cpu_ms["create"] if cpu_ms["create"] else float("inf")
    latency_ratio = rps["create"] / rps["preview"] if rps["preview"] else float("inf")
    errors = totals["create"][3] + totals["preview"][3]
    p50 = {name: loads[name][-1]["latency_ms"].get("p50", 0) for name in loads}
    return [
        Result(
            "orderPreview of the 5-line order / orderCreate of it (server CPU per request)",
            ratio,
            "x",
            target=f"<= {TARGET_RATIO}x",
            ok=ratio <= TARGET_RATIO and not errors,
            note=(
                f"preview {cpu_ms['preview']:.1f} ms CPU/req ({rps['preview']:.0f} req/s, p50 {p50['preview']:.1f} ms), "
                f"create {cpu_ms['create']:.1f} ms CPU/req ({rps['create']:.0f} req/s, p50 {p50['create']:.1f} ms); "
                f"latency ratio {latency_ratio:.2f}x, {CONNECTIONS} connections" + (f"; {errors} errors" if errors else "")
            ),
            data={"cpu_ms": cpu_ms, "rps": rps, "latency_ratio": latency_ratio, "errors": errors, "loads": loads},
        )
    ]
