"""The work a revision writes (core/change/revision.py ``_apply``): the new plan's domain orders
and tasks (new, redo) under the revision, wired into the kept plan, the new plan's parked parts
(staggered decomposition: its waits the current plan does not have, written as the decomposer
writes them, ``decomposition.wait_rows`` and ``staggered.park``; the current plan's waits it no
longer has released or cancelled, ``unpark``), and the changed domain orders' inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change import compensation, plan_diff
from om_graph.core.fulfilment.decomposition import (
    CANCELLED_WAIT,
    RELEASED,
    WAITING,
    PlannedDomainOrder,
    PlannedTask,
    task_row,
    wait_rows,
)
from om_graph.core.fulfilment.holds import information_provided
from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder, Task, TaskDependency
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.staggered import field_path, park, waits_of
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK
from om_graph.core.kernel.ids import reserve_many
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.states import LineStates


def write_work(
    session: PlanSession,
    temp_ids: Mapping[int, int],  # a new line's temporary id -> its line number
    comp: plan_diff.CompensationPlan,
    revision_id: int,
    undo_of: Mapping[int | None, Task],
    line_id_of: Mapping[int, int],
) -> Written:
    plan, uow = session.plan, session.uow
    line_of = {temp: line_id_of[number] for temp, number in temp_ids.items()}
    planned_tasks: list[tuple[PlannedTask, int | None]] = [(t, None) for t in comp.new_tasks] + [(t, o) for o, t in comp.redo]
    ids = reserve_many(uow.session, {DomainOrder: len(comp.new_domain_orders), Task: len(planned_tasks)})
    domain_id: dict[int, int] = dict(comp.matched)
    domain_orders: list[DomainOrder] = []
    for planned, new_id in zip(comp.new_domain_orders, ids.get(DomainOrder, []), strict=True):
        domain_id[id(planned)] = new_id
        domain_orders.append(
            DomainOrder(
                id=new_id,
                order_id=plan.order.id,
                line_id=line_of.get(planned.line_id, planned.line_id),
                parent_id=_parent_id(planned, domain_id),
                kind=planned.kind,
                spec_key=planned.spec_key,
                unit_index=planned.unit_index,
                state=DOMAIN_ORDER.initial,
                characteristics=dict(planned.characteristics),
            )
        )
    task_of: dict[int, Task] = {}
    tasks: list[Task] = []
    for (planned_task, original), task_id in zip(planned_tasks, ids.get(Task, []), strict=True):
        domain_order_id = domain_id[id(planned_task.domain_order)]
        task = task_row(planned_task, task_id, plan.order.id, domain_order_id, revision_id=revision_id, redo_of=original)
        task_of[id(planned_task)] = task
        tasks.append(task)
    edges: dict[tuple[int, int], TaskDependency] = {}

    def depend(task_id: int, predecessor_id: int, kind: str = DependencyTypes.FINISH_TO_START, lag: int = 0) -> None:
        edges.setdefault(
            (task_id, predecessor_id),
            TaskDependency(task_id=task_id, predecessor_id=predecessor_id, dependency_type=kind, lag_seconds=lag),
        )

    for task_end, predecessor_end, kind, lag in comp.edges:
        predecessor_id = predecessor_end if isinstance(predecessor_end, int) else task_of[id(predecessor_end)].id
        depend(task_of[id(task_end)].id, predecessor_id, kind, lag)
    for task in tasks:
        if task.compensates_id is not None and task.compensates_id in undo_of:
            depend(task.id, undo_of[task.compensates_id].id)  # a redo after its undo
    # Kept pending tasks: a cancelled predecessor's dependency moves to its replacement (or goes),
    # and a redone predecessor's redo is waited for too.
    dropped: list[tuple[int, int]] = []
    for task_id, predecessors in list(plan.predecessors.items()):
        kept = plan.tasks.get(task_id)
        if kept is None or not TASK.can(kept.state, "release") or kept.id in comp.cancel:
            continue
        for predecessor_id, kind in list(predecessors):
            if predecessor_id in comp.replaced_by:
                dropped.append((task_id, predecessor_id))
                depend(task_id, task_of[id(comp.replaced_by[predecessor_id])].id, kind)
            elif predecessor_id in comp.cancel:
                dropped.append((task_id, predecessor_id))
            elif predecessor_id in comp.redone:
                depend(task_id, task_of[id(comp.redone[predecessor_id])].id, kind)
    for task_id, predecessor_id in dropped:
        # Through the session, as every write of an order's rows (the plan keeps edges as tuples).
        dependency = uow.session.get(TaskDependency, (task_id, predecessor_id))
        if dependency is not None:
            uow.session.delete(dependency)
        plan.drop_edge(task_id, predecessor_id)
    plan.extend(domain_orders, tasks, edges.values())
    # The new plan's parked parts: the rows the decomposer writes, and their lines pending.
    waits = wait_rows(comp.new_waits, plan.order.id, domain_id, line_of)
    uow.add_new([*domain_orders, *tasks, *edges.values(), *waits])
    park(session, waits)
    compensation.record_planned(uow, plan.order, tasks, "planRevision", {"revision": revision_id})
    return Written(tasks, waits)


@dataclass
class Written:
    """What :func:`write_work` wrote: the revision's tasks (redo, new) and the waits of the parts
    its new plan parks."""

    tasks: list[Task]
    waits: list[DecompositionWait]


def unpark(session: PlanSession, comp: plan_diff.CompensationPlan) -> list[DecompositionWait]:
    """The current plan's waits the new plan no longer has: released (the new plan builds their
    part: the revision supplied what it needed) or cancelled (their parent or line gone, the part
    switched off). A line left waiting for nothing continues (``informationProvided``, its pause
    ends); one still waiting asks for what its remaining waits need. Returns the waits ended."""
    plan = session.plan
    ended: list[DecompositionWait] = []
    now = utcnow()
    for wait in plan.waits:
        if wait.state != WAITING:
            continue
        if wait.id in comp.release_waits:
            wait.state, wait.released_at = RELEASED, now
        elif wait.id in comp.cancel_waits:
            wait.state = CANCELLED_WAIT
        else:
            continue
        ended.append(wait)
    for line_id in dict.fromkeys(w.line_id for w in ended):
        line = plan.line(line_id)
        remaining = waits_of(plan, line)
        if remaining:
            line.information_required = [field_path(line, n) for n in dict.fromkeys(w.characteristic for w in remaining)]
        elif line.state == LineStates.PENDING:
            information_provided(session, line, SYSTEM_ACTOR)
        else:  # held, or removed by the revision (pending cancellation): nothing is missing any more
            line.information_required = None
    return ended


def _parent_id(planned: PlannedDomainOrder, domain_id: Mapping[int, int]) -> int | None:
    if planned.parent is not None:
        return domain_id[id(planned.parent)]
    return planned.parent_id


def revise_inputs(plan: OrderPlan, comp: plan_diff.CompensationPlan, undos: Sequence[Task]) -> None:
    """A changed domain order takes the revised values as its inputs, so its redo and replacement
    tasks act on them (their TaskContext reads the domain order): the new plan's characteristics
    over what its tasks recorded, less what the tasks undone now had recorded (the undo released
    it; the redo finds it through ``TaskContext.outcome``)."""
    released: dict[int, set[str]] = {}
    for undo in undos:
        original = plan.tasks.get(undo.compensates_id) if undo.compensates_id is not None else None
        if original is not None:
            recorded = (original.outcome or {}).get("characteristics") or {}
            released.setdefault(original.domain_order_id, set()).update(recorded)
    for domain_order_id, inputs in comp.inputs.items():
        domain_order = plan.domain_order(domain_order_id)
        gone = released.get(domain_order_id, set())
        kept = {k: v for k, v in domain_order.characteristics.items() if k not in gone}
        domain_order.characteristics = {**kept, **inputs}
