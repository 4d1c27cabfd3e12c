"""Worker dispatch: dramatiq with the project's broker (om_graph.worker.broker.build_broker, its
middleware and actor options) and a no-op actor, consumed by a dramatiq Worker in this process.

- embedded: StubBroker, Worker(threads=settings.worker_threads, worker_timeout=100) as
  Runtime.start_workers builds it;
- redis: RedisBroker (unique namespace), Worker with the poll timeout and prefetch that the
  ``om-graph worker`` command gives the dramatiq CLI (om_graph.worker.broker.WORKER_ENV).

Figures per broker: no-op throughput of one process (messages enqueued first, then the worker
started and timed until it has run them all); enqueue→start latency idle (one message at a time,
random 50-800 ms gaps so the consumer goes idle) and loaded (a steady stream at half the measured
throughput; over Redis sent from a separate process, as the server sends to ``om-graph worker``,
so the sender does not share the consumer's interpreter lock). Latency = actor start time − the sender's time.time() carried in the message.
"""

from __future__ import annotations

import functools
import multiprocessing
import random
import threading
import time
import uuid
from pathlib import Path

from bench.common import (
    REDIS_URL,
    Result,
    check_redis,
    percentile,
    redis_namespace,
    skipped,
    summary,
)

PARAMS = {
    "tiny": dict(messages=500, idle=6, loaded_seconds=1.0),
    "small": dict(messages=20_000, idle=40, loaded_seconds=5.0),
    "full": dict(messages=50_000, idle=60, loaded_seconds=10.0),
}
TARGET_P99_MS, TARGET_THROUGHPUT = 50.0, 5000.0


class Probe:
    def __init__(self):
        self.lock = threading.Lock()
        self.done = 0
        self.latencies: list[float] = []
        self.event = threading.Event()

    def hit(self, sent_at: float, record: bool) -> None:
        started = time.time()
        with self.lock:
            self.done += 1
            if record:
                self.latencies.append(1000 * (started - sent_at))
        self.event.set()

    def take(self) -> list[float]:
        with self.lock:
            values, self.latencies = self.latencies, []
        return values


def send_stream(send, rate: float, count: int) -> None:
    begin = time.perf_counter()
    for k in range(count):
        delay = begin + k / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        send(time.time(), True)


def send_over_redis(redis_url: str, namespace: str, actor_name: str, queue: str, rate: float, count: int) -> None:
    """The loaded phase's sender process (Redis): the same broker settings, the same actor name."""
    import dramatiq

    from om_graph.settings import Settings
    from om_graph.worker.broker import ACTOR_OPTIONS, build_broker

    broker = build_broker(Settings(redis_url=redis_url, redis_namespace=namespace))
    actor = dramatiq.actor(lambda *_: None, actor_name=actor_name, queue_name=queue, broker=broker, **ACTOR_OPTIONS)
    try:
        send_stream(actor.send, rate, count)
    finally:
        broker.close()


def measure(broker, worker_timeout: int, threads: int, p: dict, prefetch: int | None = None, sender=None) -> dict:
    """``sender(actor_name, queue, rate, count)``, when given, sends the loaded stream from another process."""
    import dramatiq
    from dramatiq import Worker

    from om_graph.worker.broker import ACTOR_OPTIONS

    probe = Probe()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    actor = dramatiq.actor(
        probe.hit, actor_name=f"bench_noop_{queue}", queue_name=queue, broker=broker, **dict(ACTOR_OPTIONS, time_limit=60_000)
    )
    out: dict = {}
    started = time.perf_counter()
    for _ in range(p["messages"]):
        actor.send(time.time(), False)
    out["enqueue_per_s"] = p["messages"] / (time.perf_counter() - started)
    worker = Worker(broker, worker_threads=threads, worker_timeout=worker_timeout)
    if prefetch:
        worker.queue_prefetch = prefetch
    started = time.perf_counter()
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while probe.done < p["messages"] and time.monotonic() < deadline:
            time.sleep(0.005)
        out["throughput"] = probe.done / (time.perf_counter() - started)
        if probe.done < p["messages"]:
            raise RuntimeError(f"only {probe.done}/{p['messages']} no-op messages ran")
        rng = random.Random(7)
        for _ in range(p["idle"]):  # idle: one message at a time
            time.sleep(rng.uniform(0.05, 0.8))
            probe.event.clear()
            actor.send(time.time(), True)
            probe.event.wait(5)
        out["idle"] = probe.take()
        rate = out["throughput"] / 2  # loaded: a steady stream at half the capacity
        count = int(rate * p["loaded_seconds"])
        target_done = probe.done + count
        if sender is None:
            send_stream(actor.send, rate, count)
        else:  # the sender in its own process, as the server is beside `om-graph worker`
            proc = multiprocessing.get_context("spawn").Process(target=sender, args=(actor.actor_name, queue, rate, count))
            proc.start()
            proc.join(p["loaded_seconds"] * 4 + 60)
            if proc.exitcode != 0:
                raise RuntimeError(f"the sender process failed (exit code {proc.exitcode})")
        deadline = time.monotonic() + 60
        while probe.done < target_done and time.monotonic() < deadline:
            time.sleep(0.005)
        out["loaded"] = probe.take()
        out["loaded_rate"] = rate
    finally:
        worker.stop()
    return out


def rows(label: str, m: dict, how: str) -> list[Result]:
    idle_p99, loaded_p99 = percentile(m["idle"], 99), percentile(m["loaded"], 99)
    return [
        Result(
            f"dispatch {label}: no-op throughput/process",
            m["throughput"],
            "msg/s",
            target=f">= {TARGET_THROUGHPUT:.0f} msg/s",
            ok=m["throughput"] >= TARGET_THROUGHPUT,
            note=f"{how}; enqueue {m['enqueue_per_s']:.0f} msg/s",
            data={"enqueue_per_s": m["enqueue_per_s"]},
        ),
        Result(
            f"dispatch {label}: enqueue->start idle, p99",
            idle_p99,
            "ms",
            target=f"p99 <= {TARGET_P99_MS:.0f} ms",
            ok=idle_p99 is not None and idle_p99 <= TARGET_P99_MS,
            note=f"p50 {percentile(m['idle'], 50):.1f} ms, n={len(m['idle'])}",
            data=summary(m["idle"]),
        ),
        Result(
            f"dispatch {label}: enqueue->start loaded, p99",
            loaded_p99,
            "ms",
            target=f"p99 <= {TARGET_P99_MS:.0f} ms",
            ok=loaded_p99 is not None and loaded_p99 <= TARGET_P99_MS,
            note=f"p50 {percentile(m['loaded'], 50):.1f} ms at {m['loaded_rate']:.0f} msg/s, n={len(m['loaded'])}",
            data=summary(m["loaded"]),
        ),
    ]


def run_embedded(size: str) -> list[Result]:
    from om_graph.settings import Settings
    from om_graph.worker.broker import build_broker

    settings = Settings()
    broker = build_broker(settings)
    try:
        return rows("embedded", measure(broker, 100, settings.worker_threads, PARAMS[size]), "StubBroker, worker_timeout 100 ms")
    finally:
        broker.close()


def run_redis(size: str, redis_url: str = REDIS_URL) -> list[Result]:
    from om_graph.settings import Settings
    from om_graph.worker.broker import WORKER_ENV, build_broker

    timeout, prefetch = int(WORKER_ENV["dramatiq_worker_timeout"]), int(WORKER_ENV["dramatiq_queue_prefetch"])
    with redis_namespace(redis_url) as namespace:
        broker = build_broker(Settings(redis_url=redis_url, redis_namespace=namespace))
        try:
            return rows(
                "redis",
                measure(
                    broker, timeout, 4, PARAMS[size], prefetch, sender=functools.partial(send_over_redis, redis_url, namespace)
                ),
                f"worker_timeout {timeout} ms, prefetch {prefetch}, as `om-graph worker` runs it",
            )
        finally:
            broker.close()


def run(size: str, workdir: Path, *, redis_url: str = REDIS_URL) -> list[Result]:
    results = run_embedded(size)
    problem = check_redis(redis_url)
    if problem:
        return results + [
            skipped(
                "dispatch redis",
                f"p99 <= {TARGET_P99_MS:.0f} ms, >= {TARGET_THROUGHPUT:.0f} msg/s",
                f"Redis unreachable ({problem})",
            )
        ]
    return results + run_redis(size, redis_url)
