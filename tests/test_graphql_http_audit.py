"""GraphQL over HTTP conformance: graphql-http's server audit (the reference implementation's
suite) against a live `om-graph serve`, authenticated with a bearer token. Every audit must be ok:
no errors and no warnings.

The npm packages are installed by .ci/run (`npm ci` in tests/graphql_http_audit); this test
installs nothing. Without node or the packages it skips with the reason, and fails in CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests import support

AUDIT_DIR = support.ROOT / "tests" / "graphql_http_audit"


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI requires {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        _unavailable("node (Node.js 18 or later) on PATH for the graphql-http audit")
    if not (AUDIT_DIR / "node_modules" / "graphql-http" / "package.json").exists():
        _unavailable("the audit's npm packages: run `npm ci` in tests/graphql_http_audit (.ci/run does)")
    return path


def test_graphql_http_audit_passes_without_errors_or_warnings(node, tmp_path):
    env = support.base_env(
        tmp_path, OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'audit.db'}", OM_GRAPH_EMBEDDED_WORKERS="false"
    )
    server, url = support.start_server(env, tmp_path)
    try:
        token = support.demo_tokens(tmp_path)["viewer"]
        run = subprocess.run(
            [node, "audit.mjs", url + "/graphql"],
            cwd=AUDIT_DIR,
            env={**os.environ, "OM_GRAPH_AUDIT_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.kill()
    assert run.stdout.strip(), f"the audit printed nothing (exit {run.returncode}):\n{run.stderr}"
    report = json.loads(run.stdout)
    problems = [f"{r['id']} {r['status']}: {r['name']}: {r.get('reason')}" for r in report["results"] if r["status"] != "ok"]
    assert report["error"] == 0 and report["warn"] == 0, "\n".join(problems)
    assert report["ok"] == len(report["results"]) >= 60
    assert run.returncode == 0, run.stderr
