"""What a log record says about the work in hand: request id, actor, order id.

Context variables, set by the HTTP middleware and the GraphQL extension for a request and by
the job middleware for a message; Starlette's thread pool copies them into the threads that
run core services, so the core's own log records carry them too.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from opentelemetry import trace

REQUEST_ID: ContextVar[str | None] = ContextVar("om_graph_request_id", default=None)
ACTOR: ContextVar[str | None] = ContextVar("om_graph_actor", default=None)
ORDER_ID: ContextVar[int | str | None] = ContextVar("om_graph_order_id", default=None)


class LogContextFilter(logging.Filter):
    """Adds ``request_id``, ``actor``, ``order_id`` (and the current ``trace_id``/``span_id``
    while a span is recording) to every record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.actor = ACTOR.get()
        if getattr(record, "order_id", None) is None:  # an explicit extra={"order_id": …} wins
            record.order_id = ORDER_ID.get()
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True
