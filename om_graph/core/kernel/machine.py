"""State machines as data: transition tables with roles; services fire events, never assign states.

State names are the TMF622/TMF641 camelCase values (``inProgress``); the GraphQL enums expose them
upper-snake-cased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from om_graph.core.kernel.errors import InvalidTransition

SYSTEM_ONLY = frozenset({"system"})  # the system role (access.permissions.Role.SYSTEM)


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
