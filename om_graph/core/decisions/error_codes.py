"""Error codes the decisions context raises: a table that does not validate (naming the rule and
column), an input of the wrong type, and the table/version management use cases."""

from __future__ import annotations

from enum import StrEnum


class DecisionsErrorCode(StrEnum):
    # validation of a definition
    INVALID_TABLE_NAME = "INVALID_TABLE_NAME"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"  # two input (or two output) columns of one name
    UNKNOWN_COLUMN_TYPE = "UNKNOWN_COLUMN_TYPE"
    UNKNOWN_HIT_POLICY = "UNKNOWN_HIT_POLICY"
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"  # a rule names a column the table does not have
    UNKNOWN_CONDITION = "UNKNOWN_CONDITION"  # an operator other than equals/in/range/any
    VALUE_TYPE_MISMATCH = "VALUE_TYPE_MISMATCH"  # a value is not of its column's type
    EMPTY_IN = "EMPTY_IN"  # ``in`` with no values
    RANGE_INVERTED = "RANGE_INVERTED"  # minimum above maximum, or a range that matches nothing
    RANGE_NOT_ORDERED = "RANGE_NOT_ORDERED"  # a range over a string or boolean column
    RANGE_UNBOUNDED = "RANGE_UNBOUNDED"  # a range with neither bound: that is ``any``
    OVERLAPPING_RULES = "OVERLAPPING_RULES"  # under ``unique``, two rules can match one input
    NO_OUTPUTS = "NO_OUTPUTS"
    INTERFACE_CHANGED = "INTERFACE_CHANGED"  # a version drops or retypes a column its consumer reads
    # evaluation
    INPUT_TYPE_MISMATCH = "INPUT_TYPE_MISMATCH"
    UNKNOWN_DECISION_TABLE = "UNKNOWN_DECISION_TABLE"
    # management
    DECISION_TABLE_EXISTS = "DECISION_TABLE_EXISTS"
    DRAFT_EXISTS = "DRAFT_EXISTS"
    NO_DRAFT = "NO_DRAFT"
    UNKNOWN_VERSION = "UNKNOWN_VERSION"
    VERSION_NOT_RETIRED = "VERSION_NOT_RETIRED"  # rollback names the active version or a draft
    STALE_DRAFT = "STALE_DRAFT"  # the draft changed since the editor read it
