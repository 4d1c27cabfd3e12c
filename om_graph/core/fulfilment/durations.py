"""Task durations: how long the schedule plans each task to take (core/fulfilment/schedule.py).

A task's ``duration_seconds`` is decided once, at decomposition: the first matching rule of the
``fulfilment.task.duration`` decision table, else the catalog's ``TaskTemplate.duration``, else
:data:`DEFAULT_AUTOMATIC` / :data:`DEFAULT_MANUAL` by the task's kind. Its SLA
(``planned_seconds``: jeopardy) is a separate figure (``jeopardy.task_sla``).

The table is data: the decomposer evaluates it with no transaction open (in the stage pass's
compute, with the tables its read loaded).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from om_graph.core.catalog.definitions import TaskTemplate
from om_graph.core.decisions.definitions import DecisionTableDef, InputColumn, OutputColumn
from om_graph.core.decisions.errors import UnknownDecisionTable
from om_graph.core.fulfilment.states import TaskKinds

DEFAULT_AUTOMATIC = timedelta(minutes=1)
"""The planned duration of an automatic task no table or template gives one (a handler call)."""
DEFAULT_MANUAL = timedelta(hours=4)
"""The planned duration of a manual task no table or template gives one (half a working day)."""

DURATION_TABLE = "fulfilment.task.duration"
DURATION_TABLE_DEF = DecisionTableDef(
    name=DURATION_TABLE,
    description=(
        "Planned task durations (the schedule): the first matching rule's durationSeconds wins over the "
        "catalog's task duration; no rule matching falls through to it, then to 60 s (automatic) or 4 h (manual)."
    ),
    inputs=(
        InputColumn("taskKey", "string", "the task template's key"),
        InputColumn("specKey", "string", "the specification of the task's domain order"),
        InputColumn("kind", "string", "automatic or manual"),
        InputColumn("action", "string", "the line's action: add, modify, delete"),
        InputColumn("offering", "string", "the line's product offering"),
        InputColumn("segment", "string", "the order's customer segment"),
        InputColumn("priority", "string", "the order's TMF622 priority, 0 (highest) .. 4"),
    ),
    outputs=(OutputColumn("durationSeconds", "integer", default=None, description="the duration; empty: the catalog's"),),
    hit_policy="first",
    rules=(),
)


class DurationTables(Protocol):
    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None: ...


def default_duration(kind: str) -> int:
    return int((DEFAULT_MANUAL if kind == TaskKinds.MANUAL else DEFAULT_AUTOMATIC).total_seconds())


def task_duration(tables: DurationTables | None, template: TaskTemplate, inputs: Mapping[str, Any]) -> int:
    """The task's planned duration in seconds (never negative): the table, the template, the default.
    ``inputs`` are the table's inputs but ``taskKey`` and ``kind`` (taken from the template)."""
    if tables is not None:
        try:
            row = tables.first(DURATION_TABLE, {**inputs, "taskKey": template.key, "kind": template.kind})
        except (KeyError, UnknownDecisionTable):  # tables without it (a unit test's)
            row = None
        value = (row or {}).get("durationSeconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return int(value)
    if template.duration is not None:
        return max(int(template.duration.total_seconds()), 0)
    return default_duration(template.kind)
