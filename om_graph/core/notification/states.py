"""The hub's machines: a listener (registered, then deleted) and a delivery.

A delivery is pending until its callback answers 2xx (delivered); each failed attempt leaves it
pending with a later ``next_attempt_at`` until the attempts run out (dead). A dead delivery
blocks its order's later deliveries for that listener until an admin retries it (pending again,
attempts from zero) or skips it (never sent)."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel.machine import StateMachine, States, t

MANAGE_ROLES = roles_with(Permission.HUB_MANAGE)
REGISTER_ROLES = roles_with(Permission.EVENTS_SUBSCRIBE)


class ListenerStates(States):
    ACTIVE = "active"
    DELETED = "deleted"


class DeliveryStates(States):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    SKIPPED = "skipped"


L = ListenerStates
LISTENER = StateMachine(
    "hub listener",
    ListenerStates,
    initial=L.ACTIVE,
    terminal={L.DELETED},
    transitions=[t(L.ACTIVE, "unregister", L.DELETED, REGISTER_ROLES | MANAGE_ROLES)],
)

D = DeliveryStates
DELIVERY = StateMachine(
    "hub delivery",
    DeliveryStates,
    initial=D.PENDING,
    terminal={D.DELIVERED, D.SKIPPED},
    transitions=[
        t(D.PENDING, "deliver", D.DELIVERED),
        t(D.PENDING, "fail", D.PENDING),  # an attempt failed: tried again after the back-off
        t(D.PENDING, "giveUp", D.DEAD),  # the last attempt failed
        t(D.DEAD, "retry", D.PENDING, MANAGE_ROLES),
        t(D.DEAD, "skip", D.SKIPPED, MANAGE_ROLES),
    ],
)

# What still has to go, in order: a listener's next delivery of an order is its earliest open one.
OPEN_STATES = (D.PENDING, D.DEAD)
assert set(OPEN_STATES) == DELIVERY.states - DELIVERY.terminal
