"""Order events: one per state transition or notable change, written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OrderEvent:
    """An event as it is announced after commit (to subscribers and the ``om_handle_order_event`` hook)."""

    id: int
    order_id: int
    customer_id: str
    event_type: str
    entity_kind: str
    entity_id: int
    from_state: str | None
    to_state: str | None
    actor: str
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    # Position in commit order: gapless and increasing across all orders (EventRecord.sequence).
    sequence: int = 0


# Event types (TMF622 listener names where one exists).
ORDER_CREATE = "ProductOrderCreateEvent"
ORDER_ATTRIBUTE_CHANGE = "ProductOrderAttributeValueChangeEvent"
ORDER_STATE_CHANGE = "ProductOrderStateChangeEvent"
ORDER_DELETE = "ProductOrderDeleteEvent"  # a draft discarded (TMF622 DELETE)
ITEM_STATE_CHANGE = "ProductOrderItemStateChangeEvent"
DOMAIN_ORDER_STATE_CHANGE = "DomainOrderStateChangeEvent"
TASK_STATE_CHANGE = "TaskStateChangeEvent"
ERROR_MESSAGE = "ProductOrderErrorMessageEvent"
JEOPARDY_ALERT = "ProductOrderJeopardyAlertEvent"
PRODUCT_STATE_CHANGE = "ProductStateChangeEvent"
AGREEMENT_STATE_CHANGE = "AgreementStateChangeEvent"
ENTITLEMENT_STATE_CHANGE = "EntitlementStateChangeEvent"
ORDER_APPROVAL = "ProductOrderApprovalEvent"  # a level of an approval round approved (lifecycle/approval.py)
INFORMATION_REQUIRED = "ProductOrderInformationRequiredEvent"  # a line pending on information (field paths)
FALLOUT_STATE_CHANGE = "FalloutStateChangeEvent"  # a fallout record created or moved (fulfilment/fallout.py)
EXPECTED_COMPLETION_CHANGE = "ProductOrderExpectedCompletionDateChangeEvent"  # a revision, with its reason
# Change management (core/change).
REVISION_STATE_CHANGE = "ProductOrderRevisionStateChangeEvent"  # an in-flight revision created or moved
CANCEL_ORDER_CREATE = "CancelProductOrderCreateEvent"  # TMF622: a cancellation request received
CANCEL_ORDER_STATE_CHANGE = "CancelProductOrderStateChangeEvent"  # TMF622: the request moved
PONR_REACHED = "ProductOrderPointOfNoReturnEvent"  # a line passed a point of no return (naming the task)
