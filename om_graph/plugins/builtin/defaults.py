"""Core defaults, implemented through the same hooks packs use.

A fallback jeopardy policy gives every task an SLA so jeopardy is tracked even for packs that ship
none: automatic tasks 15 minutes, manual work 3 days. Packs' policies take precedence (higher
priority).
"""

from __future__ import annotations

from datetime import timedelta

from om_graph.core.catalog.extensions import JeopardyPolicy, TaskTiming
from om_graph.plugins import hookimpl

AUTOMATIC_SLA = timedelta(minutes=15)
MANUAL_SLA = timedelta(days=3)


def _default_duration(task: TaskTiming) -> timedelta:
    return MANUAL_SLA if task.kind == "manual" else AUTOMATIC_SLA


@hookimpl
def om_register_jeopardy_policies():
    return [
        JeopardyPolicy(
            key="om.default-sla",
            planned_duration=_default_duration,
            priority=-1000,
            description="Fallback SLA: 15 minutes for automatic tasks, 3 days for manual ones.",
        )
    ]
