"""Validation and compilation of a decision table (``compile_table``) and its evaluation in
process (``CompiledTable.evaluate`` / ``.first`` / ``.match``).

**Values.** Every value in a definition (a condition's value, values and bounds, an output's
default and a rule's outputs) and every input must be of its column's type:

============  ==================================================================================
``string``    ``str``
``integer``   ``int`` (not ``bool``)
``number``    ``int``, ``Decimal`` or ``float`` (finite); stored and returned as ``Decimal``
              (a float through its shortest repr, so ``0.1`` is ``Decimal("0.1")``)
``boolean``   ``bool``
``date``      a ``datetime.date`` or an ISO ``YYYY-MM-DD`` string (not a ``datetime``); returned
              as a ``date``
============  ==================================================================================

A missing input (absent or ``None``) matches only ``any``. Input names a table does not have are
ignored (a consumer passes what it knows; an admin's version may drop a column). A wrong-typed
input raises ``DecisionInputInvalid`` naming ``inputs.<column>``.

**Conditions.** ``equals`` (a value), ``in`` (one or more values), ``range`` (``integer``,
``number`` or ``date`` columns only; at least one bound; each bound inclusive unless said
otherwise; it must match something), ``any``.

**Compilation.** Rules are normalised once (``equals`` is ``in`` of one value, integer and date
bounds made inclusive) and indexed as a small decision tree: at each level, the column that
splits the rules into the smallest buckets (a hash on equals/in values, or the elementary
intervals of the range bounds, located with bisect), up to three levels, while a bucket holds
more than a few rules. Each leaf keeps its rules in evaluation order (rule order; for
``priority``, highest priority first, ties in rule order) with a predicate generated for the
conditions the path did not already decide. ``first``/``unique``/``priority`` return the first
leaf rule that matches; ``collect`` every one, in rule order.

**unique.** Two rules overlap when every column's conditions intersect (``any`` meets
everything). Any input both match reaches one leaf holding both, so only pairs sharing a leaf
are compared: a 1,000-rule table is checked in milliseconds.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from om_graph.core.decisions.definitions import (
    COLUMN_TYPES,
    HIT_POLICIES,
    Condition,
    DecisionTableDef,
)
from om_graph.core.decisions.error_codes import DecisionsErrorCode as E
from om_graph.core.decisions.errors import DecisionInputInvalid, DecisionTableInvalid
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError

TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$")
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NAME = 100
MAX_COLUMNS = 50
MAX_RULES = 10_000
MAX_IN_VALUES = 1_000
MAX_DESCRIPTION = 500
MAX_ERRORS = 50  # a broken 1,000-rule import reports the first 50 problems
ORDERED_TYPES = ("integer", "number", "date")
_LEAF_SIZE = 4  # stop splitting a bucket this small
_MAX_DEPTH = 3


class _Mismatch(Exception):
    pass


def normalize_value(column_type: str, value: Any) -> Any:
    """The value in its canonical form for its column type; raises ``_Mismatch``."""
    if column_type == "string":
        if isinstance(value, str):
            return value
    elif column_type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif column_type == "number":
        if isinstance(value, bool):
            raise _Mismatch
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
            raise _Mismatch
        if isinstance(value, date):
            return value
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise _Mismatch from None
    raise _Mismatch


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
}


def type_word(column_type: str) -> str:
    return _TYPE_WORDS.get(column_type, column_type)


def _input_coercer(column_type: str) -> Callable[[Any], Any]:
    """A fast check of one input value (not None) returning it in comparable form."""
    if column_type == "string":

        def string(v: Any) -> Any:
            if type(v) is str:
                return v
            if isinstance(v, str):
                return str(v)
            raise _Mismatch

        return string
    if column_type == "integer":

        def integer(v: Any) -> Any:
            if type(v) is int:
                return v
            if isinstance(v, int) and not isinstance(v, bool):
                return int(v)
            raise _Mismatch

        return integer
    if column_type == "number":

        def number(v: Any) -> Any:
            t = type(v)
            if t is int or t is Decimal:
                if t is Decimal and not v.is_finite():
                    raise _Mismatch
                return v  # int and Decimal compare and hash alike
            return normalize_value("number", v)

        return number
    if column_type == "boolean":

        def boolean(v: Any) -> Any:
            if v is True or v is False:
                return v
            raise _Mismatch

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


# --- validation -------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str, code: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(FieldError(field, message, code))

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_ERRORS


def _check_columns(kind: str, columns: Sequence[Any], errors: _Errors) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i, column in enumerate(columns):
        path = f"{kind}.{i}"
        name = getattr(column, "name", None)
        if len(getattr(column, "description", "") or "") > MAX_DESCRIPTION:
            errors.add(f"{path}.description", f"at most {MAX_DESCRIPTION} characters", CommonErrorCode.TOO_LONG)
        if not isinstance(name, str) or not COLUMN_NAME.match(name) or len(name) > 64:
            errors.add(
                f"{path}.name", "a column name is a letter or _ then letters, digits or _ (64 at most)", E.INVALID_TABLE_NAME
            )
            continue
        if name in seen:
            errors.add(f"{path}.name", f"{kind[:-1]} column {name!r} is already column {seen[name]}", E.DUPLICATE_COLUMN)
            continue
        seen[name] = i
        if getattr(column, "type", None) not in COLUMN_TYPES:
            errors.add(
                f"{path}.type", f"unknown column type {column.type!r}; one of {', '.join(COLUMN_TYPES)}", E.UNKNOWN_COLUMN_TYPE
            )
    return seen


def _normalize_condition(cond: Any, column_type: str, path: str, errors: _Errors) -> NormalizedCondition | None:
    if not isinstance(cond, Condition):
        errors.add(path, "a condition is equals, in, range or any", E.UNKNOWN_CONDITION)
        return None
    op = cond.op

    def typed(value: Any, where: str) -> Any:
        try:
            return normalize_value(column_type, value)
        except _Mismatch:
            errors.add(where, f"{value!r} is not {type_word(column_type)}", E.VALUE_TYPE_MISMATCH)
            return _Mismatch

    def no_extra(*given: str) -> bool:
        extra = [
            name
            for name, present in (
                ("value", cond.value is not None),
                ("values", bool(cond.values)),
                ("minimum", cond.minimum is not None),
                ("maximum", cond.maximum is not None),
            )
            if present and name not in given
        ]
        if extra:
            errors.add(path, f"{op} takes no {' or '.join(extra)}", E.UNKNOWN_CONDITION)
        return not extra

    if op == "any":
        return ANY_NORMALIZED if no_extra() else None
    if op == "equals":
        if not no_extra("value"):
            return None
        if cond.value is None:
            errors.add(f"{path}.value", "equals needs a value (use any to match everything)", E.VALUE_TYPE_MISMATCH)
            return None
        value = typed(cond.value, f"{path}.value")
        return None if value is _Mismatch else NormalizedCondition(SET_KIND, values=frozenset((value,)))
    if op == "in":
        if not no_extra("values"):
            return None
        if not cond.values:
            errors.add(f"{path}.values", "in needs at least one value", E.EMPTY_IN)
            return None
        if len(cond.values) > MAX_IN_VALUES:
            errors.add(f"{path}.values", f"in takes at most {MAX_IN_VALUES} values", E.EMPTY_IN)
            return None
        values = [typed(v, f"{path}.values.{j}") for j, v in enumerate(cond.values)]
        if any(v is _Mismatch for v in values):
            return None
        return NormalizedCondition(SET_KIND, values=frozenset(values))
    if op == "range":
        if not no_extra("minimum", "maximum"):
            return None
        if column_type not in ORDERED_TYPES:
            errors.add(path, f"a range needs an integer, number or date column, not {column_type}", E.RANGE_NOT_ORDERED)
            return None
        if cond.minimum is None and cond.maximum is None:
            errors.add(path, "a range needs a minimum or a maximum (use any to match everything)", E.RANGE_UNBOUNDED)
            return None
        lo = None if cond.minimum is None else typed(cond.minimum, f"{path}.minimum")
        hi = None if cond.maximum is None else typed(cond.maximum, f"{path}.maximum")
        if lo is _Mismatch or hi is _Mismatch:
            return None
        lo_inc, hi_inc = bool(cond.minimum_inclusive), bool(cond.maximum_inclusive)
        if column_type in ("integer", "date"):  # discrete: make both bounds inclusive
            step: Any = 1 if column_type == "integer" else timedelta(days=1)
            if lo is not None and not lo_inc:
                lo, lo_inc = lo + step, True
            if hi is not None and not hi_inc:
                hi, hi_inc = hi - step, True
        if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_inc and hi_inc))):
            errors.add(
                f"{path}.minimum",
                f"the range {cond.minimum}..{cond.maximum} matches nothing (minimum above maximum)",
                E.RANGE_INVERTED,
            )
            return None
        return NormalizedCondition(RANGE_KIND, lo=lo, hi=hi, lo_inclusive=lo_inc, hi_inclusive=hi_inc)
    errors.add(f"{path}.op", f"unknown condition {op!r}; one of equals, in, range, any", E.UNKNOWN_CONDITION)
    return None


def validate(defn: DecisionTableDef) -> tuple[list[NormalizedRule], list[FieldError]]:
    """The normalised rules and every problem found (no overlap check)."""
    errors = _Errors()
    name = defn.name
    if not isinstance(name, str) or not TABLE_NAME.match(name) or len(name) > MAX_NAME:
        errors.add("name", "a table name is dot-separated words of letters, digits, _ or - (100 at most)", E.INVALID_TABLE_NAME)
    if defn.hit_policy not in HIT_POLICIES:
        errors.add("hitPolicy", f"unknown hit policy {defn.hit_policy!r}; one of {', '.join(HIT_POLICIES)}", E.UNKNOWN_HIT_POLICY)
    if len(defn.inputs) > MAX_COLUMNS:
        errors.add("inputs", f"at most {MAX_COLUMNS} input columns", E.INVALID_TABLE_NAME)
    if len(defn.outputs) > MAX_COLUMNS:
        errors.add("outputs", f"at most {MAX_COLUMNS} output columns", E.INVALID_TABLE_NAME)
    if not defn.outputs:
        errors.add("outputs", "a table needs at least one output column", E.NO_OUTPUTS)
    if len(defn.rules) > MAX_RULES:
        errors.add("rules", f"at most {MAX_RULES} rules", E.INVALID_TABLE_NAME)
        return [], errors.items
    inputs = _check_columns("inputs", defn.inputs, errors)
    outputs = _check_columns("outputs", defn.outputs, errors)
    in_types = {c.name: c.type for c in defn.inputs if c.name in inputs}
    out_types = {c.name: c.type for c in defn.outputs if c.name in outputs}
    defaults: dict[str, Any] = {}
    for i, column in enumerate(defn.outputs):
        if column.name not in outputs or out_types[column.name] not in COLUMN_TYPES:
            continue
        if column.default is None:
            defaults[column.name] = None
            continue
        try:
            defaults[column.name] = normalize_value(column.type, column.default)
        except _Mismatch:
            errors.add(f"outputs.{i}.default", f"{column.default!r} is not {type_word(column.type)}", E.VALUE_TYPE_MISMATCH)
    input_names = [c.name for c in defn.inputs]
    rules: list[NormalizedRule] = []
    for r, rule in enumerate(defn.rules):
        if errors.full:
            break
        path = f"rules.{r}"
        conditions: dict[str, NormalizedCondition] = {}
        ok = True
        for column_name, cond in dict(rule.when).items():
            if column_name not in in_types:
                errors.add(f"{path}.when.{column_name}", f"no input column {column_name!r}", E.UNKNOWN_COLUMN)
                ok = False
                continue
            if in_types[column_name] not in COLUMN_TYPES:
                continue
            normalized = _normalize_condition(cond, in_types[column_name], f"{path}.when.{column_name}", errors)
            if normalized is None:
                ok = False
            else:
                conditions[column_name] = normalized
        outs = dict(defaults)
        for column_name, value in dict(rule.then).items():
            if column_name not in out_types:
                errors.add(f"{path}.then.{column_name}", f"no output column {column_name!r}", E.UNKNOWN_COLUMN)
                ok = False
                continue
            if value is None or out_types[column_name] not in COLUMN_TYPES:
                outs[column_name] = None
                continue
            try:
                outs[column_name] = normalize_value(out_types[column_name], value)
            except _Mismatch:
                errors.add(
                    f"{path}.then.{column_name}", f"{value!r} is not {type_word(out_types[column_name])}", E.VALUE_TYPE_MISMATCH
                )
                ok = False
        if len(rule.description or "") > MAX_DESCRIPTION:
            errors.add(f"{path}.description", f"at most {MAX_DESCRIPTION} characters", CommonErrorCode.TOO_LONG)
            ok = False
        if not isinstance(rule.priority, int) or isinstance(rule.priority, bool):
            errors.add(f"{path}.priority", "a priority is an integer", E.VALUE_TYPE_MISMATCH)
            ok = False
        if ok:
            rules.append(
                NormalizedRule(
                    index=r,
                    conditions=tuple(conditions.get(n, ANY_NORMALIZED) for n in input_names),
                    outputs=outs,
                    priority=rule.priority,
                )
            )
    return rules, errors.items


# --- the index ---------------------------------------------------------------------------------

# A leaf entry: (rule index, predicate over the input row or None when the path decided it all).
_Entry = tuple[int, Callable[[tuple[Any, ...]], bool] | None]


class _HashNode:
    __slots__ = ("column", "buckets", "other", "missing")

    def __init__(self, column: int, buckets: dict[Any, Any], other: Any, missing: Any):
        self.column, self.buckets, self.other, self.missing = column, buckets, other, missing

    def child(self, row: tuple[Any, ...]) -> Any:
        x = row[self.column]
        if x is None:
            return self.missing
        return self.buckets.get(x, self.other)


class _IntervalNode:
    """The column's bound points p0 < p1 < ... split the line into regions: 2i is the open
    interval before p_i, 2i+1 the point p_i itself, 2m the interval after the last."""

    __slots__ = ("column", "points", "regions", "missing")

    def __init__(self, column: int, points: list[Any], regions: list[Any], missing: Any):
        self.column, self.points, self.regions, self.missing = column, points, regions, missing

    def child(self, row: tuple[Any, ...]) -> Any:
        x = row[self.column]
        if x is None:
            return self.missing
        points = self.points
        i = bisect_left(points, x)
        if i < len(points) and points[i] == x:
            return self.regions[2 * i + 1]
        return self.regions[2 * i]


_Node = _HashNode | _IntervalNode


@dataclass
class _Item:
    """A rule on its way down the tree: the columns the path has not decided yet."""

    rule: NormalizedRule
    open_columns: frozenset[int]


def _split_hash(items: list[_Item], column: int) -> tuple[dict[Any, list[_Item]], list[_Item], list[_Item]]:
    buckets: dict[Any, list[_Item]] = {}
    for item in items:
        cond = item.rule.conditions[column]
        if cond.kind == SET_KIND:
            for v in cond.values:
                buckets.setdefault(v, [])
    other: list[_Item] = []
    missing: list[_Item] = []
    decided = None
    for item in items:
        cond = item.rule.conditions[column]
        if cond.kind == SET_KIND:
            decided = _Item(item.rule, item.open_columns - {column})
            for v in cond.values:
                buckets[v].append(decided)
        elif cond.kind == ANY_KIND:
            decided = _Item(item.rule, item.open_columns - {column})
            for bucket in buckets.values():
                bucket.append(decided)
            other.append(decided)
            missing.append(decided)
        else:  # a range among equals: in every bucket it may match, still to check
            for v, bucket in buckets.items():
                if cond.matches(v):
                    bucket.append(_Item(item.rule, item.open_columns - {column}))
            other.append(item)
    return buckets, other, missing


def _split_interval(items: list[_Item], column: int) -> tuple[list[Any], list[list[_Item]], list[_Item]]:
    point_set: set[Any] = set()
    for item in items:
        cond = item.rule.conditions[column]
        if cond.kind == SET_KIND:
            point_set.update(cond.values)
        elif cond.kind == RANGE_KIND:
            if cond.lo is not None:
                point_set.add(cond.lo)
            if cond.hi is not None:
                point_set.add(cond.hi)
    points = sorted(point_set)
    position = {p: i for i, p in enumerate(points)}
    regions: list[list[_Item]] = [[] for _ in range(2 * len(points) + 1)]
    missing: list[_Item] = []
    for item in items:
        cond = item.rule.conditions[column]
        decided = _Item(item.rule, item.open_columns - {column})
        if cond.kind == ANY_KIND:
            for region in regions:
                region.append(decided)
            missing.append(decided)
        elif cond.kind == SET_KIND:
            for v in cond.values:
                regions[2 * position[v] + 1].append(decided)
        else:
            start = 0 if cond.lo is None else 2 * position[cond.lo] + (1 if cond.lo_inclusive else 2)
            end = len(regions) - 1 if cond.hi is None else 2 * position[cond.hi] + (1 if cond.hi_inclusive else 0)
            for k in range(start, end + 1):
                regions[k].append(decided)
    return points, regions, missing


def _cost(groups: Iterable[list[_Item]]) -> tuple[float, int]:
    sizes = [len(g) for g in groups]
    return (max(sizes) + sum(sizes) / len(sizes)) / 2 if sizes else 0.0, sum(sizes)


class _TreeBuilder:
    def __init__(self, column_types: Sequence[str], order_key: Callable[[NormalizedRule], Any], truncate: bool):
        self.column_types = column_types
        self.order_key = order_key
        self.truncate = truncate
        self.predicates: dict[tuple[int, frozenset[int]], Callable[[tuple[Any, ...]], bool] | None] = {}
        self.rules_by_index: dict[int, NormalizedRule] = {}
        self.leaves: list[tuple[_Entry, ...]] = []

    def build(self, items: list[_Item], depth: int = 0) -> Any:
        if len(items) <= _LEAF_SIZE or depth >= _MAX_DEPTH:
            return self.leaf(items)
        best: tuple[float, int, str] | None = None
        for column in sorted({c for item in items for c in item.open_columns}):
            kinds = {item.rule.conditions[column].kind for item in items}
            if kinds == {ANY_KIND}:
                continue
            options = []
            if RANGE_KIND not in kinds or self.column_types[column] not in ORDERED_TYPES:
                buckets, other, _ = _split_hash(items, column)
                options.append((_cost([*buckets.values(), other]), "hash"))
            if self.column_types[column] in ORDERED_TYPES:
                _, regions, _ = _split_interval(items, column)
                options.append((_cost(regions), "interval"))
            for (avg, total), kind in options:
                if total > 64 * max(len(items), 16):
                    continue  # too much duplication
                if best is None or avg < best[0]:
                    best = (avg, column, kind)
        if best is None or best[0] > 0.75 * len(items):
            return self.leaf(items)
        _, column, kind = best
        if kind == "hash":
            buckets, other, missing = _split_hash(items, column)
            return _HashNode(
                column,
                {v: self.build(b, depth + 1) for v, b in buckets.items()},
                self.build(other, depth + 1),
                self.build(missing, depth + 1),
            )
        points, regions, missing = _split_interval(items, column)
        return _IntervalNode(column, points, [self.build(r, depth + 1) for r in regions], self.build(missing, depth + 1))

    def leaf(self, items: list[_Item]) -> tuple[_Entry, ...]:
        entries: list[_Entry] = []
        for item in sorted(items, key=lambda it: self.order_key(it.rule)):
            predicate = self.predicate(item.rule, item.open_columns)
            entries.append((item.rule.index, predicate))
            if predicate is None and self.truncate:
                break  # nothing after an always-matching rule can be the answer
        leaf = tuple(entries)
        self.leaves.append(leaf)
        return leaf

    def predicate(self, rule: NormalizedRule, open_columns: frozenset[int]) -> Callable[[tuple[Any, ...]], bool] | None:
        key = (rule.index, open_columns)
        if key not in self.predicates:
            self.rules_by_index[rule.index] = rule
            self.predicates[key] = _generate_predicate(rule, open_columns)
        return self.predicates[key]


def _generate_predicate(rule: NormalizedRule, open_columns: frozenset[int]) -> Callable[[tuple[Any, ...]], bool] | None:
    """A Python function testing the rule's undecided conditions: the source holds only names
    made here; every value reaches it through the function's globals."""
    terms: list[str] = []
    namespace: dict[str, Any] = {}
    for column in sorted(open_columns):
        cond = rule.conditions[column]
        if cond.kind == ANY_KIND:
            continue
        x = f"row[{column}]"
        if cond.kind == SET_KIND:
            if len(cond.values) == 1:
                namespace[f"v{column}"] = next(iter(cond.values))
                terms.append(f"{x} == v{column}")
            else:
                namespace[f"s{column}"] = cond.values
                terms.append(f"{x} in s{column}")
            continue
        parts = [f"{x} is not None"]
        if cond.lo is not None:
            namespace[f"lo{column}"] = cond.lo
            parts.append(f"lo{column} {'<=' if cond.lo_inclusive else '<'} {x}")
        if cond.hi is not None:
            namespace[f"hi{column}"] = cond.hi
            parts.append(f"{x} {'<=' if cond.hi_inclusive else '<'} hi{column}")
        terms.append("(" + " and ".join(parts) + ")")
    if not terms:
        return None
    source = "def predicate(row):\n    return " + " and ".join(terms) + "\n"
    exec(compile(source, f"<decision rule {rule.index}>", "exec"), namespace)
    fn: Callable[[tuple[Any, ...]], bool] = namespace["predicate"]
    return fn


# --- the compiled table -----------------------------------------------------------------------


class CompiledTable:
    """A validated, indexed table. Thread-safe (immutable after construction)."""

    def __init__(self, defn: DecisionTableDef, rules: list[NormalizedRule]):
        self.definition = defn
        self.name = defn.name
        self.hit_policy = defn.hit_policy
        self.rules = tuple(rules)
        self.input_names = tuple(c.name for c in defn.inputs)
        self.input_types = tuple(c.type for c in defn.inputs)
        self._coercers = tuple((c.name, _input_coercer(c.type)) for c in defn.inputs)
        self._outputs = {rule.index: dict(rule.outputs) for rule in rules}
        self._collect = defn.hit_policy == "collect"
        if defn.hit_policy == "priority":

            def order_key(rule: NormalizedRule) -> Any:
                return (-rule.priority, rule.index)
        else:

            def order_key(rule: NormalizedRule) -> Any:
                return rule.index

        self._builder = _TreeBuilder(self.input_types, order_key, truncate=defn.hit_policy in ("first", "priority"))
        all_columns = frozenset(range(len(self.input_names)))
        self._root = self._builder.build([_Item(rule, all_columns) for rule in rules])

    # -- evaluation

    def row(self, inputs: Mapping[str, Any]) -> tuple[Any, ...]:
        """The input values in column order, type-checked (None for a missing one)."""
        values = []
        get = inputs.get
        for name, coerce in self._coercers:
            v = get(name)
            if v is not None:
                try:
                    v = coerce(v)
                except _Mismatch:
                    raise self._input_error(name, v) from None
            values.append(v)
        return tuple(values)

    def _input_error(self, name: str, value: Any) -> DecisionInputInvalid:
        column_type = self.input_types[self.input_names.index(name)]
        return DecisionInputInvalid(
            [
                FieldError(
                    f"inputs.{name}",
                    f"decision table {self.name!r}: {value!r} is not {type_word(column_type)}",
                    E.INPUT_TYPE_MISMATCH,
                )
            ],
            table=self.name,
        )

    def _leaf(self, row: tuple[Any, ...]) -> tuple[_Entry, ...]:
        node = self._root
        while type(node) is not tuple:
            node = node.child(row)
        return node

    def match(self, inputs: Mapping[str, Any]) -> list[int]:
        """The indexes of the rules the hit policy returns (collect: all matching, in rule order;
        the others: at most one)."""
        row = self.row(inputs)
        leaf = self._leaf(row)
        if self._collect:
            return [i for i, p in leaf if p is None or p(row)]
        for i, p in leaf:
            if p is None or p(row):
                return [i]
        return []

    def evaluate(self, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The outputs of the rules the hit policy returns, every output column present
        (defaults filled); [] when no rule hits. Each call returns fresh dicts."""
        row = self.row(inputs)
        leaf = self._leaf(row)
        outputs = self._outputs
        if self._collect:
            return [dict(outputs[i]) for i, p in leaf if p is None or p(row)]
        for i, p in leaf:
            if p is None or p(row):
                return [dict(outputs[i])]
        return []

    def outputs_of(self, rule_index: int) -> dict[str, Any]:
        """A rule's outputs, every output column present."""
        return dict(self._outputs[rule_index])

    def first(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first result of ``evaluate`` (for collect, the first matching rule), or None."""
        row = self.row(inputs)
        for i, p in self._leaf(row):
            if p is None or p(row):
                return dict(self._outputs[i])
        return None

    # -- the unique check

    def overlapping_pairs(self, limit: int = MAX_ERRORS) -> list[tuple[int, int]]:
        """Pairs (earlier, later) of rules some one input matches both of; only rules sharing a
        leaf can, so only those are compared."""
        by_index = {rule.index: rule for rule in self.rules}
        seen: set[tuple[int, int]] = set()
        found: list[tuple[int, int]] = []
        for leaf in self._builder.leaves:
            indexes = sorted({i for i, _ in leaf})
            for a_pos, a in enumerate(indexes):
                rule_a = by_index[a]
                for b in indexes[a_pos + 1 :]:
                    if (a, b) in seen:
                        continue
                    seen.add((a, b))
                    if rule_a.overlaps(by_index[b]):
                        found.append((a, b))
                        if len(found) >= limit:
                            return sorted(found)
        return sorted(found)


def compile_table(defn: DecisionTableDef) -> CompiledTable:
    """Validate and compile; raises ``DecisionTableInvalid`` with one FieldError per problem."""
    rules, errors = validate(defn)
    if errors:
        raise DecisionTableInvalid(errors, table=defn.name if isinstance(defn.name, str) else "")
    table = CompiledTable(defn, rules)
    if defn.hit_policy == "unique":
        pairs = table.overlapping_pairs()
        if pairs:
            raise DecisionTableInvalid(
                [
                    FieldError(
                        f"rules.{b}.when",
                        f"rule {b} and rule {a} can both match one input (the unique hit policy allows one)",
                        E.OVERLAPPING_RULES,
                    )
                    for a, b in pairs
                ],
                table=defn.name,
            )
    return table


def scan_evaluate(table: CompiledTable, inputs: Mapping[str, Any]) -> list[int]:
    """The reference: every rule tested in turn, no index (tests and the benchmark compare the
    compiled evaluation with it)."""
    row = table.row(inputs)
    hits = [rule for rule in table.rules if rule.matches(row)]
    if not hits:
        return []
    if table.hit_policy == "collect":
        return [rule.index for rule in hits]
    if table.hit_policy == "priority":
        return [min(hits, key=lambda r: (-r.priority, r.index)).index]
    return [hits[0].index]
