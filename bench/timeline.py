"""order.timeline over HTTP for a 500-task order, one server process, closed loop.

The order (10 lines of 'test-auto', each with a product order over 5 service orders of 10 tasks:
60 domain orders, 500 tasks, 450 typed dependencies with lags inside the service orders plus 40
finish-to-start dependencies from one service order to the next of its line) is seeded through
the core services (created, then its plan written and scheduled by a real plan session), with
40 % of its tasks done and 10 % running. The query selects every field of the timeline types
(``OrderTimeline``, ``TimelineLine``, ``TimelineDomainOrder``, ``TimelineTask``,
``TimelineDependency``): planned, estimated and actual spans, state, jeopardy, due and release
times, the critical flag, float, finish gating, assignee and dependencies.

Measured as the server runs by default (a repeated read of an unchanged order answered from the
response cache) and with the cache off (``OM_GRAPH_RESPONSE_CACHE_MB=0``: five statements and the
whole timeline built per request), with the server's CPU per request. Reference: a plain
Starlette endpoint returning the same JSON document.

Target: with the cache off, server CPU <= 80 ms per request (a 500-task Gantt chart in well
under a tenth of a second of CPU; an order detail of 22 tasks costs about 10) and no errors.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
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
    "small": dict(duration=8.0, warmup=2.0),
    "full": dict(duration=20.0, warmup=3.0),
}
CONNECTIONS = 4
LINES, SERVICES, TASKS_PER_DOMAIN_ORDER = 10, 5, 10
TARGET_CPU_MS = 80.0
CROSS = LINES * (SERVICES - 1)  # one dependency from each service order to the next of its line
DEPENDENCIES = LINES * SERVICES * (TASKS_PER_DOMAIN_ORDER - 1) + CROSS
TIMELINE = """
query($id: ID!) {
  order(id: $id) {
    id
    timeline {
      state jeopardy startDate requestedCompletionDate committedCompletionDate expectedCompletionDate completedAt
      lines {
        id lineNumber offeringKey state jeopardy expectedCompletionDate
        domainOrders {
          id parentId kind specKey unitIndex state jeopardy
          plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate
          tasks {
            id key name kind state jeopardy durationSeconds dueAt critical totalFloat releaseAt finishBlocked assignee
            plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate
            dependencies { predecessorId type lag }
          }
        }
      }
    }
  }
}"""

_TYPES = ("finishToStart", "startToStart", "finishToFinish", "finishToStart", "startToFinish")


def seed_order(database_url: str) -> int:
    """The 500-task order, planned and estimated by a plan session. Returns its id."""
    from sqlalchemy import select

    from om_graph.core.access.actor import Actor
    from om_graph.core.fulfilment.models import DomainOrder, Task, TaskDependency
    from om_graph.core.kernel.models import utcnow
    from om_graph.core.ordering.commands import LineInput, OrderInput
    from om_graph.core.ordering.models import Order, OrderLine

    staff = Actor("bench", frozenset({"order_manager"}))
    svc, _jobs, engine, _run = seed.services_for(database_url)
    try:
        line = LineInput(offering="test-auto", characteristics={"label": "timeline"})
        order = svc.orders.create(staff, OrderInput(customer_id="BENCH-TIMELINE", lines=(line,) * LINES))
        now = utcnow()
        submitted = now - timedelta(hours=3)
        with svc.sessions.begin() as s:
            o = s.get(Order, order.id)
            o.state, o.stage, o.submitted_at = "inProgress", "orchestration", submitted
            lines = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_number)).all()
            tasks: list[Task] = []
            for line_row in lines:
                line_row.state = "inProgress"
                product = DomainOrder(
                    order_id=order.id, line_id=line_row.id, kind="PRODUCT", spec_key="test.auto", unit_index=0,
                    state="inProgress", characteristics={},
                )  # fmt: skip
                s.add(product)
                s.flush()
                for unit in range(SERVICES + 1):
                    holder = product
                    if unit:
                        holder = DomainOrder(
                            order_id=order.id, line_id=line_row.id, parent_id=product.id, kind="SERVICE",
                            spec_key="test.auto", unit_index=unit - 1, state="inProgress", characteristics={},
                        )  # fmt: skip
                        s.add(holder)
                        s.flush()
                    if unit == 0:
                        continue  # the product order's own work: its children's
                    for k in range(TASKS_PER_DOMAIN_ORDER):
                        tasks.append(
                            Task(
                                order_id=order.id, domain_order_id=holder.id, key=f"bench.step-{k}", name=f"Step {k}",
                                kind="automatic" if k % 3 else "manual", handler="test.allocate" if k % 3 else None,
                                state="pending", attempts=0, max_attempts=1, duration_seconds=600 + 60 * (k % 4),
                                finish_blocked=False,
                            )
                        )  # fmt: skip
            s.add_all(tasks)
            s.flush()
            by_domain_order: dict[int, list[Task]] = {}
            for task in tasks:
                by_domain_order.setdefault(task.domain_order_id, []).append(task)
            dependencies = []
            for chain in by_domain_order.values():
                for k in range(1, len(chain)):
                    kind = _TYPES[k % len(_TYPES)]
                    dependencies.append(
                        TaskDependency(
                            task_id=chain[k].id, predecessor_id=chain[k - 1].id, dependency_type=kind, lag_seconds=60 * (k % 3)
                        )
                    )
            # Across domain orders: each service order's 7th task waits for the previous service
            # order's 9th (both still pending below), so the critical path crosses service orders.
            chains = list(by_domain_order.values())  # per line, its service orders in order
            for line_start in range(0, len(chains), SERVICES):
                for u in range(line_start + 1, line_start + SERVICES):
                    dependencies.append(
                        TaskDependency(
                            task_id=chains[u][6].id, predecessor_id=chains[u - 1][8].id,
                            dependency_type="finishToStart", lag_seconds=0,
                        )
                    )  # fmt: skip
            s.add_all(dependencies)
            # 40 % done, 10 % running: the first tasks of each chain.
            for chain in by_domain_order.values():
                for k, task in enumerate(chain):
                    if k < 4:
                        task.state, task.started_at = "completed", submitted + timedelta(minutes=10 * k)
                        task.finished_at = task.started_at + timedelta(minutes=9)
                    elif k == 4:
                        task.state, task.started_at = "inProgress", submitted + timedelta(minutes=45)
        # One real plan session: planned dates (once), estimates, float, spans and expected completion.
        with svc.uow() as uow:
            session = svc.orchestrator.open(uow, order.id)
            assert session is not None
            session.close()
        with svc.sessions() as s:
            count = len(s.scalars(select(Task.id).where(Task.order_id == order.id)).all())
            planned = s.scalars(select(Task.id).where(Task.order_id == order.id, Task.planned_start_at.is_not(None))).all()
        if count != LINES * SERVICES * TASKS_PER_DOMAIN_ORDER or len(planned) != count:
            raise RuntimeError(f"timeline order: {count} tasks, {len(planned)} planned")
        return order.id
    finally:
        engine.dispose()


def _gid(type_name: str, value: int) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def capture(server, order_id: int) -> tuple[str, bytes, dict]:
    variables = {"id": _gid("Order", order_id)}
    gql = Client(server.url, server.token)
    try:
        raw = gql.raw(TIMELINE, variables)
    finally:
        gql.close()
    body = json.loads(raw)
    if "errors" in body:
        raise RuntimeError(json.dumps(body["errors"])[:2000])
    timeline = body["data"]["order"]["timeline"]
    domain_orders = [d for line in timeline["lines"] for d in line["domainOrders"]]
    tasks = [t for d in domain_orders for t in d["tasks"]]
    shape = {
        "lines": len(timeline["lines"]),
        "domainOrders": len(domain_orders),
        "tasks": len(tasks),
        "dependencies": sum(len(t["dependencies"]) for t in tasks),
        "critical": sum(1 for t in tasks if t["critical"]),
        "bytes": len(raw),
    }
    expected = LINES * SERVICES * TASKS_PER_DOMAIN_ORDER
    if shape["tasks"] != expected or shape["dependencies"] != DEPENDENCIES or not shape["critical"]:
        raise RuntimeError(f"unexpected timeline: {shape}")
    return gql_body(TIMELINE, variables), raw, shape


def measure(db: Path, order_id: int, workdir: Path, p: dict, *, cache_mb: str, label: str):
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
                expect='"timeline":{',
            )
        cpu_ms = 1000 * (server.cpu_seconds() - cpu) / max(1, load["all_requests"])
        load["response_cache"] = httpx.get(server.url + "/health", timeout=5).json()["responseCache"]
    finally:
        server.stop()
    return load, cpu_ms, body, raw, shape


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    db = workdir / "timeline.db"
    order_id = seed_order(sqlite_url(db))
    uncached, uncached_cpu, body, raw, shape = measure(db, order_id, workdir, p, cache_mb="0", label="timeline_uncached")
    cached, cached_cpu, *_ = measure(db, order_id, workdir, p, cache_mb="32", label="timeline")
    document = workdir / "timeline-response.json"
    document.write_bytes(raw)
    reference = start_reference(workdir, document)
    try:
        ref = run_load(reference.url + "/json", body=body, duration=p["duration"], warmup=p["warmup"], connections=CONNECTIONS)
    finally:
        reference.stop()
    lat, clat = uncached["latency_ms"], cached["latency_ms"]
    return [
        Result(
            f"order.timeline, 500 tasks, cache off ({CONNECTIONS} conns)",
            uncached_cpu,
            "ms CPU/req",
            target=f"<= {TARGET_CPU_MS:.0f} ms CPU/req",
            ok=uncached_cpu <= TARGET_CPU_MS and not uncached["errors"],
            reference=ref["rps"],
            reference_unit="req/s same JSON",
            ratio=uncached["rps"] / ref["rps"],
            note=f"{uncached['rps']:.0f} req/s; {shape['tasks']} tasks, {shape['domainOrders']} domain orders, "
            f"{shape['dependencies']} dependencies, {shape['critical']} critical, {shape['bytes']} B; "
            f"p50 {lat.get('p50', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms"
            + (f"; {uncached['errors']} errors" if uncached["errors"] else ""),
            data={"server_cpu_ms_per_request": uncached_cpu, "load": uncached, "reference": ref, "shape": shape},
        ),
        Result(
            "same, response cache on (repeated reads)",
            cached_cpu,
            "ms CPU/req",
            note=f"{cached['rps']:.0f} req/s; p50 {clat.get('p50', 0):.1f} ms, p99 {clat.get('p99', 0):.1f} ms"
            + (f"; {cached['errors']} errors" if cached["errors"] else ""),
            data={"server_cpu_ms_per_request": cached_cpu, "load": cached},
        ),
    ]
