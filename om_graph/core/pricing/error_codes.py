"""Error codes the pricing context gives (price lists, matrices, adjustments)."""

from __future__ import annotations

from enum import StrEnum


class PricingErrorCode(StrEnum):
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # the lines (or the products they change) are priced in different currencies
    NO_PRICE_LIST = "NO_PRICE_LIST"  # no valid price list for the order's audience prices all its lines
    NOT_PRICED = "NOT_PRICED"  # the chosen price list has no price for this offering
    NO_MATRIX_PRICE = "NO_MATRIX_PRICE"  # the pricing matrix has no row for these characteristic values
    UNKNOWN_CHARGE_TYPE = "UNKNOWN_CHARGE_TYPE"  # an adjustment names a charge the line or order does not have
    NEGATIVE_PRICE = "NEGATIVE_PRICE"  # a discount would make a price negative
    ADJUSTMENT_NOT_ALLOWED = "ADJUSTMENT_NOT_ALLOWED"  # manual adjustments need the price:adjust permission
