"""Pytest fixtures for pack authors (entry point ``pytest11: om_graph``).

Name the pack under test with the ini option ``om_graph_pack`` (``module`` or ``module:attribute``,
one a line), a ``@pytest.mark.om_graph_pack("module:attribute")`` marker, or by overriding the
``om_pack`` fixture. Then:

* ``om_registry``: the pack's contributions collected as at startup (no database);
* ``om_runtime``: a running om-graph (embedded SQLite in the test's tmp_path, in-process
  workers) with the core defaults and the pack loaded; ``om_pack_env`` (a dict, override it)
  holds ``OM_GRAPH_PACK_*`` settings for it;
* ``om_client``: ``om_client(role="order_agent", account=None)`` is a GraphQL client with a token
  of that role (``customer`` with ``account=`` for a customer of an account); calling it returns
  ``data`` and fails the test on GraphQL errors unless ``expect_errors=True``;
* ``om_drain``: ``om_drain()`` runs the queued jobs until the workers are idle;
* ``om_handler_calls``: a list, in call order, of every handler call the runtime makes from then
  on (:class:`om_graph.testing.HandlerCall`: handler, mode do/undo/redo, task key, idempotency
  key, the compensated key...), so a test can cancel or revise an order and see its undo calls;
* ``om_place_order``: ``om_place_order({"offering": ..., "characteristics": {...}}, ...)`` creates
  and submits an order of those lines (as ``order_agent``, customer ``ACME`` unless told),
  drains, approves the levels it waits at (``approve=True``), drains again, returns its id;
* ``om_cancel_order``: ``om_cancel_order(order_id)`` cancels a submitted order through GraphQL
  (``orderCancel``, a soft point of no return acknowledged unless ``acknowledge=False``), drains,
  and returns a :class:`om_graph.testing.Cancellation` (the request, errors, the order's state
  once drained and the handler calls the cancellation made: ``.undo_calls``, ``.undone`` in order).

Every fixture name starts with ``om_`` so the plugin leaves other fixtures alone.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from om_graph.core.catalog.registry import Registry
from om_graph.runtime import Runtime
from om_graph.settings import Settings
from om_graph.testing import Cancellation, HandlerCall, registry_for

MARKER = "om_graph_pack"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(MARKER, "the pack(s) under test: module or module:attribute, one a line", type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*targets): the pack(s) under test (module or module:attribute)")


def load_target(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name.strip())
    return getattr(module, attribute.strip()) if attribute else module


@pytest.fixture
def om_pack(request: pytest.FixtureRequest) -> tuple[object, ...]:
    """The plugins under test (marker first, then the ini option)."""
    marker = request.node.get_closest_marker(MARKER)
    targets = list(marker.args) if marker else list(request.config.getini(MARKER))
    if not targets:
        pytest.fail(f"no pack under test: set the ini option {MARKER}, mark the test with it, or override om_pack")
    return tuple(load_target(t) if isinstance(t, str) else t for t in targets)


@pytest.fixture
def om_pack_env() -> dict[str, str]:
    """``OM_GRAPH_PACK_<SECTION>_<FIELD>`` values for the pack under test (override to set them)."""
    return {}


@pytest.fixture
def om_registry(om_pack: tuple[object, ...], om_pack_env: dict[str, str]) -> Registry:
    return registry_for(*om_pack, environ=om_pack_env)


@pytest.fixture
def om_runtime(
    om_pack: tuple[object, ...], om_pack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    for name, value in om_pack_env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'om_graph.db'}",
        load_entrypoints=False,
        extra_plugins=om_pack,
        embedded_workers=True,
        retry_backoff_ms=10,
        demo_tokens_file=str(tmp_path / "demo-tokens.json"),
    )
    runtime = Runtime(settings)
    runtime.prepare_database()
    runtime.start()
    yield runtime
    runtime.stop()


class GraphQLClient:
    """Posts to the in-process app's /graphql with a bearer token of one role."""

    def __init__(self, http: Any, token: str):
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, query: str, variables: dict[str, Any] | None = None, *, expect_errors: bool = False) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers)
        body = response.json()
        if expect_errors:
            return body
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def om_client(om_runtime: Runtime) -> Iterator[Callable[..., GraphQLClient]]:
    from starlette.testclient import TestClient

    from om_graph.app import create_app

    # Not entered as a context manager: the app's lifespan would start the runtime a second time.
    http = TestClient(create_app(runtime=om_runtime))

    def client(role: str = "order_agent", account: str | None = None) -> GraphQLClient:
        subject = f"test-{role}-{account or 'staff'}"
        return GraphQLClient(http, om_runtime.tokens.issue(subject, [role], account_id=account).token)

    yield client
    http.close()


@pytest.fixture
def om_drain(om_runtime: Runtime) -> Callable[..., None]:
    """``om_drain()`` runs the queued jobs (and those they queue) until the workers are idle."""
    return om_runtime.drain


def _recording(handler: str, call: Callable[..., Any] | None, calls: list[HandlerCall]) -> Callable[..., Any] | None:
    if call is None:
        return None

    def recorded_call(ctx: Any) -> Any:
        calls.append(HandlerCall.of(handler, ctx))
        return call(ctx)

    return recorded_call


@pytest.fixture
def om_handler_calls(om_runtime: Runtime) -> Iterator[list[HandlerCall]]:
    """Every handler call of ``om_runtime`` from now on, in order (workers append as they call)."""
    calls: list[HandlerCall] = []
    handlers = om_runtime.registry.handlers
    originals = dict(handlers)
    for key, handler in originals.items():
        handlers[key] = dataclasses.replace(
            handler,
            do=_recording(key, handler.do, calls) or handler.do,
            undo=_recording(key, handler.undo, calls),
            redo=_recording(key, handler.redo, calls),
        )
    yield calls
    handlers.update(originals)


CANCEL_ORDER = """
mutation($input: OrderCancelInput!) {
  orderCancel(input: $input) {
    cancelRequest { id state result resultMessage }
    order { state }
    errors { field message code }
  }
}"""
ORDER_STATE = "query($id: ID!) { order(id: $id) { state } }"


@pytest.fixture
def om_cancel_order(
    om_client: Callable[..., GraphQLClient], om_drain: Callable[..., None], om_handler_calls: list[HandlerCall]
) -> Callable[..., Cancellation]:
    """``om_cancel_order(order_id, reason=..., acknowledge=True, role="order_agent")``: cancel,
    drain, and report what the cancellation did (its handler calls: the undos, in order)."""

    def cancel(
        order_id: str, *, reason: str = "cancelled by a test", acknowledge: bool = True, role: str = "order_agent"
    ) -> Cancellation:
        start = len(om_handler_calls)
        variables = {"input": {"id": order_id, "reason": reason, "acknowledgePointOfNoReturn": acknowledge}}
        client = om_client(role)
        payload = client(CANCEL_ORDER, variables)["orderCancel"]
        om_drain()
        order = client(ORDER_STATE, {"id": order_id})["order"] or {}
        return Cancellation(payload.get("cancelRequest"), payload["errors"], order.get("state"), om_handler_calls[start:])

    return cancel


CREATE_ORDER = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id } errors { field message code } }
}"""
SUBMIT_ORDER = "mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { state } errors { field message code } } }"
APPROVALS = "query($id: ID!) { order(id: $id) { approvals { state } } }"
APPROVE_ORDER = "mutation($id: ID!) { orderApprove(input: {id: $id}) { errors { field message code } } }"
APPROVER_ROLES = ("order_approver", "order_fulfillment_manager")


def _line_input(line: dict[str, Any]) -> dict[str, Any]:
    characteristics = line.get("characteristics") or {}
    if isinstance(characteristics, dict):
        characteristics = [{"name": name, "value": value} for name, value in characteristics.items()]
    return {**line, "quantity": line.get("quantity", 1), "characteristics": characteristics}


@pytest.fixture
def om_place_order(om_client: Callable[..., GraphQLClient], om_drain: Callable[..., None]) -> Callable[..., str]:
    """``om_place_order(*lines, customer_id="ACME", role="order_agent", approve=True)``: an order
    created, submitted and run as far as its automatic work goes; returns its id."""

    def place(*lines: dict[str, Any], customer_id: str = "ACME", role: str = "order_agent", approve: bool = True) -> str:
        agent = om_client(role)
        variables = {"input": {"customerId": customer_id, "lines": [_line_input(line) for line in lines]}}
        created = agent(CREATE_ORDER, variables)["orderCreate"]
        if created["errors"]:
            raise AssertionError(f"orderCreate refused the order: {created['errors']}")
        order_id = created["order"]["id"]
        submitted = agent(SUBMIT_ORDER, {"id": order_id})["orderSubmit"]
        if submitted["errors"]:
            raise AssertionError(f"orderSubmit refused the order: {submitted['errors']}")
        om_drain()
        for _ in range(10 if approve else 0):  # one level a pass, each by the first role that may
            approvals = agent(APPROVALS, {"id": order_id})["order"]["approvals"]
            if not any(a["state"] == "PENDING" for a in approvals):
                break
            for approver in APPROVER_ROLES:
                if not om_client(approver)(APPROVE_ORDER, {"id": order_id})["orderApprove"]["errors"]:
                    break
            else:
                raise AssertionError(f"no approver role ({', '.join(APPROVER_ROLES)}) could approve order {order_id}")
            om_drain()
        return order_id

    return place
