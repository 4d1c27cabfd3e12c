"""The shape rules of an order's input that need no catalog: lengths, counts, characteristic
values as JSON scalars. Every API checks its input with them before it opens a transaction
(GraphQL's schema/inputs.py, the TMF facade), so a bad value is a typed error, never a database
failure; the catalog's rules (a specification's maxLength, allowed values) are the validator's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from om_graph.core.catalog.definitions import STRING_MAX_LENGTH_CEILING
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.ordering.commands import MAX_CHARACTERISTICS, MAX_LINES

MAX_KEY_LENGTH = 100  # offering keys
MAX_CHARACTERISTIC_NAME_LENGTH = 100


def too_long(value: str | None, limit: int, field: str) -> FieldError | None:
    if value is not None and len(value) > limit:
        return FieldError(field, f"at most {limit} characters", CommonErrorCode.TOO_LONG)
    return None


def value_error(value: Any, field: str) -> FieldError | None:
    """Characteristic values are JSON scalars; strings are bounded by the catalog's ceiling."""
    if value is not None and (isinstance(value, float) and value != value or not isinstance(value, (str, int, float, bool))):
        return FieldError(field, "must be a string, number or boolean", CommonErrorCode.INVALID_TYPE)
    if isinstance(value, str):
        return too_long(value, STRING_MAX_LENGTH_CEILING, field)
    return None


def characteristic_values(pairs: Iterable[tuple[str, Any]], path: str) -> dict[str, Any]:
    """Name/value pairs as a line's characteristics, or ValidationFailed naming each problem."""
    items = list(pairs)
    if len(items) > MAX_CHARACTERISTICS:
        raise ValidationFailed.single(path, f"at most {MAX_CHARACTERISTICS} characteristics", CommonErrorCode.TOO_MANY)
    result: dict[str, Any] = {}
    errors = []
    for name, value in items:
        if len(name) > MAX_CHARACTERISTIC_NAME_LENGTH:
            message = f"a characteristic name has more than {MAX_CHARACTERISTIC_NAME_LENGTH} characters"
            errors.append(FieldError(path, message, CommonErrorCode.TOO_LONG))
            continue
        field = f"{path}.{name}"
        if name in result:
            errors.append(FieldError(field, "given twice", CommonErrorCode.DUPLICATE))
        problem = value_error(value, field)
        if problem is not None:
            errors.append(problem)
        result[name] = value
    if errors:
        raise ValidationFailed(errors)
    return result


def line_count_error(count: int, field: str = "lines") -> FieldError | None:
    if count > MAX_LINES:
        return FieldError(field, f"at most {MAX_LINES} lines", CommonErrorCode.TOO_MANY)
    return None
