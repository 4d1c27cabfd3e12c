"""Operability through the public surfaces: /health and /ready, /metrics (server and worker
processes), OpenTelemetry traces from a request into the worker, structured JSON logs."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import dramatiq
import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.observability.context import LogContextFilter
from om_graph.observability.logs import json_formatter
from om_graph.observability.tracing import build_tracer_provider
from om_graph.runtime import Runtime
from om_graph.settings import Settings
from tests import fixture_auto_pack, fixture_pack, support

CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id state } errors { code } } }"""
SUBMIT = """
mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id state } errors { code } } }"""
STATE = """query($id: ID!) { order(id: $id) { state } }"""
AUTO_ORDER = {"input": {"customerId": "ACME", "lines": [{"offering": "test-auto"}]}}


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def run_to_completion(client, headers) -> str:
    created = client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=headers).json()
    order_id = created["data"]["orderCreate"]["order"]["id"]
    submitted = client.post("/graphql", json={"query": SUBMIT, "variables": {"id": order_id}}, headers=headers).json()
    assert submitted["data"]["orderSubmit"]["errors"] == []

    def completed():
        body = client.post("/graphql", json={"query": STATE, "variables": {"id": order_id}}, headers=headers).json()
        return body["data"]["order"]["state"] == "COMPLETED"

    support.wait_for(completed, 30, 0.1, "order completion")
    return order_id


# -- /health and /ready ---------------------------------------------------------------------------


def test_health_is_liveness_and_ready_checks_database_broker_and_migrations(make_runtime, database_url):
    runtime = make_runtime(database_url)
    with TestClient(create_app(runtime=runtime)) as client:
        health = client.get("/health")
        ready = client.get("/ready")
    assert health.status_code == 200
    assert set(health.json()) >= {"status", "mode", "responseCache", "sqliteWriter"}
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "migrations": True, "broker": True}
    assert body["checks"]["migrations"]["detail"].startswith("at head ")


def test_an_unhandled_error_is_answered_and_logged_with_its_request_id(make_runtime, sqlite_url, monkeypatch):
    from om_graph.observability import endpoints

    async def broken(_runtime):
        raise RuntimeError("a bug")

    class Grab(logging.Handler):
        def __init__(self):
            super().__init__(logging.ERROR)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    grab = Grab()
    grab.addFilter(LogContextFilter())  # as the configured handlers have it: read when emitted
    monkeypatch.setattr(endpoints, "readiness", broken)
    runtime = make_runtime(sqlite_url)
    logging.getLogger().addHandler(grab)
    try:
        with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
            response = client.get("/ready", headers={"X-Request-ID": "req-42"})
    finally:
        logging.getLogger().removeHandler(grab)
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-42"
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and "a bug" not in response.text
    logged = [r for r in grab.records if r.exc_info]
    assert logged and logged[0].request_id == "req-42", [(r.getMessage(), getattr(r, "request_id", None)) for r in grab.records]


def test_concurrent_readiness_probes_share_one_check(make_runtime, sqlite_url, monkeypatch):
    import asyncio

    from om_graph.observability import endpoints, readiness

    runs = []

    async def slow(runtime):
        runs.append(1)
        await asyncio.sleep(0.3)
        return await readiness.readiness(runtime)

    monkeypatch.setattr(endpoints, "readiness", slow)
    runtime = make_runtime(sqlite_url)
    app = create_app(runtime=runtime)

    async def probe_many():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.get("/ready") for _ in range(20)))

    with TestClient(app):  # the lifespan: database prepared, workers running
        answers = asyncio.run(probe_many())
    assert [a.status_code for a in answers] == [200] * 20 and len(runs) == 1


def test_ready_is_503_when_the_schema_is_behind_head(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        assert client.get("/ready").status_code == 200
        with runtime.engine.begin() as connection:  # as after deploying code whose migration has not run
            connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        ready = client.get("/ready")
        assert client.get("/health").status_code == 200  # alive all the same
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert not checks["migrations"]["ok"] and "at 0004" in checks["migrations"]["detail"]


def test_ready_is_503_when_no_worker_runs_in_an_embedded_server(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime)) as client:
        ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] == {"ok": False, "detail": "no in-process worker is running"}


def test_ready_is_503_when_redis_is_unreachable(make_runtime, sqlite_url):
    closed = f"redis://127.0.0.1:{support.free_port()}/0"
    runtime = make_runtime(sqlite_url, redis_url=closed, embedded_workers=False)
    client = TestClient(create_app(runtime=runtime))  # no lifespan: the event relay would wait for Redis
    ready = client.get("/ready")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert checks["broker"]["ok"] is False and checks["broker"]["detail"].startswith("redis unreachable")
    assert str(closed.split(":")[2].split("/")[0]) not in ready.text  # no URLs in the answer


def test_ready_is_503_when_the_database_is_unreachable(make_runtime, postgres_url, postgres_admin_url):
    runtime = make_runtime(postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with TestClient(create_app(runtime=runtime)) as client:
        assert client.get("/ready").status_code == 200
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        try:
            ready = client.get("/ready")
            alive = client.get("/health")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
    assert alive.status_code == 200
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is False and checks["database"]["detail"].startswith("unreachable (")
    assert checks["migrations"]["ok"] is False
    assert "postgres" not in ready.text.lower()  # neither the URL nor the server's message


# -- /metrics -------------------------------------------------------------------------------------


def test_metrics_count_graphql_requests_by_root_field_and_outcome(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        staff, viewer = support.bearer(runtime, "order_manager"), support.bearer(runtime, "viewer")
        before = scrape(client)
        created = client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=staff)
        order_id = created.json()["data"]["orderCreate"]["order"]["id"]
        for _ in range(2):  # the second is a response-cache hit, counted all the same
            client.post("/graphql", json={"query": STATE, "variables": {"id": order_id}}, headers=staff)
        client.post("/graphql", json={"query": "query ClientChosenName1234 { nosuchfield }"}, headers=staff)
        client.post("/graphql", json={"query": "query ClientChosenName5678 { __typename }"}, headers=staff)
        client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=viewer)  # FORBIDDEN
        client.post("/graphql", json={"query": STATE, "variables": {"id": order_id}})  # no token
        after = scrape(client)

    def delta(operation, outcome):
        labels = {"operation": operation, "outcome": outcome}
        return value(after, "om_graph_graphql_requests_total", **labels) - value(
            before, "om_graph_graphql_requests_total", **labels
        )

    assert delta("orderCreate", "ok") == 1
    assert delta("order", "ok") == 2
    assert delta("(invalid)", "rejected") == 1
    assert delta("__typename", "ok") == 1
    assert delta("orderCreate", "rejected") == 1
    assert delta("(none)", "unauthenticated") == 1
    assert not any("ClientChosenName" in str(labels) for _, labels in after)  # bounded labels
    count = "om_graph_graphql_request_duration_seconds_count"
    assert value(after, count, operation="order") - value(before, count, operation="order") == 2
    assert value(after, "om_graph_graphql_request_duration_seconds_bucket", operation="order", le="+Inf") >= 2
    assert value(after, "om_graph_response_cache_hits_total") >= 1


def test_metrics_count_orders_by_state_at_scrape_time(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime, "order_manager")
        run_to_completion(client, staff)
        client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=staff)
        first = scrape(client)
        client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=staff)
        second = scrape(client)
    assert value(first, "om_graph_orders", state="completed") == 1
    assert value(first, "om_graph_orders", state="draft") == 1
    assert value(first, "om_graph_orders", state="failed") == 0  # every state present, also when empty
    assert value(second, "om_graph_orders", state="draft") == 1  # counted at most every 15 s


def test_metrics_show_jobs_the_reconciler_and_the_sqlite_writer(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime, "order_manager")
        before = scrape(client)
        run_to_completion(client, staff)
        run_to_completion(client, staff)
        runtime.services.reconciler.run_once()
        after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("om_graph_jobs_enqueued_total", job="orders.process") == 2
    assert delta("om_graph_job_duration_seconds_count", job="orders.process") == 2
    assert delta("om_graph_jobs_failed_total", job="orders.process") == 0
    assert ("om_graph_reconciler_requeued_total", (("kind", "task"),)) in after
    assert delta("om_graph_sqlite_writer_transactions_total") >= 4
    assert delta("om_graph_sqlite_writer_held_seconds_total") > 0
    assert value(after, "process_cpu_seconds_total") > 0  # the client library's process metrics


def test_failed_jobs_are_counted_and_logged_with_their_order(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:

        def always_fails(order_id: int) -> None:
            raise RuntimeError("the handler's system is down")

        failing = dramatiq.actor(
            always_fails,
            actor_name="test.fails",
            queue_name="orders",
            broker=runtime.broker,
            max_retries=2,
            min_backoff=10,
            max_backoff=20,
        )
        before = scrape(client)
        captured = io.StringIO()
        handler = logging.StreamHandler(captured)
        handler.setFormatter(json_formatter())
        handler.addFilter(LogContextFilter())
        logging.getLogger().addHandler(handler)
        try:
            failing.send(order_id=7)

            def dead():
                samples = scrape(client)
                return samples if value(samples, "om_graph_jobs_dead_total", job="test.fails") == 1 else None

            after = support.wait_for(dead, 20, 0.1, "the job to be given up")
        finally:
            logging.getLogger().removeHandler(handler)
    failures = [json.loads(line) for line in captured.getvalue().splitlines() if "test.fails" in line]
    assert failures and all(r["order_id"] == 7 and r["actor"] == "system" for r in failures)  # the worker's context
    assert value(after, "om_graph_jobs_failed_total", job="test.fails") == 3  # the first attempt and two retries
    assert value(after, "om_graph_jobs_redelivered_total", job="test.fails") == 2
    assert value(before, "om_graph_jobs_failed_total", job="test.fails") == 0


def test_metrics_count_open_websockets(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        token = support.bearer(runtime)["Authorization"]
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": token}})
            assert ws.receive_json()["type"] == "connection_ack"
            assert value(scrape(client), "om_graph_websocket_connections") == 1
        support.wait_for(lambda: value(scrape(client), "om_graph_websocket_connections") == 0, 5, 0.05, "socket closed")


def test_metrics_can_require_a_bearer_token(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, metrics_token="scrape-secret")
    with TestClient(create_app(runtime=runtime)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert value(scrape(client, Authorization="Bearer scrape-secret"), "om_graph_websocket_connections") == 0
        assert client.get("/ready").status_code == 200  # probes stay open


@pytest.mark.scaled
def test_each_worker_process_serves_its_metrics(tmp_path, postgres_url, redis_server_url, redis_namespace):
    support.build_runtime(postgres_url).stop()  # migrate
    env = support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=postgres_url,
        OM_GRAPH_REDIS_URL=redis_server_url,
        OM_GRAPH_REDIS_NAMESPACE=redis_namespace,
        OM_GRAPH_PLUGINS="tests.fixture_pack,tests.fixture_auto_pack",
        OM_GRAPH_RECONCILE_INTERVAL="0.3",
    )
    port = support.free_port()
    worker = support.Process(
        [sys.executable, "-m", "om_graph.cli", "worker", "--processes", "2", "--threads", "1", "--metrics-port", str(port)],
        env,
        tmp_path / "worker.log",
    )
    try:

        def scraped(p):
            try:
                return httpx.get(f"http://127.0.0.1:{p}/metrics", timeout=2).text
            except httpx.HTTPError:
                return None

        for each in (port, port + 1):  # one port per worker process

            def reconciled(p=each):
                body = scraped(p)
                return body if body and "om_graph_reconciler_requeued_total" in body else None

            body = support.wait_for(reconciled, 60, 0.3, f"worker metrics on port {each}")
            assert "process_cpu_seconds_total" in body
        # dramatiq's parent relays its worker processes' log lines through a pipe, so the line
        # may land in the log a moment after the port answers: wait for it before the kill.
        support.wait_for(
            lambda: "worker metrics at http://127.0.0.1:" in worker.output() or None, 30, 0.2, "the metrics log line"
        )
    finally:
        worker.kill()


# -- tracing --------------------------------------------------------------------------------------


@pytest.fixture
def traced(tmp_path):
    """A runtime whose spans go to an in-memory exporter: (runtime, exporter)."""
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("om-graph-test", [exporter], batch=False)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'om.db'}",
        extra_plugins=(fixture_pack, fixture_auto_pack),
        load_entrypoints=False,
        demo_tokens_file=str(tmp_path / "tokens.json"),
    )
    runtime = Runtime(settings, tracer_provider=provider)
    yield runtime, exporter
    runtime.stop()
    provider.shutdown()


def test_a_request_and_the_jobs_it_causes_share_one_trace(traced):
    runtime, exporter = traced
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime)
        created = client.post("/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers=staff).json()
        order_id = created["data"]["orderCreate"]["order"]["id"]
        exporter.clear()
        client.post("/graphql", json={"query": SUBMIT, "variables": {"id": order_id}}, headers=staff)
        submit_spans = exporter.get_finished_spans()

        def worker_spans():
            spans = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CONSUMER]
            return spans if {s.name for s in spans} >= {"orders.process"} else None

        consumers = support.wait_for(worker_spans, 30, 0.1, "the worker's span")
        spans = exporter.get_finished_spans()

    http = [s for s in submit_spans if s.kind == SpanKind.SERVER]
    assert len(http) == 1 and http[0].name.startswith("POST"), [s.name for s in submit_spans]
    trace_id = http[0].context.trace_id
    db = [
        s for s in submit_spans if s.kind == SpanKind.CLIENT and s.attributes.get("db.system", s.attributes.get("db.system.name"))
    ]
    assert db and all(s.context.trace_id == trace_id for s in db)  # the submit's statements
    process = next(s for s in consumers if s.name == "orders.process")
    assert process.context.trace_id == trace_id
    assert process.parent is not None and process.attributes["messaging.system"] == "dramatiq"
    worker_db = [s for s in spans if s.kind == SpanKind.CLIENT and s.parent and s.parent.span_id == process.context.span_id]
    assert worker_db, "the worker's statements are children of its span"


def test_requests_are_traced_whatever_the_host_name_and_probes_are_not(traced):
    runtime, exporter = traced
    with TestClient(create_app(runtime=runtime)) as client:
        staff = support.bearer(runtime)
        for host in ("om-graph.healthcare.example", "ready.example", "api.example.com"):
            exporter.clear()
            client.post("/graphql", json={"query": "{ __typename }"}, headers={**staff, "Host": host})
            assert [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER], host
        exporter.clear()
        for probe in ("/health", "/ready", "/metrics"):
            client.get(probe)
        assert not [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


def test_tracing_is_off_unless_configured(make_runtime, sqlite_url, monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    runtime = make_runtime(sqlite_url)
    assert runtime.tracer_provider is None
    assert "OpenTelemetryMiddleware" not in {m.cls.__name__ for m in create_app(runtime=runtime).user_middleware}


# -- logs -----------------------------------------------------------------------------------------


def test_json_logs_carry_request_id_actor_and_order_id(tmp_path):
    env = support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'om.db'}",
        OM_GRAPH_PLUGINS="tests.fixture_pack,tests.fixture_auto_pack",
        OM_GRAPH_LOG_FORMAT="json",
    )
    server, url = _start_server_logging_info(env, tmp_path)
    try:
        token = support.demo_tokens(tmp_path)["order_manager"]
        http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"})
        created = http.post(
            url + "/graphql", json={"query": CREATE, "variables": AUTO_ORDER}, headers={"X-Request-ID": "req-create-1"}
        )
        assert created.headers["x-request-id"] == "req-create-1"
        order_id = created.json()["data"]["orderCreate"]["order"]["id"]
        submitted = http.post(
            url + "/graphql",
            json={"query": SUBMIT, "variables": {"id": order_id}},
            headers={"X-Request-ID": 'spaces and "quotes" forged'},
        )
        generated = submitted.headers["x-request-id"]
        assert generated and "forged" not in generated
        time.sleep(0.5)
    finally:
        server.kill()
    records = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert records, server.output()
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = {r["request_id"]: r for r in records if r["logger"] == "uvicorn.access" and r.get("request_id")}
    assert "order_manager" in access["req-create-1"]["actor"]  # the demo order manager's token
    assert access[generated]["order_id"] == 1 and access[generated]["actor"] == access["req-create-1"]["actor"]


def _start_server_logging_info(env, log_dir):
    port = support.free_port()
    proc = support.Process(
        [sys.executable, "-m", "om_graph.cli", "serve", "--port", str(port), "--log-level", "info"], env, log_dir / "server.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        support.wait_for(lambda: _answers(url + "/health"), 60, 0.2, "server start")
    except AssertionError:
        proc.kill()
        raise AssertionError(proc.output()) from None
    return proc, url


def _answers(url) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
