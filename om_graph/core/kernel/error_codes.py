"""The error codes every context shares: generic input rules and use-case outcomes.

Each context lists the codes it raises in its own ``error_codes`` module (a StrEnum, so a member
is the very string clients see: ``CommonErrorCode.NOT_FOUND == "NOT_FOUND"``). The API exposes
their union as the GraphQL ``ErrorCode`` enum (``om_graph.schema.errors``); a test checks that
every code literal in core and schema belongs to one of them.
"""

from __future__ import annotations

from enum import StrEnum


class CommonErrorCode(StrEnum):
    DOMAIN_ERROR = "DOMAIN_ERROR"  # DomainError without a more specific code
    INVALID = "INVALID"  # the value breaks a rule the message states
    REQUIRED = "REQUIRED"
    DUPLICATE = "DUPLICATE"
    TOO_LONG = "TOO_LONG"
    TOO_MANY = "TOO_MANY"
    INVALID_TYPE = "INVALID_TYPE"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INVALID_ID = "INVALID_ID"  # not an id of ours, or of another type
    NOT_FOUND = "NOT_FOUND"  # also what a caller gets for a row it may not see
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"  # no transition from the current state
    FORBIDDEN = "FORBIDDEN"
    PLUGIN_ERROR = "PLUGIN_ERROR"  # a pack's code raised or returned bad data
