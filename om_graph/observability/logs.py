"""Logging setup for every om-graph process: human text by default, one JSON object per line
with ``OM_GRAPH_LOG_FORMAT=json`` (python-json-logger)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from om_graph.observability.context import LogContextFilter

TEXT_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(process)d %(threadName)s %(message)s"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger", "threadName": "thread"},
        timestamp="time",  # ISO 8601, UTC
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message with ANSI colours
    )


def configure_logging(log_format: str = "text", level: str | int = "INFO") -> None:
    """Configure the root logger: one stream handler on stderr unless the process already has
    handlers (dramatiq's worker processes log through a pipe to their parent), every handler
    with the context filter and, for ``json``, the JSON formatter."""
    if log_format not in ("text", "json"):
        raise ValueError(f"OM_GRAPH_LOG_FORMAT must be text or json, not {log_format!r}")
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(logging.Formatter(TEXT_FORMAT))
        root.addHandler(stderr)
    for handler in root.handlers:
        if not any(isinstance(f, LogContextFilter) for f in handler.filters):
            handler.addFilter(LogContextFilter())
        if log_format == "json":
            handler.setFormatter(json_formatter())
