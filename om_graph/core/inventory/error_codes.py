"""Error codes about an inventory product an order refers to."""

from __future__ import annotations

from enum import StrEnum


class InventoryErrorCode(StrEnum):
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"  # none of the customer's products has that id
    PRODUCT_NOT_ACTIVE = "PRODUCT_NOT_ACTIVE"  # modify, delete or suspend of a product that is neither active nor suspended
    PRODUCT_PENDING = "PRODUCT_PENDING"  # created, pendingActive or pendingTerminate: its own order is still at work
    PRODUCT_ALREADY_SUSPENDED = "PRODUCT_ALREADY_SUSPENDED"  # suspend of a suspended product
    PRODUCT_NOT_SUSPENDED = "PRODUCT_NOT_SUSPENDED"  # resume of a product that is not suspended
    SUSPEND_PENDING = "SUSPEND_PENDING"  # resume of a product whose suspend still waits: cancel that suspend line instead
    NOT_IN_FAMILY = "NOT_IN_FAMILY"  # a modify line names an offering outside the product's offering family
    TIER_CHANGE_SPECIFICATION = "TIER_CHANGE_SPECIFICATION"  # the new tier's product specification is another
    PRODUCT_BUSY = "PRODUCT_BUSY"  # another open order is changing it
