"""Prometheus metrics of the HTTP edge and the workers, scrape-time collectors, and exposition.

Counters and histograms live in prometheus-client's default registry beside the core's
(``om_graph.core.kernel.metrics``) and the client's process and GC metrics. What is read from elsewhere
at scrape time (orders by state, the SQLite writer, the response cache) is collected by objects
bound to one runtime, registered in that app's own registry: several apps in one process (the
tests) never see each other's.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from om_graph.core.kernel.db import READ_ONLY, sqlite_writer_stats
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import ORDER

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series beside every counter: Prometheus does not need them

# Requests by GraphQL root field: bounded by the schema (see observability.graphql).
OUTCOMES = ("ok", "error", "unauthenticated", "rejected")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRAPHQL_REQUESTS = Counter(
    "om_graph_graphql_requests_total", "GraphQL HTTP requests by root field and outcome", ["operation", "outcome"]
)
GRAPHQL_DURATION = Histogram(
    "om_graph_graphql_request_duration_seconds",
    "Time from a GraphQL HTTP request's arrival to its last response byte, by root field",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKET_CONNECTIONS = Gauge("om_graph_websocket_connections", "Open GraphQL websocket connections")

JOBS_PROCESSED = Histogram(
    "om_graph_job_duration_seconds", "Time a worker spent on a job message, by job", ["job"], buckets=LATENCY_BUCKETS
)
JOBS_FAILED = Counter("om_graph_jobs_failed_total", "Job attempts whose actor raised (dramatiq retries them)", ["job"])
JOBS_DEAD = Counter("om_graph_jobs_dead_total", "Jobs dramatiq gave up on after its retries (dead-lettered)", ["job"])
JOBS_REDELIVERED = Counter(
    "om_graph_jobs_redelivered_total", "Job messages delivered again after a failed attempt (dramatiq retries)", ["job"]
)


class OrdersByState(Collector):
    """``om_graph_orders{state}``: the number of orders in each state, counted at scrape time
    over the ``(state, id)`` index and kept for ``ttl`` seconds, so frequent scrapes (or several
    Prometheus servers) cost one count per period. Every state of the order machine is present,
    0 when empty. When the count fails, the last one is served (and the failure logged)."""

    def __init__(self, engine, ttl: float = 15.0):
        self.engine = engine
        self.ttl = ttl
        self._counts: dict[str, int] | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int] | None:
        with self._lock:
            if self._counts is None or time.monotonic() - self._read_at >= self.ttl:
                try:
                    with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                        rows = connection.execute(select(Order.state, func.count()).group_by(Order.state)).all()
                    self._counts = {state: 0 for state in ORDER.states} | dict(rows)
                except Exception:
                    log.warning("counting orders by state for /metrics failed", exc_info=True)
                self._read_at = time.monotonic()
            return self._counts

    def collect(self):
        family = GaugeMetricFamily("om_graph_orders", "Orders by state (counted at most every 15 s)", labels=["state"])
        for state, count in sorted((self.counts() or {}).items()):
            family.add_metric([state], count)
        yield family


class SqliteWriterCollector(Collector):
    """The SQLite write lock's use (``core.db``); ``rate(…_held_seconds_total[1m])`` is the
    writer's utilisation (docs/operations.md). Nothing on PostgreSQL."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        stats = sqlite_writer_stats(self.engine)
        if stats is None:
            return
        yield CounterMetricFamily("om_graph_sqlite_writer_transactions", "SQLite write transactions", value=stats.transactions)
        yield CounterMetricFamily(
            "om_graph_sqlite_writer_held_seconds", "Time the SQLite write lock was held", value=stats.held_seconds
        )
        yield CounterMetricFamily(
            "om_graph_sqlite_writer_waited_seconds", "Time writers queued for the SQLite write lock", value=stats.waited_seconds
        )


class ResponseCacheCollector(Collector):
    def __init__(self, cache):
        self.cache = cache

    def collect(self):
        cache = self.cache
        yield GaugeMetricFamily("om_graph_response_cache_entries", "Order-detail responses cached", value=len(cache))
        yield CounterMetricFamily("om_graph_response_cache_hits", "Order reads answered from the cache", value=cache.hits)
        yield CounterMetricFamily("om_graph_response_cache_misses", "Cacheable order reads executed", value=cache.misses)


def app_registry(runtime, response_cache=None) -> CollectorRegistry:
    """The scrape-time collectors of one server app."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OrdersByState(runtime.engine))
    registry.register(SqliteWriterCollector(runtime.engine))
    if response_cache is not None:
        registry.register(ResponseCacheCollector(response_cache))
    return registry


def exposition(*registries: CollectorRegistry) -> tuple[bytes, str]:
    """The process's metrics (default registry) and the given registries', in Prometheus' text
    format. Blocking (a collector may query the database): call it off the event loop."""
    return b"".join(generate_latest(r) for r in (REGISTRY, *registries)), CONTENT_TYPE_LATEST
