"""The dramatiq broker: Redis when scaled, an in-memory broker when embedded."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
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
        return RedisBroker(
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
