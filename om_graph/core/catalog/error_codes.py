"""Error codes for input that does not conform to the catalog's definitions."""

from __future__ import annotations

from enum import StrEnum


class CatalogErrorCode(StrEnum):
    UNKNOWN_OFFERING = "UNKNOWN_OFFERING"
    UNKNOWN_CHARACTERISTIC = "UNKNOWN_CHARACTERISTIC"
    VALUE_NOT_ALLOWED = "VALUE_NOT_ALLOWED"  # not one of the characteristic's allowed values
    PATTERN_MISMATCH = "PATTERN_MISMATCH"  # a string value the characteristic's pattern does not fully match
    CARDINALITY = "CARDINALITY"  # a relationship count outside the specification's min..max
    INVALID_ACTION = "INVALID_ACTION"  # not one of the line actions the catalog knows
    BUSINESS_RULE = "BUSINESS_RULE"  # a pack's business validator's LineIssue without a code of its own
