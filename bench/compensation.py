"""Computing the compensation plan of a revision of the 5-line detail order, against ``orderSubmit``
of the same order (issue 14), in process, single-threaded, one SQLite file, the test packs.

The order is the detail order of :mod:`bench.order_detail` / :mod:`bench.preview` (3
'test-internet' lines, 2 'test-auto': 14 domain orders, 22 tasks). Each round takes a fresh draft
of it (``orderCreate``, not measured) and measures, alternating on the same order:

- **the reference**: ``orderSubmit`` through the core service (``OrderService.submit``: lock, the
  transitions, priority, version 1, the processing job enqueued; the benches that time submit in
  process call the service, the HTTP ones the mutation);
- then the recorded processing job runs (not measured, its CPU reported beside): decomposition,
  the plan started, every automatic task done; the order is in orchestration with the manual
  installations ready;
- **the figure**: the compensation plan of a revision changing line 1's ``address`` (every domain
  order of the line reads it: its completed tasks, allocate-line and ship-router, are undone and
  redone; its open ones, design, activate-service, activate-product and the ready installation,
  cancelled and replaced; the other 4 lines untouched), computed ``REPEAT`` times as
  ``orderRevise`` computes it before writing (``RevisionService.compute``: the read-only read,
  the revised order captured, validated and priced, the diff and PONR assessment, the approval
  policy, ``Decomposer.plan`` of the revised lines, ``plan_diff.compare``), writing nothing; the
  pure ``plan_diff.compare``, the decomposition and the capture are timed inside those calls
  (wrapped), for their shares;
- **informative**: the whole ``orderRevise`` (``RevisionService.revise``: the same computation,
  then the write in one plan session: cancellations, undo and redo tasks, new tasks, version 2,
  the events), once per order.

CPU is ``time.process_time`` per operation (the calls run on this thread; SQLite in process),
summed over the rounds after one warm-up round, with the garbage collector as ``om-graph serve``
has it (``om_graph.runtime.PROCESS_GC_ENV`` unless ``OM_GRAPH_GC_FREEZE`` /
``OM_GRAPH_GC_THRESHOLD`` say otherwise, as :mod:`bench.jeopardy`; restored afterwards); SQL
statements per operation are counted on the engine. The processing job is what built the plan: ``orderSubmit`` only hands it over, so the
ratio is reported, not held to a target.

    .venv/bin/python -m bench.run compensation --size small
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.common import Result, sqlite_url
from bench.jeopardy import _process_gc
from bench.seed import services_for
from om_graph.core.access.actor import Actor
from om_graph.core.change import plan_diff
from om_graph.core.change.revision_input import LineRevision, RevisionInput
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.runtime import tune_gc
from om_graph.settings import Settings

PARAMS = {
    "tiny": {"rounds": 2, "repeat": 2},
    "small": {"rounds": 60, "repeat": 5},
    "full": {"rounds": 200, "repeat": 5},
}
STAFF = Actor("bench", frozenset({"order_manager"}))
INTERNET = LineInput(offering="test-internet", characteristics={"speed": 100, "address": "1 Bench Street"})
AUTO = LineInput(offering="test-auto", characteristics={"label": "bench"})
ORDER = OrderInput(customer_id="BENCH-REVISE", lines=(INTERNET, INTERNET, INTERNET, AUTO, AUTO))
CHANGE = RevisionInput(lines=(LineRevision(1, {"address": "2 Moved Street"}),))
# What the revision does to the plan (checked every round: the figure is of this plan).
EXPECTED = {"cancel": 4, "undo": 2, "redo": 2, "add": 4}
OPS = ("submit", "process", "prepare", "capture", "compare", "decompose", "revise")


class _Meter:
    """CPU seconds and SQL statements per operation, and the per-call CPU samples."""

    def __init__(self, engine: Any):
        self.samples: dict[str, list[float]] = {op: [] for op in OPS}
        self.statements: dict[str, list[int]] = {op: [] for op in OPS}
        self.recording = False
        self.current: str | None = None  # the operation being timed
        self._count = [0]
        event.listen(engine, "before_cursor_execute", self._on_statement)

    def _on_statement(self, *_args: Any) -> None:
        self._count[0] += 1

    def time(self, op: str, call: Callable[[], Any]) -> Any:
        self._count[0] = 0
        self.current = op
        started = time.process_time()
        try:
            value = call()
        finally:
            cpu = time.process_time() - started
            self.current = None
        if self.recording:
            self.samples[op].append(cpu)
            self.statements[op].append(self._count[0])
        return value

    def timed(self, op: str, fn: Callable[..., Any], within: str = "prepare") -> Callable[..., Any]:
        """``fn`` timed when called inside the operation ``within`` (CPU only: its share of it)."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not self.recording or self.current != within:
                return fn(*args, **kwargs)
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.samples[op].append(time.process_time() - started)

        return wrapper

    def ms(self, op: str) -> float:
        values = self.samples[op]
        return 1000 * sum(values) / len(values) if values else 0.0

    def median_ms(self, op: str) -> float:
        values = self.samples[op]
        return 1000 * statistics.median(values) if values else 0.0


def _one_round(svc: Any, jobs: Any, run_job: Callable[[Any], None], meter: _Meter, repeat: int) -> dict[str, int]:
    order = svc.orders.create(STAFF, ORDER)
    jobs.take()
    meter.time("submit", lambda: svc.orders.submit(STAFF, order.id))

    def process() -> None:
        for _ in range(100):  # the processing job, and any it enqueues
            batch = jobs.take()
            if not batch:
                return
            for job in batch:
                run_job(job)

    meter.time("process", process)
    revisions = svc.revisions
    prepared = None
    for _ in range(repeat):
        prepared = meter.time(
            "prepare",
            lambda: revisions.compute(STAFF, order.id, CHANGE),
        )
    assert prepared is not None and prepared.compensation is not None and not prepared.approval
    revision = meter.time("revise", lambda: revisions.revise(STAFF, order.id, CHANGE, expected_version=None, reason="bench"))
    jobs.take()  # the revision's orchestration is not run: the next round takes a fresh order
    shape = {name: len(rows) for name, rows in (revision.compensation or {}).items()}
    if shape != EXPECTED:
        raise RuntimeError(f"unexpected compensation plan {shape} (expected {EXPECTED})")
    return shape


def run(size: str, workdir: Path) -> list[Result]:
    p = PARAMS[size]
    db = workdir / "compensation.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    svc, jobs, engine, run_job = services_for(sqlite_url(db))
    meter = _Meter(engine)
    revisions = svc.revisions
    compare, decompose, capture = plan_diff.compare, revisions.decomposer.plan, revisions.orders.capture
    plan_diff.compare = meter.timed("compare", compare)
    revisions.decomposer.plan = meter.timed("decompose", decompose)
    revisions.orders.capture = meter.timed("capture", capture)
    threshold = gc.get_threshold()
    tune_gc(_process_gc(Settings.from_env()))  # start-up done: the server's collector, as orderRevise meets it
    measured_gc = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
    try:
        shape = _one_round(svc, jobs, run_job, meter, 1)  # warm-up: imports, caches, the catalog read
        meter.recording = True
        for _ in range(p["rounds"]):
            _one_round(svc, jobs, run_job, meter, p["repeat"])
    finally:
        plan_diff.compare = compare
        revisions.decomposer.plan = decompose
        revisions.orders.capture = capture
        gc.unfreeze()
        gc.set_threshold(*threshold)
        engine.dispose()
    ms = {op: meter.ms(op) for op in OPS}
    median = {op: meter.median_ms(op) for op in OPS}
    sql = {op: max(meter.statements[op]) for op in OPS if meter.statements[op]}
    submit = ms["submit"]
    data = {
        "rounds": p["rounds"],
        "prepares_per_round": p["repeat"],
        "cpu_ms": ms,
        "median_cpu_ms": median,
        "sql_statements": sql,
        "compensation": shape,
        "gc": measured_gc,
        "reference": "OrderService.submit (orderSubmit's core service call), same order, same run",
    }
    plan = f"cancel {shape['cancel']}, undo {shape['undo']}, redo {shape['redo']}, add {shape['add']} tasks"
    return [
        Result(
            "compensation plan of a revision, 5-line order (computed, not written)",
            ms["prepare"],
            "ms CPU",
            target="report",
            reference=submit,
            reference_unit="ms CPU orderSubmit",
            ratio=ms["prepare"] / submit if submit else None,
            note=(
                f"{plan}; of it the revised order's capture {ms['capture']:.2f} ms, Decomposer.plan {ms['decompose']:.2f} ms, "
                f"plan_diff.compare {ms['compare']:.2f} ms, the rest the read, snapshots, diff and PONR; "
                f"medians {median['prepare']:.2f} / {median['submit']:.2f} ms; SQL statements {sql.get('prepare')} "
                f"(submit {sql.get('submit')}); the processing job that built the plan {ms['process']:.1f} ms CPU"
            ),
            data=data,
        ),
        Result(
            "same, plan_diff.compare alone (the pure diff)",
            ms["compare"],
            "ms CPU",
            reference=submit,
            reference_unit="ms CPU orderSubmit",
            ratio=ms["compare"] / submit if submit else None,
            note=f"median {median['compare']:.3f} ms; no SQL (pure)",
            data={"cpu_ms": ms["compare"], "median_cpu_ms": median["compare"]},
        ),
        Result(
            "same, whole orderRevise (compute + write)",
            ms["revise"],
            "ms CPU",
            reference=submit,
            reference_unit="ms CPU orderSubmit",
            ratio=ms["revise"] / submit if submit else None,
            note=f"median {median['revise']:.2f} ms; {sql.get('revise')} SQL statements",
            data={"cpu_ms": ms["revise"], "median_cpu_ms": median["revise"], "sql_statements": sql.get("revise")},
        ),
    ]
