"""Same-run A/B of process settings on the lifecycle: CPU per order and throughput.

    .venv/bin/python -m bench.ab lifecycle|lifecycle_scaled [--size small] [-n 3]
        --a "OM_GRAPH_GC_FREEZE=false OM_GRAPH_GC_THRESHOLD=0" --b "" [--a-workers 2x4 --b-workers 1x8]

Runs A, B, A, B, … (``-n`` pairs), alternating so that a change in the machine's load hits both
sides alike, and prints each run and the medians: CPU-ms per order (every serving process,
``bench.cpu``) and orders/s, and B/A of both. ``--a``/``--b``: ``NAME=VALUE`` words added to the
environment of the server (and the workers); ``--a-workers``/``--b-workers``: ``PROCESSESxTHREADS``
of the scaled run's ``om-graph worker``. ``--json PATH`` keeps every run's figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench import lifecycle, lifecycle_scaled
from bench.common import RESULTS


def _env(words: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in words.split())


def _workers(text: str) -> tuple[int, int]:
    processes, threads = text.lower().split("x")
    return int(processes), int(threads)


def one(bench: str, size: str, workdir: Path, env: dict[str, str], workers: tuple[int, int]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    if bench == "lifecycle":
        row, cpu = lifecycle.run(size, workdir, extra_env=env)
    else:
        row, cpu = lifecycle_scaled.run(size, workdir, extra_env=env, workers=workers)
    return {
        "rate": row.figure,
        "cpu_ms": cpu.figure,
        "groups": cpu.data["cpu"]["groups_ms_per_order"],
        "processes": cpu.data["cpu"]["processes_ms_per_order"],
        "calibration_ms": cpu.data["cpu"]["calibration_ms"],
        "note": row.note,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ab")
    parser.add_argument("bench", choices=("lifecycle", "lifecycle_scaled"))
    parser.add_argument("--size", default="small")
    parser.add_argument("-n", type=int, default=3, help="pairs of runs")
    parser.add_argument("--a", default="", help="NAME=VALUE ... for side A")
    parser.add_argument("--b", default="", help="NAME=VALUE ... for side B")
    default = f"{lifecycle_scaled.WORKER_PROCESSES}x{lifecycle_scaled.WORKER_THREADS}"
    parser.add_argument("--a-workers", default=default)
    parser.add_argument("--b-workers", default=default)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sides = {
        "A": (_env(args.a), _workers(args.a_workers)),
        "B": (_env(args.b), _workers(args.b_workers)),
    }
    work = RESULTS / "work" / f"ab-{time.strftime('%Y%m%dT%H%M%S')}"
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    try:
        for i in range(args.n):
            for side, (env, workers) in sides.items():
                out = one(args.bench, args.size, work / f"{side}{i}", env, workers)
                runs[side].append(out)
                groups = ", ".join(f"{g} {ms:.2f}" for g, ms in out["groups"].items())
                print(
                    f"{side}{i}: {out['cpu_ms']:.2f} CPU-ms/order ({groups}), {out['rate']:.1f} orders/s, "
                    f"calibration {min(out['calibration_ms']):.0f} ms",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {side: {k: statistics.median(r[k] for r in runs[side]) for k in ("cpu_ms", "rate")} for side in runs}
    print(f"A = {args.a!r} workers {args.a_workers}; B = {args.b!r} workers {args.b_workers}")
    for side in ("A", "B"):
        print(f"median {side}: {med[side]['cpu_ms']:.2f} CPU-ms/order, {med[side]['rate']:.1f} orders/s")
    print(f"B/A: CPU per order {med['B']['cpu_ms'] / med['A']['cpu_ms']:.3f}, orders/s {med['B']['rate'] / med['A']['rate']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args), "runs": runs, "medians": med}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
