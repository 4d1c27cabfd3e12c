"""A decision table's values and conditions, normalised: the types of its columns, the
limits of a definition, and the conditions every rule is reduced to (core/decisions/compiled.py's
docstring says what each type accepts)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$")
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NAME = 100
MAX_COLUMNS = 50
MAX_RULES = 10_000
MAX_IN_VALUES = 1_000
MAX_DESCRIPTION = 500
MAX_ERRORS = 50  # a broken 1,000-rule import reports the first 50 problems
ORDERED_TYPES = ("integer", "number", "date")


class Mismatch(Exception):
    pass


def normalize_value(column_type: str, value: Any) -> Any:
    """The value in its canonical form for its column type; raises ``Mismatch``."""
    if column_type == "string":
        if isinstance(value, str):
            return value
    elif column_type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif column_type == "number":
        if isinstance(value, bool):
            raise Mismatch
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
        elif isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
            return Decimal(repr(value))
    elif column_type == "boolean":
        if isinstance(value, bool):
            return value
    elif column_type == "date":
        if isinstance(value, datetime):
            raise Mismatch
        if isinstance(value, date):
            return value
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise Mismatch from None
    raise Mismatch


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
}


def type_word(column_type: str) -> str:
    return _TYPE_WORDS.get(column_type, column_type)


def input_coercer(column_type: str) -> Callable[[Any], Any]:
    """A fast check of one input value (not None) returning it in comparable form."""
    if column_type == "string":

        def string(v: Any) -> Any:
            if type(v) is str:
                return v
            if isinstance(v, str):
                return str(v)
            raise Mismatch

        return string
    if column_type == "integer":

        def integer(v: Any) -> Any:
            if type(v) is int:
                return v
            if isinstance(v, int) and not isinstance(v, bool):
                return int(v)
            raise Mismatch

        return integer
    if column_type == "number":

        def number(v: Any) -> Any:
            t = type(v)
            if t is int or t is Decimal:
                if t is Decimal and not v.is_finite():
                    raise Mismatch
                return v  # int and Decimal compare and hash alike
            return normalize_value("number", v)

        return number
    if column_type == "boolean":

        def boolean(v: Any) -> Any:
            if v is True or v is False:
                return v
            raise Mismatch

        return boolean

    def a_date(v: Any) -> Any:
        if type(v) is date:
            return v
        return normalize_value("date", v)

    return a_date


# --- normalised conditions --------------------------------------------------------------------

ANY_KIND, SET_KIND, RANGE_KIND = 0, 1, 2


@dataclass(frozen=True)
class NormalizedCondition:
    """``kind`` ANY, SET (``values``) or RANGE (``lo``..``hi``, None = open; integer and date
    bounds are made inclusive, number bounds keep their inclusivity)."""

    kind: int
    values: frozenset[Any] = frozenset()
    lo: Any = None
    hi: Any = None
    lo_inclusive: bool = True
    hi_inclusive: bool = True

    def matches(self, x: Any) -> bool:
        if self.kind == ANY_KIND:
            return True
        if x is None:
            return False
        if self.kind == SET_KIND:
            return x in self.values
        return self._in_range(x)

    def _in_range(self, x: Any) -> bool:
        if self.lo is not None and (x < self.lo if self.lo_inclusive else x <= self.lo):
            return False
        return self.hi is None or (x <= self.hi if self.hi_inclusive else x < self.hi)

    def intersects(self, other: NormalizedCondition) -> bool:
        if self.kind == ANY_KIND or other.kind == ANY_KIND:
            return True
        if self.kind == SET_KIND and other.kind == SET_KIND:
            small, big = (self.values, other.values) if len(self.values) <= len(other.values) else (other.values, self.values)
            return any(v in big for v in small)
        if self.kind == SET_KIND:
            return any(other._in_range(v) for v in self.values)
        if other.kind == SET_KIND:
            return any(self._in_range(v) for v in other.values)
        # two ranges: the larger low bound against the smaller high bound
        lo, lo_inc = _max_low((self.lo, self.lo_inclusive), (other.lo, other.lo_inclusive))
        hi, hi_inc = _min_high((self.hi, self.hi_inclusive), (other.hi, other.hi_inclusive))
        if lo is None or hi is None:
            return True
        return lo < hi or (lo == hi and lo_inc and hi_inc)


def _max_low(a: tuple[Any, bool], b: tuple[Any, bool]) -> tuple[Any, bool]:
    if a[0] is None:
        return b
    if b[0] is None:
        return a
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a[0], a[1] and b[1]


def _min_high(a: tuple[Any, bool], b: tuple[Any, bool]) -> tuple[Any, bool]:
    if a[0] is None:
        return b
    if b[0] is None:
        return a
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return a[0], a[1] and b[1]


ANY_NORMALIZED = NormalizedCondition(ANY_KIND)


@dataclass(frozen=True)
class NormalizedRule:
    index: int
    conditions: tuple[NormalizedCondition, ...]  # one per input column, in column order
    outputs: Mapping[str, Any]  # every output column, defaults filled
    priority: int

    def matches(self, row: Sequence[Any]) -> bool:
        return all(c.matches(x) for c, x in zip(self.conditions, row))

    def overlaps(self, other: NormalizedRule) -> bool:
        return all(a.intersects(b) for a, b in zip(self.conditions, other.conditions))
