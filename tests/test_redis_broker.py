"""The Redis broker as `om-graph worker` uses it, against a real Redis: its consumers acknowledge
in pipelined batches, so every message must still be acknowledged (removed from Redis) promptly
while the worker runs, failures must still be dead-lettered, and nothing may stay behind."""

from __future__ import annotations

import threading

import dramatiq
import pytest
import redis
from dramatiq import Worker

from om_graph.settings import Settings
from om_graph.worker.broker import ACTOR_OPTIONS, WORKER_ENV, build_broker
from tests import support


def _leftovers(client: redis.Redis, namespace: str) -> dict[str, int]:
    """Unacknowledged message ids and stored message bodies under the broker's namespace."""
    found = {}
    for key in client.scan_iter(f"{namespace}-dramatiq:*"):
        name = key.decode()
        kind = client.type(key).decode()
        size = client.hlen(key) if kind == "hash" else client.scard(key) if kind == "set" else 0
        if size and ((name.endswith(".msgs") and ".XQ" not in name) or "__acks__" in name):
            found[name] = size
    return found


@pytest.fixture
def broker(redis_server_url, redis_namespace):
    broker = build_broker(Settings(redis_url=redis_server_url, redis_namespace=redis_namespace))
    yield broker
    broker.close()


def _start_worker(broker, name: str, queue: str):
    """A no-op-ish actor recording its argument, and a started worker as `om-graph worker` runs it."""
    done, lock = [], threading.Lock()

    def record(n: int) -> None:
        with lock:
            done.append(n)

    actor = dramatiq.actor(record, actor_name=name, queue_name=queue, broker=broker, **ACTOR_OPTIONS)
    worker = Worker(broker, worker_threads=4, worker_timeout=int(WORKER_ENV["dramatiq_worker_timeout"]))
    worker.queue_prefetch = int(WORKER_ENV["dramatiq_queue_prefetch"])
    worker.start()
    return actor, worker, done


def _run_while_watching_redis(broker, name, queue, count, redis_url, namespace, *, ack_seconds: float) -> list[int]:
    """Send ``count`` messages, wait until all ran and, with the worker still running, until
    Redis holds none of them any more. Returns the arguments the actor ran with."""
    actor, worker, done = _start_worker(broker, name, queue)
    client = redis.Redis.from_url(redis_url)
    try:
        for n in range(count):
            actor.send(n)
        support.wait_for(lambda: len(done) >= count, 30, message=f"{count} messages to run")
        support.wait_for(lambda: not _leftovers(client, namespace), ack_seconds, message="every ack to be sent")
    finally:
        worker.stop()
    return done


def test_batched_acks_remove_every_message_while_the_worker_runs(broker, redis_server_url, redis_namespace):
    # The worker is still running and idle when its recorded acks must have reached Redis.
    done = _run_while_watching_redis(broker, "test_record", "acks", 500, redis_server_url, redis_namespace, ack_seconds=5)
    assert sorted(done) == list(range(500))  # each ran once
    assert _leftovers(redis.Redis.from_url(redis_server_url), redis_namespace) == {}


def test_a_failed_message_is_dead_lettered_and_acks_around_it_still_land(broker, redis_server_url, redis_namespace):
    ran = []

    def maybe_fail(n: int) -> None:
        ran.append(n)
        if n == 3:
            raise RuntimeError("boom")

    actor = dramatiq.actor(maybe_fail, actor_name="test_maybe_fail", queue_name="nacks", broker=broker, max_retries=0)
    worker = Worker(broker, worker_threads=2, worker_timeout=20)
    client = redis.Redis.from_url(redis_server_url)
    worker.start()
    try:
        for n in range(10):
            actor.send(n)
        support.wait_for(lambda: len(ran) >= 10, 30, message="10 messages to run")
        support.wait_for(
            lambda: client.zcard(f"{redis_namespace}-dramatiq:nacks.XQ") == 1,
            5,
            message="the failed message in the dead-letter queue",
        )
        support.wait_for(lambda: not _leftovers(client, redis_namespace), 5, message="the other acks")
    finally:
        worker.stop()
    assert sorted(ran) == list(range(10))


def test_acks_that_failed_to_send_are_sent_by_the_restarted_consumer(broker, redis_server_url, redis_namespace, monkeypatch):
    """A connection error while sending a batch must not lose it: the consumer dramatiq builds
    after the error sends it, and no message runs twice."""
    real_send, failures = broker._send_acks, []

    def flaky_send(queue_name, batch):
        if not failures:
            failures.append(len(batch))
            raise redis.ConnectionError("injected")
        real_send(queue_name, batch)

    monkeypatch.setattr(broker, "_send_acks", flaky_send)
    done = _run_while_watching_redis(broker, "test_flaky", "flaky", 200, redis_server_url, redis_namespace, ack_seconds=15)
    assert failures and failures[0] > 0
    assert sorted(done) == list(range(200))


def test_acks_still_send_after_redis_forgets_its_scripts(broker, redis_server_url):
    """The ack pipeline reloads dramatiq's script itself (Redis restarted, SCRIPT FLUSH), rather
    than failing and making dramatiq restart the consumer."""
    client = redis.Redis.from_url(redis_server_url)
    client.script_flush()
    broker.record_ack("noscript", "no-such-message")  # acking an unknown id is a no-op for the script
    broker.flush_acks("noscript")
    assert not broker.has_pending_acks("noscript")
