"""Domain order and task machines."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, Role, roles_with
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import Effect, Guard, StateMachine, States, t
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import bind

FULFILMENT_ROLES = roles_with(Permission.TASK_COMPLETE)
FALLOUT_WORK_ROLES = roles_with(Permission.FALLOUT_WORK)
DOMAIN_ORDER_CLOSE_ROLES = roles_with(Permission.TASK_ASSIGN)  # fulfilment and fallout managers


class DomainOrderStates(States):
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskStates(States):
    PENDING = "pending"  # waits for its predecessors
    READY = "ready"  # dispatched to a worker (automatic) or open for a fulfilment agent (manual)
    IN_PROGRESS = "inProgress"
    ON_HOLD = "onHold"  # failed after its retry policy: a fallout record is open for it
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Tasks whose SLA clock runs (released, not finished): jeopardy evaluates them, a pause shifts
# their due dates (a pending task's clock starts at its release).
OPEN_TASK_STATES = (TaskStates.READY, TaskStates.IN_PROGRESS, TaskStates.ON_HOLD)


class TaskKinds:
    """Not a machine: how a task is performed."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class TaskModes:
    """Not a machine: what a task's handler is asked to do (``TaskContext.mode``). An ``undo`` task
    compensates one completed task (``Task.compensates_id``; at most one undo per task, a unique
    index says so); a ``redo`` task does a completed task's work again with a revision's values."""

    DO = "do"
    UNDO = "undo"
    REDO = "redo"


D = DomainOrderStates


def _stamp_completed(domain_order: DomainOrder) -> None:
    domain_order.completed_at = utcnow()


STAMP_COMPLETED = Effect("stampCompleted", _stamp_completed)

# Product, service and resource orders (TMF641/TMF652 state set). A completed one is not
# terminal: a revision reopens it for the undo and redo of its work, and a cancellation withdraws
# it once its work is undone (core/change).
DOMAIN_ORDER = StateMachine(
    "domain order",
    DomainOrderStates,
    initial=D.ACKNOWLEDGED,
    terminal={D.FAILED, D.CANCELLED},
    transitions=[
        t(D.ACKNOWLEDGED, "start", D.IN_PROGRESS),
        t((D.ACKNOWLEDGED, D.IN_PROGRESS), "complete", D.COMPLETED, effects=[STAMP_COMPLETED]),
        t((D.ACKNOWLEDGED, D.IN_PROGRESS), "fail", D.FAILED, effects=[STAMP_COMPLETED]),
        t(D.ACKNOWLEDGED, "cancel", D.CANCELLED),
        t(D.COMPLETED, "reopen", D.IN_PROGRESS),  # a revision redoes or undoes its work
        t((D.IN_PROGRESS, D.COMPLETED), "withdraw", D.CANCELLED),  # a cancellation undid its work
    ],
)
# A domain order whose work is over (its span is actual): completed, failed or cancelled.
DOMAIN_ORDER_DONE = frozenset({D.COMPLETED, D.FAILED, D.CANCELLED})

T = TaskStates

# People complete manual tasks only; automatic ones are completed by the workers (the system).
PEOPLE_COMPLETE_MANUAL_ONLY = Guard(
    "peopleCompleteManualOnly",
    lambda task, actor: task.kind == TaskKinds.MANUAL or Role.SYSTEM.value in actor.roles,
    FulfilmentErrorCode.NOT_MANUAL,
    "automatic tasks are completed by workers",
)
# Work queues (core/fulfilment/queues.py): a manual task someone has is completed by them or a
# manager (task:assign; the system too). An unassigned one by anyone who completes tasks.
ASSIGNEE_OR_MANAGER = Guard(
    "assigneeOrManager",
    lambda task, actor: (
        task.kind != TaskKinds.MANUAL
        or getattr(task, "assignee", None) in (None, actor.label)
        or Permission.TASK_ASSIGN in getattr(actor, "permissions", ())
    ),
    FulfilmentErrorCode.NOT_ASSIGNEE,
    "the task is assigned to someone else: its assignee or a manager completes it",
)

# A finish-blocked task (its work done, its completion held by a finish-to-finish or start-to-
# finish gate) is in progress with nothing running it: it is cancelled like pending work when its
# predecessor fails or its line is given up (a running task is not).
FINISH_BLOCKED_ONLY = Guard(
    "finishBlockedOnly",
    lambda task, actor: bool(getattr(task, "finish_blocked", False)),
    FulfilmentErrorCode.NOT_FINISH_BLOCKED,
    "only a task whose completion a finish gate holds is cancelled in progress",
)

TASK = StateMachine(
    "task",
    TaskStates,
    initial=T.PENDING,
    terminal={T.COMPLETED, T.FAILED, T.CANCELLED},
    transitions=[
        t(T.PENDING, "release", T.READY),
        t(T.READY, "start", T.IN_PROGRESS, FULFILMENT_ROLES),
        t(T.IN_PROGRESS, "retry", T.READY),
        t(
            (T.READY, T.IN_PROGRESS),
            "complete",
            T.COMPLETED,
            FULFILMENT_ROLES,
            guards=[PEOPLE_COMPLETE_MANUAL_ONLY, ASSIGNEE_OR_MANAGER],
        ),
        t((T.READY, T.IN_PROGRESS, T.ON_HOLD), "fail", T.FAILED),
        t((T.PENDING, T.READY, T.ON_HOLD), "cancel", T.CANCELLED),
        t(T.IN_PROGRESS, "cancelBlocked", T.CANCELLED, guards=[FINISH_BLOCKED_ONLY]),
        # Fallout (core/fulfilment/fallout.py): the system holds a task whose retry policy is spent.
        t((T.READY, T.IN_PROGRESS), "hold", T.ON_HOLD),
        t(T.ON_HOLD, "retryFallout", T.READY, FALLOUT_WORK_ROLES),
        t(T.ON_HOLD, "skip", T.COMPLETED, FALLOUT_WORK_ROLES),  # by hand: the outputs (or none) the handler would give
        # domainOrderClose: a manager closes the rest of a domain order's work as done, unperformed.
        t((T.PENDING, T.READY, T.IN_PROGRESS, T.ON_HOLD), "closeByHand", T.COMPLETED, DOMAIN_ORDER_CLOSE_ROLES),
    ],
)

bind(DomainOrder, DOMAIN_ORDER, kind="domainOrder", event_type=ev.DOMAIN_ORDER_STATE_CHANGE)
bind(Task, TASK, kind="task", event_type=ev.TASK_STATE_CHANGE)


def cancel_event(task: Task) -> str | None:
    """The event that cancels ``task`` as collateral of a failure (pending, ready, on hold or
    finish-blocked work), or None when nothing cancels it (it runs, or it is finished)."""
    if TASK.can(task.state, "cancel"):
        return "cancel"
    if task.state == T.IN_PROGRESS and task.finish_blocked:
        return "cancelBlocked"
    return None
