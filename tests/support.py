"""Helpers shared by the tests: service checks, databases, runtimes, live servers, a GraphQL client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.db import normalise_url
from om_graph.runtime import Runtime
from om_graph.settings import Settings
from tests import fixture_auto_pack, fixture_pack

ROOT = Path(__file__).resolve().parent.parent
AGENT = Actor("agent-1", frozenset({"order_agent", "order_fulfillment_agent", "order_manager"}))


def check_postgres(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _admin(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def create_database(admin_url: str, name: str) -> str:
    with _admin(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return normalise_url(f"{base}/{name}")


def drop_database(admin_url: str, name: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_redis(url: str) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None


def flush_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)


def build_runtime(database_url: str, **overrides) -> Runtime:
    overrides.setdefault("extra_plugins", (fixture_pack, fixture_auto_pack))
    overrides.setdefault("load_entrypoints", False)
    # Beside the other test artefacts, never in the working tree.
    token_file = Path(tempfile.gettempdir()) / Path(database_url.rsplit("/", 1)[-1]).with_suffix(".tokens.json").name
    overrides.setdefault("demo_tokens_file", str(token_file))
    settings = Settings(database_url=database_url, **overrides)
    runtime = Runtime(settings)
    runtime.prepare_database()
    return runtime


def bearer(runtime: Runtime, role: str = "order_manager", account: str | None = None) -> dict[str, str]:
    token = runtime.tokens.issue(f"test-{role}-{account or 'staff'}", [role], account_id=account).token
    return {"Authorization": f"Bearer {token}"}


def demo_tokens(log_dir: Path) -> dict[str, str]:
    return json.loads((log_dir / "demo-tokens.json").read_text())["tokens"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process in its own process group (so a kill takes its children too)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._file = open(log, "wb")
        self.popen = subprocess.Popen(args, env=env, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            self.popen.wait(15)
        self._file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def base_env(log_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OM_GRAPH_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OM_GRAPH_DEMO_TOKENS_FILE"] = str(log_dir / "demo-tokens.json")
    env.update(extra)
    return env


def start_server(env: dict[str, str], log_dir: Path) -> tuple[Process, str]:
    port = free_port()
    proc = Process(
        [sys.executable, "-m", "om_graph.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env,
        log_dir / f"server-{port}.log",
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError("server exited:\n" + proc.output())
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start:\n" + proc.output())


def start_worker(env: dict[str, str], log_dir: Path, name: str = "worker", processes: int = 1, threads: int = 2) -> Process:
    return Process(
        [sys.executable, "-m", "om_graph.cli", "worker", "--processes", str(processes), "--threads", str(threads)],
        env,
        log_dir / f"{name}.log",
    )


class GraphQLClient:
    def __init__(self, base_url: str, token: str | None = None):
        self.url = base_url + "/graphql"
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"} if token else {})

    def __call__(self, query: str, variables: dict | None = None, *, expect_errors: bool = False) -> dict:
        response = self.http.post(self.url, json={"query": query, "variables": variables or {}})
        body = response.json()
        if not expect_errors:
            assert "errors" not in body, json.dumps(body["errors"], indent=2)
        return body if expect_errors else body["data"]


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def db_rows(database_url: str, sql: str) -> list:
    """Rows of one SQL statement, on a connection of its own."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()
