"""Decision-table evaluation, in process, single-threaded (issue 12: >= 100k evaluations/s for a
1,000-row table).

The table is a realistic pricing matrix: ``offering`` (equals, 50 offerings) x ``bandwidth``
(range, 5 tiers) x ``contractTermMonths`` (in-list, 4 groups) = 1,000 rules, hit policy
``unique`` (so compiling it includes the overlap check), plus a ``first`` variant where a tenth of
the rules are catch-alls on the offering (``any``: the shared bucket). Inputs are drawn from the
same space, a quarter of them missing every rule (unknown offering, bandwidth above the last
tier, an unlisted term). The same run measures the naive scan (every rule tested in turn:
``compiled.scan_evaluate``) on a sample, checks that both give the same rules for every sampled
input, and reports the CPU microseconds per evaluation (``time.process_time``).

    .venv/bin/python -m bench.run decision_tables --size small
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import Result
from om_graph.core.decisions.compiled import CompiledTable, compile_table, scan_evaluate
from om_graph.core.decisions.definitions import ANY, Condition, DecisionTableDef, InputColumn, OutputColumn, Rule

PARAMS = {
    "tiny": {"evaluations": 5_000, "scan": 200, "repeats": 1},
    "small": {"evaluations": 200_000, "scan": 2_000, "repeats": 3},
    "full": {"evaluations": 1_000_000, "scan": 5_000, "repeats": 5},
}
TARGET = 100_000  # evaluations per second
OFFERINGS = [f"fibre-{i:02d}" for i in range(50)]
TIERS = [(0, 100), (101, 300), (301, 500), (501, 1000), (1001, 10_000)]
TERMS = [(1,), (12,), (24,), (36, 48)]


def matrix(hit_policy: str = "unique", catch_all_every: int = 0) -> DecisionTableDef:
    rules = []
    for o, offering in enumerate(OFFERINGS):
        for t, (low, high) in enumerate(TIERS):
            for g, terms in enumerate(TERMS):
                n = len(rules)
                when: dict[str, Condition] = {
                    "offering": Condition.equals(offering),
                    "bandwidth": Condition.between(low, high),
                    "contractTermMonths": Condition.one_of(*terms),
                }
                if catch_all_every and n % catch_all_every == 0:
                    when["offering"] = ANY  # a catch-all: in every offering's bucket
                amount = Decimal(20 + o) + Decimal(t * 10) - Decimal(g)
                rules.append(Rule(when=when, then={"amount": amount, "tier": f"t{t}"}))
    return DecisionTableDef(
        name=f"bench.fibrePrice.{hit_policy}",
        inputs=(
            InputColumn("offering", "string"),
            InputColumn("bandwidth", "integer"),
            InputColumn("contractTermMonths", "integer"),
            InputColumn("segment", "string"),
        ),
        outputs=(OutputColumn("amount", "number"), OutputColumn("tier", "string", default="none")),
        rules=tuple(rules),
        hit_policy=hit_policy,  # type: ignore[arg-type]
    )


def inputs(count: int, seed: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        miss = rng.random() < 0.25
        rows.append(
            {
                "offering": rng.choice(OFFERINGS) if not (miss and rng.random() < 0.4) else "copper-01",
                "bandwidth": rng.randint(0, 10_000) if not (miss and rng.random() < 0.5) else 20_000,
                "contractTermMonths": rng.choice([1, 12, 24, 36, 48]) if not miss else rng.choice([6, 18, 60]),
                "segment": rng.choice(["consumer", "business", None]),
            }
        )
    return rows


def _rate(table: CompiledTable, rows: list[dict[str, Any]], repeats: int, fn: Any = None) -> tuple[float, float]:
    """Best of ``repeats``: evaluations per wall second, CPU microseconds per evaluation."""
    call = fn or table.evaluate
    best_rate, best_cpu = 0.0, float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for row in rows:
            call(row)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_rate = max(best_rate, len(rows) / wall)
        best_cpu = min(best_cpu, cpu / len(rows) * 1e6)
    return best_rate, best_cpu


def measure(defn: DecisionTableDef, size: str) -> dict[str, Any]:
    p = PARAMS[size]
    started = time.perf_counter()
    table = compile_table(defn)
    compile_ms = (time.perf_counter() - started) * 1000
    rows = inputs(p["evaluations"])
    sample = rows[: p["scan"]]
    mismatches = sum(1 for row in sample if table.match(row) != scan_evaluate(table, row))
    hits = sum(1 for row in sample if table.match(row))
    rate, cpu_us = _rate(table, rows, p["repeats"])
    scan_rate, scan_cpu_us = _rate(table, sample, 1, fn=lambda row: scan_evaluate(table, row))
    return {
        "rules": len(defn.rules),
        "hit_policy": defn.hit_policy,
        "compile_ms": round(compile_ms, 1),
        "evaluations": len(rows) * p["repeats"],
        "evaluations_per_s": round(rate),
        "cpu_us_per_evaluation": round(cpu_us, 2),
        "scan_evaluations": len(sample),
        "scan_evaluations_per_s": round(scan_rate),
        "scan_cpu_us_per_evaluation": round(scan_cpu_us, 1),
        "speedup_over_scan": round(rate / scan_rate, 1) if scan_rate else None,
        "sample_hit_share": round(hits / len(sample), 2) if sample else None,
        "mismatches_with_scan": mismatches,
    }


def run(size: str, workdir: Path) -> list[Result]:
    unique = measure(matrix("unique"), size)
    first = measure(matrix("first", catch_all_every=10), size)
    if unique["mismatches_with_scan"] or first["mismatches_with_scan"]:
        raise AssertionError(f"compiled evaluation differs from the scan: {unique}, {first}")
    figure = min(unique["evaluations_per_s"], first["evaluations_per_s"])
    return [
        Result(
            "decision_tables",
            figure,
            "eval/s",
            target=f">= {TARGET:,} eval/s (1,000 rules)",
            ok=figure >= TARGET,
            reference=min(unique["scan_evaluations_per_s"], first["scan_evaluations_per_s"]),
            reference_unit="eval/s (naive scan)",
            ratio=round(figure / min(unique["scan_evaluations_per_s"], first["scan_evaluations_per_s"]), 1),
            note=(
                f"unique {unique['evaluations_per_s']:,}/s ({unique['cpu_us_per_evaluation']} µs CPU), "
                f"first+catch-alls {first['evaluations_per_s']:,}/s ({first['cpu_us_per_evaluation']} µs CPU); "
                f"compile {unique['compile_ms']} / {first['compile_ms']} ms"
            ),
            data={"unique": unique, "first_with_catch_alls": first},
        )
    ]
