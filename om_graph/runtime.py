"""Wiring: one Runtime per process builds the database, plugins, broker, bus and services.

The server, the ``om-graph worker`` processes and the tests all build the same Runtime from
:class:`Settings`; only which parts they start differs.
"""

from __future__ import annotations

import gc
import logging
import threading

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from om_graph.core.access.auth import (
    Authenticator,
    JwtSettings,
    JwtVerifier,
    TokenService,
)
from om_graph.core.fulfilment.reconciler import JeopardySettings
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.event_store import EventStore
from om_graph.core.kernel.ports import JobSink
from om_graph.core.notification.ports import HubSettings
from om_graph.core.services import Services
from om_graph.demo import banner, ensure_demo_tokens, refuse_demo_credentials
from om_graph.eventbus import FanoutSink, InProcessEventBus, RedisEventBus
from om_graph.migrations import upgrade
from om_graph.observability.tracing import instrument_engine, process_tracer_provider
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from om_graph.settings import Settings
from om_graph.worker.actors import DramatiqJobSink, declare_actors
from om_graph.worker.broker import build_broker

log = logging.getLogger(__name__)


_FROM_ENV = object()


class Runtime:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tracer_provider=_FROM_ENV,
        service_name: str = "om-graph",
        jobs: JobSink | None = None,
    ):
        """``tracer_provider``: the OpenTelemetry SDK provider to trace with; by default the
        process's, from the ``OTEL_*`` variables (None, i.e. no tracing, when unset). ``jobs``:
        where the services send jobs, instead of the broker (a process that runs no workers)."""
        self.settings = settings = settings or Settings.from_env()
        self.tracer_provider = process_tracer_provider(service_name) if tracer_provider is _FROM_ENV else tracer_provider
        self.engine = make_engine(settings.database_url)
        if self.tracer_provider is not None:
            instrument_engine(self.engine, self.tracer_provider)
        self.sessions = make_session_factory(self.engine)
        self.pm = build_plugin_manager(
            load_entrypoints=settings.load_entrypoints,
            blocked=settings.disabled_plugins,
            extra_plugins=settings.extra_plugins,
        )
        self.registry = collect_registry(self.pm)
        self.bus = (
            InProcessEventBus() if settings.redis_url is None else RedisEventBus(settings.redis_url, settings.redis_namespace)
        )
        self.broker = build_broker(settings, tracer_provider=self.tracer_provider)
        self.actors = declare_actors(self.broker, lambda: self.services, time_limit_ms=int(settings.task_lease_seconds * 1000))
        self.services = Services(
            self.sessions,
            self.registry,
            jobs or DramatiqJobSink(self.actors, trace_context=self.tracer_provider is not None),
            FanoutSink(self.bus, self.pm.hook.om_handle_order_event),
            lease_seconds=settings.task_lease_seconds,
            redispatch_after=settings.redispatch_after_seconds,
            retry_backoff_ms=settings.retry_backoff_ms,
            jeopardy=JeopardySettings(settings.jeopardy_batch, settings.jeopardy_write_group, settings.jeopardy_interval_seconds),
            hub=HubSettings(
                max_attempts=settings.hub_max_attempts,
                backoff_seconds=settings.hub_backoff_seconds,
                backoff_cap_seconds=settings.hub_backoff_cap_seconds,
                lease_seconds=max(60.0, 3 * settings.hub_timeout_seconds),
            ),
        )
        self.bus.bind_store(EventStore(self.services.uow))
        self.tokens = TokenService(self.services.uow, cache_seconds=settings.token_cache_seconds)
        self.demo_tokens: dict[str, str] = {}  # set by prepare_credentials in demo mode
        self.authenticator = Authenticator(self.tokens, _jwt_verifier(settings))
        self._worker: Worker | None = None
        self._reconciler: threading.Thread | None = None
        self._hub: threading.Thread | None = None
        self._stopping = threading.Event()

    def prepare_database(self) -> None:
        """Bring the schema to head (when allowed) and store the packs' catalog."""
        if self.settings.auto_migrate:
            upgrade(self.engine)
        self.services.load_catalog()

    def prepare_credentials(self) -> dict[str, str]:
        """Production refuses active demo credentials; demo mode makes sure they exist."""
        if self.settings.production:
            refuse_demo_credentials(self.tokens)
            return {}
        issued = ensure_demo_tokens(self.tokens, self.settings.demo_tokens_file)
        self.demo_tokens = issued  # the workspace's demo sign-in (om_graph/web/routes.py)
        log.warning(banner(issued, self.settings.demo_tokens_file))
        return issued

    def start_workers(self) -> None:
        self._worker = Worker(self.broker, worker_threads=self.settings.worker_threads, worker_timeout=100)
        self._worker.start()

    @property
    def workers_running(self) -> bool:
        """The in-process worker is started and none of its threads has died."""
        worker = self._worker
        return worker is not None and bool(worker.workers) and all(t.is_alive() for t in worker.workers)

    def drain(self, timeout_seconds: float = 30) -> None:
        """Wait until the embedded broker's queues are empty and the in-process worker is idle: the
        queued jobs, and the jobs they queue, have run (tests; the stub broker only)."""
        broker = self.broker
        if not isinstance(broker, StubBroker):
            raise RuntimeError("drain needs the embedded (stub) broker")
        for _ in range(100):
            for queue in sorted(broker.get_declared_queues()):
                broker.join(queue, timeout=int(timeout_seconds * 1000), fail_fast=False)
            if self._worker is not None:
                self._worker.join()
            if not any(q.unfinished_tasks for q in broker.queues.values()):
                return
        raise RuntimeError("drain: the queues did not settle")

    def start_reconciler(self) -> None:
        self._reconciler = threading.Thread(target=self._reconcile_loop, name="om-graph-reconciler", daemon=True)
        self._reconciler.start()

    def _reconcile_loop(self) -> None:
        while not self._stopping.wait(self.settings.reconcile_interval_seconds):
            try:
                report = self.services.reconciler.run_once()
                if report.orders_requeued or report.tasks_requeued or report.scheduled:
                    log.info("reconciler: %s", report)
            except Exception:
                log.exception("reconciler pass failed")

    def start_hub(self) -> None:
        """The event hub's runner (core/notification/hub.py): fan-out and sends every
        ``hub_interval_seconds``. Any number of runners may run at once (servers in embedded mode,
        every worker process in scaled mode): their claims are conditional updates."""
        self._hub = threading.Thread(target=self._hub_loop, name="om-graph-hub", daemon=True)
        self._hub.start()

    def _hub_loop(self) -> None:
        from om_graph.tmf.hub_delivery import HttpDeliver, TmfEventRenderer  # the facade imports the runtime

        render = TmfEventRenderer(self.services, self.settings.hub_base_url)
        deliver = HttpDeliver(self.settings.hub_timeout_seconds)
        try:
            while not self._stopping.wait(self.settings.hub_interval_seconds):
                try:
                    report = self.services.hub.run_once(render, deliver)
                    if report.failed or report.dead:
                        log.info("hub: %s", report)
                except Exception:
                    log.exception("hub pass failed")
        finally:
            deliver.close()

    def start(self) -> None:
        """What the server process runs: the event relay, and in embedded mode the workers. Last,
        with start-up done (app, schema, catalog), the garbage collector is tuned as set."""
        self.bus.start()
        if self.settings.run_workers_in_process:
            self.start_workers()
            self.start_reconciler()
            self.start_hub()
        tune_gc(self.settings)

    def stop(self) -> None:
        self._stopping.set()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._reconciler is not None:
            self._reconciler.join(5)
        if self._hub is not None:
            self._hub.join(5 + self.settings.hub_timeout_seconds)
        self.bus.stop()
        self.broker.close()
        self.services.change_seqs.close()
        self.engine.dispose()


# What `om-graph serve` and `om-graph worker` set unless the environment says otherwise (measured
# in bench.ab; docs/operations.md, Sizing). A library user or a test process keeps the defaults.
PROCESS_GC_ENV = {"OM_GRAPH_GC_FREEZE": "true", "OM_GRAPH_GC_THRESHOLD": "50000"}


def tune_gc(settings: Settings) -> None:
    """``gc_threshold``: generation 0 is collected after this many net allocations instead of
    700 (the older generations' thresholds unchanged); ``gc_freeze``: one full collection, then
    everything alive (modules, the GraphQL schema, mappers, the catalog) moves to the permanent
    generation, which no later collection traverses again."""
    if settings.gc_threshold:
        _, second, third = gc.get_threshold()
        gc.set_threshold(settings.gc_threshold, second, third)
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()


def _jwt_verifier(settings: Settings) -> JwtVerifier | None:
    if not (settings.jwt_issuer and settings.jwt_audience and settings.jwt_keys):
        return None
    return JwtVerifier(
        JwtSettings(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            keys=settings.jwt_keys,
            algorithms=settings.jwt_algorithms,
            roles_claim=settings.jwt_roles_claim,
            account_claim=settings.jwt_account_claim,
        )
    )
