"""The one place states change: fire an event on a machine, record exactly one event row."""

from __future__ import annotations

from om_graph.core import events as ev
from om_graph.core.models import DomainOrder, Order, OrderLine, Product, Task
from om_graph.core.states import DOMAIN_ORDER, LINE, ORDER, PRODUCT, TASK, StateMachine
from om_graph.core.uow import Actor, UnitOfWork

_KINDS: dict[type, tuple[StateMachine, str, str, str]] = {
    Order: (ORDER, "order", ev.ORDER_STATE_CHANGE, "state"),
    OrderLine: (LINE, "line", ev.ITEM_STATE_CHANGE, "state"),
    DomainOrder: (DOMAIN_ORDER, "domainOrder", ev.DOMAIN_ORDER_STATE_CHANGE, "state"),
    Task: (TASK, "task", ev.TASK_STATE_CHANGE, "state"),
    Product: (PRODUCT, "product", ev.PRODUCT_STATE_CHANGE, "status"),  # TMF637 calls it status
}


def fire(uow: UnitOfWork, order: Order, entity, event: str, actor: Actor, payload: dict | None = None) -> str:
    """Apply ``event`` to ``entity`` (checking the transition table and the actor's roles) and
    record one state-change event in the same transaction. Returns the new state."""
    machine, kind, event_type, attribute = _KINDS[type(entity)]
    previous = getattr(entity, attribute)
    transition = machine.transition(previous, event, actor.roles)
    setattr(entity, attribute, transition.target)
    if kind == "order":
        order.version += 1
    body = {"event": event, **(payload or {})}
    uow.record(
        order,
        event_type,
        entity_kind=kind,
        entity=entity,
        actor=actor,
        from_state=previous,
        to_state=transition.target,
        payload=body,
    )
    return transition.target
