"""The decision-table benchmark at --size tiny, through bench.run as CI runs it: it completes,
the compiled evaluation agreed with the naive scan on every sampled input (the benchmark raises
otherwise), and the figures are present. No figure is asserted: timings belong to bench/results."""

from __future__ import annotations

import json

import pytest

from bench import run as bench_run

pytestmark = pytest.mark.slow


def test_decision_tables_benchmark_runs(tmp_path):
    out = tmp_path / "results.json"
    assert bench_run.main(["decision_tables", "--size", "tiny", "--json", str(out)]) == 0
    [row] = json.loads(out.read_text())["results"]
    assert row["figure"] > 0 and row["reference"] > 0
    for variant in row["data"].values():
        assert variant["rules"] == 1000 and variant["mismatches_with_scan"] == 0
        assert variant["evaluations"] > 0 and variant["cpu_us_per_evaluation"] > 0
