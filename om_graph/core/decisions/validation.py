"""Validation of a decision table definition: every problem as a field error, and its rules
normalised (core/decisions/values.py) for the index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from om_graph.core.decisions.definitions import (
    COLUMN_TYPES,
    HIT_POLICIES,
    Condition,
    DecisionTableDef,
)
from om_graph.core.decisions.error_codes import DecisionsErrorCode as E
from om_graph.core.decisions.values import (
    ANY_NORMALIZED,
    COLUMN_NAME,
    MAX_COLUMNS,
    MAX_DESCRIPTION,
    MAX_ERRORS,
    MAX_IN_VALUES,
    MAX_NAME,
    MAX_RULES,
    ORDERED_TYPES,
    RANGE_KIND,
    SET_KIND,
    TABLE_NAME,
    Mismatch,
    NormalizedCondition,
    NormalizedRule,
    normalize_value,
    type_word,
)
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError

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
        except Mismatch:
            errors.add(where, f"{value!r} is not {type_word(column_type)}", E.VALUE_TYPE_MISMATCH)
            return Mismatch

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
        return None if value is Mismatch else NormalizedCondition(SET_KIND, values=frozenset((value,)))
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
        if any(v is Mismatch for v in values):
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
        if lo is Mismatch or hi is Mismatch:
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
        except Mismatch:
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
            except Mismatch:
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
