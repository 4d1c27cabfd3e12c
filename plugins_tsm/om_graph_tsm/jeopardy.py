"""Planned durations (SLAs) of TSM tasks, for jeopardy management."""

from __future__ import annotations

from datetime import timedelta

from om_graph.api import JeopardyPolicy, TaskTiming

FIELD_WORK_SLA = {
    "tsm.onsite-installation": timedelta(days=3),
    "tsm.order-underlay-circuit": timedelta(days=20),
    "tsm.confirm-port-in": timedelta(days=1),
}
"""Manual tasks: engineer visit, off-net circuit lead time, porting window (one working day)."""

AUTOMATIC_SLA = timedelta(minutes=5)
LOGISTICS_SLA = {"tsm.ship-router": timedelta(minutes=30), "tsm.ship-edge-device": timedelta(minutes=30)}
"""Shipping tasks only book the carrier; they are automatic, just slower than a network call."""


def field_work_duration(timing: TaskTiming) -> timedelta | None:
    return FIELD_WORK_SLA.get(timing.task_key)


def automatic_duration(timing: TaskTiming) -> timedelta | None:
    if timing.kind != "automatic" or not timing.spec_key.startswith("tsm."):
        return None
    return LOGISTICS_SLA.get(timing.task_key, AUTOMATIC_SLA)


POLICIES = (
    JeopardyPolicy(
        key="tsm.field-work-sla",
        planned_duration=field_work_duration,
        priority=20,
        thresholds=(0.5, 0.8, 1.0, 1.25),
        description="Manual field and partner work: installation 3 days, underlay circuit 20 days, port-in 1 day.",
    ),
    JeopardyPolicy(
        key="tsm.automatic-provisioning-sla",
        planned_duration=automatic_duration,
        priority=10,
        description="Automatic provisioning on TSM specifications: 5 minutes (carrier booking 30 minutes).",
    ),
)
