"""Async HTTP/1.1 load generator, run as its own process: ``python -m bench.load URL [options]``.

Keep-alive connections (``--connections``), each running requests back to back (closed loop) or
at a shared fixed rate (``--rate`` iterations/s, open loop within the connection pool). An
iteration is one request, or with ``--then-body`` two: the second body has ``__ID__`` replaced by
the first ``"id":"..."`` of the first response (orderCreate then orderSubmit). Bounded by
``--requests`` (iterations) and ``--duration`` seconds (after ``--warmup`` seconds whose results
are dropped). Only loopback targets are accepted. Prints one JSON object of stats on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from urllib.parse import urlsplit

ID = re.compile(rb'"id":\s*"([^"]+)"')
REQUEST_TIMEOUT = 30.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean": sum(values) / len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def ensure(self):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        await self.ensure()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            if b":" in line:
                key, value = line.split(b":", 1)
                headers[key.strip().lower()] = value.strip().lower()
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            self.close()
        if headers.get(b"connection") == b"close":
            self.close()
        return status, body


def build_request(method: str, path: str, host: str, headers: list[str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run(args) -> dict:
    url = urlsplit(args.url)
    if not url.hostname or not (url.hostname.startswith("127.") or url.hostname in ("localhost", "::1")):
        raise SystemExit("bench.load only targets loopback addresses")
    host, port, path = url.hostname, url.port or 80, url.path or "/"
    bodies = [b.encode() for b in (json.load(open(args.bodies_file)) if args.bodies_file else [args.body])]
    headers = list(args.header)
    then = args.then_body
    stats = {"latency": [], "steps": [[], []], "errors": 0, "samples": [], "iterations": 0, "requests": 0, "all": 0}
    started = time.perf_counter()
    measure_from = started + args.warmup
    deadline = measure_from + args.duration
    wall_start = time.time()
    counter = {"next": 0, "measured": 0, "last_done": measure_from, "first_start": None}

    def error(sample: str):
        stats["errors"] += 1
        if len(stats["samples"]) < 5:
            stats["samples"].append(sample[:500])

    async def one(conn: Connection, raw: bytes, expect: str | None, step: int, record: bool) -> bytes | None:
        t0 = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(conn.send(raw), REQUEST_TIMEOUT)
        except Exception as exc:  # connection reset, timeout: count and reconnect
            conn.close()
            if record:
                error(f"{type(exc).__name__}: {exc}")
            return None
        elapsed = (time.perf_counter() - t0) * 1000
        stats["all"] += 1
        if record:
            stats["requests"] += 1
            stats["latency"].append(elapsed)
            stats["steps"][step].append(elapsed)
            if status != args.expect_status or (expect and expect.encode() not in body):
                error(f"{status}: {body[:400].decode(errors='replace')}")
                return None
        return body

    async def worker(index: int):
        conn = Connection(host, port)
        try:
            while True:
                k = counter["next"]
                counter["next"] += 1
                if args.rate:
                    start_at = started + k / args.rate
                    if start_at >= deadline:
                        return
                    delay = start_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                now = time.perf_counter()
                if now >= deadline:
                    return
                record = now >= measure_from
                if record:
                    if args.requests and counter["measured"] >= args.requests:
                        return
                    counter["measured"] += 1
                    if counter["first_start"] is None:
                        counter["first_start"] = time.time()
                raw = build_request(args.method, path, f"{host}:{port}", headers, bodies[k % len(bodies)])
                body = await one(conn, raw, args.expect, 0, record)
                if body is not None and then:
                    found = ID.search(body)
                    if found is None:
                        if record:
                            error("no id in first response: " + body[:300].decode(errors="replace"))
                        continue
                    raw2 = build_request(
                        args.method, path, f"{host}:{port}", headers, then.replace("__ID__", found.group(1).decode()).encode()
                    )
                    body = await one(conn, raw2, args.then_expect, 1, record)
                if record:
                    stats["iterations"] += 1 if body is not None else 0
                    counter["last_done"] = time.perf_counter()
        finally:
            conn.close()

    await asyncio.gather(*(worker(i) for i in range(args.connections)))
    elapsed = max(1e-9, counter["last_done"] - measure_from)
    return {
        "url": args.url,
        "connections": args.connections,
        "rate": args.rate or None,
        "started_at": counter["first_start"] or wall_start,
        "finished_at": time.time(),
        "elapsed": elapsed,
        "iterations": stats["iterations"],
        "requests": stats["requests"],
        "all_requests": stats["all"],  # warm-up included
        "errors": stats["errors"],
        "error_samples": stats["samples"],
        "rps": stats["requests"] / elapsed,
        "ips": stats["iterations"] / elapsed,
        "latency_ms": summary(stats["latency"]),
        "steps_ms": [summary(s) for s in stats["steps"] if s],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.load", description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--method", default="POST")
    p.add_argument("--body", default="")
    p.add_argument("--bodies-file", help="a JSON list of request bodies used round robin")
    p.add_argument("--then-body", help="second request of each iteration; __ID__ is the first response's id")
    p.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--requests", type=int, default=0, help="iterations to run after warmup (0: until --duration)")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=0.0)
    p.add_argument("--rate", type=float, default=0.0, help="iterations per second over all connections (0: closed loop)")
    p.add_argument("--expect", help="substring every (first) response must contain")
    p.add_argument("--expect-status", type=int, default=200, help="the status every response must have")
    p.add_argument("--then-expect", help="substring every second response must contain")
    args = p.parse_args(argv)
    try:
        import uvloop

        stats = uvloop.run(run(args))
    except ImportError:
        stats = asyncio.run(run(args))
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
