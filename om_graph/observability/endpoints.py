"""``/ready`` and ``/metrics`` on the server, and the middleware that observes every request.

Both endpoints are unauthenticated by default, like ``/health``: ``/ready`` says which check
failed without hosts, URLs or error messages; ``/metrics`` carries counts and timings, no ids
or customer data. ``OM_GRAPH_METRICS_TOKEN`` makes ``/metrics`` require that bearer token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from om_graph.observability.http import RequestObservability
from om_graph.observability.metrics import app_registry, exposition
from om_graph.observability.readiness import readiness
from om_graph.observability.tracing import trace_requests

log = logging.getLogger(__name__)


def install_observability(app, runtime, response_cache=None) -> None:
    registry = app_registry(runtime, response_cache)
    token = runtime.settings.metrics_token
    expected = None if token is None else f"Bearer {token}".encode()
    if token is None and runtime.settings.production:
        log.warning(
            "/metrics is open to anyone who can reach this server (it shows order volumes by state): "
            "set OM_GRAPH_METRICS_TOKEN, or keep the port off public networks"
        )

    in_flight: asyncio.Task | None = None

    async def ready(_: Request) -> JSONResponse:
        # Probes arriving while a check runs share its answer: a flood of them costs one
        # database connection and one Redis connection, not one each.
        nonlocal in_flight
        if in_flight is None or in_flight.done():
            in_flight = asyncio.ensure_future(readiness(runtime))
        ok, checks = await asyncio.shield(in_flight)
        return JSONResponse({"status": "ready" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "metrics need the configured bearer token\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="om-graph metrics"'},
                )
        body, content_type = await run_in_threadpool(exposition, registry)
        return Response(body, media_type=content_type)

    app.router.routes.append(Route("/ready", ready, methods=["GET"]))
    app.router.routes.append(Route("/metrics", metrics, methods=["GET"]))
    # add_middleware puts each one outermost: the trace's server span encloses everything.
    app.add_middleware(RequestObservability)
    if runtime.tracer_provider is not None:
        trace_requests(app, runtime.tracer_provider)
