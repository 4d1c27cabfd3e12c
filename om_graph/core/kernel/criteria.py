"""Filters of a list read, independent of any API: ``Criterion(field, op, values)`` over the
columns a read declares (:func:`where`); an unknown field or operator is a ``ValidationFailed``.

``eq`` matches any of ``values`` (``None`` among them: the column is null), ``ne`` none of them
(non-null values); ``gt``, ``gte``,
``lt``, ``lte`` compare with the one value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Criterion:
    field: str
    op: str
    values: tuple[Any, ...]


def where(columns: Mapping[str, Any], criteria: Iterable[Criterion]) -> list[ColumnElement[bool]]:
    """The SQL conditions of ``criteria`` (ANDed by the caller) over ``columns`` (field -> column)."""
    conditions: list[ColumnElement[bool]] = []
    for criterion in criteria:
        column = columns.get(criterion.field)
        if column is None or criterion.op not in OPERATORS or not criterion.values:
            raise ValidationFailed.single(criterion.field, "cannot filter on this", CommonErrorCode.INVALID)
        if criterion.op == "eq":
            present = [v for v in criterion.values if v is not None]
            options = [column.in_(present)] if present else []
            if len(present) < len(criterion.values):
                options.append(column.is_(None))
            conditions.append(or_(*options) if len(options) > 1 else options[0])
            continue
        if criterion.op == "ne":
            conditions.append(column.not_in(criterion.values))
            continue
        value = criterion.values[0]
        conditions.append(
            {"gt": column > value, "gte": column >= value, "lt": column < value, "lte": column <= value}[criterion.op]
        )
    return conditions
