"""The TMF637 product machine."""

from __future__ import annotations

from om_graph.core.inventory.models import Product
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, States, t
from om_graph.core.kernel.transitions import bind


class ProductStatuses(States):
    """TMF637 product inventory status. TMF's ``aborted `` (trailing space in the published schema)
    is stored without the space; ``cancelled`` arrives with order cancellation."""

    CREATED = "created"
    ACTIVE = "active"
    ABORTED = "aborted"
    TERMINATED = "terminated"


P = ProductStatuses

PRODUCT = StateMachine(
    "product",
    ProductStatuses,
    initial=P.CREATED,
    terminal={P.ABORTED, P.TERMINATED},
    transitions=[
        t(P.CREATED, "activate", P.ACTIVE),
        t(P.CREATED, "abort", P.ABORTED),
        t(P.ACTIVE, "terminate", P.TERMINATED),
        t(P.ACTIVE, "modify", P.ACTIVE),
    ],
)

bind(Product, PRODUCT, kind="product", event_type=ev.PRODUCT_STATE_CHANGE, attribute="status")  # TMF637 calls it status
