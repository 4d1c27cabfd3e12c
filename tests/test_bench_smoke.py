"""The benchmark suite at --size tiny, through the same functions ``python -m bench.run`` calls:
each benchmark runs and its work is done (orders completed, rows counted, stats present). No
figure is asserted: timings belong to bench/results, not to a test. PostgreSQL/Redis parts use
the conftest fixtures (skipped when unreachable, failing in CI)."""

from __future__ import annotations

import json

import pytest

from bench import (
    dispatch,
    event_latency,
    lifecycle,
    lifecycle_scaled,
    memory,
    order_detail,
    orders_page,
)
from bench import run as bench_run

pytestmark = pytest.mark.slow


def _only(results):
    [result] = results
    assert result.figure is not None and result.figure > 0, result
    return result


def _cpu(row, groups):
    """The CPU-per-order row: figures present for every counted group, none asserted."""
    cpu = row.data["cpu"]
    assert row.figure == cpu["ms_per_order"] and cpu["orders"] == lifecycle.PARAMS["tiny"]["orders"]
    assert set(cpu["groups_ms_per_order"]) == set(groups), cpu
    assert cpu["counted_seconds"] > 0 and "load generator" in cpu["not_counted_ms_per_order"]


def test_lifecycle_embedded(tmp_path):
    result, cpu = lifecycle.run("tiny", tmp_path)
    _cpu(cpu, {"server"})
    assert result.figure is not None and result.figure > 0, result
    assert result.data["run"]["completed"] == lifecycle.PARAMS["tiny"]["orders"]
    assert result.data["run"]["load"]["errors"] == 0
    rows = result.data["rows"]
    assert rows["customer_order"] > lifecycle.PARAMS["tiny"]["orders"] and rows["product"] > 0 and rows["agreement"] > 0
    assert result.reference > 0 and result.ratio > 0
    writer = result.data["run"]["writer"]  # every order wrote at least once under the SQLite write lock
    assert writer["transactions"] >= lifecycle.PARAMS["tiny"]["orders"] and writer["held_seconds"] > 0


def test_lifecycle_scaled(tmp_path, postgres_admin_url, redis_server_url):
    result, cpu = lifecycle_scaled.run("tiny", tmp_path, postgres_admin_url=postgres_admin_url, redis_url=redis_server_url)
    _cpu(cpu, {"server", "worker", "postgres", "redis"})
    assert len([p for p in cpu.data["cpu"]["processes_ms_per_order"] if p.startswith("worker")]) > 1  # parent and its processes
    assert result.figure is not None and result.figure > 0, result
    assert result.data["run"]["completed"] == lifecycle.PARAMS["tiny"]["orders"]
    assert result.data["rows"]["order_task"] > 0
    assert result.data["raw"]["copy_seconds"] > 0 and result.data["raw"]["executemany_seconds"] > 0


def test_order_create_through_the_cli(tmp_path):
    out = tmp_path / "results.json"
    assert bench_run.main(["order_create", "--size", "tiny", "--json", str(out)]) == 0
    [row] = json.loads(out.read_text())["results"]
    load = row["data"]["load"]
    assert load["requests"] > 0 and load["errors"] == 0 and row["data"]["drafts_in_db"] >= load["requests"]
    assert row["reference"] > 0 and row["data"]["reference"]["errors"] == 0


def test_preview(tmp_path):
    from bench import preview

    [result] = preview.run("tiny", tmp_path)  # completion only: the ratio is measured at size small/full
    assert result.data["errors"] == 0 and result.figure > 0
    assert result.data["cpu_ms"]["preview"] > 0 and result.data["cpu_ms"]["create"] > 0


def test_order_detail(tmp_path):
    cached, uncached = order_detail.run("tiny", tmp_path)
    assert cached.data["shape"]["tasks"] == 22 and cached.data["shape"]["products"] == 5
    assert cached.data["load"]["errors"] == 0 and cached.reference > 0
    assert uncached.data["load"]["errors"] == 0 and uncached.figure > 0
    assert cached.data["load"]["response_cache"]["hits"] > 0  # the figure is of cached reads
    assert uncached.data["load"]["response_cache"] is None  # and this one of executed reads


def test_orders_page(tmp_path):
    results = orders_page.run("tiny", tmp_path)
    assert len(results) == 4
    for result in results:
        assert result.figure > 0 and result.reference > 0
        assert result.data["large"]["errors"] == 0 and result.data["small"]["errors"] == 0


def test_event_latency(tmp_path):
    mutation, everything, *below = event_latency.run("tiny", tmp_path)
    assert mutation.data["received"] >= mutation.data["committed"] > 0
    assert (
        mutation.data["mutation_ms"]["count"] > 0 and everything.data["all_ms"]["count"] >= mutation.data["mutation_ms"]["count"]
    )
    saturated = mutation.data["achieved_events_per_s"] < 0.9 * mutation.data["offered_events_per_s"]
    assert len(below) == (1 if saturated else 0)  # the phase below saturation runs when the target rate was not sustained
    for result in below:
        assert result.data["mutation_ms"]["count"] > 0


def test_dispatch_embedded():
    throughput, idle, loaded = dispatch.run_embedded("tiny")
    assert throughput.figure > 0
    assert idle.data["count"] == dispatch.PARAMS["tiny"]["idle"] and loaded.data["count"] > 0


def test_dispatch_redis(redis_server_url):
    throughput, idle, loaded = dispatch.run_redis("tiny", redis_server_url)
    assert throughput.figure > 0
    assert idle.data["count"] == dispatch.PARAMS["tiny"]["idle"] and loaded.data["count"] > 0


def test_memory(tmp_path):
    result = _only(memory.run("tiny", tmp_path))
    assert result.data["burst"] == memory.PARAMS["tiny"]["burst"]
    assert set(result.data["phases"]) >= {"started", "detail", "pages", "create", "lifecycle"}


def test_pricing(tmp_path):
    from bench import pricing

    pricer, create = pricing.run("tiny", tmp_path)
    assert pricer.figure > 0 and pricer.data["lines"] == pricing.LINES
    assert create.figure > 0 and create.data["creates"] == pricing.PARAMS["tiny"]["creates"]


def test_jeopardy(tmp_path):
    from bench import jeopardy

    result, longest = jeopardy.run("tiny", tmp_path)
    assert longest.name == "jeopardy_longest_transaction" and longest.unit == "ms" and longest.ok is None
    assert longest.figure == max(p["longest_transaction_ms"] for p in result.data["passes"].values())
    from om_graph.settings import Settings

    assert result.data["batch"] == Settings.jeopardy_batch and result.data["write_group"] == Settings.jeopardy_write_group
    first, steady = result.data["passes"]["first"], result.data["passes"]["steady"]
    assert first["tasks_read"] == jeopardy.PARAMS["tiny"]["tasks"] and first["tasks_changed"] > 0
    assert first["orders_changed"] == result.data["orders"] and first["longest_transaction_ms"] > 0
    assert steady["orders_changed"] == 0 and steady["conflicts"] == 0


def test_fallout_queue(tmp_path):
    from bench import fallout_queue

    results = fallout_queue.run("tiny", tmp_path)
    assert [r.name.split(" at ")[0] for r in results] == [
        "fallout queue first page",
        "fallout queue filtered page",
        "fallout queue deep page",
        "fallout queue my page",
        "fallout queue aged page",
    ]
    assert all(r.figure > 0 and r.reference > 0 and r.ratio and r.data["median_ratio"] for r in results)
    assert all(r.figure <= m for r, m in zip(results, results[0].data["large"]["median_pages_ms"].values()))
    plans = results[0].data["large"]["plans"]
    assert "ix_fallout_active_priority_id" in plans["first_page"][0]
    assert "ix_fallout_active_type_priority_id" in plans["filtered_page"][0]


def test_work_queue(tmp_path):
    from bench import work_queue

    results = work_queue.run("tiny", tmp_path)
    assert [r.name.split(" at ")[0] for r in results] == [
        "work queue group due page",
        "work queue group id page",
        "work queue deep due page",
        "work queue my page",
    ]
    assert all(r.figure > 0 and r.reference > 0 and r.ratio for r in results)
    assert set(results[0].data["large"]["plans"]) == {"group_due_page", "group_id_page", "my_page"}


def test_timeline(tmp_path):
    from bench import timeline

    uncached, cached = timeline.run("tiny", tmp_path)
    shape = uncached.data["shape"]
    assert shape["tasks"] == 500 and shape["dependencies"] == timeline.DEPENDENCIES == 490 and shape["critical"] > 0
    assert uncached.figure > 0 and uncached.data["load"]["errors"] == 0 and uncached.reference > 0
    assert uncached.data["load"]["response_cache"] is None  # every read executed
    assert cached.data["load"]["errors"] == 0 and cached.data["load"]["response_cache"]["hits"] > 0


def test_compensation(tmp_path):
    from bench import compensation

    computed, pure, revise = compensation.run("tiny", tmp_path)
    assert computed.data["compensation"] == compensation.EXPECTED  # the plan measured: undo/redo, cancel/replace
    cpu = computed.data["cpu_ms"]
    assert all(cpu[op] > 0 for op in compensation.OPS), cpu
    assert computed.reference == cpu["submit"] and computed.ratio and pure.ratio and revise.ratio
    assert 0 < pure.figure < computed.figure < revise.figure  # the pure diff inside the computation, inside the revise
    assert computed.data["sql_statements"]["prepare"] > 0


def test_tmf(tmp_path):
    from bench import tmf

    post, imported, hub = tmf.run("tiny", tmp_path)
    assert post.data["tmf"]["errors"] == 0 and post.data["graphql"]["errors"] == 0 and post.ratio > 0
    small, large = tmf.PARAMS["tiny"]["imports"]
    assert f"{large} created" in imported.data["large"]["summary"] and imported.data["small"]["maxrss_mb"] > 0
    assert len(hub.data["latencies_ms"]) == tmf.PARAMS["tiny"]["hub_orders"]  # every create event delivered


def test_ui(tmp_path):
    from bench import ui

    results = ui.run("tiny", tmp_path)
    if results[0].note.startswith("skipped"):
        pytest.skip(results[0].note)
    listing, detail, gantt = results
    renders = ui.PARAMS["tiny"]["renders"]
    assert listing.data["rows"] == ui.PARAMS["tiny"]["orders"] and len(listing.data["render_ms"]) == renders
    assert len(detail.data["render_ms"]) == renders and detail.data["response_bytes"] > 0
    assert all(r.figure > 0 and r.reference > 0 for r in results)
    assert gantt.data["tasks"] == ui.SITES * ui.TASKS_PER_SITE * ui.PARAMS["tiny"]["sdwan_lines"]
    assert len(gantt.data["draw_ms"]) == ui.PARAMS["tiny"]["redraws"] and gantt.data["rects"] >= gantt.data["tasks"]
