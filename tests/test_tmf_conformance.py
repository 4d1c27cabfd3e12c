"""Schemathesis against the official TMF622 and TMF637 v4 documents (docs/tmf/specs): no 5xx, and
no response that violates the documents (status codes, content types, headers, bodies), for
requests generated from the documents, valid and not, against a database holding real orders and
products (so lists answer with them and their bodies are checked).

Left out: the documents' listener paths (a client's endpoints, not ours) and the hub (its own
tests: tests/test_tmf_hub.py); the check that every schema-valid request is accepted (the
documents cannot say which offerings exist, so a valid-looking order for a made-up offering is
rightly a 400); and for TMF637 that ``Allow`` lists the document's write methods: the inventory is
read-only here (completion writes it), so POST, PATCH and DELETE are 405s whose ``Allow`` says GET. OM_GRAPH_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 15).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support
from tests.test_tmf_product_order import BASE, order_body

SPECS = Path(__file__).resolve().parents[1] / "docs" / "tmf" / "specs"
EXAMPLES = int(os.environ.get("OM_GRAPH_SCHEMATHESIS_EXAMPLES", "15"))
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]
NOT_OURS = "^/(listener|hub)"


def _document(name: str) -> dict:
    document = json.loads((SPECS / name).read_text())
    status = document["definitions"].get("ProductStatusType")
    if status is not None:  # the published enum's "aborted " (docs/tmf/specs/README.md)
        status["enum"] = [value.strip() for value in status["enum"]]
    return document


TMF622 = schemathesis.openapi.from_dict(_document("TMF622-ProductOrder-v4.0.0.swagger.json")).exclude(path_regex=NOT_OURS)
TMF637 = schemathesis.openapi.from_dict(_document("TMF637-ProductInventory-v4.0.0.swagger.json")).exclude(path_regex=NOT_OURS)


def _without_lifespan(app):
    """The app for schemathesis's own client, whose every call would otherwise start and stop
    the runtime (the module fixture runs it once)."""

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)

    return asgi


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    runtime = support.build_runtime(f"sqlite:///{tmp_path_factory.mktemp('conformance') / 'om.db'}")
    app = create_app(runtime=runtime)
    headers = support.bearer(runtime, "service_account")
    with TestClient(app, headers=headers) as client:
        for n in range(3):  # real orders and products for the lists to answer with
            created = client.post(f"{BASE}/productOrder", json=order_body(external_id=f"CONF-{n}"))
            assert created.status_code == 201, created.text
        yield _without_lifespan(app), headers
    runtime.stop()


_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@TMF622.parametrize()
@_SETTINGS
def test_tmf622_conforms(case, world):
    app, headers = world
    case.call_and_validate(app=app, headers=headers, excluded_checks=EXCLUDED_CHECKS)


@pytest.mark.slow
@TMF637.parametrize()
@_SETTINGS
def test_tmf637_conforms(case, world):
    app, headers = world
    excluded = [*EXCLUDED_CHECKS, schemathesis.checks.allow_header_conformance]
    case.call_and_validate(app=app, headers=headers, excluded_checks=excluded)
