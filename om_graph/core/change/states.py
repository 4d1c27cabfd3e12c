"""Change management's machines: revisions and cancellation requests (TMF622 TaskStateType)."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.change.models import OPEN_CANCEL_STATES, OPEN_REVISION_STATES, CancelRequest, OrderRevision
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, States, t
from om_graph.core.kernel.transitions import bind

REVISE_ROLES = roles_with(Permission.ORDER_REVISE)
APPROVE_ROLES = roles_with(Permission.ORDER_APPROVE)


class RevisionStates(States):
    ASSESSING = "assessing"  # PONR checked, the diff and the compensation plan computed
    PENDING_APPROVAL = "pendingApproval"  # the approval policy asks for an approver
    IN_PROGRESS = "inProgress"  # applied: the compensation runs through the orchestration
    COMPLETED = "completed"  # the compensation is done: the order runs on its new version
    REJECTED = "rejected"  # refused (PONR, approver) before anything changed
    FAILED = "failed"  # the compensation could not run to its end


class CancelRequestStates(States):
    """TMF622 v4/v5 ``TaskStateType``. ``done`` means assessed with a result (``result``:
    accepted, and the order or line cancelled, or denied, and its state restored)."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    DONE = "done"
    TERMINATED_WITH_ERROR = "terminatedWithError"
    REJECTED = "rejected"  # v5: refused at once (nothing to cancel)


R = RevisionStates
REVISION = StateMachine(
    "revision",
    RevisionStates,
    initial=R.ASSESSING,
    terminal={R.COMPLETED, R.REJECTED, R.FAILED},
    transitions=[
        t(R.ASSESSING, "awaitApproval", R.PENDING_APPROVAL),
        t((R.ASSESSING, R.PENDING_APPROVAL), "apply", R.IN_PROGRESS),
        t(R.PENDING_APPROVAL, "approve", R.IN_PROGRESS, APPROVE_ROLES),
        t(R.ASSESSING, "refuse", R.REJECTED),
        t(R.PENDING_APPROVAL, "reject", R.REJECTED, APPROVE_ROLES),
        t(R.IN_PROGRESS, "complete", R.COMPLETED),
        t(R.IN_PROGRESS, "fail", R.FAILED),
    ],
)

C = CancelRequestStates
CANCEL_REQUEST = StateMachine(
    "cancel request",
    CancelRequestStates,
    initial=C.ACKNOWLEDGED,
    terminal={C.DONE, C.TERMINATED_WITH_ERROR, C.REJECTED},
    transitions=[
        t(C.ACKNOWLEDGED, "start", C.IN_PROGRESS),
        t(C.ACKNOWLEDGED, "reject", C.REJECTED),
        t((C.ACKNOWLEDGED, C.IN_PROGRESS), "finish", C.DONE),
        t(C.IN_PROGRESS, "terminateWithError", C.TERMINATED_WITH_ERROR),
    ],
)

assert set(OPEN_REVISION_STATES) == REVISION.states - REVISION.terminal
assert set(OPEN_CANCEL_STATES) == CANCEL_REQUEST.states - CANCEL_REQUEST.terminal

bind(OrderRevision, REVISION, kind="revision", event_type=ev.REVISION_STATE_CHANGE)
bind(CancelRequest, CANCEL_REQUEST, kind="cancelRequest", event_type=ev.CANCEL_ORDER_STATE_CHANGE)
