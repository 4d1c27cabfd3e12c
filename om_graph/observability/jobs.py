"""Jobs seen from the worker: metrics, the log context and the trace of each message.

The sending side (``send_options``) adds the request id and, when tracing is on, the W3C trace
context to a message's options; ``JobObservability`` (a dramatiq middleware) reads them back
when a worker thread processes the message, so the worker's logs carry the request id that
caused the job and its span is a child of the request's.
"""

from __future__ import annotations

import threading
import time

import dramatiq
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Histogram

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.observability.context import ACTOR, ORDER_ID, REQUEST_ID
from om_graph.observability.metrics import (
    JOBS_DEAD,
    JOBS_FAILED,
    JOBS_PROCESSED,
    JOBS_REDELIVERED,
)
from om_graph.observability.tracing import extract_from, inject_into

REQUEST_ID_OPTION = "request_id"


def send_options(*, trace_context: bool) -> dict:
    """Message options carrying the current request id and (if asked) trace context."""
    options: dict = {}
    request_id = REQUEST_ID.get()
    if request_id is not None:
        options[REQUEST_ID_OPTION] = request_id
    if trace_context:
        inject_into(options)
    return options


class JobObservability(dramatiq.Middleware):
    """Counts failed, dead and redelivered job messages and times them; sets the log context
    (request id, the system actor, the order id) and, with a tracer provider, runs the actor in
    a consumer span whose parent is the context carried by the message.

    A worker thread processes one message at a time, so what must be undone after the message
    is kept per thread."""

    def __init__(self, tracer_provider=None):
        self.tracer = None if tracer_provider is None else trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._local = threading.local()
        self._durations: dict[str, Histogram] = {}  # labelled histogram children by job

    def before_process_message(self, broker, message) -> None:
        # The proxy forwards every attribute read through __getattr__ (about a microsecond
        # each); the message itself is a plain named tuple.
        plain = getattr(message, "_message", message)
        options, name = plain.options, plain.actor_name
        if options.get("retries"):
            JOBS_REDELIVERED.labels(name).inc()
        order_id = plain.kwargs.get("order_id")
        tokens = [REQUEST_ID.set(options.get(REQUEST_ID_OPTION)), ACTOR.set(SYSTEM_ACTOR.id), ORDER_ID.set(order_id)]
        span = None
        if self.tracer is not None:
            span = self.tracer.start_span(
                name,
                context=extract_from(options),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "dramatiq",
                    "messaging.destination.name": plain.queue_name,
                    "messaging.message.id": plain.message_id,
                    "om_graph.order_id": order_id if order_id is not None else "",
                },
            )
            tokens.append(otel_context.attach(trace.set_span_in_context(span)))
        self._local.state = (time.perf_counter(), tokens, span)

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        state = getattr(self._local, "state", None)
        if state is None:
            return
        self._local.state = None
        started, tokens, span = state
        name = getattr(message, "_message", message).actor_name
        duration = self._durations.get(name)
        if duration is None:
            duration = self._durations[name] = JOBS_PROCESSED.labels(name)
        duration.observe(time.perf_counter() - started)
        if exception is not None:
            JOBS_FAILED.labels(name).inc()
            if message.failed:  # the Retries middleware (after this one in the list) gave up
                JOBS_DEAD.labels(name).inc()
        if span is not None:
            if exception is not None:
                span.record_exception(exception)
                span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
            span.end()
            otel_context.detach(tokens.pop())
        ORDER_ID.reset(tokens[2])
        ACTOR.reset(tokens[1])
        REQUEST_ID.reset(tokens[0])

    def after_skip_message(self, broker, message) -> None:
        self.after_process_message(broker, message)
