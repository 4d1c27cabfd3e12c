"""The decisions context's errors: a definition that does not validate, an input of the wrong
type, an unknown table; all are domain errors, so they reach GraphQL payloads as field errors."""

from __future__ import annotations

from om_graph.core.decisions.error_codes import DecisionsErrorCode
from om_graph.core.kernel.errors import DomainError, FieldError, ValidationFailed


class DecisionError(DomainError):
    """Any failure of the decisions context."""


class UnknownDecisionTable(DecisionError):
    code = DecisionsErrorCode.UNKNOWN_DECISION_TABLE

    def __init__(self, name: str, *, field: str | None = "name"):
        super().__init__(f"no decision table {name!r}", field=field)
        self.name = name


class DecisionTableInvalid(ValidationFailed, DecisionError):
    """A definition that does not validate; one error per offending rule/column
    (``rules.3.when.bandwidth``, ``outputs.1.type``, ``hitPolicy`` ...)."""

    def __init__(self, errors: list[FieldError], *, table: str = ""):
        super().__init__(errors)
        self.table = table


class DecisionInputInvalid(ValidationFailed, DecisionError):
    """An input value of the wrong type for its column (``inputs.<column>``)."""

    def __init__(self, errors: list[FieldError], *, table: str = ""):
        super().__init__(errors)
        self.table = table
