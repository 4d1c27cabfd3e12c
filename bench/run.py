"""Run the benchmarks and print a table; write the results as JSON.

    .venv/bin/python -m bench.run [names...] [--size tiny|small|full] [--json PATH] [--profile DIR]

Names: see BENCHMARKS (default: all). Each benchmark starts its own server(s) on free loopback
ports, with a scratch directory under bench/results/work/. ``--profile DIR`` records the measured
server (or worker) processes with py-spy (collapsed stacks in DIR/<label>.txt; summarise them with
``python -m bench.pyspy_top FILE``). Exit status 1 when a benchmark failed to run (a missed target
is a result, not a failure).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, SIZES, Result

BENCHMARKS = {
    "lifecycle": "bench.lifecycle",
    "lifecycle_scaled": "bench.lifecycle_scaled",
    "order_create": "bench.order_create",
    "order_detail": "bench.order_detail",
    "orders_page": "bench.orders_page",
    "event_latency": "bench.event_latency",
    "dispatch": "bench.dispatch",
    "memory": "bench.memory",
    "decision_tables": "bench.decision_tables",
    "preview": "bench.preview",
    "pricing": "bench.pricing",
    "jeopardy": "bench.jeopardy",
    "fallout_queue": "bench.fallout_queue",
    "work_queue": "bench.work_queue",
    "timeline": "bench.timeline",
    "compensation": "bench.compensation",
    "tmf": "bench.tmf",
    "ui": "bench.ui",
}


def run_one(name: str, size: str, workdir: Path) -> tuple[list[Result], float]:
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        results = importlib.import_module(BENCHMARKS[name]).run(size, workdir)
    except Exception as exc:
        traceback.print_exc()
        results = [Result(name, None, "", ok=False, note=f"error: {type(exc).__name__}: {str(exc)[:300]}")]
    return results, time.perf_counter() - started


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    header = ("benchmark", "figure", "reference", "ratio", "target", "pass/miss")
    rows = []
    for r in results:
        verdict = (
            "skip"
            if r.note.startswith("skipped")
            else "error"
            if r.note.startswith("error")
            else "-"
            if r.ok is None
            else "pass"
            if r.ok
            else "MISS"
        )
        rows.append(
            (
                r.name,
                fmt(r.figure, r.unit),
                fmt(r.reference, r.reference_unit),
                "-" if r.ratio is None else f"{r.ratio:.3g}",
                r.target,
                verdict,
            )
        )
    widths = [min(60, max(len(str(x[i])) for x in [header, *rows])) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    notes = [f"  {r.name}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", "notes:"] + notes if notes else []))


def head_commit() -> str | None:
    """The checked-out commit, read from .git (uncommitted edits are not reflected)."""
    git = RESULTS.parent.parent / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description="om-graph benchmarks")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--profile", type=Path, help="record the measured processes with py-spy into this directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, databases)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; known: {', '.join(BENCHMARKS)}")
    if args.profile:
        os.environ["OM_GRAPH_BENCH_PROFILE"] = str(args.profile.resolve())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    commit_at_start = head_commit()
    work = RESULTS / "work" / stamp
    results: list[Result] = []
    timings = {}
    for name in args.names or list(BENCHMARKS):
        print(f"== {name} ({args.size})", file=sys.stderr, flush=True)
        rows, seconds = run_one(name, args.size, work / name)
        timings[name] = seconds
        results += rows
        print(table(rows), file=sys.stderr, flush=True)
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "size": args.size,
                "finished_at": datetime.now(UTC).isoformat(),
                "commit": commit_at_start,
                "commit_at_end": head_commit(),  # other work may land during a long run
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
                "seconds": timings,
                "results": [r.to_dict() for r in results],
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten {args.json}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(r.note.startswith("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
