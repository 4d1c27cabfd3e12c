"""Error codes of fulfilment: refused task completions and why a task failed (``Task.errorCode``)."""

from __future__ import annotations

from enum import StrEnum


class FulfilmentErrorCode(StrEnum):
    NOT_MANUAL = "NOT_MANUAL"  # automatic tasks are completed by workers
    HANDLER_ERROR = "HANDLER_ERROR"  # the handler raised something other than TaskHandlerError
    HANDLER_FAILED = "HANDLER_FAILED"  # TaskHandlerError's default code
    UNKNOWN_HANDLER = "UNKNOWN_HANDLER"  # the task names a handler no loaded pack provides
    WORKER_LOST = "WORKER_LOST"  # the worker running the task stopped renewing its lease
    FALLOUT_NO_TASK = "FALLOUT_NO_TASK"  # a fallout action on a record with no task to retry, skip or resolve (fallout.py)
    # Work queues and holds (core/fulfilment/queues.py, holds.py).
    HELD = "HELD"  # the task's order or line is held: resume it first
    NOT_ASSIGNEE = "NOT_ASSIGNEE"  # the task is assigned to someone else (its assignee or a manager completes it)
    NOT_IN_GROUP = "NOT_IN_GROUP"  # claiming a task of a group the actor is not in
    NOT_QUEUED = "NOT_QUEUED"  # the task is not open manual work (automatic, or finished)
    NOT_FINISH_BLOCKED = "NOT_FINISH_BLOCKED"  # cancelBlocked of an in-progress task no finish gate holds
    # Staggered decomposition (core/fulfilment/staggered.py).
    ALREADY_SET = "ALREADY_SET"  # supplying a characteristic the line already holds (a change is a modify order)
    NOT_REQUESTED = "NOT_REQUESTED"  # supplying a characteristic no wait / informationRequired of the line asks for
