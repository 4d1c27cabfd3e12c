"""Error codes the ordering context raises (capture, edits, submission)."""

from __future__ import annotations

from enum import StrEnum


class OrderingErrorCode(StrEnum):
    NOT_DRAFT = "NOT_DRAFT"  # only a draft order can be edited
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # the key names an order with other input
    DUPLICATE_PRODUCT = "DUPLICATE_PRODUCT"  # two lines change the same product
    QUANTITY_OUT_OF_RANGE = "QUANTITY_OUT_OF_RANGE"
    NOT_WAITING = "NOT_WAITING"  # only an order waiting in a stage can be resumed
    NOT_PREVIOUS_STATE = "NOT_PREVIOUS_STATE"  # a denied cancellation restores only the state it found
