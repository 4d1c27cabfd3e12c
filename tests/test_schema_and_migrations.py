"""Contracts that must not drift: the committed SDL, the migrations, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from om_graph.core.kernel.db import make_engine
from om_graph.core.kernel.models import Base
from om_graph.migrations import upgrade
from om_graph.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_code():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == str(build_schema()) + "\n", "schema.graphql is stale: run `om-graph export-schema -o schema.graphql`"


def test_contract_names_exist():
    sdl = str(build_schema())
    for name in (
        "productOfferings",
        "order(id: ID!)",
        "orders(",
        "products(",
        "node(",
        "orderCreate(",
        "orderUpdate(",
        "orderSubmit(",
        "taskComplete(",
        "orderEvents(",
    ):
        assert name in sdl, name


def test_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == [], diff
    assert set(Base.metadata.tables) <= tables


def test_cli_lists_plugins_and_exports_schema(tmp_path):
    out = subprocess.run([sys.executable, "-m", "om_graph.cli", "plugins", "--json"], capture_output=True, text=True, check=True)
    listed = json.loads(out.stdout)
    names = {p["name"] for p in listed["plugins"]}
    assert {"tsm", "tpsm", "om_graph.plugins.builtin.defaults"} <= names
    tsm = next(p for p in listed["plugins"] if p["name"] == "tsm")
    assert "om_register_task_handlers" in tsm["hooks"]
    target = tmp_path / "s.graphql"
    subprocess.run([sys.executable, "-m", "om_graph.cli", "export-schema", "-o", str(target)], check=True)
    assert target.read_text() == (ROOT / "schema.graphql").read_text()


def test_cli_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"OM_GRAPH_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "om_graph.cli", "db", "upgrade"], check=True, env=env, capture_output=True)
    engine = make_engine(url)
    assert "customer_order" in inspect(engine).get_table_names()
    engine.dispose()
