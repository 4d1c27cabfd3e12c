"""The TMF622 customer order and order line machines."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import Effect, Guard, StateMachine, States, t
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import bind
from om_graph.core.ordering.error_codes import OrderingErrorCode
from om_graph.core.ordering.models import Order, OrderLine

CAPTURE_ROLES = roles_with(Permission.ORDER_CAPTURE)
APPROVE_ROLES = roles_with(Permission.ORDER_APPROVE)  # approve a level, or send the order back (core/lifecycle/approval.py)
HOLD_ROLES = roles_with(Permission.ORDER_HOLD)  # hold and resume in-flight work (core/fulfilment/holds.py)
CANCEL_ROLES = roles_with(Permission.ORDER_CANCEL)  # request the cancellation of an order or a line (core/change)


class OrderStates(States):
    DRAFT = "draft"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    HELD = "held"  # a manager (or fallout) stopped its work: no task is claimed until resumed
    PENDING = "pending"  # waits for information (ProductOrderInformationRequiredEvent); built work runs
    # Cancellation (core/change): assessed (PONR, the compensation), then compensated, then cancelled;
    # a denied request restores the state stored in ``previous_state``.
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"
    CANCELLED = "cancelled"


class LineStates(States):
    DRAFT = "draft"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    FAILED = "failed"
    HELD = "held"
    PENDING = "pending"
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"
    CANCELLED = "cancelled"


S = OrderStates


def _bump_version(order: Order) -> None:
    order.version += 1


def _stamp_completed(order: Order) -> None:
    order.completed_at = utcnow()


BUMP_VERSION = Effect("bumpVersion", _bump_version)  # what the client's expectedVersion compares
STAMP_COMPLETED = Effect("stampCompleted", _stamp_completed)


def _previous_was(state: str) -> Guard:
    """A denied cancellation goes back to the state the request found (``previous_state``)."""
    return Guard(
        f"previousWas{state[0].upper()}{state[1:]}",
        lambda entity, _actor: entity.previous_state == state,
        OrderingErrorCode.NOT_PREVIOUS_STATE,
        f"the cancellation request found it in another state than {state}",
    )


# Where a cancellation may be requested from, and the event that restores each when it is denied.
CANCELLABLE = (S.ACKNOWLEDGED, S.IN_PROGRESS, S.PENDING, S.HELD)
RESTORE_EVENTS = {state: f"denyCancellation{state[0].upper()}{state[1:]}" for state in CANCELLABLE}
DRAFT_ONLY = Guard(
    "draftOnly",
    lambda order, _actor: order.state == S.DRAFT,
    OrderingErrorCode.NOT_DRAFT,
    "only draft orders can be edited (this one is {state})",
)

# TMF622 customer order (v5, with draft). Cancellation, hold and revision arrive with their issues.
ORDER = StateMachine(
    "order",
    OrderStates,
    initial=S.DRAFT,
    terminal={S.COMPLETED, S.FAILED, S.PARTIAL, S.REJECTED, S.CANCELLED},
    effects=[BUMP_VERSION],
    transitions=[
        t(S.DRAFT, "edit", S.DRAFT, CAPTURE_ROLES, guards=[DRAFT_ONLY], records=ev.ORDER_ATTRIBUTE_CHANGE),
        t(S.DRAFT, "submit", S.ACKNOWLEDGED, CAPTURE_ROLES),
        t(S.DRAFT, "discard", S.CANCELLED, CAPTURE_ROLES, records=ev.ORDER_DELETE),  # TMF622 DELETE of a draft
        t(S.ACKNOWLEDGED, "reject", S.REJECTED),
        t(S.ACKNOWLEDGED, "start", S.IN_PROGRESS),
        # Approval (lifecycle/approval.py): a level approved (the order's approval event, and a
        # version bump), or the order sent back to the agent: a draft again, editable, resubmittable.
        t(S.ACKNOWLEDGED, "approve", S.ACKNOWLEDGED, APPROVE_ROLES, records=ev.ORDER_APPROVAL),
        t(S.ACKNOWLEDGED, "sendBack", S.DRAFT, APPROVE_ROLES),
        t(S.IN_PROGRESS, "complete", S.COMPLETED, effects=[STAMP_COMPLETED]),
        t(S.IN_PROGRESS, "fail", S.FAILED, effects=[STAMP_COMPLETED]),
        t(S.IN_PROGRESS, "completePartially", S.PARTIAL, effects=[STAMP_COMPLETED]),
        # Fulfilment control (core/fulfilment/holds.py): held by a manager or by fallout, pending on information.
        t(S.IN_PROGRESS, "hold", S.HELD, HOLD_ROLES),
        t(S.HELD, "resume", S.IN_PROGRESS, HOLD_ROLES),
        t(S.IN_PROGRESS, "awaitInformation", S.PENDING),
        t(S.PENDING, "informationProvided", S.IN_PROGRESS, CAPTURE_ROLES),
        # Cancellation (core/change): the requester's roles on the request; the rest is the system's.
        t(CANCELLABLE, "requestCancellation", S.ASSESSING_CANCELLATION, CANCEL_ROLES),
        t(S.ASSESSING_CANCELLATION, "acceptCancellation", S.PENDING_CANCELLATION),
        *(t(S.ASSESSING_CANCELLATION, event, state, guards=[_previous_was(state)]) for state, event in RESTORE_EVENTS.items()),
        t(S.PENDING_CANCELLATION, "cancel", S.CANCELLED, effects=[STAMP_COMPLETED]),
        t(S.PENDING_CANCELLATION, "cancellationFailed", S.IN_PROGRESS),
    ],
)

L = LineStates

# TMF622 order item: no partial at item level (v4).
LINE = StateMachine(
    "order line",
    LineStates,
    initial=L.DRAFT,
    terminal={L.COMPLETED, L.FAILED, L.REJECTED, L.CANCELLED},
    transitions=[
        t(L.DRAFT, "submit", L.ACKNOWLEDGED, CAPTURE_ROLES),
        t(L.DRAFT, "discard", L.CANCELLED, CAPTURE_ROLES),  # with its order
        t(L.ACKNOWLEDGED, "reject", L.REJECTED),
        t(L.ACKNOWLEDGED, "start", L.IN_PROGRESS),
        t(L.ACKNOWLEDGED, "sendBack", L.DRAFT, APPROVE_ROLES),  # with its order
        t(L.IN_PROGRESS, "complete", L.COMPLETED),
        t((L.IN_PROGRESS, L.HELD, L.PENDING), "fail", L.FAILED),  # held/pending: fallout's give-up
        t(L.IN_PROGRESS, "hold", L.HELD, HOLD_ROLES),
        t(L.HELD, "resume", L.IN_PROGRESS, HOLD_ROLES),
        t((L.ACKNOWLEDGED, L.IN_PROGRESS), "awaitInformation", L.PENDING),
        t(L.PENDING, "informationProvided", L.IN_PROGRESS, CAPTURE_ROLES),
        # Cancellation of the line, or with its order (core/change), as the order's.
        t(CANCELLABLE, "requestCancellation", L.ASSESSING_CANCELLATION, CANCEL_ROLES),
        t(L.ASSESSING_CANCELLATION, "acceptCancellation", L.PENDING_CANCELLATION),
        *(t(L.ASSESSING_CANCELLATION, event, state, guards=[_previous_was(state)]) for state, event in RESTORE_EVENTS.items()),
        t(L.PENDING_CANCELLATION, "cancel", L.CANCELLED),
        t(L.PENDING_CANCELLATION, "cancellationFailed", L.IN_PROGRESS),
    ],
)

# A customer's open orders: those that may still change what the customer has.
OPEN_ORDER_STATES = tuple(sorted(ORDER.states - ORDER.terminal))

bind(Order, ORDER, kind="order", event_type=ev.ORDER_STATE_CHANGE)
bind(OrderLine, LINE, kind="line", event_type=ev.ITEM_STATE_CHANGE)
