"""The TMF637 product machine."""

from __future__ import annotations

from om_graph.core.inventory.models import Product
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, t
from om_graph.core.kernel.transitions import bind

# TMF637 product inventory status. TMF's ``aborted `` (trailing space in the published schema)
# is stored without the space.
PRODUCT = StateMachine(
    "product",
    initial="created",
    terminal={"aborted", "cancelled", "terminated"},
    transitions=[
        t("created", "activate", "active"),
        t("created", "abort", "aborted"),
        t("active", "terminate", "terminated"),
        t("active", "modify", "active"),
    ],
)

bind(Product, PRODUCT, kind="product", event_type=ev.PRODUCT_STATE_CHANGE, attribute="status")  # TMF637 calls it status
