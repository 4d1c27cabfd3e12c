"""OpenTelemetry tracing, off unless configured through the standard ``OTEL_*`` variables.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``, or any
installed ``opentelemetry_traces_exporter`` entry point) or when an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); ``OTEL_SDK_DISABLED=true``
or ``OTEL_TRACES_EXPORTER=none`` turn it off. Unlike the SDK's own default (``otlp``), nothing
configured means no tracing at all: no provider, no instrumentation, no per-request work.

A process builds one provider (``process_tracer_provider``) and also installs it as the global
one, so libraries using the OpenTelemetry API join the same traces. A runtime is handed its
provider explicitly (tests pass their own with an in-memory exporter).
"""

from __future__ import annotations

import functools
import logging
import os
from importlib.metadata import entry_points

from opentelemetry import metrics, trace
from opentelemetry.propagate import extract, inject

log = logging.getLogger(__name__)

EXPORTER_GROUP = "opentelemetry_traces_exporter"
TRACE_CONTEXT_OPTION = "trace_context"  # the dramatiq message option carrying the W3C headers


def tracing_configured(environ=os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


@functools.cache
def process_tracer_provider(service_name: str):
    """This process's SDK tracer provider from the environment, installed globally; None when
    tracing is not configured. Built once per process (the first caller's service name wins
    unless ``OTEL_SERVICE_NAME`` is set)."""
    if not tracing_configured():
        return None
    provider = build_tracer_provider(service_name, [_exporter(name) for name in _exporter_names()])
    trace.set_tracer_provider(provider)
    log.info("tracing on: service %s, exporters %s", provider.resource.attributes.get("service.name"), _exporter_names())
    return provider


def build_tracer_provider(service_name: str, exporters, *, batch: bool = True):
    """An SDK provider sending to ``exporters``; sampler and resource attributes come from the
    standard variables (``OTEL_TRACES_SAMPLER``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``)."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    # Attributes given to Resource.create win over OTEL_RESOURCE_ATTRIBUTES, so the standard
    # variable for the name is applied here.
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


def _exporter_names() -> list[str]:
    names = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    return [name.strip() for name in names.split(",") if name.strip() and name.strip() != "none"]


def _exporter(name: str):
    if name == "otlp":  # the SDK's alias: the protocol picks the distribution
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        name = "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
    found = entry_points(group=EXPORTER_GROUP, name=name)
    if not found:
        raise RuntimeError(f"OTEL_TRACES_EXPORTER={name}: no such span exporter is installed")
    return next(iter(found)).load()()


def instrument_engine(engine, provider) -> None:
    """Spans for every statement the engine runs (the SQLAlchemy instrumentation, bound to this
    engine and provider only; its ``instrument()`` would also patch ``create_engine`` globally)."""
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__, provider)
    connections = metrics.get_meter(__name__).create_up_down_counter("db.client.connections.usage", unit="connections")
    EngineTracer(tracer, engine, connections)


# Searched in the whole URL (scheme://host/path): anchored on the path, so that a host name
# containing "health" or "ready" is still traced.
_PROBES = r"^[a-z]+://[^/]*/(health|ready|metrics)/?$"


def trace_requests(app, provider, *, excluded: str = _PROBES) -> None:
    """The ASGI instrumentation around a Starlette app, outermost: a server span per request
    (probes and scrapes excluded) and per websocket connection."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware, excluded_urls=excluded, tracer_provider=provider, exclude_spans=["receive", "send"]
    )


def inject_into(options: dict) -> dict:
    """Add the current trace context (W3C ``traceparent``/``tracestate``) to message options."""
    carrier: dict[str, str] = {}
    inject(carrier)
    if carrier:
        options[TRACE_CONTEXT_OPTION] = carrier
    return options


def extract_from(options: dict):
    """The parent context carried by a message's options (an empty context when none)."""
    return extract(options.get(TRACE_CONTEXT_OPTION) or {})
