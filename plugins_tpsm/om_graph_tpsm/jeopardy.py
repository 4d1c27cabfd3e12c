"""Planned durations of TPSM tasks."""

from __future__ import annotations

from datetime import timedelta

from om_graph.api import JeopardyPolicy, TaskTiming

MANUAL_SLA = {
    "tpsm.ship-to-site": timedelta(days=5),
    "tpsm.site-acceptance": timedelta(days=3),
    "tpsm.configure-sso": timedelta(days=2),
    "tpsm.receive-return": timedelta(days=14),
}
AUTOMATIC_SLA = timedelta(minutes=10)
SLOW_AUTOMATIC = {"tpsm.create-tenant": timedelta(minutes=30)}
"""Tenant creation provisions databases in the regional cell; it is slower than an API call."""


def manual_duration(timing: TaskTiming) -> timedelta | None:
    return MANUAL_SLA.get(timing.task_key)


def automatic_duration(timing: TaskTiming) -> timedelta | None:
    if timing.kind != "automatic" or not timing.spec_key.startswith("tpsm."):
        return None
    return SLOW_AUTOMATIC.get(timing.task_key, AUTOMATIC_SLA)


POLICIES = (
    JeopardyPolicy(
        key="tpsm.fulfilment-sla",
        planned_duration=manual_duration,
        priority=20,
        description="Shipping 5 days, site acceptance 3 days, SSO set-up 2 days, return inspection 14 days.",
    ),
    JeopardyPolicy(
        key="tpsm.automatic-sla",
        planned_duration=automatic_duration,
        priority=10,
        thresholds=(0.5, 0.75, 1.0, 2.0),
        description="Automatic TPSM tasks: 10 minutes (tenant creation 30 minutes).",
    ),
)
