"""The stages a submitted order passes before fulfilment, as a machine over ``customer_order.stage``.

validation → enrichment → approval → decomposition → orchestration. Enrichment (a missing
characteristic, or manual enrichment tasks) and approval (approvers) can wait; a waiting stage stores what it waits for in
``stage_waiting_for`` and resumes to the same stage, which then runs again. The order's TMF state
stays ``acknowledged`` until orchestration starts. Stage changes are not the order's TMF state
changes: they are recorded as one attribute-change event per writing transaction.
"""

from __future__ import annotations

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import Effect, StateMachine, States, t
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order


class Stages(States):
    VALIDATION = "validation"
    ENRICHMENT = "enrichment"
    ENRICHMENT_WAITING = "enrichmentWaiting"
    APPROVAL = "approval"
    APPROVAL_WAITING = "approvalWaiting"
    DECOMPOSITION = "decomposition"
    ORCHESTRATION = "orchestration"


# Who may resume an order waiting in enrichment (orderResume); an approval wait is continued only
# by its approvers (orderApprove, orderReject: core/lifecycle/approval.py).
RESUME_ROLES = roles_with(Permission.ORDER_RESUME)
TASK_ROLES = roles_with(Permission.TASK_COMPLETE)  # the last manual enrichment task completed
APPROVE_ROLES = roles_with(Permission.ORDER_APPROVE)

S = Stages
STAGES = StateMachine(
    "order stage",
    Stages,
    initial=S.VALIDATION,
    terminal={S.ORCHESTRATION},
    transitions=[
        t(S.VALIDATION, "validated", S.ENRICHMENT),
        t(S.ENRICHMENT, "enriched", S.APPROVAL),
        t(S.ENRICHMENT, "awaitCharacteristic", S.ENRICHMENT_WAITING),
        t(S.ENRICHMENT, "awaitTasks", S.ENRICHMENT_WAITING),
        t(S.ENRICHMENT_WAITING, "resumeEnrichment", S.ENRICHMENT, RESUME_ROLES),
        t(S.ENRICHMENT_WAITING, "tasksCompleted", S.ENRICHMENT, TASK_ROLES),
        t(S.APPROVAL, "cleared", S.DECOMPOSITION),
        t(S.APPROVAL, "awaitApproval", S.APPROVAL_WAITING),
        t(S.APPROVAL_WAITING, "approved", S.APPROVAL, APPROVE_ROLES),
        t(S.APPROVAL_WAITING, "sentBack", S.VALIDATION, APPROVE_ROLES),
        t(S.DECOMPOSITION, "decomposed", S.ORCHESTRATION),
    ],
    effects=[Effect("stage changed at", lambda order: setattr(order, "stage_changed_at", utcnow()))],
)

# Per active stage: the event that passes it, and the one that makes it wait (if it can); per
# waiting stage that orderResume continues, the event that resumes it (approval: only its
# approvers, through APPROVED and SENT_BACK).
PASS = {S.VALIDATION: "validated", S.ENRICHMENT: "enriched", S.APPROVAL: "cleared", S.DECOMPOSITION: "decomposed"}
WAIT = {S.ENRICHMENT: "awaitCharacteristic", S.APPROVAL: "awaitApproval"}
AWAIT_TASKS = "awaitTasks"  # enrichment waits for manual enrichment tasks
TASKS_COMPLETED = "tasksCompleted"
APPROVED = "approved"
SENT_BACK = "sentBack"
RESUME = {S.ENRICHMENT_WAITING: "resumeEnrichment"}
WAITING = frozenset({S.ENRICHMENT_WAITING, S.APPROVAL_WAITING})


def move_stage(order: Order, events: list[str], actor: Actor) -> None:
    """Move the order's stage through ``events`` (the machine checks each and the actor's roles)."""
    for event in events:
        transition = STAGES.enter(order, order.stage, event, actor)
        order.stage = transition.target
        for effect in STAGES.effects_of(transition):
            effect.apply(order)


def record_stage(uow: UnitOfWork, order: Order, previous: str, events: list[str], actor: Actor = SYSTEM_ACTOR) -> None:
    """One event per stage write: the stages passed, and what the order now waits for."""
    if not events:
        return
    uow.record(
        order,
        ev.ORDER_ATTRIBUTE_CHANGE,
        entity_kind="order",
        entity_id=order.id,
        actor=actor,
        payload={"stage": order.stage, "previousStage": previous, "events": events, "waitingFor": order.stage_waiting_for},
    )
