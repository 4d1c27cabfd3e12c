"""Decomposition: an order line becomes product, service and resource orders with their tasks.

Per unit of quantity, the line's product specification is expanded over its specification
relationships (a bill of materials over the catalog graph), filtered by decomposition rules. Each
domain order gets the tasks of its specification's fulfilment pattern for the line's action.

Dependencies are finish-to-start: inside a domain order as the templates say; across domain
orders, provisioning runs bottom-up (resources before the services and products they realise)
and disconnection top-down.

The plan is computed with no transaction open (it calls the packs' decomposition rules and
jeopardy policies, whose answer becomes each task's ``planned_seconds``) as plain rows
(:class:`PlannedDomainOrder`, :class:`PlannedTask`, :class:`PlannedDependency`: orderPreview reads
them and writes nothing); :meth:`Decomposer.write` then reserves their ids and makes the ORM rows
the stage's writing transaction moves to their first states and inserts once.
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


@dataclass(slots=True, eq=False)
class PlannedDomainOrder:
    """A domain order of the plan, before it has an id."""

    line_id: int
    kind: str
    spec_key: str
    unit_index: int
    characteristics: dict[str, Any]
    parent: PlannedDomainOrder | None = None


@dataclass(slots=True, eq=False)
class PlannedTask:
    """A task of the plan, before it has an id."""

    domain_order: PlannedDomainOrder
    key: str
    name: str
    kind: str
    handler: str | None
    max_attempts: int
    planned_seconds: int | None  # its SLA (counted from its release)


@dataclass(slots=True, eq=False)
class PlannedDependency:
    task: PlannedTask
    predecessor: PlannedTask
    dependency_type: str = DependencyTypes.FINISH_TO_START
    lag_seconds: int = 0


@dataclass(slots=True, eq=False)
class _Node:
    domain_order: PlannedDomainOrder
    action: str
    tasks: list[PlannedTask] = field(default_factory=list)
    internal_deps: list[PlannedDependency] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)

    def entry_tasks(self) -> list[PlannedTask]:
        dependent = {id(d.task) for d in self.internal_deps}
        return [t for t in self.tasks if id(t) not in dependent]

    def exit_tasks(self) -> list[PlannedTask]:
        predecessors = {id(d.predecessor) for d in self.internal_deps}
        return [t for t in self.tasks if id(t) not in predecessors]

    def exits_or_descendants(self) -> list[PlannedTask]:
        """The tasks that finish this subtree (looking through domain orders without tasks)."""
        if self.tasks:
            return self.exit_tasks()
        return [t for child in self.children for t in child.exits_or_descendants()]

    def entries_or_descendants(self) -> list[PlannedTask]:
        if self.tasks:
            return self.entry_tasks()
        return [t for child in self.children for t in child.entries_or_descendants()]


@dataclass
class Decomposition:
    """The plan as plain rows: domain orders parents first (their ids come out smaller), tasks
    in id order, dependencies between them."""

    domain_orders: list[PlannedDomainOrder]
    tasks: list[PlannedTask]
    edges: list[PlannedDependency]
    order_id: int | None = None


@dataclass
class WrittenPlan:
    """The plan's ORM rows, with their ids: what the stage's transaction fires and inserts."""

    domain_orders: list[DomainOrder]
    tasks: list[Task]
    dependencies: list[TaskDependency]

    @property
    def edges(self) -> list[tuple[int, int, str]]:
        """(task id, predecessor id, dependency type), as :meth:`OrderPlan.build` takes them."""
        return [(d.task_id, d.predecessor_id, d.dependency_type) for d in self.dependencies]

    @property
    def rows(self) -> list[Any]:
        """Every row, parents first (``uow.add_new`` inserts them in this order)."""
        return [*self.domain_orders, *self.tasks, *self.dependencies]


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
        planning = _Planning(self)
        roots: list[_Node] = []
        for line in lines:
            spec = self.registry.specifications[line.spec_key]
            characteristics = dict(line.characteristics)
            if line.product_id is not None and line.product_id in installed:
                # Changes to an installed product see what fulfilment recorded on it (serials,
                # numbers, tenant ids), so handlers act on the same instances.
                characteristics = {**installed[line.product_id], **characteristics}
            for unit in range(line.quantity):
                roots.append(planning.expand(line, spec, unit, characteristics, None))
        nodes = [n for root in roots for n in _walk(root)]  # parents before children: smaller ids
        tasks = [t for n in nodes for t in n.tasks]
        pairs: list[PlannedDependency] = []
        for root in roots:
            teardown = root.action == "delete"
            for node in _walk(root):
                pairs.extend(node.internal_deps)
                for child in node.children:
                    if teardown:  # tear down top-down
                        before, after = node.exits_or_descendants(), child.entries_or_descendants()
                    else:  # build bottom-up
                        before, after = child.exits_or_descendants(), node.entries_or_descendants()
                    pairs.extend(PlannedDependency(a, b) for a in after for b in before)
        edges = list({(id(d.task), id(d.predecessor)): d for d in pairs}.values())
        return Decomposition([n.domain_order for n in nodes], tasks, edges, order.id)

    def write(self, session: Session, plan: Decomposition) -> WrittenPlan:
        """Reserve the plan's ids and make its ORM rows. The caller moves them to their first
        states and then inserts them once (``uow.add_new(written.rows)``), in their final state,
        before the transaction's flush."""
        ids = reserve_many(session, {DomainOrder: len(plan.domain_orders), Task: len(plan.tasks)})
        order_id = plan.order_id
        assert order_id is not None  # a stored order's plan
        domain_orders: list[DomainOrder] = []
        id_of: dict[int, int] = {}
        for planned, domain_order_id in zip(plan.domain_orders, ids[DomainOrder], strict=True):
            id_of[id(planned)] = domain_order_id
            domain_orders.append(
                DomainOrder(
                    id=domain_order_id,
                    order_id=order_id,
                    line_id=planned.line_id,
                    parent_id=id_of[id(planned.parent)] if planned.parent is not None else None,
                    kind=planned.kind,
                    spec_key=planned.spec_key,
                    unit_index=planned.unit_index,
                    state=DOMAIN_ORDER.initial,
                    characteristics=dict(planned.characteristics),
                )
            )
        tasks: list[Task] = []
        task_id_of: dict[int, int] = {}
        for planned_task, task_id in zip(plan.tasks, ids[Task], strict=True):
            task_id_of[id(planned_task)] = task_id
            tasks.append(
                Task(
                    id=task_id,
                    order_id=order_id,
                    domain_order_id=id_of[id(planned_task.domain_order)],
                    key=planned_task.key,
                    name=planned_task.name,
                    kind=planned_task.kind,
                    handler=planned_task.handler,
                    state=TASK.initial,
                    attempts=0,
                    max_attempts=planned_task.max_attempts,
                    idempotency_key=new_task_key(),
                    planned_seconds=planned_task.planned_seconds,
                )
            )
        dependencies = [
            TaskDependency(
                task_id=task_id_of[id(d.task)],
                predecessor_id=task_id_of[id(d.predecessor)],
                dependency_type=d.dependency_type,
                lag_seconds=d.lag_seconds,
            )
            for d in plan.edges
        ]
        return WrittenPlan(domain_orders, tasks, dependencies)

    def planned_seconds(self, template_key: str, kind: str, spec_key: str) -> int | None:
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


class _Planning:
    """One plan call: the order being expanded and what it memoises (the policies' answers)."""

    def __init__(self, decomposer: Decomposer):
        self.decomposer = decomposer
        self.registry = decomposer.registry
        self._sla: dict[tuple[str, str, str], int | None] = {}

    def sla(self, template_key: str, kind: str, spec_key: str) -> int | None:
        key = (template_key, kind, spec_key)
        if key not in self._sla:
            self._sla[key] = self.decomposer.planned_seconds(template_key, kind, spec_key)
        return self._sla[key]

    def expand(
        self,
        line: OrderLine,
        spec: SpecificationDef,
        unit: int,
        characteristics: Mapping[str, Any],
        parent: PlannedDomainOrder | None,
    ) -> _Node:
        domain_order = PlannedDomainOrder(line.id, spec.kind.upper(), spec.key, unit, dict(characteristics), parent)
        node = _Node(domain_order, line.action)
        by_key: dict[str, PlannedTask] = {}
        for template in spec.tasks:
            if line.action not in template.actions:
                continue
            handler = self.registry.handlers.get(template.handler) if template.handler else None
            if template.kind == "automatic" and handler is None:
                raise PluginConfigurationError(f"task {template.key!r} has no handler")
            task = PlannedTask(
                domain_order,
                template.key,
                template.name,
                template.kind,
                template.handler,
                handler.max_attempts if handler else 1,
                self.sla(template.key, template.kind, spec.key),
            )
            by_key[template.key] = task
            node.tasks.append(task)
        for template in spec.tasks:
            dependent = by_key.get(template.key)
            if dependent is None:
                continue
            for dep in template.dependencies():
                predecessor = by_key.get(dep.on)
                if predecessor is not None:
                    node.internal_deps.append(PlannedDependency(dependent, predecessor, dep.type, int(dep.lag.total_seconds())))
        for rel in spec.relationships:
            if not self.decomposer.included(spec, rel.target, characteristics):
                continue
            count = characteristics.get(rel.count_from, rel.min_cardinality) if rel.count_from else rel.min_cardinality
            target = self.registry.specifications[rel.target]
            for index in range(count):
                node.children.append(self.expand(line, target, index, characteristics, domain_order))
        return node


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    for child in node.children:
        yield from _walk(child)
