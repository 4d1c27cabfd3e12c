"""Announcing committed events to live subscribers.

Embedded: an in-process fan-out (workers run as threads of the server). Scaled: every process
publishes to one Redis pub/sub channel and each server process relays that channel to its own
subscribers, so a websocket on any server sees changes made by any worker. Either way, a
server delivers to its subscribers through :class:`~om_graph.commit_order.CommitOrder`: every
committed event once, in commit order, filled from the database where an announcement was
late or lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime

from om_graph.commit_order import CommitOrder, EventSource
from om_graph.core.kernel.events import OrderEvent

log = logging.getLogger(__name__)

SUBSCRIBER_BUFFER = 10_000


class SubscriberOverflow(Exception):
    """The subscriber fell more than SUBSCRIBER_BUFFER events behind and was dropped: it has
    every event up to the last one it took, and resumes from there (``orderEvents(after:)``)."""


class _Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop, accept: Callable[[OrderEvent], bool]):
        self.loop = loop
        self.accept = accept
        self.queue: asyncio.Queue[OrderEvent] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self.overflowed = False

    def offer(self, event: OrderEvent) -> None:
        if self.overflowed:
            return  # once one event is dropped, none after it may be queued: resume covers them
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:  # a stalled client must not grow memory without bound
            self.overflowed = True

    def offer_all(self, events: list[OrderEvent]) -> None:
        for event in events:
            self.offer(event)


class Subscription:
    """An async iterator of one subscriber's events."""

    def __init__(self, fanout: LocalFanout, sub: _Subscriber):
        self._fanout = fanout
        self._sub = sub

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> OrderEvent:
        sub = self._sub
        if sub.overflowed and sub.queue.empty():
            log.warning("a subscriber fell more than %d events behind; telling it to resume", SUBSCRIBER_BUFFER)
            self.close()
            raise SubscriberOverflow(SUBSCRIBER_BUFFER)
        return await sub.queue.get()

    def close(self) -> None:
        self._fanout._unregister(self._sub)


class LocalFanout:
    """Thread-safe fan-out to asyncio subscribers of this process."""

    def __init__(self) -> None:
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()

    def publish(self, events: Sequence[OrderEvent]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            wanted = [e for e in events if sub.accept(e)]
            if not wanted:
                continue
            try:
                sub.loop.call_soon_threadsafe(sub.offer_all, wanted)
            except RuntimeError:  # its event loop closed meanwhile: the subscriber is gone
                self._unregister(sub)

    def subscribe(self, accept: Callable[[OrderEvent], bool]) -> Subscription:
        """Registered at once (not at first iteration), so a caller can subscribe, then read
        the store, and miss nothing in between. Close it (or exhaust it) to unregister."""
        sub = _Subscriber(asyncio.get_running_loop(), accept)
        with self._lock:
            self._subscribers.add(sub)
        return Subscription(self, sub)

    def _unregister(self, sub: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def event_to_json(event: OrderEvent) -> str:
    body = asdict(event)
    body["occurred_at"] = event.occurred_at.isoformat()
    return json.dumps(body, default=str)


def event_from_json(raw: str | bytes) -> OrderEvent:
    body = json.loads(raw)
    body["occurred_at"] = datetime.fromisoformat(body["occurred_at"])
    return OrderEvent(**body)


class _OrderedBus:
    """What both buses share: local subscribers fed in commit order once started."""

    local: LocalFanout
    _order: CommitOrder | None = None
    _store: EventSource | None = None

    def bind_store(self, store: EventSource) -> None:
        """Where missed events are read from; needed before ``start()``."""
        self._store = store

    def subscribe(self, accept: Callable[[OrderEvent], bool]) -> Subscription:
        return self.local.subscribe(accept)

    def _start_ordering(self) -> CommitOrder:
        if self._store is None:
            raise RuntimeError("bind_store() before start(): the bus fills gaps from the store")
        self._order = CommitOrder(self._store, self.local.publish)
        self._order.start()
        return self._order

    def _stop_ordering(self) -> None:
        if self._order is not None:
            self._order.stop()
            self._order = None


class InProcessEventBus(_OrderedBus):
    def __init__(self) -> None:
        self.local = LocalFanout()

    def publish(self, events: Sequence[OrderEvent]) -> None:
        # Not started (a tool, a test without a server): nobody needs the order restored.
        (self._order or self.local).publish(events)

    def start(self) -> None:
        if self._order is None:
            self._start_ordering()

    def stop(self) -> None:
        self._stop_ordering()


class RedisEventBus(_OrderedBus):
    """Publishes to ``<namespace>:order-events``; ``start()`` relays the channel to local
    subscribers. Whenever the relay (re)connects it has the store checked for events announced
    while it was away."""

    def __init__(self, url: str, namespace: str):
        import redis

        self.channel = f"{namespace}:order-events"
        self._redis = redis.Redis.from_url(url)
        self.local = LocalFanout()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()

    def publish(self, events: Sequence[OrderEvent]) -> None:
        if not events:
            return
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            pipe.publish(self.channel, event_to_json(event))
        pipe.execute()

    def start(self) -> None:
        if self._thread is not None:
            return
        order = self._start_ordering()
        self._thread = threading.Thread(target=self._relay, args=(order,), name="om-graph-event-relay", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _relay(self, order: CommitOrder) -> None:
        while not self._stopping.is_set():
            pubsub = self._redis.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None:
                        continue
                    if message["type"] == "message":
                        order.publish([event_from_json(message["data"])])
                    elif message["type"] == "subscribe":
                        # Listening from here on: what was announced before is in the store.
                        order.resync()
                        self._ready.set()
            except Exception:
                log.exception("event relay lost its Redis connection; reconnecting")
                self._stopping.wait(1)
            finally:
                pubsub.close()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._stop_ordering()


class FanoutSink:
    """The core's EventSink: the live bus, then the packs' ``om_handle_order_event`` hook."""

    def __init__(self, bus, hook: Callable[..., object] | None):
        self.bus = bus
        self.hook = hook

    def publish(self, events: Sequence[OrderEvent]) -> None:
        try:
            self.bus.publish(events)
        finally:  # the bus being down (subscribers replay from the store) must not silence the hook
            self._call_hook(events)

    def _call_hook(self, events: Sequence[OrderEvent]) -> None:
        if self.hook is None:
            return
        for event in events:
            try:
                self.hook(event=event)
            except Exception:
                log.exception("an om_handle_order_event implementation raised for event %s", event.id)
