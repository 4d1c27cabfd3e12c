"""State machines as data: transition tables with roles, guards and entry effects.

Services fire events, never assign states. Each machine declares its states as a class of
constants (``OrderStates.DRAFT``); code outside the tables uses those constants, the machine's
``initial``, or asks the machine (``can``), never a string literal.

State names are the TMF622/TMF641 camelCase values (``inProgress``); the GraphQL enums expose them
upper-snake-cased.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import InvalidTransition, ValidationFailed

SYSTEM_ONLY = frozenset({"system"})  # the system role (access.permissions.Role.SYSTEM)


class States:
    """A machine's state names: subclass with upper-case constants (``DRAFT = "draft"``)."""

    @classmethod
    def values(cls) -> frozenset[str]:
        return frozenset(v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str))


@dataclass(frozen=True)
class Guard:
    """A named predicate over the entity and the acting party; when it does not hold, the event is
    refused with ``code`` and ``message`` (formatted with the entity's ``state``) on ``field``."""

    name: str
    holds: Callable[[Any, Any], bool]
    code: str
    message: str
    field: str = "id"

    def check(self, entity: Any, state: str, actor: Any) -> None:
        if not self.holds(entity, actor):
            raise ValidationFailed.single(self.field, self.message.format(state=state), self.code)


@dataclass(frozen=True)
class Effect:
    """A named function applied to the entity on entering a transition's target."""

    name: str
    apply: Callable[[Any], None]


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    event: str
    target: str
    roles: frozenset[str]
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    records: str | None = None  # the event type it records, when not its machine's state change


def t(
    sources: str | Iterable[str],
    event: str,
    target: str,
    roles: frozenset[str] = SYSTEM_ONLY,
    *,
    guards: Iterable[Guard] = (),
    effects: Iterable[Effect] = (),
    records: str | None = None,
) -> Transition:
    srcs = frozenset([sources] if isinstance(sources, str) else sources)
    return Transition(srcs, event, target, roles, tuple(guards), tuple(effects), records)


class StateMachine:
    """One event names one transition (its sources are a set): a different path is a different
    event. Construction checks that the table uses exactly the declared states, that every state is
    reachable from ``initial`` and that no transition leaves a terminal state."""

    def __init__(
        self,
        name: str,
        states: type[States],
        initial: str,
        terminal: Iterable[str],
        transitions: Iterable[Transition],
        *,
        effects: Iterable[Effect] = (),
    ):
        self.name = name
        self.initial = initial
        self.terminal = frozenset(terminal)
        # Entry effects of every transition of this machine (e.g. the order's version bump).
        self.effects = tuple(effects)
        self.transitions = tuple(transitions)
        self.states = states.values()
        self._by_event: dict[str, Transition] = {}
        for tr in self.transitions:
            if tr.event in self._by_event:
                raise ValueError(f"{name}: two transitions for {tr.event!r}")
            self._by_event[tr.event] = tr
        used = {initial} | self.terminal | {s for tr in self.transitions for s in tr.sources | {tr.target}}
        if used != self.states:
            raise ValueError(f"{name}: the table uses {sorted(used)}, the declared states are {sorted(self.states)}")
        if self.reachable() != self.states:
            raise ValueError(f"{name}: unreachable states {sorted(self.states - self.reachable())}")
        for tr in self.transitions:
            if tr.sources & self.terminal:
                raise ValueError(f"{name}: {tr.event!r} leaves a terminal state")

    def reachable(self) -> frozenset[str]:
        seen, frontier = {self.initial}, [self.initial]
        while frontier:
            state = frontier.pop()
            for tr in self.transitions:
                if state in tr.sources and tr.target not in seen:
                    seen.add(tr.target)
                    frontier.append(tr.target)
        return frozenset(seen)

    def transition(self, state: str, event: str, roles: frozenset[str] = SYSTEM_ONLY) -> Transition:
        tr = self._by_event.get(event)
        if tr is None or state not in tr.sources:
            raise InvalidTransition(f"{self.name} in state {state!r} cannot {event!r}", field="state")
        if not roles & tr.roles:
            raise InvalidTransition(
                f"{self.name}: {event!r} is not allowed for roles {sorted(roles)}", code=CommonErrorCode.FORBIDDEN
            )
        return tr

    def enter(self, entity: Any, state: str, event: str, actor: Any) -> Transition:
        """The transition ``event`` takes ``entity`` (in ``state``) along, for ``actor``. Guards run
        first: they say why an event is refused (``NOT_DRAFT``) before the table's generic answer."""
        tr = self._by_event.get(event)
        for guard in tr.guards if tr is not None else ():
            guard.check(entity, state, actor)
        return self.transition(state, event, actor.roles)

    def effects_of(self, tr: Transition) -> tuple[Effect, ...]:
        return self.effects + tr.effects

    def can(self, state: str, event: str) -> bool:
        tr = self._by_event.get(event)
        return tr is not None and state in tr.sources

    def target_of(self, event: str) -> str:
        return self._by_event[event].target

    def events_from(self, state: str) -> list[str]:
        return sorted(tr.event for tr in self.transitions if state in tr.sources)
