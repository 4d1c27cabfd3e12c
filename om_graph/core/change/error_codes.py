"""Error codes of change management: refused revisions and cancellations."""

from __future__ import annotations

from enum import StrEnum


class ChangeErrorCode(StrEnum):
    PONR_PASSED = "PONR_PASSED"  # a line is past a hard point of no return (the error names the task)
    PONR_ACKNOWLEDGEMENT_REQUIRED = "PONR_ACKNOWLEDGEMENT_REQUIRED"  # past a soft PONR: acknowledge it (and its charge)
    REVISION_IN_PROGRESS = "REVISION_IN_PROGRESS"  # one revision of an order at a time
    CANCELLATION_IN_PROGRESS = "CANCELLATION_IN_PROGRESS"  # one open cancellation request per order or line
    NOT_REVISABLE = (
        "NOT_REVISABLE"  # the order (or line) is not running: a draft is edited, a finished one changed by a new order
    )
    NOT_CANCELLABLE = "NOT_CANCELLABLE"  # the order or line is in no state a cancellation may start from
    NOT_COMPENSABLE = "NOT_COMPENSABLE"  # completed work whose handler has no undo
    LINE_COMPLETED = "LINE_COMPLETED"  # a completed line is changed by a new (modify / delete) order
    NO_CHANGE = "NO_CHANGE"  # a revision that changes nothing
    WORK_RUNNING = "WORK_RUNNING"  # a task a revision would undo or cancel is running: revise once it finished
    UNKNOWN_REVISION = "UNKNOWN_REVISION"  # no such revision (revisionApprove, revisionReject)
    UNKNOWN_ORDER_VERSION = "UNKNOWN_ORDER_VERSION"  # a diff between versions the order does not have
