"""The lifecycle's machines: manual enrichment tasks and approval steps.

An enrichment task's transitions are fired (``kernel.transitions.fire``: one event each, naming
the actor). An approval step moves with its order's transition (``approve``/``sendBack`` of
``ordering.states.ORDER``), which records the approval's one event; the step is entered
through this table the way the stage machine is (``APPROVAL_STEP.enter``)."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel.machine import StateMachine, States, t
from om_graph.core.kernel.transitions import bind
from om_graph.core.lifecycle.models import EnrichmentTask

TASK_ROLES = roles_with(Permission.TASK_COMPLETE)
APPROVE_ROLES = roles_with(Permission.ORDER_APPROVE)

ENRICHMENT_TASK_EVENT = "EnrichmentTaskStateChangeEvent"


class EnrichmentTaskStates(States):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ApprovalStates(States):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # another level of its round was rejected


E = EnrichmentTaskStates
ENRICHMENT_TASK = StateMachine(
    "enrichment task",
    EnrichmentTaskStates,
    initial=E.OPEN,
    terminal={E.COMPLETED, E.CANCELLED},
    transitions=[
        t(E.OPEN, "complete", E.COMPLETED, TASK_ROLES),
        t(E.OPEN, "cancel", E.CANCELLED),
    ],
)

A = ApprovalStates
APPROVAL_STEP = StateMachine(
    "approval step",
    ApprovalStates,
    initial=A.PENDING,
    terminal={A.APPROVED, A.REJECTED, A.CANCELLED},
    transitions=[
        t(A.PENDING, "approve", A.APPROVED, APPROVE_ROLES),
        t(A.PENDING, "reject", A.REJECTED, APPROVE_ROLES),
        t(A.PENDING, "cancel", A.CANCELLED, APPROVE_ROLES),
    ],
)

bind(EnrichmentTask, ENRICHMENT_TASK, kind="enrichmentTask", event_type=ENRICHMENT_TASK_EVENT)
