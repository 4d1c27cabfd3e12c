"""The compensation plan of a revision: the difference between the plan as it stands and the plan
the order's new version would produce.

:func:`compare` is pure (no session): the current :class:`OrderPlan` against a fresh
``Decomposer.plan`` of the revised lines (computed with no transaction open: it calls pack code).
Domain orders are matched by (line number, path of (specification, unit index) from the line's
root), tasks by (domain order, template key); of an old domain order's tasks the one that counts
per template is its latest ``do`` or ``redo`` task that was not cancelled.

A matched domain order *changed* when one of the characteristics the revision changed on its line,
and that its specification declares, has another value in the new plan (outputs a task recorded
are not inputs: only the revised names are compared; the ONT of a fibre line does not read the
installation address, its access line does). Then, per task of the template:

- not started (pending, ready, on hold) → cancelled, and replaced by the new plan's task;
- completed with an effect → undone (``compensation.undo_tasks``: reverse dependency order) and,
  when the new plan still has the template, redone: a ``redo`` task (``compensates_id`` the
  original) that waits for the undo and for its new plan predecessors;
- running (``inProgress``) → the revision waits: it is refused with ``WORK_RUNNING`` naming the task
  (an automatic attempt ends within its lease; ask again after it), never applied under it;
- the domain order ``reopen``s when it was completed.

Domain orders only the old plan has (a removed line, the highest units of a lower quantity, or one
a kept unit's new decomposition no longer produces: a child service a characteristic switched off)
have their open work cancelled and their completed work undone; the last kind are ``dropped``: the
revision withdraws them once that work is over (revision.py ``on_plan_close``), so they neither roll
up completed nor bring their outputs to the product. Those only the new plan has (a new line, extra
units) are added with their tasks. Everything else continues untouched. Dependencies of the
new tasks are the new plan's, mapped onto the tasks that stand for them (kept old ones, new ones,
redos); a kept pending task that depended on a cancelled one depends on its replacement instead
(or on nothing, when it is gone), and one that depended on a redone task also waits for the redo.

Parked parts (staggered decomposition) match by (parent's path, target specification,
characteristic): the new plan's waits the current plan lacks are ``new_waits`` (written and
parked, revision_work.py), the current plan's waiting ones the new plan lacks are released (the
new plan builds that part under the same parent) or cancelled.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.fulfilment.decomposition import WAITING, Decomposition, PlannedDomainOrder, PlannedTask, PlannedWait
from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder, Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.states import DomainOrderStates, TaskModes, TaskStates
from om_graph.core.kernel.errors import FieldError, ValidationFailed

Path = tuple[int, tuple[tuple[str, int], ...]]  # (line number, ((spec key, unit index), ...) from the root)
_NOT_STARTED = frozenset({TaskStates.PENDING, TaskStates.READY, TaskStates.ON_HOLD})


@dataclass
class CompensationPlan:
    """What a revision does to the plan (ids are the current plan's; planned rows are the new plan's)."""

    cancel: list[int] = field(default_factory=list)  # open tasks cancelled
    undo: list[int] = field(default_factory=list)  # completed tasks undone
    redo: list[tuple[int, PlannedTask]] = field(default_factory=list)  # (original task id, its new template row)
    new_tasks: list[PlannedTask] = field(default_factory=list)  # replacing cancelled work, or of new domain orders
    new_domain_orders: list[PlannedDomainOrder] = field(default_factory=list)  # parents first
    matched: dict[int, int] = field(default_factory=dict)  # id(planned domain order) -> existing domain order id
    reopen: list[int] = field(default_factory=list)  # changed domain orders (reopened when completed)
    inputs: dict[int, dict[str, Any]] = field(default_factory=dict)  # changed domain order id -> its new plan's characteristics
    kept: dict[int, int] = field(default_factory=dict)  # id(planned task) -> the old task standing for it
    replaced_by: dict[int, PlannedTask] = field(default_factory=dict)  # cancelled old task id -> its replacement
    redone: dict[int, PlannedTask] = field(default_factory=dict)  # old task id -> its redo's template row
    edges: list[tuple[Any, Any, str, int]] = field(default_factory=list)  # (task, predecessor, type, lag) of new rows
    # Old domain orders of a unit the new plan keeps (its line live, its root unit still planned)
    # that the new plan does not produce: withdrawn once their work is over (not a removed unit's).
    dropped: list[int] = field(default_factory=list)
    # Parked parts (staggered decomposition): the new plan's waits the current plan does not have
    # (written and parked by the revision, revision_work.py), and the current plan's waiting ones
    # the new plan no longer has: released when the new plan builds their part under the same
    # parent (the revision supplied what it needed), else cancelled (their parent or line gone).
    new_waits: list[PlannedWait] = field(default_factory=list)
    release_waits: list[int] = field(default_factory=list)  # DecompositionWait ids
    cancel_waits: list[int] = field(default_factory=list)  # DecompositionWait ids

    @property
    def empty(self) -> bool:
        return not (
            self.cancel
            or self.undo
            or self.redo
            or self.new_tasks
            or self.new_domain_orders
            or self.dropped
            or self.new_waits
            or self.release_waits
            or self.cancel_waits
        )


def _old_paths(plan: OrderPlan) -> dict[Path, DomainOrder]:
    """The live domain orders by path: a cancelled (withdrawn) one does not stand for its place
    any more (a unit removed and added again gets a new domain order)."""
    numbers = {line.id: line.line_number for line in plan.lines}
    by_id = {d.id: d for d in plan.domain_orders}
    found: dict[Path, DomainOrder] = {}
    for domain_order in plan.domain_orders:
        if domain_order.state == DomainOrderStates.CANCELLED:
            continue
        steps: list[tuple[str, int]] = []
        at: DomainOrder | None = domain_order
        while at is not None:
            steps.append((at.spec_key, at.unit_index))
            at = by_id.get(at.parent_id) if at.parent_id is not None else None
        found[(numbers[domain_order.line_id], tuple(reversed(steps)))] = domain_order
    return found


def _new_path(planned: PlannedDomainOrder, numbers: Mapping[int, int]) -> Path:
    steps: list[tuple[str, int]] = []
    at: PlannedDomainOrder | None = planned
    while at is not None:
        steps.append((at.spec_key, at.unit_index))
        at = at.parent
    return (numbers[planned.line_id], tuple(reversed(steps)))


def current_tasks(plan: OrderPlan) -> dict[tuple[int, str], Task]:
    """Per (domain order id, template key): the task that stands for the template now (its latest
    do or redo task that was not cancelled nor undone)."""
    undone = {t.compensates_id for t in plan.tasks.values() if t.mode == TaskModes.UNDO and t.state != TaskStates.CANCELLED}
    found: dict[tuple[int, str], Task] = {}
    for task in sorted(plan.tasks.values(), key=lambda t: t.id):
        if task.mode == TaskModes.UNDO or task.state == TaskStates.CANCELLED or task.id in undone:
            continue  # work whose effect was reversed no longer stands for its template
        found[(task.domain_order_id, task.key)] = task
    return found


def compare(
    plan: OrderPlan,
    new: Decomposition,
    line_numbers: Mapping[int, int],
    changed: Mapping[int, set[str]],
    inputs: Mapping[str, frozenset[str]] | None = None,
    live: Collection[int] | None = None,
) -> CompensationPlan:
    """The compensation plan from ``plan`` (as it stands) to ``new`` (``Decomposer.plan`` of the
    revised lines). ``line_numbers``: the new plan's line ids → line numbers; ``changed``: per line
    number, the characteristic names the revision changes; ``inputs``: per specification, the
    characteristics it declares; ``live``: the ids of the lines not removed before (a removed
    line's domain orders are not in the new plan, and are not compensated twice) (a domain order carries its line's characteristics, but its tasks
    act on its specification's: a specification that declares none is taken to read them all). Raises ``WORK_RUNNING`` for a running
    task of a changed or removed domain order."""
    result = CompensationPlan()
    old = _old_paths(plan)
    path_of = {d.id: path for path, d in old.items()}
    tasks = current_tasks(plan)
    new_tasks_of: dict[int, list[PlannedTask]] = {}
    for planned_task in new.tasks:
        new_tasks_of.setdefault(id(planned_task.domain_order), []).append(planned_task)
    seen: set[int] = set()
    running: list[Task] = []

    def retire(domain_order: DomainOrder, replacements: Mapping[str, PlannedTask]) -> None:
        for (domain_order_id, key), task in tasks.items():
            if domain_order_id != domain_order.id:
                continue
            replacement = replacements.get(key)
            if task.state in _NOT_STARTED:
                result.cancel.append(task.id)
                if replacement is not None:
                    result.replaced_by[task.id] = replacement
                    result.new_tasks.append(replacement)
            elif task.state == TaskStates.COMPLETED:
                result.undo.append(task.id)
                if replacement is not None:
                    result.redone[task.id] = replacement
                    result.redo.append((task.id, replacement))
            elif task.state == TaskStates.IN_PROGRESS:
                running.append(task)
        done = {t.key for (d, _), t in tasks.items() if d == domain_order.id}
        result.new_tasks.extend(t for key, t in replacements.items() if key not in done)

    units: set[tuple[int, tuple[str, int]]] = set()  # (line number, root step) of the new plan's units
    for planned in new.domain_orders:
        path = _new_path(planned, line_numbers)
        units.add((path[0], path[1][0]))
        existing = old.get(path)
        if existing is None:
            result.new_domain_orders.append(planned)
            result.new_tasks.extend(new_tasks_of.get(id(planned), ()))
            continue
        seen.add(existing.id)
        result.matched[id(planned)] = existing.id
        names = changed.get(path[0], set())
        declared = (inputs or {}).get(planned.spec_key)
        if declared:
            names = names & declared
        planned_tasks = {t.key: t for t in new_tasks_of.get(id(planned), ())}
        if any(planned.characteristics.get(n) != existing.characteristics.get(n) for n in names):
            result.reopen.append(existing.id)
            result.inputs[existing.id] = dict(planned.characteristics)
            retire(existing, planned_tasks)
        else:
            for key, planned_task in planned_tasks.items():
                task = tasks.get((existing.id, key))
                if task is not None:
                    result.kept[id(planned_task)] = task.id
                else:  # no live work stands for it (never planned here, or its effect was reversed)
                    result.new_tasks.append(planned_task)
    for domain_order in plan.domain_orders:
        if domain_order.id not in seen and (live is None or domain_order.line_id in live):  # a removed line or unit, or dropped
            retire(domain_order, {})
            at = path_of.get(domain_order.id)
            if at is not None and (at[0], at[1][0]) in units:  # its unit stays: the new plan dropped it
                result.dropped.append(domain_order.id)
    if running:
        raise ValidationFailed(
            [
                FieldError(
                    "lines",
                    f"task {t.key!r} ({t.name}) of line {_number(plan, t)} is running: revise it once it has finished",
                    ChangeErrorCode.WORK_RUNNING,
                )
                for t in running
            ]
        )
    _map_edges(new, result)
    _compare_waits(plan, new, line_numbers, path_of, result)
    return result


def _compare_waits(
    plan: OrderPlan, new: Decomposition, line_numbers: Mapping[int, int], path_of: Mapping[int, Path], result: CompensationPlan
) -> None:
    """The parked parts: a wait is (its parent's path, target specification, characteristic); the
    new plan's that the current plan has are kept, the others written; the current plan's that the
    new plan no longer has are released (the new plan builds the part under that parent) or
    cancelled."""
    new_keys: set[tuple[Path, str, str]] = set()
    for wait in new.waits:
        parent = _new_path(wait.parent, line_numbers) if wait.parent is not None else path_of.get(wait.parent_id or 0)
        if parent is not None:
            new_keys.add((parent, wait.spec_key, wait.characteristic))
    old_keys: set[tuple[Path, str, str]] = set()
    built = {
        (result.matched.get(id(planned.parent)), planned.spec_key)
        for planned in result.new_domain_orders
        if planned.parent is not None
    }
    for row in plan.waits:
        if row.state != WAITING:
            continue
        at = path_of.get(row.parent_id) if row.parent_id is not None else None
        key = (at, row.spec_key, row.characteristic) if at is not None else None
        if key is not None and key in new_keys:
            old_keys.add(key)
        elif (row.parent_id, row.spec_key) in built:
            result.release_waits.append(row.id)
        else:
            result.cancel_waits.append(row.id)
    for wait in new.waits:
        parent = _new_path(wait.parent, line_numbers) if wait.parent is not None else path_of.get(wait.parent_id or 0)
        if parent is None or (parent, wait.spec_key, wait.characteristic) not in old_keys:
            result.new_waits.append(wait)


def _number(plan: OrderPlan, task: Task) -> int:
    return plan.line(plan.domain_order(task.domain_order_id).line_id).line_number


def _map_edges(new: Decomposition, result: CompensationPlan) -> None:
    """The new plan's dependencies onto what stands for each end: a new row (its PlannedTask) or a
    kept old task (its id). Only edges into a new row are added here; the caller re-points the
    kept tasks' dependencies (:func:`repoint`)."""
    added = {id(t) for t in result.new_tasks} | {id(t) for _, t in result.redo}
    for edge in new.edges:
        if id(edge.task) not in added:
            continue
        if id(edge.predecessor) in added:
            predecessor: Any = edge.predecessor
        elif id(edge.predecessor) in result.kept:
            predecessor = result.kept[id(edge.predecessor)]
        else:
            continue
        result.edges.append((edge.task, predecessor, edge.dependency_type, edge.lag_seconds))


def summary(
    plan: OrderPlan,
    cancelled: Iterable[Task],
    undos: Iterable[Task],
    written: Iterable[Task],
    dropped: Iterable[int] = (),
    parked: Iterable[DecompositionWait] = (),
    unparked: Iterable[DecompositionWait] = (),
) -> dict[str, Any]:
    """The revision's ``compensation``: the tasks it cancels and undoes (the originals), and the
    redo and new tasks it adds (``cancel``, ``undo``, ``redo``, ``add``), each {id key name mode};
    and, when there are any, the domain orders the new plan dropped (``dropped``, each {id specKey
    unitIndex lineNumber}), which ``on_plan_close`` withdraws once their work is over; the parts its
    new plan parks (``parked``: waits written, each {id specKey characteristic unitIndex
    lineNumber}) and the waits of the plan it ends (``unparked``: the same, with their new
    ``state``, released or cancelled)."""

    def describe(task: Task) -> dict[str, Any]:
        return {"id": task.id, "key": task.key, "name": task.name, "mode": task.mode}

    rows = list(written)
    found: dict[str, Any] = {
        "cancel": [describe(t) for t in cancelled],
        "undo": [describe(plan.tasks[u.compensates_id]) for u in undos if u.compensates_id is not None],
        "redo": [describe(t) for t in rows if t.mode == TaskModes.REDO],
        "add": [describe(t) for t in rows if t.mode == TaskModes.DO],
    }
    gone = [plan.domain_order(i) for i in dropped]
    if gone:  # only when there are some: the plan's shape stays the same for every other revision
        found["dropped"] = [
            {
                "id": d.id,
                "specKey": d.spec_key,
                "unitIndex": d.unit_index,
                "lineNumber": plan.line(d.line_id).line_number,
            }
            for d in gone
        ]

    def wait(row: DecompositionWait, with_state: bool) -> dict[str, Any]:
        described = {
            "id": row.id,
            "specKey": row.spec_key,
            "characteristic": row.characteristic,
            "unitIndex": row.unit_index,
            "lineNumber": plan.line(row.line_id).line_number,
        }
        return {**described, "state": row.state} if with_state else described

    for name, waits, with_state in (("parked", list(parked), False), ("unparked", list(unparked), True)):
        if waits:  # only when there are some, as ``dropped``
            found[name] = [wait(w, with_state) for w in waits]
    return found
