"""Domain order and task machines, and the roll-up rule."""

from __future__ import annotations

from collections.abc import Iterable

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, t
from om_graph.core.kernel.transitions import bind

FULFILMENT_ROLES = roles_with(Permission.TASK_COMPLETE)

# Product, service and resource orders (TMF641/TMF652 state set).
DOMAIN_ORDER = StateMachine(
    "domain order",
    initial="acknowledged",
    terminal={"completed", "failed", "cancelled"},
    transitions=[
        t("acknowledged", "start", "inProgress"),
        t(("acknowledged", "inProgress"), "complete", "completed"),
        t(("acknowledged", "inProgress"), "fail", "failed"),
        t("acknowledged", "cancel", "cancelled"),
    ],
)

# Orchestration task. ``pending`` waits for predecessors; ``ready`` is dispatched to a worker
# (automatic) or open for a fulfilment agent (manual).
TASK = StateMachine(
    "task",
    initial="pending",
    terminal={"completed", "failed", "cancelled"},
    transitions=[
        t("pending", "release", "ready"),
        t("ready", "start", "inProgress", FULFILMENT_ROLES),
        t("inProgress", "retry", "ready"),
        t(("ready", "inProgress"), "complete", "completed", FULFILMENT_ROLES),
        t(("ready", "inProgress"), "fail", "failed"),
        t(("pending", "ready"), "cancel", "cancelled"),
    ],
)


def aggregate(child_states: Iterable[str]) -> str | None:
    """Roll child states up into the parent's target state (TMF622 consistency rules).

    All completed → completed; all terminal with none completed → failed; terminal mix of
    completed and failed → partial; anything started → inProgress; nothing started → None.
    Cancelled children count as neither (they are skipped work).
    """
    states = list(child_states)
    if not states:
        return "completed"
    live = [s for s in states if s != "cancelled"]
    if not live:
        return "failed"
    if all(s == "completed" for s in live):
        return "completed"
    if all(s in {"completed", "failed", "partial"} for s in live):
        return "failed" if not any(s == "completed" for s in live) and not any(s == "partial" for s in live) else "partial"
    if any(s in {"inProgress", "completed", "failed", "partial"} for s in live):
        return "inProgress"
    return None


EVENT_FOR_TARGET = {"inProgress": "start", "completed": "complete", "failed": "fail", "partial": "completePartially"}

bind(DomainOrder, DOMAIN_ORDER, kind="domainOrder", event_type=ev.DOMAIN_ORDER_STATE_CHANGE)
bind(Task, TASK, kind="task", event_type=ev.TASK_STATE_CHANGE)
