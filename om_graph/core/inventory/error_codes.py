"""Error codes about an inventory product an order refers to."""

from __future__ import annotations

from enum import StrEnum


class InventoryErrorCode(StrEnum):
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"  # none of the customer's products has that id
    PRODUCT_NOT_ACTIVE = "PRODUCT_NOT_ACTIVE"
    PRODUCT_BUSY = "PRODUCT_BUSY"  # another open order is changing it
