"""The dramatiq broker: Redis when scaled, an in-memory broker when embedded."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from om_graph.observability.jobs import JobObservability
from om_graph.settings import Settings

log = logging.getLogger(__name__)

# Retries are the reconciler's job (it knows what is runnable from the database); dramatiq only
# retries a few times quickly for transient errors such as a database restart.
ACTOR_OPTIONS: dict[str, Any] = {"max_retries": 3, "min_backoff": 200, "max_backoff": 5_000}

# Worker tuning (dramatiq reads these from the environment when its worker module loads).
# An idle Redis consumer polls with a back-off capped at the worker timeout: dramatiq's default
# of 1 s makes a message on a quiet queue wait up to a second; 20 ms keeps dispatch prompt at
# the cost of a cheap Redis call per idle consumer every 20 ms. A deeper prefetch lets a consumer
# fetch messages in batches instead of one round trip per message.
WORKER_ENV = {"dramatiq_worker_timeout": "20", "dramatiq_queue_prefetch": "64"}


def build_broker(settings: Settings, *, tracer_provider=None) -> dramatiq.Broker:
    # JobObservability comes first: dramatiq runs the after_* hooks in reverse, so it sees the
    # message after Retries has decided whether to give up on it.
    middleware = [
        JobObservability(tracer_provider),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(),
    ]
    if settings.redis_url:
        if settings.worker_metrics_port:
            middleware.append(WorkerMetricsServer(settings.worker_metrics_host, settings.worker_metrics_port))
        # A worker that dies stops heart-beating; after heartbeat_timeout another worker requeues
        # its unacknowledged messages. Defaults are a minute; we want seconds. maintenance_chance
        # is per million commands, so raising it makes that check happen promptly.
        return BatchAckRedisBroker(
            url=settings.redis_url,
            namespace=f"{settings.redis_namespace}-dramatiq",
            middleware=middleware,
            heartbeat_timeout=settings.broker_heartbeat_ms,
            dead_message_ttl=86_400_000,
            maintenance_chance=50_000,
        )
    broker = StubBroker(middleware=middleware)
    broker.emit_after("process_boot")
    return broker


class WorkerMetricsServer(dramatiq.Middleware):
    """Serves the process's Prometheus metrics once dramatiq has booted it as a worker process
    (``om-graph worker --metrics-port P``). The worker processes of one ``om-graph worker``
    share the setting, so each binds the first free port from P: P, P+1, … for N processes."""

    attempts = 64

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def after_process_boot(self, broker) -> None:
        from prometheus_client import start_http_server

        for port in range(self.port, self.port + self.attempts):
            try:
                start_http_server(port, addr=self.host)
            except OSError:
                continue
            log.info("worker metrics at http://%s:%d/metrics", self.host, port)
            return
        log.error("no free port for worker metrics in %d-%d", self.port, self.port + self.attempts - 1)


class BatchAckRedisBroker(RedisBroker):
    """dramatiq's RedisBroker whose consumers acknowledge messages in batches (see below).

    The recorded acks live here, per queue, not on a consumer: dramatiq replaces a consumer after
    a connection error, and the new one must send what the old one could not."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending_acks: dict[str, set[str]] = {}
        self.pending_lock = threading.Lock()

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> _RedisConsumer:
        return BatchAckConsumer(self, queue_name, prefetch, timeout)

    def record_ack(self, queue_name: str, redis_message_id: str) -> None:
        with self.pending_lock:
            self.pending_acks.setdefault(queue_name, set()).add(redis_message_id)

    def has_pending_acks(self, queue_name: str) -> bool:
        return bool(self.pending_acks.get(queue_name))

    def flush_acks(self, queue_name: str) -> None:
        """Send the queue's recorded acks in one pipeline. On any error they are recorded again
        (sending an ack twice is harmless) and the error raised, so the caller's retry sends them."""
        with self.pending_lock:
            batch = self.pending_acks.pop(queue_name, None)
        if not batch:
            return
        try:
            self._send_acks(queue_name, batch)
        except BaseException as exc:
            with self.pending_lock:
                self.pending_acks.setdefault(queue_name, set()).update(batch)
            if isinstance(exc, redis.ConnectionError):
                raise ConnectionClosed(exc) from None
            raise

    def _send_acks(self, queue_name: str, batch: set[str]) -> None:
        # The arguments of dramatiq's dispatch script, as RedisBroker._dispatch passes them ("ack"
        # never runs maintenance). EVALSHA straight away: registering the script with the pipeline
        # would add a SCRIPT EXISTS round trip to every flush.
        script = self.scripts["dispatch"]
        head = [
            "ack",
            current_millis(),
            queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            0,
            self._max_unpack_size(),
        ]
        for attempt in (1, 2):
            with self.client.pipeline(transaction=False) as pipe:
                for redis_message_id in batch:
                    pipe.evalsha(script.sha, 1, self.namespace, *head, redis_message_id)
                try:
                    pipe.execute()
                    return
                except redis.exceptions.NoScriptError:  # Redis restarted or its script cache was flushed
                    if attempt == 2:
                        raise
                    self.client.script_load(script.script)


class BatchAckConsumer(_RedisConsumer):
    """Acknowledges finished messages in one pipelined round trip instead of one each.

    dramatiq's consumer sends every ack from the worker thread that ran the message: a Lua call
    and a network round trip per message, which bounded a process's no-op throughput. Here a
    worker thread only records the ack; the consumer thread sends the recorded acks, pipelined,
    before each fetch (when its prefetched messages are handed out; it loops at least every
    ``worker_timeout`` ms, also when idle), before a nack or requeue, and on close. Until then
    the message stays in this worker's ack set in Redis, so a process dying in between has its
    messages redelivered like one dying during the actor: at-least-once, as before, and the
    actors are idempotent. A recorded ack frees its prefetch slot at once, so the consumer never
    waits on its own unsent acks. After close (dramatiq restarting the consumer), an ack is sent
    at once by the worker thread, whose failure dramatiq retries.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._closed = False

    def ack(self, message) -> None:
        self.broker.record_ack(self.queue_name, message.options["redis_message_id"])
        self.queued_message_ids.discard(message.message_id)
        if self._closed:
            self.broker.flush_acks(self.queue_name)

    def nack(self, message) -> None:
        self.broker.flush_acks(self.queue_name)
        super().nack(message)

    def requeue(self, messages) -> None:
        self.broker.flush_acks(self.queue_name)
        super().requeue(messages)

    def __next__(self):
        if not self.message_cache and self.broker.has_pending_acks(self.queue_name):
            self.broker.flush_acks(self.queue_name)  # about to fetch: one more round trip is cheap then
        return super().__next__()

    def close(self) -> None:
        self._closed = True
        try:
            self.broker.flush_acks(self.queue_name)
        finally:
            super().close()
