"""State machines as data: transition tables with roles, plus the roll-up rules.

Each machine lists ``(sources, event, target, roles)``; services fire events, never assign states.
State names are the TMF622/TMF641 camelCase values (``inProgress``); the GraphQL enums expose them
upper-snake-cased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from om_graph.core.errors import InvalidTransition
from om_graph.core.permissions import ROLE_PERMISSIONS, Permission, Role

# Transition roles follow the permission table (core/permissions.py), so the two cannot disagree.
CAPTURE_ROLES = frozenset(r.value for r, perms in ROLE_PERMISSIONS.items() if Permission.ORDER_CAPTURE in perms)
FULFILMENT_ROLES = frozenset(r.value for r, perms in ROLE_PERMISSIONS.items() if Permission.TASK_COMPLETE in perms)
SYSTEM_ONLY = frozenset({Role.SYSTEM.value})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    event: str
    target: str
    roles: frozenset[str]


def t(sources: str | Iterable[str], event: str, target: str, roles: frozenset[str] = SYSTEM_ONLY) -> Transition:
    srcs = frozenset([sources] if isinstance(sources, str) else sources)
    return Transition(srcs, event, target, roles)


class StateMachine:
    def __init__(self, name: str, initial: str, terminal: Iterable[str], transitions: Iterable[Transition]):
        self.name = name
        self.initial = initial
        self.terminal = frozenset(terminal)
        self.transitions = tuple(transitions)
        self._table: dict[tuple[str, str], Transition] = {}
        for tr in self.transitions:
            for src in tr.sources:
                if (src, tr.event) in self._table:
                    raise ValueError(f"{name}: two transitions for {src!r} on {tr.event!r}")
                self._table[(src, tr.event)] = tr
        self.states = frozenset({initial} | {s for tr in self.transitions for s in tr.sources | {tr.target}})

    def transition(self, state: str, event: str, roles: frozenset[str] = SYSTEM_ONLY) -> Transition:
        tr = self._table.get((state, event))
        if tr is None:
            raise InvalidTransition(f"{self.name} in state {state!r} cannot {event!r}", field="state")
        if not roles & tr.roles:
            raise InvalidTransition(f"{self.name}: {event!r} is not allowed for roles {sorted(roles)}", code="FORBIDDEN")
        return tr

    def can(self, state: str, event: str) -> bool:
        return (state, event) in self._table

    def events_from(self, state: str) -> list[str]:
        return sorted(ev for (src, ev) in self._table if src == state)


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
