"""Soak: about two minutes of mixed load against the scaled setup (a server and two worker
processes on PostgreSQL and a private Redis), with a worker killed (SIGKILL) and Redis restarted
empty in the middle. Nothing may leak, be lost, be doubled or be delivered twice."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid

import httpx
import psutil
import pytest
import websockets

from tests import support
from tests.redis_process import RedisProcess

pytestmark = [pytest.mark.slow, pytest.mark.scaled]

LOAD_SECONDS = 110
KILL_WORKER_AT, BASELINE_AT, RESTART_REDIS_AT = 40, 60, 70
SUBSCRIBERS = 3
CUSTOMER = "SOAK"

CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
READ_ORDER = """query($id: ID!) { order(id: $id) { id state lines { state } events { type } } }"""
READ_PAGE = """query { orders(first: 20) { edges { node { id state } } } }"""
EVENTS = """subscription($after: ID) { orderEvents(after: $after) { id } }"""


def decode_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its children (the worker command forks dramatiq's)."""
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


class Capture(threading.Thread):
    """orderCreate (acknowledged at once) with an idempotency key per order; an answer that is an
    error is retried with the same key, as a careful client does, until it is accepted."""

    def __init__(self, url: str, token: str, stop: threading.Event):
        super().__init__(name="soak-capture", daemon=True)
        self.url, self.stop = url, stop
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"})
        self.accepted: dict[str, int] = {}
        self.retries = 0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"soak-{n}"
            order = {
                "customerId": CUSTOMER,
                "idempotencyKey": key,
                "requestedInitialState": "ACKNOWLEDGED",
                "lines": [{"offering": "test-auto"}],
            }
            while key not in self.accepted:
                try:
                    body = self.http.post(self.url + "/graphql", json={"query": CREATE, "variables": {"input": order}}).json()
                    payload = (body.get("data") or {}).get("orderCreate") or {}
                    if payload.get("order"):
                        self.accepted[key] = decode_id(payload["order"]["id"])
                        continue
                except httpx.HTTPError:
                    pass
                self.retries += 1
                time.sleep(0.2)
            n += 1
            time.sleep(0.15)


class Reader(threading.Thread):
    def __init__(self, url: str, token: str, stop: threading.Event, capture: Capture):
        super().__init__(name="soak-reader", daemon=True)
        self.url, self.stop, self.capture = url, stop, capture
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"})
        self.failures: list[str] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            ids = list(self.capture.accepted.values())
            if n % 2 or not ids:
                request = {"query": READ_PAGE}
            else:
                request = {
                    "query": READ_ORDER,
                    "variables": {"id": base64.b64encode(f"Order:{ids[-1 - n % len(ids)]}".encode()).decode()},
                }
            try:
                body = self.http.post(self.url + "/graphql", json=request).json()
                if "errors" in body:
                    self.failures.append(json.dumps(body["errors"])[:300])
            except httpx.HTTPError as exc:
                self.failures.append(repr(exc))
            n += 1
            time.sleep(0.1)


class Subscriber:
    """One graphql-transport-ws client of ``orderEvents``. It disconnects itself every
    ``reconnect_every`` seconds (and reconnects after any error) and resumes with ``after`` set
    to the last event it received."""

    def __init__(self, ws_url: str, token: str, reconnect_every: float):
        self.ws_url, self.token, self.reconnect_every = ws_url, token, reconnect_every
        self.received: list[int] = []
        self.connections = 0
        self.errors: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._connection(stop)
            except Exception as exc:  # a dropped connection: resume from the last event
                self.errors.append(repr(exc)[:200])
                await asyncio.sleep(0.5)

    async def _connection(self, stop: asyncio.Event) -> None:
        after = base64.b64encode(f"OrderEvent:{self.received[-1]}".encode()).decode() if self.received else None
        async with websockets.connect(self.ws_url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:
            self.connections += 1
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"after": after}}})
            )
            until = time.monotonic() + self.reconnect_every
            while not stop.is_set() and time.monotonic() < until:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                message = json.loads(raw)
                if message["type"] == "next":
                    self.received.append(decode_id(message["payload"]["data"]["orderEvents"]["id"]))
                elif message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message["type"] in ("error", "complete"):
                    raise RuntimeError(f"subscription ended: {message}")


def run_subscribers(subscribers: list[Subscriber], stop: threading.Event) -> threading.Thread:
    def main() -> None:
        async def everything() -> None:
            stopped = asyncio.Event()

            async def watch() -> None:
                while not stop.is_set():
                    await asyncio.sleep(0.2)
                stopped.set()

            await asyncio.gather(watch(), *(s.run(stopped) for s in subscribers))

        asyncio.run(everything())

    thread = threading.Thread(target=main, name="soak-subscribers", daemon=True)
    thread.start()
    return thread


def test_soak_mixed_load_with_a_worker_kill_and_a_redis_restart(postgres_url, tmp_path):
    redis = RedisProcess(tmp_path)
    redis.start()
    env = support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=postgres_url,
        OM_GRAPH_REDIS_URL=redis.url,
        OM_GRAPH_REDIS_NAMESPACE=f"om-soak-{uuid.uuid4().hex[:8]}",
        OM_GRAPH_PLUGINS="tests.fixture_pack,tests.fixture_auto_pack",
        OM_GRAPH_TASK_LEASE_SECONDS="5",
        OM_GRAPH_REDISPATCH_SECONDS="4",
        OM_GRAPH_RECONCILE_INTERVAL="0.5",
        OM_GRAPH_BROKER_HEARTBEAT_MS="2000",
    )
    server, url = support.start_server(env, tmp_path)
    workers = [support.start_worker(env, tmp_path, f"worker-{n}", threads=2) for n in (1, 2)]
    stop_load, stop_subscribers = threading.Event(), threading.Event()
    try:
        token = support.demo_tokens(tmp_path)["order_agent"]
        subscribers = [Subscriber(url.replace("http", "ws") + "/graphql", token, 25 + 10 * n) for n in range(SUBSCRIBERS)]
        listening = run_subscribers(subscribers, stop_subscribers)
        capture = Capture(url, token, stop_load)
        reader = Reader(url, token, stop_load, capture)
        capture.start()
        reader.start()

        started = time.monotonic()
        rss: dict[str, list[int]] = {"server": [], "worker": []}

        def at(second: float) -> None:
            time.sleep(max(0.0, started + second - time.monotonic()))

        at(KILL_WORKER_AT)
        workers[0].kill()  # SIGKILL, mid-work
        workers.append(support.start_worker(env, tmp_path, "worker-3", threads=2))
        at(BASELINE_AT)
        rss["server"].append(tree_rss(server.popen.pid))
        rss["worker"].append(tree_rss(workers[1].popen.pid))  # the worker that lives through the whole run
        at(RESTART_REDIS_AT)
        redis.restart_after(3)
        at(LOAD_SECONDS)
        rss["server"].append(tree_rss(server.popen.pid))
        rss["worker"].append(tree_rss(workers[1].popen.pid))
        stop_load.set()
        capture.join(60)
        reader.join(60)

        def unfinished() -> int:
            return support.db_rows(
                postgres_url, f"SELECT count(*) FROM customer_order WHERE customer_id = '{CUSTOMER}' AND state <> 'completed'"
            )[0][0]

        support.wait_for(lambda: unfinished() == 0, 60, 0.5, "every order to complete")
        last_event = support.db_rows(postgres_url, "SELECT id FROM order_event ORDER BY sequence DESC LIMIT 1")[0][0]
        support.wait_for(
            lambda: all(s.received and s.received[-1] == last_event for s in subscribers),
            30,
            0.5,
            "every subscriber to receive the last event",
        )
        stop_subscribers.set()
        listening.join(30)
    finally:
        stop_load.set()
        stop_subscribers.set()
        for proc in (*workers, server):
            proc.kill()
        redis.kill()

    # Nothing lost or doubled: one stored order per accepted key, and it is the one answered.
    stored = support.db_rows(postgres_url, f"SELECT idempotency_key, id FROM customer_order WHERE customer_id = '{CUSTOMER}'")
    assert len(capture.accepted) > 200, len(capture.accepted)
    assert sorted(stored) == sorted(capture.accepted.items())
    assert not reader.failures, reader.failures[:3]
    completions = support.db_rows(
        postgres_url, "SELECT count(*) FROM order_event WHERE entity_kind = 'task' AND to_state = 'completed'"
    )[0][0]
    assert completions == 2 * len(stored)  # two tasks per order, each completed once

    # Subscribers: from their first event on, every stored event once, in commit order, across
    # their reconnects.
    in_commit_order = [row[0] for row in support.db_rows(postgres_url, "SELECT id FROM order_event ORDER BY sequence")]
    for n, subscriber in enumerate(subscribers):
        assert subscriber.connections >= 3, (n, subscriber.connections, subscriber.errors)
        first = in_commit_order.index(subscriber.received[0])
        expected = in_commit_order[first:]
        assert len(subscriber.received) == len(set(subscriber.received)), f"subscriber {n} received an event twice"
        missed = sorted(set(expected) - set(subscriber.received))
        assert not missed, f"subscriber {n} missed {len(missed)} of {len(expected)} events, e.g. {missed[:5]}"
        assert subscriber.received == expected, f"subscriber {n} received events out of commit order"

    # Memory stays flat after the first minute.
    for name, (baseline, end) in rss.items():
        assert end <= 1.2 * baseline, f"{name} RSS grew from {baseline / 2**20:.0f} MB to {end / 2**20:.0f} MB"
    print(
        f"\nsoak: {len(stored)} orders, {len(in_commit_order)} events, {capture.retries} capture retries, "
        + ", ".join(f"{k} RSS {v[0] / 2**20:.0f} -> {v[1] / 2**20:.0f} MB" for k, v in rss.items())
        + ", subscriber connections "
        + str([s.connections for s in subscribers])
    )
