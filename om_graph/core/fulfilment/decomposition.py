"""Decomposition: an order line becomes product, service and resource orders with their tasks.

Per unit of quantity, the line's product specification is expanded over its specification
relationships (a bill of materials over the catalog graph), filtered by decomposition rules. Each
domain order gets the tasks of its specification's fulfilment pattern for the line's action.

Dependencies: inside a domain order, the templates' typed ones; across domain orders,
finish-to-start bottom-up for provisioning (resources before the services and products they
realise) and top-down for disconnection; between lines, the ``reliesOn`` relationships; and the
packs' dependency rules (typed, with a lag, between templates of any two specifications).

The plan is computed with no transaction open (it calls the packs' decomposition rules and
jeopardy policies, whose answer becomes each task's ``planned_seconds``) as plain rows
(:class:`PlannedDomainOrder`, :class:`PlannedTask`, :class:`PlannedDependency`: orderPreview reads
them and writes nothing); :meth:`Decomposer.write` then reserves their ids and makes the ORM rows
the stage's writing transaction moves to their first states and inserts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from om_graph.core.catalog.definitions import SpecificationDef, SpecRelationshipDef, TaskTemplate
from om_graph.core.catalog.extensions import TaskDependencyRule
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment import models as _models
from om_graph.core.fulfilment.durations import task_duration
from om_graph.core.fulfilment.jeopardy import task_sla
from om_graph.core.fulfilment.models import (
    DecompositionWait,
    DomainOrder,
    Task,
    TaskDependency,
    new_task_key,
)
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, TaskKinds, TaskModes
from om_graph.core.inventory.models import Product
from om_graph.core.kernel.errors import PluginCallFailed, PluginConfigurationError, call_plugin
from om_graph.core.kernel.graphs import find_cycle
from om_graph.core.kernel.ids import reserve_many
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.relationships import RELIES_ON

WAITING, RELEASED, CANCELLED_WAIT = _models.WAITING, _models.RELEASED, _models.CANCELLED_WAIT  # DecompositionWait.state


class PlanTables(Protocol):
    """What decomposition asks of the active decision tables (durations, SLAs)."""

    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None: ...


@dataclass(slots=True, eq=False)
class PlannedDomainOrder:
    """A domain order of the plan, before it has an id."""

    line_id: int
    kind: str
    spec_key: str
    unit_index: int
    characteristics: dict[str, Any]
    parent: PlannedDomainOrder | None = None
    parent_id: int | None = None  # an existing domain order (a parked part built later under it)


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
    duration_seconds: int | None = None  # how long the schedule plans it to take (durations.py)
    assignment_group: str | None = None  # a manual task's work queue (the template's role)
    ponr: str | None = None  # the template's point of no return (hard, soft: core/change/ponr.py)


@dataclass(slots=True, eq=False)
class PlannedDependency:
    task: PlannedTask
    predecessor: PlannedTask
    dependency_type: str = DependencyTypes.FINISH_TO_START
    lag_seconds: int = 0


@dataclass(slots=True, eq=False)
class PlannedWait:
    """A part parked until a characteristic is known (staggered decomposition): the
    relationship's ``spec_key`` domain orders under ``parent`` (planned) or ``parent_id``
    (existing), for the line's unit ``unit_index``."""

    line_id: int
    parent: PlannedDomainOrder | None
    spec_key: str
    unit_index: int
    characteristic: str
    parent_id: int | None = None


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
    waits: list[PlannedWait] = field(default_factory=list)  # parked parts (staggered decomposition)
    roots: list[_Node] = field(default_factory=list, repr=False)


@dataclass
class WrittenPlan:
    """The plan's ORM rows, with their ids: what the stage's transaction fires and inserts."""

    domain_orders: list[DomainOrder]
    tasks: list[Task]
    dependencies: list[TaskDependency]
    waits: list[DecompositionWait] = field(default_factory=list)
    task_of: dict[int, Task] = field(default_factory=dict, repr=False)  # by id() of its PlannedTask

    @property
    def edges(self) -> list[tuple[int, int, str, int]]:
        """(task id, predecessor id, dependency type, lag seconds), as :meth:`OrderPlan.build` takes them."""
        return [(d.task_id, d.predecessor_id, d.dependency_type, d.lag_seconds) for d in self.dependencies]

    @property
    def rows(self) -> list[Any]:
        """Every row, parents first (``uow.add_new`` inserts them in this order)."""
        return [*self.domain_orders, *self.tasks, *self.dependencies, *self.waits]


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

    def plan(
        self,
        order: Order,
        lines: list[OrderLine],
        installed: Mapping[int, Mapping[str, Any]],
        tables: PlanTables | None = None,
    ) -> Decomposition:
        """Domain orders, tasks and dependencies without ids, from the lines (as a read saw them)
        and ``installed``, the characteristics of the products the lines change
        (:func:`installed_characteristics`); ``tables``: the active decision tables (durations,
        SLAs). Calls pack code: never inside a writing transaction."""
        planning = _Planning(self, order, tables)
        roots_of: dict[int, list[_Node]] = {}
        units: list[_Unit] = []
        for line in lines:
            spec = self.registry.specifications[line.spec_key]
            characteristics = dict(line.characteristics)
            if line.product_id is not None and line.product_id in installed:
                # Changes to an installed product see what fulfilment recorded on it (serials,
                # numbers, tenant ids), so handlers act on the same instances.
                characteristics = {**installed[line.product_id], **characteristics}
            roots_of[line.line_number] = [
                planning.expand(line, spec, unit, characteristics, None) for unit in range(line.quantity)
            ]
            units.extend(_Unit(line.id, unit, characteristics, [root]) for unit, root in enumerate(roots_of[line.line_number]))
        plan = planning.assemble([root for roots in roots_of.values() for root in roots])
        plan.edges.extend(_line_relationships(lines, roots_of))
        _add_rule_edges(plan, self.registry.dependency_rules, units)
        return plan

    def plan_parts(
        self,
        order: Order,
        line: OrderLine,
        parts: list[tuple[DomainOrder, str]],
        characteristics: Mapping[str, Any],
        tables: PlanTables | None = None,
    ) -> Decomposition:
        """The parked parts of a line (staggered decomposition), once what they need is known:
        per (existing parent domain order, target specification), the relationship's domain
        orders and tasks under that parent, as :meth:`plan` builds them (a part that needs
        something still missing parks again: ``waits``). Calls pack code (rules, policies):
        never inside a writing transaction. The dependencies towards the parent's existing
        tasks are the caller's (:func:`staggered.link_parts`)."""
        planning = _Planning(self, order, tables)
        roots: list[_Node] = []
        units: dict[int, _Unit] = {}
        for parent, target in parts:
            source = self.registry.specifications[parent.spec_key]
            rel = next(r for r in source.relationships if r.target == target)
            children = planning.expand_relationship(line, source, rel, characteristics, None, parent.id, parent.unit_index)
            roots.extend(children)
            units.setdefault(parent.unit_index, _Unit(line.id, parent.unit_index, characteristics, [])).roots.extend(children)
        plan = planning.assemble(roots)
        _add_rule_edges(plan, self.registry.dependency_rules, list(units.values()))
        return plan

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
                    parent_id=id_of[id(planned.parent)] if planned.parent is not None else planned.parent_id,
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
            tasks.append(task_row(planned_task, task_id, order_id, id_of[id(planned_task.domain_order)]))
        dependencies = [
            TaskDependency(
                task_id=task_id_of[id(d.task)],
                predecessor_id=task_id_of[id(d.predecessor)],
                dependency_type=d.dependency_type,
                lag_seconds=d.lag_seconds,
            )
            for d in plan.edges
        ]
        waits = wait_rows(plan.waits, order_id, id_of)
        task_of = {id(p): t for p, t in zip(plan.tasks, tasks, strict=True)}
        return WrittenPlan(domain_orders, tasks, dependencies, waits, task_of)


def wait_rows(
    waits: Iterable[PlannedWait],
    order_id: int,
    domain_order_ids: Mapping[int, int],
    line_ids: Mapping[int, int] | None = None,
) -> list[DecompositionWait]:
    """The ``DecompositionWait`` rows of planned waits (parked parts), waiting: a decomposition's
    (:meth:`Decomposer.write`) or a revision's new plan's (core/change/revision_work.py
    ``write_work``). ``domain_order_ids``: id() of a planned domain order -> its row's id (a
    wait under a planned parent); ``line_ids``: a planned line id -> the stored one, where they
    differ (a revision's new line). Register them with ``staggered.park`` in the plan session
    that writes them."""
    lines = line_ids or {}
    return [
        DecompositionWait(
            order_id=order_id,
            line_id=lines.get(w.line_id, w.line_id),
            parent_id=domain_order_ids[id(w.parent)] if w.parent is not None else w.parent_id,
            spec_key=w.spec_key,
            unit_index=w.unit_index,
            characteristic=w.characteristic,
            state=WAITING,
        )
        for w in waits
    ]


def task_row(
    planned: PlannedTask,
    task_id: int,
    order_id: int,
    domain_order_id: int,
    *,
    revision_id: int | None = None,
    redo_of: int | None = None,
) -> Task:
    """The ORM row of a planned task, in its initial state: a decomposition's
    (:meth:`Decomposer.write`), or with ``revision_id`` a revision's new work
    (core/change/revision_work.py), a redo of the task ``redo_of`` where given. Only new work
    passes its template's point of no return (core/change/ponr.py): a redo's was passed by the
    task it redoes. A manual task only keeps its work queue."""
    task = Task(
        id=task_id,
        order_id=order_id,
        domain_order_id=domain_order_id,
        key=planned.key,
        name=planned.name,
        kind=planned.kind,
        handler=planned.handler,
        state=TASK.initial,
        attempts=0,
        max_attempts=planned.max_attempts,
        idempotency_key=new_task_key(),
        planned_seconds=planned.planned_seconds,
        duration_seconds=planned.duration_seconds,
        assignment_group=planned.assignment_group if planned.kind == TaskKinds.MANUAL else None,
        ponr=planned.ponr if redo_of is None else None,
    )
    if revision_id is not None:  # a decomposition's task keeps the column defaults (mode "do")
        task.mode = TaskModes.REDO if redo_of is not None else TaskModes.DO
        task.compensates_id = redo_of
        task.revision_id = revision_id
    return task


class _Planning:
    """One plan call: the order being expanded and what it memoises (the SLA and duration of
    each template per specification and action: the same answer for every unit and line)."""

    def __init__(self, decomposer: Decomposer, order: Order, tables: PlanTables | None):
        self.decomposer = decomposer
        self.registry = decomposer.registry
        self.order = order
        self.tables = tables
        self._timing: dict[tuple[str, str, str, str], tuple[int | None, int]] = {}
        self.waits: list[PlannedWait] = []

    def timing(self, template: TaskTemplate, spec_key: str, line: OrderLine) -> tuple[int | None, int]:
        """(SLA seconds, duration seconds). The SLA: ``jeopardy.task_sla`` (the ``fulfilment.sla``
        table, a pack's jeopardy policy, the template's ``sla``, the fallback policy); a policy that
        raises is a pack failure like a raising decomposition rule: the order is rejected
        (``processingFailed``, naming the policies). The duration: :func:`durations.task_duration`."""
        key = (template.key, spec_key, line.action, line.offering_key)
        found = self._timing.get(key)
        if found is None:
            order = self.order
            sla = task_sla(
                self.registry,
                self.tables,
                task_key=template.key,
                kind=template.kind,
                spec_key=spec_key,
                template=template,
                priority=order.priority,
                segment=order.segment,
                action=line.action,
            )
            inputs = {
                "specKey": spec_key,
                "action": line.action,
                "offering": line.offering_key,
                "segment": order.segment,
                "priority": order.priority,
            }
            found = self._timing[key] = (sla, task_duration(self.tables, template, inputs))
        return found

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
            sla, duration = self.timing(template, spec.key, line)
            task = PlannedTask(
                domain_order,
                template.key,
                template.name,
                template.kind,
                template.handler,
                handler.max_attempts if handler else 1,
                sla,
                duration,
                template.role if template.kind == TaskKinds.MANUAL else None,  # else queues.assign_default_groups,
                template.ponr,
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
            node.children.extend(self.expand_relationship(line, spec, rel, characteristics, domain_order, None, unit))
        return node

    def expand_relationship(
        self,
        line: OrderLine,
        spec: SpecificationDef,
        rel: SpecRelationshipDef,
        characteristics: Mapping[str, Any],
        parent: PlannedDomainOrder | None,
        parent_id: int | None,
        unit: int,
    ) -> list[_Node]:
        """The relationship's target domain orders under the parent; none, and a wait per
        missing characteristic, while one it ``needs`` is unknown (parked)."""
        missing = [name for name in rel.needs if characteristics.get(name) is None]
        if missing:
            self.waits.extend(PlannedWait(line.id, parent, rel.target, unit, name, parent_id) for name in missing)
            return []
        if not self.decomposer.included(spec, rel.target, characteristics):
            return []
        count = characteristics.get(rel.count_from, rel.min_cardinality) if rel.count_from else rel.min_cardinality
        target = self.registry.specifications[rel.target]
        children = [self.expand(line, target, index, characteristics, parent) for index in range(count)]
        if parent_id is not None:
            for child in children:
                child.domain_order.parent_id = parent_id
        return children

    def assemble(self, roots: list[_Node]) -> Decomposition:
        """The plan of these subtrees: domain orders parents first, their tasks, the dependencies
        inside each domain order (the templates') and between them (bottom-up to build,
        top-down to tear down)."""
        nodes = [n for root in roots for n in _walk(root)]  # parents before children: smaller ids
        tasks = [t for n in nodes for t in n.tasks]
        edges = _edges(roots)
        return Decomposition([n.domain_order for n in nodes], tasks, edges, self.order.id, list(self.waits), roots)


def subtree_ends(roots: list[_Node]) -> tuple[list[PlannedTask], list[PlannedTask]]:
    """The first tasks (no predecessor inside the subtrees) and the last ones (no successor inside)."""
    tasks = [t for root in roots for n in _walk(root) for t in n.tasks]
    edges = _edges(roots)
    has_predecessor = {id(e.task) for e in edges}
    has_successor = {id(e.predecessor) for e in edges}
    return [t for t in tasks if id(t) not in has_predecessor], [t for t in tasks if id(t) not in has_successor]


def _line_relationships(lines: list[OrderLine], roots_of: Mapping[int, list[_Node]]) -> list[PlannedDependency]:
    """Finish-to-start edges of the lines' ``reliesOn`` relationships (ordering/relationships.py):
    the other line's last tasks before this line's first ones."""
    edges: list[PlannedDependency] = []
    for line in lines:
        others = [int(r["lineNumber"]) for r in line.relationships or () if r.get("relationshipType") == RELIES_ON]
        if not others:
            continue
        first, _ = subtree_ends(roots_of.get(line.line_number, []))
        for number in others:
            if number not in roots_of or number == line.line_number:
                continue  # capture refuses both; an older order's line may be gone
            _, last = subtree_ends(roots_of[number])
            edges.extend(PlannedDependency(task, predecessor) for task in first for predecessor in last)
    return edges


@dataclass(slots=True)
class _Unit:
    """The subtrees decomposed from one unit of a line's quantity (a dependency rule's scope)."""

    line_id: int
    index: int
    characteristics: Mapping[str, Any]
    roots: list[_Node]


def _add_rule_edges(plan: Decomposition, rules: Sequence[TaskDependencyRule], units: list[_Unit]) -> None:
    """The packs' dependency rules' edges (catalog/extensions.py, TaskDependencyRule) between the
    plan's tasks, per scope; refuses the plan (PluginCallFailed: the order is rejected) when they
    close a cycle."""
    if not rules or not units:
        return
    tasks_of = [(unit, [t for root in unit.roots for n in _walk(root) for t in n.tasks]) for unit in units]
    added: list[tuple[PlannedDependency, str]] = []
    for rule in rules:
        groups: dict[tuple[int, ...], tuple[list[PlannedTask], list[PlannedTask]]] = {}
        for unit, tasks in tasks_of:
            group = {"unit": (unit.line_id, unit.index), "line": (unit.line_id,)}.get(rule.scope, ())
            dependents, predecessors = groups.setdefault(group, ([], []))
            applies = rule.applies is None or call_plugin(f"dependency rule {rule.key!r}", rule.applies, unit.characteristics)
            for task in tasks:
                spec_key = task.domain_order.spec_key
                if applies and (spec_key, task.key) == (rule.task_spec, rule.task):
                    dependents.append(task)
                elif (spec_key, task.key) == (rule.on_spec, rule.on):
                    predecessors.append(task)
        lag = int(rule.lag.total_seconds())
        for dependents, predecessors in groups.values():
            added.extend((PlannedDependency(d, p, rule.type, lag), rule.key) for d in dependents for p in predecessors)
    if not added:
        return
    # A rule's edge replaces an implied one between the same two tasks (one row per pair).
    plan.edges[:] = {(id(e.task), id(e.predecessor)): e for e in [*plan.edges, *(edge for edge, _ in added)]}.values()
    graph: dict[int, list[int]] = {}
    for edge in plan.edges:
        graph.setdefault(id(edge.task), []).append(id(edge.predecessor))
    cycle = find_cycle(graph)
    if cycle:
        on_cycle = set(zip(cycle, cycle[1:], strict=False))
        keys = sorted({key for edge, key in added if (id(edge.task), id(edge.predecessor)) in on_cycle}) or sorted(
            {key for _, key in added}
        )
        task_of = {id(t): t for t in plan.tasks}
        path = " -> ".join(task_of[node].key for node in cycle)
        raise PluginCallFailed(f"dependency rules {', '.join(keys)} close a cycle in the plan: {path}")


def _edges(roots: list[_Node]) -> list[PlannedDependency]:
    """The dependencies inside each domain order (the templates') and between them (bottom-up
    to build, top-down to tear down), once each."""
    pairs: list[PlannedDependency] = []
    for root in roots:
        teardown = root.action in ("delete", "suspend")  # a suspend bars the top first, as a disconnect does
        for node in _walk(root):
            pairs.extend(node.internal_deps)
            if not node.tasks:
                continue  # looked through from above: its children's work would otherwise wait on itself
            for child in node.children:
                if teardown:  # tear down top-down
                    before, after = node.exits_or_descendants(), child.entries_or_descendants()
                else:  # build bottom-up
                    before, after = child.exits_or_descendants(), node.entries_or_descendants()
                pairs.extend(PlannedDependency(a, b) for a in after for b in before)
    return list({(id(d.task), id(d.predecessor)): d for d in pairs}.values())


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    for child in node.children:
        yield from _walk(child)
