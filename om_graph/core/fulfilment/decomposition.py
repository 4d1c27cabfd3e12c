"""Decomposition: an order line becomes product, service and resource orders with their tasks.

Per unit of quantity, the line's product specification is expanded over its specification
relationships (a bill of materials over the catalog graph), filtered by decomposition rules. Each
domain order gets the tasks of its specification's fulfilment pattern for the line's action.

Dependencies are finish-to-start: inside a domain order as the templates say; across domain
orders, provisioning runs bottom-up (resources before the services and products they realise)
and disconnection top-down.

The plan is computed with no transaction open (it calls the packs' decomposition rules and
jeopardy policies, whose answer becomes each task's ``planned_seconds``); :meth:`Decomposer.write`
then reserves its ids, and the stage's writing transaction inserts it once it is in its first states.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from om_graph.core.catalog.definitions import SpecificationDef
from om_graph.core.catalog.extensions import TaskTiming
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.models import (
    DomainOrder,
    Task,
    TaskDependency,
    new_task_key,
)
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK
from om_graph.core.inventory.models import Product
from om_graph.core.kernel.errors import PluginCallFailed, PluginConfigurationError, call_plugin
from om_graph.core.kernel.ids import reserve_many
from om_graph.core.ordering.models import Order, OrderLine


@dataclass
class _Node:
    domain_order: DomainOrder
    line: OrderLine
    tasks: list[Task] = field(default_factory=list)
    internal_deps: list[tuple[Task, Task]] = field(default_factory=list)  # (task, predecessor)
    children: list[_Node] = field(default_factory=list)

    def entry_tasks(self) -> list[Task]:
        dependent = {id(t) for t, _ in self.internal_deps}
        return [t for t in self.tasks if id(t) not in dependent]

    def exit_tasks(self) -> list[Task]:
        predecessors = {id(p) for _, p in self.internal_deps}
        return [t for t in self.tasks if id(t) not in predecessors]

    def exits_or_descendants(self) -> list[Task]:
        """The tasks that finish this subtree (looking through domain orders without tasks)."""
        if self.tasks:
            return self.exit_tasks()
        return [t for child in self.children for t in child.exits_or_descendants()]

    def entries_or_descendants(self) -> list[Task]:
        if self.tasks:
            return self.entry_tasks()
        return [t for child in self.children for t in child.entries_or_descendants()]


@dataclass
class Decomposition:
    domain_orders: list[DomainOrder]  # parents before children: their ids come out smaller
    tasks: list[tuple[Task, DomainOrder]]  # each task with its domain order (linked by id once reserved)
    edges: list[tuple[Task, Task]]  # (task, predecessor), finish-to-start
    children: list[tuple[DomainOrder, list[DomainOrder]]]


# Built once: it runs twice in every stage pass that changes installed products (read and fence).
_INSTALLED = select(Product.id, Product.characteristics).where(Product.id.in_(bindparam("ids", expanding=True)))


def installed_characteristics(session: Session, lines: list[OrderLine]) -> dict[int, dict[str, Any]]:
    """What fulfilment recorded on the products the lines change, by product id."""
    product_ids = [line.product_id for line in lines if line.product_id]
    if not product_ids:
        return {}
    return {row.id: row.characteristics for row in session.execute(_INSTALLED, {"ids": product_ids})}


class Decomposer:
    def __init__(self, registry: Registry):
        self.registry = registry

    def included(self, source: SpecificationDef, target: str, characteristics: Mapping[str, Any]) -> bool:
        rules = self.registry.rules_by_relationship.get((source.key, target), ())
        return all(call_plugin(f"decomposition rule {rule.key!r}", rule.include, characteristics) for rule in rules)

    def plan(self, order: Order, lines: list[OrderLine], installed: Mapping[int, Mapping[str, Any]]) -> Decomposition:
        """Domain orders, tasks and dependencies without ids, from the lines (as a read saw them)
        and ``installed``, the characteristics of the products the lines change
        (:func:`installed_characteristics`). Calls pack code: never inside a writing transaction."""
        roots: list[_Node] = []
        for line in lines:
            spec = self.registry.specifications[line.spec_key]
            characteristics = dict(line.characteristics)
            if line.product_id is not None and line.product_id in installed:
                # Changes to an installed product see what fulfilment recorded on it (serials,
                # numbers, tenant ids), so handlers act on the same instances.
                characteristics = {**installed[line.product_id], **characteristics}
            for unit in range(line.quantity):
                roots.append(self._expand(order, line, spec, unit, characteristics))
        nodes = [n for root in roots for n in _walk(root)]  # parents before children: smaller ids
        tasks = [(t, n.domain_order) for n in nodes for t in n.tasks]
        pairs: list[tuple[Task, Task]] = []
        for root in roots:
            line_action = root.line.action
            for node in _walk(root):
                pairs.extend(node.internal_deps)
                for child in node.children:
                    if line_action == "delete":  # tear down top-down
                        before, after = node.exits_or_descendants(), child.entries_or_descendants()
                    else:  # build bottom-up
                        before, after = child.exits_or_descendants(), node.entries_or_descendants()
                    pairs.extend((a, b) for a in after for b in before)
        edges = list({(id(a), id(b)): (a, b) for a, b in pairs}.values())
        return Decomposition(
            [n.domain_order for n in nodes], tasks, edges, [(n.domain_order, [c.domain_order for c in n.children]) for n in nodes]
        )

    def write(self, session: Session, plan: Decomposition) -> list[Any]:
        """Reserve the plan's ids and link its rows; returns them, parents first. The caller
        moves them to their first states and then inserts them once (``uow.add_new``), in their
        final state, before the transaction's flush."""
        ids = reserve_many(session, {DomainOrder: len(plan.domain_orders), Task: len(plan.tasks)})
        for domain_order, domain_order_id in zip(plan.domain_orders, ids[DomainOrder]):
            domain_order.id = domain_order_id
        for domain_order, children in plan.children:
            for child in children:
                child.parent_id = domain_order.id
        for (task, domain_order), task_id in zip(plan.tasks, ids[Task]):
            task.id, task.domain_order_id = task_id, domain_order.id
        dependencies = [
            TaskDependency(task_id=task.id, predecessor_id=predecessor.id, dependency_type=DependencyTypes.FINISH_TO_START)
            for task, predecessor in plan.edges
        ]
        return [*plan.domain_orders, *(task for task, _ in plan.tasks), *dependencies]

    def _planned_seconds(self, template_key: str, kind: str, spec_key: str) -> int | None:
        """The task's SLA from the jeopardy policies; its clock starts when the task is released.
        The reconciler asks the same question (the planning timing) for the thresholds, so both
        come from one policy's answer. A policy that raises is a pack failure like a raising
        decomposition rule: the order is rejected (``processingFailed``, naming the policies)."""
        found = call_plugin("jeopardy policies", self.registry.policy_for, TaskTiming(template_key, kind, spec_key, None))
        if found is None:
            return None
        duration = found[1]
        if not isinstance(duration, timedelta):
            raise PluginCallFailed(f"jeopardy policy {found[0].key!r} returned {duration!r}, not a timedelta")
        return int(duration.total_seconds())

    def _expand(
        self,
        order: Order,
        line: OrderLine,
        spec: SpecificationDef,
        unit: int,
        characteristics: Mapping[str, Any],
    ) -> _Node:
        domain_order = DomainOrder(
            order_id=order.id,
            line_id=line.id,
            parent_id=None,  # set once ids are reserved
            kind=spec.kind.upper(),
            spec_key=spec.key,
            unit_index=unit,
            state=DOMAIN_ORDER.initial,
            characteristics=dict(characteristics),
        )
        node = _Node(domain_order, line)
        by_key: dict[str, Task] = {}
        for template in spec.tasks:
            if line.action not in template.actions:
                continue
            handler = self.registry.handlers.get(template.handler) if template.handler else None
            if template.kind == "automatic" and handler is None:
                raise PluginConfigurationError(f"task {template.key!r} has no handler")
            task = Task(
                order_id=order.id,
                key=template.key,
                name=template.name,
                kind=template.kind,
                handler=template.handler,
                state=TASK.initial,
                attempts=0,
                max_attempts=handler.max_attempts if handler else 1,
                idempotency_key=new_task_key(),
                planned_seconds=self._planned_seconds(template.key, template.kind, spec.key),
            )
            by_key[template.key] = task
            node.tasks.append(task)
        for template in spec.tasks:
            if template.key in by_key:
                for dep in template.depends_on:
                    if dep in by_key:
                        node.internal_deps.append((by_key[template.key], by_key[dep]))
        for rel in spec.relationships:
            if not self.included(spec, rel.target, characteristics):
                continue
            count = characteristics.get(rel.count_from, rel.min_cardinality) if rel.count_from else rel.min_cardinality
            target = self.registry.specifications[rel.target]
            for index in range(count):
                node.children.append(self._expand(order, line, target, index, characteristics))
        return node


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    for child in node.children:
        yield from _walk(child)
