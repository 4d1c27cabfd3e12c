"""Domain errors. Codes are part of the API contract (they reach GraphQL payloads unchanged).

A code is a member of a context's ``error_codes`` enum (a StrEnum, so it is the string itself) or,
for a pack's business validator or handler, the pack's own string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

from om_graph.core.kernel.db import write_lock_held_here
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.uow import write_transaction_open


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str


class DomainError(Exception):
    """An expected failure of a use case; never masked, never half-applied."""

    code: str = CommonErrorCode.DOMAIN_ERROR

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(self.field or "", self.message, self.code)]


class ValidationFailed(DomainError):
    """Input failed validation; carries one error per offending field."""

    code = CommonErrorCode.INVALID

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self._errors = errors

    @property
    def errors(self) -> list[FieldError]:
        return self._errors

    @classmethod
    def single(cls, field: str, message: str, code: str) -> ValidationFailed:
        return cls([FieldError(field, message, code)])


class NotFound(DomainError):
    code = CommonErrorCode.NOT_FOUND


class InvalidTransition(DomainError):
    code = CommonErrorCode.INVALID_STATE


class Conflict(DomainError):
    code = CommonErrorCode.CONFLICT


class PluginConfigurationError(Exception):
    """Installed packs disagree (duplicate keys, unknown references); startup stops."""


class PluginCallFailed(Exception):
    """A pack's validator, enrichment step or decomposition rule raised or returned bad data.
    The order cannot be processed as configured, so it is rejected with this reason rather
    than retried for ever."""

    def __init__(self, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.errors = errors or [FieldError("", message, CommonErrorCode.PLUGIN_ERROR)]


class PackCodeUnderLock(RuntimeError):
    """Pack code was about to run with a writing transaction open in this thread: it would hold
    the order's row (PostgreSQL) or the process's write lock (SQLite) for as long as it takes.
    A programming error: run the pack code first, then write."""


def refuse_pack_code_under_lock(what: str) -> None:
    if write_transaction_open() or write_lock_held_here():
        raise PackCodeUnderLock(f"{what} called inside a writing transaction")


_R = TypeVar("_R")
_Args = TypeVarTuple("_Args")


def call_plugin(what: str, fn: Callable[[*_Args], _R], *args: *_Args) -> _R:
    """Call pack code (never inside a writing transaction); any exception becomes
    PluginCallFailed naming the extension."""
    refuse_pack_code_under_lock(what)
    try:
        return fn(*args)
    except Exception as exc:
        raise PluginCallFailed(f"{what} raised {type(exc).__name__}: {exc}") from exc
