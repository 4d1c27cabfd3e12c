"""State roll-up: task → domain order → line → order, computed under the order's lock.

Each level's event comes from the declared rules (:mod:`om_graph.core.fulfilment.rules`) over
its children; an event the parent's machine allows from its state fires, so every transition is
recorded exactly once even when parallel tasks finish together (their transactions are
serialised on the order row). The plan session runs it once, at the end of each transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.models import DomainOrder
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import BELOW_ORDER, ORDER_LEVEL, RollupRule, roll_up_event
from om_graph.core.fulfilment.states import DomainOrderStates, TaskStates
from om_graph.core.inventory.settlement import lock_owners, settle_line, start_line, write_contract
from om_graph.core.kernel.transitions import fire, machine_of
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import OrderLine
from om_graph.core.ordering.states import LINE, ORDER, LineStates


def unit_outputs(domain_orders: list[DomainOrder], line: OrderLine) -> dict[int, dict[str, Any]]:
    """Characteristics produced by tasks (e.g. assigned serials), gathered per unit of the line.
    A cancelled domain order (withdrawn: a revision removed its unit or dropped it, its work
    undone), or one under it, gives none: what it produced is not the product's."""
    per_unit: dict[int, dict[str, Any]] = {}
    roots = {d.id: d.unit_index for d in domain_orders if d.line_id == line.id and d.parent_id is None}
    parents: dict[int, int | None] = {d.id: d.parent_id for d in domain_orders}
    cancelled = {d.id for d in domain_orders if d.state == DomainOrderStates.CANCELLED}
    for d in domain_orders:
        if d.line_id != line.id:
            continue
        root, parent = d.id, d.parent_id
        withdrawn = d.id in cancelled
        while parent is not None:
            withdrawn = withdrawn or parent in cancelled
            root, parent = parent, parents.get(parent)
        if withdrawn:
            continue
        extra = {k: v for k, v in d.characteristics.items() if k not in line.characteristics}
        per_unit.setdefault(roots.get(root, 0), {}).update(extra)
    return per_unit


def _roll(uow: UnitOfWork, plan: OrderPlan, parent: Any, rules: Sequence[RollupRule], child_states: Iterable[str]) -> bool:
    """Fire the rules' event on ``parent`` if its machine takes it somewhere new; True if it did.
    Derived transitions are the system's: the triggering change already names its actor."""
    machine = machine_of(type(parent))
    event = roll_up_event(rules, child_states)
    if event is None or not machine.can(parent.state, event) or machine.target_of(event) == parent.state:
        return False
    fire(uow, plan.order, parent, event, SYSTEM_ACTOR)
    return True


def rollup(uow: UnitOfWork, plan: OrderPlan, registry: Registry) -> None:
    order, lines, domain_orders = plan.order, plan.lines, plan.domain_orders

    child_states: dict[int | None, list[str]] = defaultdict(list)
    for task in plan.tasks.values():
        child_states[task.domain_order_id].append(task.state)
    # Children have larger ids than their parents: walking ids downwards settles children first.
    # A domain order with a part still parked under it (staggered decomposition) does not finish:
    # the part counts as a child not started.
    parked = plan.parked()
    started: dict[int, OrderLine] = {}  # lines whose first work started now (a root domain order started)
    for domain_order in sorted(domain_orders, key=lambda d: d.id, reverse=True):
        states = child_states[domain_order.id]
        moved = _roll(
            uow, plan, domain_order, BELOW_ORDER, [*states, TaskStates.PENDING] if domain_order.id in parked else states
        )
        if moved and domain_order.parent_id is None and domain_order.state == DomainOrderStates.IN_PROGRESS:
            started[domain_order.line_id] = plan.line(domain_order.line_id)
        child_states[domain_order.parent_id].append(domain_order.state)

    roots_by_line: dict[int, list[str]] = defaultdict(list)
    for domain_order in domain_orders:
        if domain_order.parent_id is None:
            roots_by_line[domain_order.line_id].append(domain_order.state)
    finished = [
        line for line in lines if _roll(uow, plan, line, BELOW_ORDER, roots_by_line[line.id]) and line.state in LINE.terminal
    ]
    completed = [line for line in finished if line.state == LineStates.COMPLETED]
    # every other order the settlement writes, newest first, before it reads any
    lock_owners(uow, [*started.values(), *finished])
    for line in started.values():  # TMF637 pendingActive / pendingTerminate
        start_line(uow, order, line, SYSTEM_ACTOR)
    for line in finished:
        settle_line(
            uow, order, line, unit_outputs(domain_orders, line), SYSTEM_ACTOR, completed=line in completed, registry=registry
        )

    if _roll(uow, plan, order, ORDER_LEVEL, [line.state for line in lines]) and order.state in ORDER.terminal:
        write_contract(uow, order, registry)
