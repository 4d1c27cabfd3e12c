"""Error codes of fulfilment: refused task completions and why a task failed (``Task.errorCode``)."""

from __future__ import annotations

from enum import StrEnum


class FulfilmentErrorCode(StrEnum):
    NOT_MANUAL = "NOT_MANUAL"  # automatic tasks are completed by workers
    HANDLER_ERROR = "HANDLER_ERROR"  # the handler raised something other than TaskHandlerError
    HANDLER_FAILED = "HANDLER_FAILED"  # TaskHandlerError's default code
    UNKNOWN_HANDLER = "UNKNOWN_HANDLER"  # the task names a handler no loaded pack provides
    WORKER_LOST = "WORKER_LOST"  # the worker running the task stopped renewing its lease
