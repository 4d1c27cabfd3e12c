"""The one place states change: fire an event on a machine, record exactly one event row.

Each context binds its models to their machines (``bind`` in its ``states`` module), so the
kernel knows no context's models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from om_graph.core.kernel.machine import StateMachine
from om_graph.core.kernel.uow import Acting, OrderRef, UnitOfWork


@dataclass(frozen=True)
class Binding:
    machine: StateMachine
    kind: str  # the event's entity kind
    event_type: str
    attribute: str  # the state column (TMF637 products call it status)


_BINDINGS: dict[type, Binding] = {}


def bind(model: type, machine: StateMachine, *, kind: str, event_type: str, attribute: str = "state") -> None:
    _BINDINGS[model] = Binding(machine, kind, event_type, attribute)


def machine_of(model: type) -> StateMachine:
    return _BINDINGS[model].machine


def fire(uow: UnitOfWork, order: OrderRef, entity: Any, event: str, actor: Acting, payload: dict[str, Any] | None = None) -> str:
    """Apply ``event`` to ``entity`` (checking the transition's guards, the table and the actor's
    roles), apply the transition's entry effects, and record one event in the same transaction.
    Returns the new state."""
    binding = _BINDINGS[type(entity)]
    previous = getattr(entity, binding.attribute)
    transition = binding.machine.enter(entity, previous, event, actor)
    setattr(entity, binding.attribute, transition.target)
    for effect in binding.machine.effects_of(transition):
        effect.apply(entity)
    body = {"event": event, **(payload or {})}
    uow.record(
        order,
        transition.records or binding.event_type,
        entity_kind=binding.kind,
        entity=entity,
        actor=actor,
        from_state=previous,
        to_state=transition.target,
        payload=body,
    )
    return transition.target
