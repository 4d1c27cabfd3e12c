"""The compensation engine: undo completed work, cancel open work, inside one plan session.

Cancellation (core/change/cancellation.py) and revision build their compensation from these two
functions, in the writing transaction of a :class:`~om_graph.core.fulfilment.session.PlanSession`:

- :func:`cancel_open`: pending, ready, on hold and finish-blocked work is cancelled (it never ran
  to its end, so it has no effect to undo). A running attempt is not stopped: its result arrives,
  and the caller undoes it once it completed.
- :func:`undo_tasks`: each completed task whose work has an effect gets one *undo task*: mode
  ``undo``, ``compensates_id`` the original, the same domain order, handler, kind and work queue
  (a manual task's undo is a manual task for the same group), name ``Undo: <name>``, pending.
  Undo tasks run in reverse dependency order: the undo of B waits (finish-to-start) for the undo
  of every completed successor of B that is undone too (the nearest ones on each path: the rest
  follow), and for an open undo of a successor planned earlier. They are plain tasks of the plan:
  the session's close releases them as their gates open and the orchestration claims, retries,
  leases and routes them to fallout like any other.

Each undo task has its OWN idempotency key (``new_task_key``), stable across its attempts, so a
retried undo is recognised by the external system; the handler also gets the original's key in
``TaskContext.compensates`` and its recorded outcome in ``TaskContext.outcome``
(fulfilment/orchestration.py ``_claim``), to find what to reverse.

Work with an effect: a completed task that is not itself an undo, not closed by hand unperformed
(``outcome.closedByHand``), and not undone already (a unique index: a task is undone at most
once). An automatic task whose handler has no ``undo`` cannot be compensated: ``NOT_COMPENSABLE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.fulfilment.fallout import cancel_records
from om_graph.core.fulfilment.models import Task, TaskDependency, new_task_key
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import TASK, TaskKinds, TaskModes, TaskStates, cancel_event
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.kernel.ids import reserve_ids
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order

UNDO_PREFIX = "Undo: "


def undo_of(plan: OrderPlan, task: Task) -> Task | None:
    """The live undo task planned for ``task`` (at most one), if any: an undo cancelled before it ran
    (its revision overtaken by a cancellation, say) undid nothing, so the task may be undone again."""
    return next(
        (
            t
            for t in plan.tasks.values()
            if t.mode == TaskModes.UNDO and t.compensates_id == task.id and t.state != TaskStates.CANCELLED
        ),
        None,
    )


def has_effect(task: Task) -> bool:
    """Completed work that changed something: not an undo, not closed by hand unperformed."""
    if task.state != TaskStates.COMPLETED or task.mode == TaskModes.UNDO:
        return False
    return not (task.outcome or {}).get("closedByHand")


def needs_undo(plan: OrderPlan, task: Task) -> bool:
    return has_effect(task) and undo_of(plan, task) is None


def cancel_open(session: PlanSession, tasks: Sequence[Task], *, reason: str) -> list[Task]:
    """Cancel the given tasks' open work (pending, ready, on hold, finish-blocked: its kept
    outcome is dropped); returns those cancelled. Running and finished tasks are left alone."""
    cancelled: list[Task] = []
    in_fallout: list[int] = []
    for task in tasks:
        event = cancel_event(task)
        if event is None:
            continue
        if task.state == TaskStates.ON_HOLD:
            in_fallout.append(task.id)
        session.fire(task, event, SYSTEM_ACTOR, {"reason": reason})
        task.finish_blocked = False
        task.release_at = None
        task.lease_until = None
        cancelled.append(task)
    cancel_records(session, in_fallout, reason)  # its fallout record ends with it
    return cancelled


def refuse_not_compensable(session: PlanSession, tasks: Sequence[Task]) -> None:
    """``NOT_COMPENSABLE`` naming each automatic task with an effect whose handler has no undo."""
    handlers = session.orchestrator.registry.handlers
    errors = []
    for task in tasks:
        if task.kind != TaskKinds.AUTOMATIC or not needs_undo(session.plan, task):
            continue
        handler = handlers.get(task.handler) if task.handler else None
        if handler is None or handler.undo is None:
            errors.append(
                FieldError(
                    "tasks",
                    f"task {task.key!r} ({task.name}) completed its work and its handler {task.handler!r} cannot undo it",
                    ChangeErrorCode.NOT_COMPENSABLE,
                )
            )
    if errors:
        raise ValidationFailed(errors)


def downstream_running(plan: OrderPlan, task: Task) -> bool:
    """Whether work that depends on ``task`` (a successor, transitively) is running: its effect may
    build on this task's, so this task's undo must come after that work's own undo."""
    seen: set[int] = set()
    frontier = list(plan.successors.get(task.id, ()))
    while frontier:
        successor_id = frontier.pop()
        if successor_id in seen:
            continue
        seen.add(successor_id)
        successor = plan.tasks.get(successor_id)
        if successor is None:
            continue
        if successor.state == TaskStates.IN_PROGRESS and successor.mode != TaskModes.UNDO and not successor.finish_blocked:
            return True
        frontier.extend(plan.successors.get(successor_id, ()))
    return False


def undo_tasks(
    session: PlanSession,
    tasks: Sequence[Task],
    *,
    reason: str,
    revision_id: int | None = None,
    defer_running: bool = False,
) -> list[Task]:
    """Plan one undo task per given task with an effect (module docstring), in reverse
    dependency order, added to the session's plan and inserted; returns them (possibly none).
    Raises ``NOT_COMPENSABLE`` (nothing planned) for an automatic task whose handler has no undo.
    ``defer_running``: a task with running work downstream (:func:`downstream_running`) is left
    for a later call, made once that work has finished, so that its undo and the running work's
    are planned together, in order (the cancellation's settlement calls again at every close)."""
    refuse_not_compensable(session, tasks)
    plan = session.plan
    originals = sorted({t.id: t for t in tasks if needs_undo(plan, t)}.values(), key=lambda t: t.id)
    if defer_running:
        originals = [t for t in originals if not downstream_running(plan, t)]
    if not originals:
        return []
    uow = session.uow
    ids = reserve_ids(uow.session, Task, len(originals))
    undo_by_original: dict[int, Task] = {}
    for original, task_id in zip(originals, ids, strict=True):
        undo_by_original[original.id] = Task(
            id=task_id,
            order_id=original.order_id,
            domain_order_id=original.domain_order_id,
            key=original.key,
            name=(UNDO_PREFIX + original.name)[:200],
            kind=original.kind,
            handler=original.handler,
            state=TASK.initial,
            attempts=0,
            max_attempts=original.max_attempts,
            idempotency_key=new_task_key(),
            planned_seconds=original.planned_seconds,
            duration_seconds=original.duration_seconds,
            assignment_group=original.assignment_group if original.kind == TaskKinds.MANUAL else None,
            mode=TaskModes.UNDO,
            compensates_id=original.id,
            revision_id=revision_id,
            ponr=None,
        )
    # Open undos planned earlier (another revision) of the originals' successors: wait for them too.
    earlier = {
        t.compensates_id: t
        for t in plan.tasks.values()
        if t.mode == TaskModes.UNDO and t.compensates_id is not None and t.state not in TASK.terminal
    }
    dependencies: list[TaskDependency] = []
    for original in originals:
        waits_for: set[int] = set()
        seen: set[int] = set()
        frontier = list(plan.successors.get(original.id, ()))
        while frontier:
            successor_id = frontier.pop()
            if successor_id in seen:
                continue
            seen.add(successor_id)
            if successor_id in undo_by_original:
                waits_for.add(undo_by_original[successor_id].id)
                continue  # the nearest undone successor on this path: its own undo waits for the rest
            if successor_id in earlier:
                waits_for.add(earlier[successor_id].id)
            frontier.extend(plan.successors.get(successor_id, ()))
        undo = undo_by_original[original.id]
        dependencies.extend(
            TaskDependency(task_id=undo.id, predecessor_id=p, dependency_type=DependencyTypes.FINISH_TO_START, lag_seconds=0)
            for p in sorted(waits_for)
        )
    new = list(undo_by_original.values())
    plan.extend(tasks=new, dependencies=dependencies)
    uow.add_new([*new, *dependencies])
    session.schedule_dirty = True
    record_planned(uow, session.order, new, "planUndo", {"reason": reason[:500]})
    return new


def record_planned(uow: UnitOfWork, order: Order, tasks: Sequence[Task], event: str, detail: Mapping[str, Any]) -> None:
    """One TaskStateChangeEvent per task change management planned (``planUndo``, ``planRevision``),
    naming its mode and the task it compensates."""
    for task in tasks:
        uow.record(
            order,
            ev.TASK_STATE_CHANGE,
            entity_kind="task",
            entity_id=task.id,
            actor=SYSTEM_ACTOR,
            to_state=task.state,
            payload={"event": event, "mode": task.mode, "compensates": task.compensates_id, "taskKey": task.key, **detail},
        )
