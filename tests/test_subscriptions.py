"""orderEvents over a real websocket: every committed event once, in commit order, through late
commits, Redis outages, slow subscribers and long replays; and no memory kept per event."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import datetime

import pytest
import uvicorn
from sqlalchemy import event as sa_event
from websockets.sync.client import connect

from om_graph import eventbus
from om_graph.app import create_app
from om_graph.commit_order import CommitOrder
from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.kernel.event_store import EventStore
from om_graph.core.kernel.events import OrderEvent
from om_graph.core.ordering.locking import lock_order
from tests import support

EVENTS = "subscription($after: ID) { orderEvents(after: $after) { id type } }"
CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""


@contextmanager
def serving(runtime):
    """The app on a free loopback port, served by uvicorn in a thread of this process."""
    port = support.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    support.wait_for(lambda: server.started, 30, interval=0.05, message="the server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Subscriber:
    """One graphql-transport-ws connection with one orderEvents subscription."""

    def __init__(self, base_url: str, headers: dict, after: str | None = None):
        self.ws = connect(base_url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])
        self.ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        assert json.loads(self.ws.recv(10))["type"] == "connection_ack"
        variables = {"after": after} if after else {}
        self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}}))

    def next(self, timeout: float = 10) -> dict | None:
        """The next message, or None when nothing came within ``timeout``."""
        try:
            return json.loads(self.ws.recv(timeout))
        except TimeoutError:
            return None

    def events(self, count: int, timeout: float = 30) -> list[dict]:
        received, deadline = [], time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            message = self.next(max(deadline - time.monotonic(), 0.01))
            if message is not None:
                assert message["type"] == "next" and "errors" not in message["payload"], message
                received.append(message["payload"]["data"]["orderEvents"])
        return received

    def close(self) -> None:
        self.ws.close()


def wait_subscribed(runtime, count: int = 1) -> None:
    support.wait_for(lambda: runtime.bus.local.subscriber_count >= count, 10, interval=0.02, message="the subscription")


def create_order(base_url: str, headers: dict) -> None:
    client = support.GraphQLClient(base_url, headers["Authorization"].split()[1])
    line = {"offering": "test-auto", "characteristics": [{"name": "label", "value": "x"}]}
    assert client(CREATE, {"input": {"customerId": "CUST-S", "lines": [line]}})["orderCreate"]["errors"] == []


def record_events(runtime, count: int, *, oldest: bool = False, before_commit=None) -> None:
    """One transaction on the newest (or oldest) order that records ``count`` events."""
    with runtime.services.uow() as uow:
        if before_commit is not None:
            sa_event.listen(uow.session, "before_commit", lambda _session: before_commit())
        order_id = uow.session.execute(_order(oldest)).scalar_one()
        order = lock_order(uow, order_id)
        for n in range(count):
            uow.record(order, "TestEvent", entity_kind="order", entity_id=order.id, actor=SYSTEM_ACTOR, payload={"n": n})


def _order(oldest: bool):
    from sqlalchemy import func, select

    from om_graph.core.ordering.models import Order

    return select(func.min(Order.id) if oldest else func.max(Order.id))


def stored_event_ids(runtime) -> list[str]:
    """The global ids of the stored events, in commit order."""
    from strawberry import relay

    store = EventStore(runtime.services.uow)
    return [str(relay.GlobalID("OrderEvent", str(e.id))) for e in store.events_after(0, 1_000_000)]


# -- memory -----------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_memory_stays_flat_while_a_subscriber_streams_100k_events(make_runtime, sqlite_url):
    """graphql-core 3.3 kept every event's subfield memo for the life of the subscription
    (~1.3-2.7 KB per event delivered); each event now executes with a memo of its own."""
    runtime = make_runtime(sqlite_url)
    with serving(runtime) as url:
        subscriber = Subscriber(url, support.bearer(runtime))
        wait_subscribed(runtime)
        sequence = EventStore(runtime.services.uow).last_sequence()

        def stream(count: int) -> None:
            nonlocal sequence
            for _ in range(count // 500):
                batch = [_synthetic(sequence + k + 1) for k in range(500)]
                sequence += 500
                runtime.bus.publish(batch)
                assert len(subscriber.events(500)) == 500

        stream(5_000)  # warm up: caches, pools and allocator arenas reach their size
        gc.collect()
        before = _rss_mb()
        stream(100_000)
        gc.collect()
        grown = _rss_mb() - before
        subscriber.close()
    assert grown < 15, f"RSS grew {grown:.1f} MB over 100,000 events ({grown * 10:.0f} B per event)"


def _synthetic(sequence: int) -> OrderEvent:
    return OrderEvent(
        id=sequence,
        order_id=1,
        customer_id="CUST-S",
        event_type="TaskStateChangeEvent",
        entity_kind="task",
        entity_id=sequence,
        from_state="ready",
        to_state="inProgress",
        actor="system",
        occurred_at=datetime(2026, 11, 28),
        payload={"n": sequence},
        sequence=sequence,
    )


# -- commit order -----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_an_event_committed_late_with_a_lower_id_is_not_lost_on_resume(make_runtime, postgres_url):
    """PostgreSQL assigns ids at insert: transaction A inserts its event (lower id) but commits
    after B. A subscriber that saw B's event and resumed from it used to lose A's for good."""
    runtime = make_runtime(postgres_url)
    with serving(runtime) as url:
        headers = support.bearer(runtime)
        create_order(url, headers)
        create_order(url, headers)
        watcher = Subscriber(url, headers)
        wait_subscribed(runtime)
        a_inserted, release_a = threading.Event(), threading.Event()

        def hold_a():
            a_inserted.set()
            release_a.wait(20)

        a = threading.Thread(target=record_events, args=(runtime, 1), kwargs={"oldest": True, "before_commit": hold_a})
        a.start()
        assert a_inserted.wait(10)
        b = threading.Thread(target=record_events, args=(runtime, 1))
        b.start()
        first = watcher.next(timeout=1.5)  # B's event, if B could commit while A is open
        release_a.set()
        a.join(10)
        b.join(10)
        if first is None:
            first = watcher.next()
        watcher.close()
        # The client processed `first`, disconnected, and resumes from it.
        resumed = Subscriber(url, headers, after=first["payload"]["data"]["orderEvents"]["id"])
        rest = resumed.events(1, timeout=3)
        resumed.close()
    received = [first["payload"]["data"]["orderEvents"]["id"]] + [e["id"] for e in rest]
    test_events = stored_event_ids(runtime)[-2:]
    assert received == test_events


def test_commit_order_delivers_in_sequence_and_fills_a_lost_announcement_from_the_store():
    stored = {n: _synthetic(n) for n in range(1, 8)}

    class Store:
        def last_sequence(self):
            return 2

        def events_after(self, after, limit):
            return [stored[n] for n in sorted(stored) if n > after][:limit]

    delivered: list[int] = []
    order = CommitOrder(Store(), lambda events: delivered.extend(e.sequence for e in events), gap_wait=0.2, tail_check=60)
    order.start()
    try:
        order.publish([stored[5], stored[4]])  # 3 is late
        time.sleep(0.05)
        assert delivered == []
        order.publish([stored[3], stored[2]])  # 2 was history before start
        support.wait_for(lambda: delivered == [3, 4, 5], 2, interval=0.01, message="3, 4, 5")
        order.publish([stored[7]])  # 6 never comes: read from the store after gap_wait
        support.wait_for(lambda: delivered == [3, 4, 5, 6, 7], 2, interval=0.01, message="6 from the store")
        order.publish([stored[6]])  # its announcement after all: already delivered
        time.sleep(0.05)
        assert delivered == [3, 4, 5, 6, 7] and order.backfilled == 2
    finally:
        order.stop()


# -- slow subscribers and long replays ---------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_subscriber_that_falls_behind_is_told_to_resume_and_loses_nothing(make_runtime, sqlite_url, monkeypatch):
    monkeypatch.setattr(eventbus, "SUBSCRIBER_BUFFER", 20)
    runtime = make_runtime(sqlite_url)
    with serving(runtime) as url:
        headers = support.bearer(runtime)
        create_order(url, headers)
        subscriber = Subscriber(url, headers)
        wait_subscribed(runtime)
        record_events(runtime, 50)  # one batch: more than the buffer arrives at once
        received = subscriber.events(20)
        ended = subscriber.next()
        assert ended["type"] == "next" and ended["payload"]["errors"][0]["extensions"]["code"] == "RESUME_REQUIRED", ended
        assert subscriber.next()["type"] == "complete"
        subscriber.close()
        resumed = Subscriber(url, headers, after=received[-1]["id"])
        received += resumed.events(30)
        resumed.close()
    assert [e["id"] for e in received] == stored_event_ids(runtime)[-50:]


@pytest.mark.timeout(90)
def test_resuming_replays_every_stored_event_however_many(make_runtime, sqlite_url):
    """The replay used to stop at 5,000 events and go live, skipping the rest."""
    runtime = make_runtime(sqlite_url)
    with serving(runtime) as url:
        headers = support.bearer(runtime)
        create_order(url, headers)
        record_events(runtime, 6_000)
        stored = stored_event_ids(runtime)
        resumed = Subscriber(url, headers, after=stored[0])
        received = [e["id"] for e in resumed.events(len(stored) - 1, timeout=60)]
        resumed.close()
    assert received == stored[1:]


def test_resuming_after_an_unknown_event_is_an_error(make_runtime, sqlite_url):
    from strawberry import relay

    runtime = make_runtime(sqlite_url)
    with serving(runtime) as url:
        subscriber = Subscriber(url, support.bearer(runtime), after=str(relay.GlobalID("OrderEvent", "999999")))
        message = subscriber.next()
        subscriber.close()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- Redis outage -----------------------------------------------------------------------------


@contextmanager
def own_redis(port: int):
    """A private redis-server (never the shared one): kill() and start() it at will."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")

    class Server:
        process = None

        def start(self):
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            support.wait_for(
                lambda: support.check_redis(f"redis://127.0.0.1:{port}/0") is None, 10, interval=0.05, message="redis-server"
            )

        def kill(self):
            self.process.kill()
            self.process.wait(10)

    server = Server()
    server.start()
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.kill()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_events_committed_during_a_redis_outage_reach_the_subscriber_once_and_in_order(make_runtime, postgres_url):
    port = support.free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    with own_redis(port) as redis_server:
        server = make_runtime(postgres_url, redis_url=redis_url, redis_namespace="outage")
        producer = make_runtime(postgres_url, redis_url=redis_url, redis_namespace="outage")  # a worker's runtime
        with serving(server) as url:
            headers = support.bearer(server)
            create_order(url, headers)
            subscriber = Subscriber(url, headers)
            wait_subscribed(server)
            stop = threading.Event()
            committed = [0]

            def produce():
                while not stop.is_set():
                    record_events(producer, 3)
                    committed[0] += 3
                    time.sleep(0.01)

            thread = threading.Thread(target=produce)
            thread.start()
            try:
                support.wait_for(lambda: committed[0] >= 60, 20, interval=0.02, message="events before the outage")
                redis_server.kill()
                outage_start = committed[0]
                time.sleep(2)
                assert committed[0] - outage_start >= 60, "events are committed during the outage"
                redis_server.start()
                time.sleep(2)
            finally:
                stop.set()
                thread.join(10)
            stored = stored_event_ids(server)
            order_created = 1  # the ProductOrderCreateEvent of create_order, before the outage test
            received = [e["id"] for e in subscriber.events(len(stored) - order_created, timeout=30)]
            extra = subscriber.next(timeout=1)
            subscriber.close()
    assert extra is None, extra
    assert received == stored[order_created:]


def test_commit_order_waits_between_attempts_while_the_store_is_down():
    stored = {n: _synthetic(n) for n in range(1, 3)}  # committed so far
    calls = {"events_after": 0}
    down = threading.Event()
    down.set()

    class Store:
        def last_sequence(self):
            if down.is_set():
                raise ConnectionError("database unreachable")
            return 0

        def events_after(self, after, limit):
            calls["events_after"] += 1
            if down.is_set():
                raise ConnectionError("database unreachable")
            return [stored[n] for n in sorted(stored) if n > after][:limit]

    delivered: list[int] = []
    order = CommitOrder(Store(), lambda events: delivered.extend(e.sequence for e in events), gap_wait=0.1, tail_check=60)
    order.start()  # the store cannot answer yet: the position is found once it does
    try:
        time.sleep(0.3)
        down.clear()
        support.wait_for(lambda: order._position_known, 2, interval=0.01, message="the position found")
        down.set()
        order.publish([stored[2]])  # 1 is missing, and the store is down
        time.sleep(0.5)
        assert calls["events_after"] <= 8, calls  # about one attempt per gap_wait, not a tight loop
        down.clear()
        support.wait_for(lambda: delivered == [1, 2], 2, interval=0.01, message="1 from the store, then 2")
        stored[3] = _synthetic(3)
        order.publish([stored[3]])
        support.wait_for(lambda: delivered == [1, 2, 3], 2, interval=0.01, message="live delivery again")
    finally:
        order.stop()


def test_commit_order_keeps_delivering_after_a_subscriber_fails():
    class Store:
        def last_sequence(self):
            return 0

        def events_after(self, after, limit):
            return []

    delivered: list[int] = []

    def deliver(events):
        if not delivered:
            delivered.append(-1)
            raise RuntimeError("a subscriber's event loop closed")
        delivered.extend(e.sequence for e in events)

    order = CommitOrder(Store(), deliver, gap_wait=0.1, tail_check=60)
    order.start()
    try:
        order.publish([_synthetic(1)])
        support.wait_for(lambda: delivered == [-1], 2, interval=0.01, message="the failing delivery")
        order.publish([_synthetic(2)])
        support.wait_for(lambda: delivered == [-1, 2], 2, interval=0.01, message="delivery to go on")
    finally:
        order.stop()


def test_an_overflowed_subscriber_queues_nothing_after_the_first_dropped_event(monkeypatch):
    import asyncio

    monkeypatch.setattr(eventbus, "SUBSCRIBER_BUFFER", 2)

    async def scenario():
        fanout = eventbus.LocalFanout()
        subscription = fanout.subscribe(lambda e: True)
        fanout.publish([_synthetic(1), _synthetic(2), _synthetic(3)])  # 3 is dropped
        await asyncio.sleep(0)
        received = [(await subscription.__anext__()).sequence]
        fanout.publish([_synthetic(4)])  # a slot is free again, but 4 must not jump the gap
        await asyncio.sleep(0)
        received.append((await subscription.__anext__()).sequence)
        with pytest.raises(eventbus.SubscriberOverflow):
            await subscription.__anext__()
        return received

    assert asyncio.run(scenario()) == [1, 2]
