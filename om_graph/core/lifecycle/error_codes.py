"""Error codes the lifecycle raises: manual enrichment tasks and approval."""

from __future__ import annotations

from enum import StrEnum


class LifecycleErrorCode(StrEnum):
    TASK_NOT_OPEN = "TASK_NOT_OPEN"  # an enrichment task already completed or cancelled
    NOT_WAITING_FOR_APPROVAL = "NOT_WAITING_FOR_APPROVAL"  # approve/reject: the order does not wait for approval
    SELF_APPROVAL = "SELF_APPROVAL"  # whoever submitted (or created) an order may not decide its approval
    APPROVER_ALREADY_DECIDED = "APPROVER_ALREADY_DECIDED"  # one person, one level of a round
    NOT_THE_LEVELS_APPROVER = "NOT_THE_LEVELS_APPROVER"  # the level waits for another role
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"  # orderResume does not continue an approval wait
