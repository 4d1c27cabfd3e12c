"""CPU time per completed order, summed over every process that served it.

:class:`CpuMeter` reads user + system CPU time (psutil: every thread of a process) of groups of
processes at the start and the end of a measured window, and every ``interval`` seconds in
between from a background thread, so that a process that starts during the window (a PostgreSQL
backend the pool opens, a worker process dramatiq restarts) is counted from zero and one that
exits is counted up to its last sample. Groups:

* a :class:`bench.common.Process` (the server, ``om-graph worker``): the process and each of its
  descendants, one entry per process (``worker``, ``worker/1``, … for the parent and its
  children, in pid order);
* PostgreSQL backends of one database: the pids ``pg_stat_activity`` lists for it, read on an
  own connection to the admin database (itself a backend of another database, not counted); the
  processes under test are started with ``PGAPPNAME`` (:func:`pg_app_env`), so their backends
  are told apart from the benchmark's own polling connections (reported, not counted); the
  postmaster's background processes
  (WAL writer, checkpointer, background writer) serve every database on the server and are
  reported apart, not counted;
* Redis: the ``redis-server`` process (shared with anything else using it: noise, not ours);
* the load generator: :func:`resource.getrusage` of the benchmark's reaped children over the
  window (``bench.load`` runs as a child and is reaped before the window ends); reported, not
  counted.

Clock ticks are 10 ms, so each process's figure is ±10 ms: sub-percent at ``--size small``.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterable

import psutil

COUNTED = ("server", "worker", "postgres", "redis")
APP_PREFIX = "om-graph"  # PGAPPNAME of the processes under test (see pg_app_env)


def pg_app_env(name: str) -> dict[str, str]:
    """Environment for a process under test: libpq's PGAPPNAME names its PostgreSQL backends."""
    return {"PGAPPNAME": f"{APP_PREFIX}-{name}"}


def _cpu(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return times.user + times.system


class _Tracked:
    """Per pid: CPU at first sight (0 when the process started inside the window) and last seen."""

    def __init__(self, group: str, label: str, process: psutil.Process, window_start: float, at_start: bool):
        self.group, self.label, self.process = group, label, process
        first = _cpu(process) or 0.0
        try:
            born_inside = process.create_time() >= window_start
        except psutil.Error:
            born_inside = False
        self.base = 0.0 if (born_inside and not at_start) else first
        self.last = first

    def sample(self) -> None:
        value = _cpu(self.process)
        if value is not None:
            self.last = value

    @property
    def used(self) -> float:
        return max(0.0, self.last - self.base)


class CpuMeter:
    """``CpuMeter(server=proc, worker=proc, postgres_db="name", redis=True)``; ``start()``,
    ``stop()`` -> :meth:`report`."""

    def __init__(
        self,
        *,
        server=None,
        worker=None,
        postgres_db: str | None = None,
        postgres_admin_url: str | None = None,
        redis: bool = False,
        interval: float = 0.05,
    ):
        self.roots = {name: proc for name, proc in (("server", server), ("worker", worker)) if proc is not None}
        self.postgres_db, self.postgres_admin_url = postgres_db, postgres_admin_url
        self.redis = redis
        self.interval = interval
        self.tracked: dict[int, _Tracked] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pg = None
        self._postmaster: psutil.Process | None = None
        self._lock = threading.Lock()

    # -- discovery ------------------------------------------------------------------------------

    def _processes(self) -> Iterable[tuple[str, str, psutil.Process]]:
        for name, proc in self.roots.items():
            try:
                root = psutil.Process(proc.pid)
                family = [root, *sorted(root.children(recursive=True), key=lambda p: p.pid)]
            except psutil.Error:
                continue
            for i, p in enumerate(family):
                yield name, name if i == 0 else f"{name}/{i}", p
        if self.postgres_db is not None:
            for pid, app in self._backend_pids():
                ours = app.startswith(APP_PREFIX)
                try:
                    yield (
                        ("postgres" if ours else "bench"),
                        f"postgres backends ({app if ours else 'bench'})",
                        psutil.Process(pid),
                    )
                except psutil.Error:
                    continue
        if self.redis:
            for p in _redis_servers():
                yield "redis", "redis-server", p

    def _backend_pids(self) -> list[tuple[int, str]]:
        """(pid, application_name) of the database's backends (the benchmark starts the server
        and the workers with PGAPPNAME set, so their backends are told apart)."""
        import psycopg

        if self._pg is None:
            self._pg = psycopg.connect(self.postgres_admin_url, autocommit=True)
            self._postmaster = _postmaster(self._pg)
        rows = self._pg.execute(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", (self.postgres_db,)
        ).fetchall()
        return [(pid, app) for pid, app in rows]

    def _scan(self, *, at_start: bool = False) -> None:
        with self._lock:
            for group, label, process in self._processes():
                tracked = self.tracked.get(process.pid)
                if tracked is None:
                    self.tracked[process.pid] = _Tracked(group, label, process, self.started, at_start)
                else:
                    tracked.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._scan()
            except Exception:  # a sample lost is a few ms of precision, never the run
                pass

    # -- the window -----------------------------------------------------------------------------

    def start(self) -> CpuMeter:
        self.calibration = [calibration_ms()]
        self.started = time.time()
        self._children_start = _reaped_children()
        self._scan(at_start=True)
        self._background_start = self._pg_background()
        self.wall_start = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._scan()
        self.wall = time.perf_counter() - self.wall_start
        self._children = _reaped_children() - self._children_start
        self._background = self._pg_background() - self._background_start
        if self._pg is not None:
            self._pg.close()
            self._pg = None
        self.calibration.append(calibration_ms())

    def _pg_background(self) -> float:
        """The postmaster and its non-backend children (shared by every database on the server)."""
        if self._postmaster is None:
            return 0.0
        total = _cpu(self._postmaster) or 0.0
        backends = {t.process.pid for t in self.tracked.values() if t.group == "postgres"}
        try:
            children = self._postmaster.children()
        except psutil.Error:
            return total
        for child in children:
            try:
                if child.pid not in backends and _is_auxiliary(child):
                    total += _cpu(child) or 0.0
            except psutil.Error:
                continue
        return total

    def report(self, orders: int) -> dict:
        """Seconds per process and group; ``ms_per_order`` of the counted groups."""
        per_process: dict[str, float] = {}
        groups: dict[str, float] = {}
        seen: dict[str, int] = {}
        for t in self.tracked.values():
            if t.group in COUNTED:
                per_process[t.label] = per_process.get(t.label, 0.0) + t.used
            groups[t.group] = groups.get(t.group, 0.0) + t.used
            seen[t.group] = seen.get(t.group, 0) + 1
        counted = sum(groups.get(g, 0.0) for g in COUNTED)
        per = max(orders, 1)
        return {
            "orders": orders,
            "wall_seconds": self.wall,
            "counted_seconds": counted,
            "ms_per_order": 1000 * counted / per,
            "groups_ms_per_order": {g: 1000 * groups.get(g, 0.0) / per for g in COUNTED if g in groups},
            "processes_ms_per_order": {label: 1000 * s / per for label, s in sorted(per_process.items())},
            "processes_seen": seen,
            "not_counted_ms_per_order": {
                "load generator": 1000 * self._children / per,
                **({"postgres backends (bench polling)": 1000 * groups["bench"] / per} if "bench" in groups else {}),
                **({"postgres background (all databases)": 1000 * self._background / per} if self._postmaster else {}),
            },
            "cores_busy": counted / self.wall if self.wall else None,
            "calibration_ms": self.calibration,  # before, after (bench.cpu.calibration_ms)
        }


def calibration_ms() -> float:
    """CPU-ms of a fixed pure-Python loop in this process: how fast the machine runs Python right
    now (a shared or throttled host inflates every figure; compare runs by this too)."""
    started = time.process_time()
    total = 0
    for i in range(1_000_000):
        total += i * i
    return 1000 * (time.process_time() - started)


def _reaped_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _redis_servers() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("redis-server"):
            found.append(p)
    return found


def _postmaster(conn) -> psutil.Process | None:
    try:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        return psutil.Process(backend).parent()
    except Exception:
        return None


def _is_auxiliary(child: psutil.Process) -> bool:
    name = " ".join(child.cmdline())
    return any(word in name for word in ("checkpointer", "writer", "walwriter", "autovacuum", "launcher", "stats"))


def split_text(report: dict) -> str:
    """One line for the table's notes: the total and each process."""
    parts = [f"{label} {ms:.2f}" for label, ms in report["processes_ms_per_order"].items()]
    other = [f"{label} {ms:.2f}" for label, ms in report["not_counted_ms_per_order"].items()]
    return (
        f"{report['ms_per_order']:.2f} CPU-ms/order over {report['orders']} orders ({', '.join(parts)}; "
        f"not counted: {', '.join(other)}); {report['cores_busy']:.2f} cores busy; "
        f"calibration loop {min(report['calibration_ms']):.0f} ms"
    )
