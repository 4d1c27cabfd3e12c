"""Fixtures: databases (SQLite always; PostgreSQL and Redis when reachable), runtimes, servers.

PostgreSQL and Redis tests skip with a reason on a machine without them, and fail in CI
(CI=true), where .ci/run starts both.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from tests import support

# The runtime's background loops (runtime.py). One left running after its test logs into later tests
# and, on Python 3.11, races their ast.parse through traceback's caret anchors (a SystemError).
BACKGROUND_LOOPS = {"om-graph-reconciler", "om-graph-hub"}


@pytest.fixture(autouse=True)
def _background_loops_stop_with_their_test():
    before = {t for t in threading.enumerate() if t.name in BACKGROUND_LOOPS}
    yield
    left = [t for t in threading.enumerate() if t.name in BACKGROUND_LOOPS and t not in before]
    for thread in left:
        thread.join(10)
    running = sorted(t.name for t in left if t.is_alive())
    assert not running, f"the test left background loops running (a runtime not stopped): {running}"


def _unavailable(what: str, why: str):
    message = f"{what} is not reachable ({why}); start it or see README 'Running the tests'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI requires {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("OM_GRAPH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    problem = support.check_postgres(url)
    if problem:
        _unavailable("PostgreSQL", problem)
    return url


@pytest.fixture
def postgres_url(postgres_admin_url) -> str:
    name = f"om_graph_test_{uuid.uuid4().hex[:10]}"
    url = support.create_database(postgres_admin_url, name)
    yield url
    support.drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    url = os.environ.get("OM_GRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    problem = support.check_redis(url)
    if problem:
        _unavailable("Redis", problem)
    return url


@pytest.fixture
def redis_namespace(redis_server_url) -> str:
    namespace = f"om-test-{uuid.uuid4().hex[:10]}"
    yield namespace
    support.flush_namespace(redis_server_url, namespace)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'om_graph.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'om_graph.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_runtime(tmp_path):
    """Build in-process runtimes (the test pack registered); stopped at teardown."""
    built = []

    def factory(database_url: str, **overrides):
        runtime = support.build_runtime(database_url, **overrides)
        built.append(runtime)
        return runtime

    yield factory
    for runtime in built:
        runtime.stop()
