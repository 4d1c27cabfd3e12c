"""The TMF622 customer order and order line machines."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, t
from om_graph.core.kernel.transitions import bind
from om_graph.core.ordering.models import Order, OrderLine

CAPTURE_ROLES = roles_with(Permission.ORDER_CAPTURE)

# TMF622 customer order (v5, with draft). Cancellation, hold and revision arrive with their issues.
ORDER = StateMachine(
    "order",
    initial="draft",
    terminal={"completed", "failed", "partial", "rejected", "cancelled"},
    transitions=[
        t("draft", "submit", "acknowledged", CAPTURE_ROLES),
        t("acknowledged", "reject", "rejected"),
        t("acknowledged", "start", "inProgress"),
        t("inProgress", "complete", "completed"),
        t("inProgress", "fail", "failed"),
        t("inProgress", "completePartially", "partial"),
    ],
)

# TMF622 order item: no partial at item level (v4).
LINE = StateMachine(
    "order line",
    initial="draft",
    terminal={"completed", "failed", "rejected", "cancelled"},
    transitions=[
        t("draft", "submit", "acknowledged", CAPTURE_ROLES),
        t("acknowledged", "reject", "rejected"),
        t("acknowledged", "start", "inProgress"),
        t("inProgress", "complete", "completed"),
        t("inProgress", "fail", "failed"),
    ],
)

# Product, service and resource orders (TMF641/TMF652 state set).

bind(Order, ORDER, kind="order", event_type=ev.ORDER_STATE_CHANGE)
bind(OrderLine, LINE, kind="line", event_type=ev.ITEM_STATE_CHANGE)
