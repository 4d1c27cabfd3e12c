"""Pieces shared by the TSM catalog modules."""

from __future__ import annotations

from om_graph.api import ALL_ACTIONS, TaskTemplate

BILLING_TASK = TaskTemplate(
    key="tsm.billing-sync",
    name="Synchronise billing (start, change or stop charging)",
    kind="automatic",
    handler="tsm.billing-sync",
    actions=ALL_ACTIONS,
)
"""Every TSM product specification ends with this task: once all its service and resource
orders are done, billing starts (add), is re-rated (modify), pauses (suspend), restarts (resume)
or stops (delete)."""

ADD = ("add",)
MODIFY = ("modify",)
DELETE = ("delete",)
ADD_MODIFY = ("add", "modify")
