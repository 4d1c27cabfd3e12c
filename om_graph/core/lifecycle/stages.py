"""The stages a submitted order passes before fulfilment, as a machine over ``customer_order.stage``.

validation → enrichment → approval → decomposition → orchestration. Enrichment (a missing
characteristic) and approval (a person) can wait; a waiting stage stores what it waits for in
``stage_waiting_for`` and resumes to the same stage, which then runs again. The order's TMF state
stays ``acknowledged`` until orchestration starts. Stage changes are not the order's TMF state
changes: they are recorded as one attribute-change event per writing transaction.
"""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel.machine import Effect, StateMachine, States, t
from om_graph.core.kernel.models import utcnow


class Stages(States):
    VALIDATION = "validation"
    ENRICHMENT = "enrichment"
    ENRICHMENT_WAITING = "enrichmentWaiting"
    APPROVAL = "approval"
    APPROVAL_WAITING = "approvalWaiting"
    DECOMPOSITION = "decomposition"
    ORCHESTRATION = "orchestration"


# Who may resume a waiting order (issue 12 narrows approval to approvers).
RESUME_ROLES = roles_with(Permission.ORDER_RESUME)

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
        t(S.ENRICHMENT_WAITING, "resumeEnrichment", S.ENRICHMENT, RESUME_ROLES),
        t(S.APPROVAL, "cleared", S.DECOMPOSITION),
        t(S.APPROVAL, "awaitApproval", S.APPROVAL_WAITING),
        t(S.APPROVAL_WAITING, "resumeApproval", S.APPROVAL, RESUME_ROLES),
        t(S.DECOMPOSITION, "decomposed", S.ORCHESTRATION),
    ],
    effects=[Effect("stage changed at", lambda order: setattr(order, "stage_changed_at", utcnow()))],
)

# Per active stage: the event that passes it, and the one that makes it wait (if it can); per
# waiting stage, the event that resumes it.
PASS = {S.VALIDATION: "validated", S.ENRICHMENT: "enriched", S.APPROVAL: "cleared", S.DECOMPOSITION: "decomposed"}
WAIT = {S.ENRICHMENT: "awaitCharacteristic", S.APPROVAL: "awaitApproval"}
RESUME = {S.ENRICHMENT_WAITING: "resumeEnrichment", S.APPROVAL_WAITING: "resumeApproval"}
WAITING = frozenset(RESUME)
