"""Event latency: commit of a state change → a websocket subscriber receives it.

Method. One graphql-transport-ws subscriber to ``orderEvents`` (all orders) runs in this process
and stamps every message with the wall clock on arrival. Load: :mod:`bench.load` creates and
submits "test-auto" orders at a fixed rate chosen so the whole system emits ~1k events/s (events
per order are counted on a warm-up order first; each order's create, submit, decomposition, task
and completion events all count). Latency = arrival time − the event's ``occurredAt`` (naive UTC,
same machine clock). ``occurredAt`` is stamped when the event row is added to the transaction, a
little before the commit, so this is an upper bound on commit → receive:
- events of API mutations (create, submit: actor is the caller): their transaction commits right
  after the event is recorded, so the bound is tight. This row is judged against the target.
- all events, including the workers' (whose transactions go on after recording, e.g. decomposition):
  reported as an upper bound, not judged.
Every committed event must arrive (the received count is checked against the order_event table).
If the server cannot sustain the offered rate, the achieved events/s is what the note reports, the
row misses, and a second phase at half the sustained rate reports the latency below saturation.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    CREATE,
    SUBMIT,
    Client,
    Result,
    gql_body,
    percentile,
    profiling,
    run_load,
    server_env,
    sqlite_url,
    start_server,
    summary,
    wait_for,
    ws_init_payload,
)

PARAMS = {
    "tiny": dict(events_per_s=300.0, duration=3.0),
    "small": dict(events_per_s=1000.0, duration=10.0),
    "full": dict(events_per_s=1000.0, duration=20.0),
}
TARGET_P99_MS = 20.0
SUBSCRIPTION = "subscription { orderEvents { id type entityKind fromState toState actor occurredAt orderId } }"


class Subscriber(threading.Thread):
    def __init__(self, base_url: str, token: str | None):
        super().__init__(daemon=True, name="bench-subscriber")
        self.url = base_url.replace("http://", "ws://") + "/graphql"
        self.token = token
        self.received: list[tuple[float, str]] = []
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the caller
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": ws_init_payload(self.token)}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            self.ready.set()
            while not self.stopping.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                self.received.append((time.time(), raw))

    def events(self) -> list[tuple[float, dict]]:
        out = []
        for at, raw in list(self.received):
            message = json.loads(raw)
            if message.get("type") == "next":
                out.append((at, message["payload"]["data"]["orderEvents"]))
            elif message.get("type") == "error":
                raise RuntimeError(f"subscription error: {message}")
        return out


def occurred(event: dict) -> float:
    return datetime.fromisoformat(event["occurredAt"]).replace(tzinfo=UTC).timestamp()


def db_scalar(db: Path, sql: str, *args):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def _phase(server, db: Path, sub: Subscriber, p: dict, customer: str, rate: float, label: str) -> dict:
    """Create and submit orders at ``rate`` for the run's duration, wait until all completed and
    every committed event reached the subscriber; the load's stats and time window."""
    body = gql_body(CREATE, {"input": {"customerId": customer, "lines": [{"offering": "test-auto"}]}})
    with profiling(server, label):
        load = run_load(
            server.url + "/graphql",
            token=server.token,
            body=body,
            then_body=gql_body(SUBMIT, {"id": "__ID__"}),
            duration=p["duration"],
            rate=rate,
            connections=16,
            expect='"errors":[]',
            then_expect='"errors":[]',
        )
        wait_for(
            lambda: (
                db_scalar(db, "SELECT count(*) FROM customer_order WHERE customer_id = ? AND state = 'completed'", customer)
                >= load["iterations"]
            ),
            120 + p["duration"] * 5,
            interval=0.2,
            message="all orders completed",
        )
        committed = db_scalar(db, "SELECT count(*) FROM order_event")
        wait_for(lambda: len(sub.received) >= committed, 30, interval=0.1, message=f"{committed} events on the websocket")
    return {"load": load, "window": (load["started_at"], load["started_at"] + load["elapsed"]), "committed": committed}


def _latencies(events, phase: dict) -> tuple[list[float], list[float], float]:
    """(API mutations' latencies, all events' latencies, events/s achieved) inside the phase."""
    start, end = phase["window"]
    measured = [(at, e) for at, e in events if start <= occurred(e) <= end]
    mutation = [1000 * (at - occurred(e)) for at, e in measured if e["actor"] != "system"]
    everything = [1000 * (at - occurred(e)) for at, e in measured]
    return mutation, everything, len(measured) / phase["load"]["elapsed"]


def run(size: str, workdir: Path) -> list[Result]:
    """The target rate first; then, when the server could not sustain it, half the rate it did
    sustain, so the latency of a server below saturation is reported too."""
    p = PARAMS[size]
    db = workdir / "events.db"
    server = start_server(server_env(sqlite_url(db)), workdir)
    sub = Subscriber(server.url, server.token)
    below = None
    try:
        sub.start()
        sub.ready.wait(15)
        if sub.error:
            raise sub.error
        gql = Client(server.url, server.token)
        try:  # warm-up order: checks delivery and counts events per order
            order = gql(CREATE, {"input": {"customerId": "BENCH-WARM", "lines": [{"offering": "test-auto"}]}})["orderCreate"][
                "order"
            ]
            gql(SUBMIT, {"id": order["id"]})
        finally:
            gql.close()
        wait_for(
            lambda: any(e["entityKind"] == "order" and e["toState"] == "completed" for _, e in sub.events()),
            30,
            message="the warm-up order's completion event",
        )
        per_order = len([e for _, e in sub.events() if e["orderId"] == order["id"]])
        rate = p["events_per_s"] / per_order
        target = _phase(server, db, sub, p, "BENCH-EV", rate, "event_latency")
        achieved = _latencies(sub.events(), target)[2]
        if achieved < 0.9 * p["events_per_s"]:
            below = _phase(server, db, sub, p, "BENCH-EV-HALF", achieved / 2 / per_order, "event_latency_below")
    finally:
        sub.stopping.set()
        sub.join(5)
        server.stop()
    events = sub.events()
    mutation, everything, achieved = _latencies(events, target)
    committed = (below or target)["committed"]
    p99 = percentile(mutation, 99)
    base = dict(
        offered_events_per_s=p["events_per_s"],
        achieved_events_per_s=achieved,
        events_per_order=per_order,
        orders_per_s=rate,
        received=len(events),
        committed=committed,
        load=target["load"],
    )
    note = f"{achieved:.0f} ev/s achieved ({per_order} events/order at {rate:.0f} orders/s offered)"
    results = [
        Result(
            "event latency: mutation commit -> ws, p99",
            p99,
            "ms",
            target=f"p99 <= {TARGET_P99_MS:.0f} ms",
            ok=p99 is not None and p99 <= TARGET_P99_MS and len(events) >= committed and achieved >= 0.9 * p["events_per_s"],
            note=f"p50 {percentile(mutation, 50):.1f} ms, n={len(mutation)}; " + note,
            data={**base, "mutation_ms": summary(mutation)},
        ),
        Result(
            "event latency: all events, record -> ws, p99 (upper bound)",
            percentile(everything, 99),
            "ms",
            target="(info)",
            note=f"p50 {percentile(everything, 50):.1f} ms, n={len(everything)}",
            data={"all_ms": summary(everything)},
        ),
    ]
    if below is not None:
        low_mutation, _, low_achieved = _latencies(events, below)
        results.append(
            Result(
                "event latency below saturation (half the sustained rate), p99",
                percentile(low_mutation, 99),
                "ms",
                target="(info)",
                note=f"p50 {percentile(low_mutation, 50):.1f} ms, n={len(low_mutation)}; {low_achieved:.0f} ev/s",
                data={"achieved_events_per_s": low_achieved, "mutation_ms": summary(low_mutation), "load": below["load"]},
            )
        )
    return results
