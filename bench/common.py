"""Shared helpers: sizes, result records, request headers, server processes, load runs,
percentiles, SQLite/PostgreSQL/Redis plumbing and optional py-spy profiling."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "cache"  # seeded databases, reused across runs (bench/results/ is git-ignored)
SIZES = ("tiny", "small", "full")
PLUGINS = "tests.fixture_pack,tests.fixture_auto_pack"
PG_ADMIN_URL = os.environ.get("OM_GRAPH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OM_GRAPH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# The tables one order's life writes (catalog tables are written once at start).
ORDER_TABLES = (
    "customer_order",
    "order_line",
    "domain_order",
    "order_task",
    "task_dependency",
    "order_event",
    "agreement",
    "product",
    "entitlement",
)

CREATE = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id state } errors { field code message } } }"
SUBMIT = "mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { id state } errors { code message } } }"


# -- authentication and request headers: the one place to adapt ---------------------------------
#
# Token: OM_GRAPH_BENCH_TOKEN when set; otherwise, for a server this suite started, a demo token
# of OM_GRAPH_BENCH_ROLE (default order_manager: capture, task completion, staff reads, prices,
# events) from the demo tokens file the server writes (OM_GRAPH_DEMO_TOKENS_FILE, set per server);
# otherwise none (a server without authentication).


def server_token(tokens_file: Path | None) -> str | None:
    token = os.environ.get("OM_GRAPH_BENCH_TOKEN")
    if token:
        return token
    if tokens_file is not None and tokens_file.exists():
        tokens = json.loads(tokens_file.read_text()).get("tokens", {})
        return tokens.get(os.environ.get("OM_GRAPH_BENCH_ROLE", "order_manager"))
    return None


def request_headers(token: str | None = None) -> dict[str, str]:
    """Headers of every benchmark request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def ws_init_payload(token: str | None = None) -> dict:
    """graphql-transport-ws connection_init payload (carries the token, when there is one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def gql_body(query: str, variables: dict | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":"))


# -- results ----------------------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the table. ``ok`` is None when there is no target or the row was skipped."""

    name: str
    figure: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    reference: float | None = None
    reference_unit: str = ""
    ratio: float | None = None
    note: str = ""
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def skipped(name: str, target: str, why: str) -> Result:
    return Result(name, None, "", target=target, note=f"skipped: {why}")


def percentile(values, q: float) -> float | None:
    from bench.load import percentile as p

    return p(list(values), q)


def summary(values) -> dict:
    from bench.load import summary as s

    return s(list(values))


# -- processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OM_GRAPH_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return base_env(OM_GRAPH_DATABASE_URL=database_url, OM_GRAPH_PLUGINS=PLUGINS, **extra)


class Process:
    """A child in its own process group, logging to a file; ``stop`` ends the whole group."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._file = open(log, "wb")
        self.popen = subprocess.Popen(
            args, env=env, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
        self.pid = self.popen.pid

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all threads) so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak) in MB, from /proc."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values


class Server(Process):
    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int):
        tokens_file = log.parent / f"demo-tokens-{port}.json"
        super().__init__(args, {**env, "OM_GRAPH_DEMO_TOKENS_FILE": str(tokens_file)}, log)
        self.url = f"http://127.0.0.1:{port}"
        self.token: str | None = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{args[2]} exited:\n" + self.output())
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    self.token = server_token(tokens_file)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start:\n" + self.output())


def start_server(env: dict[str, str], workdir: Path, name: str = "server") -> Server:
    """``om-graph serve`` on a free loopback port (log level warning, as the tests run it)."""
    port = free_port()
    args = [sys.executable, "-m", "om_graph.cli", "serve", "--port", str(port), "--log-level", "warning"]
    return Server(args, env, workdir / f"{name}-{port}.log", port)


def start_reference(workdir: Path, json_path: Path | None = None) -> Server:
    port = free_port()
    env = base_env(**({"BENCH_REFERENCE_JSON": str(json_path)} if json_path else {}))
    args = [sys.executable, "-m", "bench.reference_app", "--port", str(port)]
    return Server(args, env, workdir / f"reference-{port}.log", port)


def start_worker(env: dict[str, str], workdir: Path, processes: int = 2, threads: int = 4) -> Process:
    args = [sys.executable, "-m", "om_graph.cli", "worker", "--processes", str(processes), "--threads", str(threads)]
    return Process(args, env, workdir / "worker.log")


def run_load(
    url: str,
    *,
    token: str | None = None,
    body: str = "",
    duration: float = 10,
    connections: int = 16,
    requests: int = 0,
    warmup: float = 0,
    rate: float = 0,
    then_body: str | None = None,
    expect: str | None = None,
    then_expect: str | None = None,
    bodies: list[str] | None = None,
    workdir: Path | None = None,
    expect_status: int = 200,
) -> dict:
    """Run :mod:`bench.load` as a separate process and return its JSON stats."""
    args = [
        sys.executable,
        "-m",
        "bench.load",
        url,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--requests",
        str(requests),
        "--rate",
        str(rate),
        "--body",
        body,
        "--expect-status",
        str(expect_status),
    ]
    for name, value in request_headers(token).items():
        args += ["--header", f"{name}: {value}"]
    if then_body:
        args += ["--then-body", then_body]
    if expect:
        args += ["--expect", expect]
    if then_expect:
        args += ["--then-expect", then_expect]
    if bodies:
        path = (workdir or RESULTS) / f"bodies-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(bodies))
        args += ["--bodies-file", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=warmup + duration + 120, cwd=ROOT, env=base_env())
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


class Client:
    """A small synchronous GraphQL client for setup and checks (not for measured load)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.url = base_url + "/graphql"
        self.http = httpx.Client(timeout=60, headers=request_headers(token))

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        body = self.http.post(self.url, content=gql_body(query, variables)).json()
        if "errors" in body:
            raise RuntimeError(json.dumps(body["errors"])[:2000])
        return body["data"]

    def raw(self, query: str, variables: dict | None = None) -> bytes:
        return self.http.post(self.url, content=gql_body(query, variables)).content

    def close(self):
        self.http.close()


def wait_for(predicate, timeout: float, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {message}")


# -- profiling ----------------------------------------------------------------------------------


@contextmanager
def profiling(process: Process, label: str):
    """With OM_GRAPH_BENCH_PROFILE=DIR (``bench.run --profile``), record the process (and its
    children) with py-spy while the block runs: collapsed stacks in DIR/<label>.txt, sampled at
    100 Hz without pausing the process; OM_GRAPH_BENCH_PROFILE_IDLE=1 includes waiting threads,
    OM_GRAPH_BENCH_PROFILE_GIL=1 samples only the thread holding the GIL (where Python CPU goes)."""
    out_dir = os.environ.get("OM_GRAPH_BENCH_PROFILE")
    spy = None
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "py-spy"
        if exe.exists():
            spy = subprocess.Popen(
                [
                    str(exe),
                    "record",
                    "--pid",
                    str(process.pid),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--subprocesses",
                    "--nonblocking",
                    *(["--idle"] if os.environ.get("OM_GRAPH_BENCH_PROFILE_IDLE") else []),
                    *(["--gil"] if os.environ.get("OM_GRAPH_BENCH_PROFILE_GIL") else []),
                    "--output",
                    str(Path(out_dir) / f"{label}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
    try:
        yield
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()


# -- databases and services ---------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def count_rows(database_url: str, tables=ORDER_TABLES) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    from om_graph.core.kernel.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def check_postgres(url: str = PG_ADMIN_URL) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


def check_redis(url: str = REDIS_URL) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None


@contextmanager
def scratch_postgres(admin_url: str = PG_ADMIN_URL):
    """A new database on the server (dropped afterwards); yields its SQLAlchemy URL."""
    import psycopg

    name = f"om_graph_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield "postgresql+psycopg://" + admin_url.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_namespace(url: str = REDIS_URL):
    """A unique OM_GRAPH_REDIS_NAMESPACE; its keys are deleted afterwards."""
    import redis

    namespace = f"om-bench-{uuid.uuid4().hex[:10]}"
    try:
        yield namespace
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)
        client.close()


def migrated_engine(database_url: str):
    """An engine on a database brought to head by the project's migrations."""
    from om_graph.core.kernel.db import make_engine
    from om_graph.migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    return engine
