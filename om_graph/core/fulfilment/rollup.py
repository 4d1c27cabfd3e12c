"""State roll-up: task → domain order → line → order, computed under the order's lock.

Each level's target state comes from :func:`om_graph.core.states.aggregate` over its children;
a change fires the level's machine, so every transition is recorded exactly once even when
parallel tasks finish together (their transactions are serialised on the order row).
"""

from __future__ import annotations

from collections import defaultdict

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.models import DomainOrder
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.states import EVENT_FOR_TARGET, aggregate
from om_graph.core.inventory.settlement import settle_line, write_contract
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import OrderLine


def _no_partial(state: str | None) -> str | None:
    # Domain orders and (TMF622 v4) lines have no partial state: some work failed, so they failed.
    return "failed" if state == "partial" else state


def unit_outputs(domain_orders: list[DomainOrder], line: OrderLine) -> dict[int, dict]:
    """Characteristics produced by tasks (e.g. assigned serials), gathered per unit of the line."""
    per_unit: dict[int, dict] = {}
    roots = {d.id: d.unit_index for d in domain_orders if d.line_id == line.id and d.parent_id is None}
    parents = {d.id: d.parent_id for d in domain_orders}
    for d in domain_orders:
        if d.line_id != line.id:
            continue
        root = d.id
        while parents.get(root) is not None:
            root = parents[root]
        extra = {k: v for k, v in d.characteristics.items() if k not in line.characteristics}
        per_unit.setdefault(roots.get(root, 0), {}).update(extra)
    return per_unit


def rollup(uow: UnitOfWork, plan: OrderPlan, registry: Registry) -> None:
    """Derived transitions are the system's: the triggering change already names its actor."""
    actor = SYSTEM_ACTOR
    order, lines, domain_orders, tasks = plan.order, plan.lines, plan.domain_orders, plan.tasks.values()

    task_states: dict[int, list[str]] = defaultdict(list)
    for task in tasks:
        task_states[task.domain_order_id].append(task.state)
    child_states: dict[int | None, list[str]] = defaultdict(list)
    # Children have larger ids than their parents: walking ids downwards settles children first.
    for domain_order in sorted(domain_orders, key=lambda d: d.id, reverse=True):
        states = task_states[domain_order.id] + child_states[domain_order.id]
        target = _no_partial(aggregate(states)) if states else "completed"
        if target and target != domain_order.state and target != "acknowledged":
            fire(uow, order, domain_order, EVENT_FOR_TARGET[target], actor)
            if domain_order.state in ("completed", "failed"):
                domain_order.completed_at = utcnow()
        child_states[domain_order.parent_id].append(domain_order.state)

    roots_by_line: dict[int, list[str]] = defaultdict(list)
    for domain_order in domain_orders:
        if domain_order.parent_id is None:
            roots_by_line[domain_order.line_id].append(domain_order.state)
    for line in lines:
        if line.state != "inProgress":
            continue
        target = _no_partial(aggregate(roots_by_line[line.id]))
        if target in ("completed", "failed"):
            fire(uow, order, line, EVENT_FOR_TARGET[target], actor)
            settle_line(uow, order, line, unit_outputs(domain_orders, line), actor)

    if order.state == "inProgress":
        target = aggregate(line.state for line in lines)
        if target in ("completed", "failed", "partial"):
            fire(uow, order, order, EVENT_FOR_TARGET[target], actor)
            order.completed_at = utcnow()
            write_contract(uow, order, registry)
