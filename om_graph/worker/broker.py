"""The dramatiq broker: Redis when scaled, an in-memory broker when embedded."""

from __future__ import annotations

import threading

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from om_graph.settings import Settings

# Retries are the reconciler's job (it knows what is runnable from the database); dramatiq only
# retries a few times quickly for transient errors such as a database restart.
ACTOR_OPTIONS = {"max_retries": 3, "min_backoff": 200, "max_backoff": 5_000}

# Worker tuning (dramatiq reads these from the environment when its worker module loads).
# An idle Redis consumer polls with a back-off capped at the worker timeout: dramatiq's default
# of 1 s makes a message on a quiet queue wait up to a second; 20 ms keeps dispatch prompt at
# the cost of a cheap Redis call per idle consumer every 20 ms. A deeper prefetch lets a consumer
# fetch messages in batches instead of one round trip per message.
WORKER_ENV = {"dramatiq_worker_timeout": "20", "dramatiq_queue_prefetch": "64"}


def build_broker(settings: Settings) -> dramatiq.Broker:
    middleware = [AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(), Retries()]
    if settings.redis_url:
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


class BatchAckRedisBroker(RedisBroker):
    """dramatiq's RedisBroker whose consumers acknowledge messages in batches (see below)."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> _RedisConsumer:
        return BatchAckConsumer(self, queue_name, prefetch, timeout)


class BatchAckConsumer(_RedisConsumer):
    """Acknowledges finished messages in one pipelined round trip instead of one each.

    dramatiq's consumer sends every ack from the worker thread that ran the message: a Lua call
    and a network round trip per message, which bounded a process's no-op throughput. Here a
    worker thread only records the ack; the consumer thread sends the recorded acks, pipelined,
    before each fetch (when its prefetched messages are handed out; it loops at least every
    ``worker_timeout`` ms, also when idle) and on close. Until then the message stays in this worker's ack set in Redis, so a process dying in
    between has its messages redelivered like one dying during the actor: at-least-once, as
    before, and the actors are idempotent. A recorded ack frees its prefetch slot at once, so
    the consumer never waits on its own unsent acks.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: list = []
        self._pending_lock = threading.Lock()
        self._closed = False

    def ack(self, message) -> None:
        with self._pending_lock:
            self._pending.append(message.options["redis_message_id"])
        self.queued_message_ids.discard(message.message_id)
        if self._closed:
            self.flush_acks()

    def nack(self, message) -> None:
        self.flush_acks()
        super().nack(message)

    def requeue(self, messages) -> None:
        self.flush_acks()
        super().requeue(messages)

    def __next__(self):
        if self._pending and not self.message_cache:  # about to fetch: one more round trip is cheap then
            self.flush_acks()
        return super().__next__()

    def close(self) -> None:
        self._closed = True
        self.flush_acks()
        super().close()

    def flush_acks(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        broker = self.broker
        script = broker.scripts["dispatch"]
        timestamp = current_millis()
        maintenance = broker._should_do_maintenance("ack")
        unpack = broker._max_unpack_size()
        try:
            with broker.client.pipeline(transaction=False) as pipe:
                for redis_message_id in batch:
                    script(
                        keys=[broker.namespace],
                        args=["ack", timestamp, self.queue_name, broker.broker_id, broker.heartbeat_timeout,
                              broker.dead_message_ttl, maintenance, unpack, redis_message_id],
                        client=pipe,
                    )
                    maintenance = 0
                pipe.execute()
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None
