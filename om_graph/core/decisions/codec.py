"""A decision table definition as JSON (the stored ``decision_table_version.definition`` and the
admin API's shape) and back.

Keys are the API's camelCase (``hitPolicy``, ``minimumInclusive``). Values are JSON natives,
except numbers of ``number`` columns (strings, so a Decimal keeps its digits) and dates (ISO
``YYYY-MM-DD`` strings). Decoding converts a value to its column's type where it can (a numeric
string of a number column becomes a Decimal) and leaves anything else as given, so that
``compile_table`` reports it with its rule and column; a malformed document (a rule that is not
an object, a missing name) is refused here with the field it is at.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from om_graph.core.decisions.definitions import (
    Condition,
    DecisionTableDef,
    InputColumn,
    OutputColumn,
    Rule,
)
from om_graph.core.decisions.error_codes import DecisionsErrorCode as E
from om_graph.core.decisions.errors import DecisionTableInvalid
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError


def encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def decode_value(column_type: str | None, value: Any) -> Any:
    """A JSON value as its column's Python value where the conversion is unambiguous."""
    if value is None:
        return None
    if column_type == "number":
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                return value
            return number if number.is_finite() else value
        if isinstance(value, float):
            return Decimal(repr(value))
    return value


def condition_to_json(cond: Condition) -> dict[str, Any]:
    body: dict[str, Any] = {"op": cond.op}
    if cond.op == "equals":
        body["value"] = encode_value(cond.value)
    elif cond.op == "in":
        body["values"] = [encode_value(v) for v in cond.values]
    elif cond.op == "range":
        body["minimum"] = encode_value(cond.minimum)
        body["maximum"] = encode_value(cond.maximum)
        body["minimumInclusive"] = cond.minimum_inclusive
        body["maximumInclusive"] = cond.maximum_inclusive
    return body


def to_json(defn: DecisionTableDef) -> dict[str, Any]:
    return {
        "name": defn.name,
        "description": defn.description,
        "hitPolicy": defn.hit_policy,
        "inputs": [{"name": c.name, "type": c.type, "description": c.description} for c in defn.inputs],
        "outputs": [
            {"name": c.name, "type": c.type, "default": encode_value(c.default), "description": c.description}
            for c in defn.outputs
        ],
        "rules": [
            {
                "when": {column: condition_to_json(cond) for column, cond in rule.when.items()},
                "then": {column: encode_value(value) for column, value in rule.then.items()},
                "priority": rule.priority,
                "description": rule.description,
            }
            for rule in defn.rules
        ],
    }


class _Reader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message, CommonErrorCode.INVALID_TYPE))

    def obj(self, value: Any, field: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        self.fail(field, "expected an object")
        return {}

    def items(self, value: Any, field: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            return list(value)
        self.fail(field, "expected a list")
        return []

    def text(self, value: Any, field: str, default: str = "") -> str:
        if value is None:
            return default
        if isinstance(value, str):
            return value
        self.fail(field, "expected a string")
        return default


def condition_from_json(body: Mapping[str, Any], column_type: str | None) -> Condition:
    def v(x: Any) -> Any:
        return decode_value(column_type, x)

    op = body.get("op", "any")
    if op == "range":
        return Condition(
            "range",
            minimum=v(body.get("minimum")),
            maximum=v(body.get("maximum")),
            minimum_inclusive=body.get("minimumInclusive", True) is not False,
            maximum_inclusive=body.get("maximumInclusive", True) is not False,
        )
    return Condition(
        op,
        value=v(body.get("value")),
        values=tuple(v(x) for x in (body.get("values") or ())),
        minimum=v(body.get("minimum")),
        maximum=v(body.get("maximum")),
    )


def from_json(data: Any) -> DecisionTableDef:
    """The definition a JSON document describes; raises DecisionTableInvalid for a malformed
    one. (Whether it validates is ``compile_table``'s to say.)"""
    read = _Reader()
    doc = read.obj(data, "")
    name = read.text(doc.get("name"), "name")
    inputs = []
    for i, raw in enumerate(read.items(doc.get("inputs"), "inputs")):
        col = read.obj(raw, f"inputs.{i}")
        inputs.append(
            InputColumn(
                read.text(col.get("name"), f"inputs.{i}.name"),
                col.get("type", "string"),
                read.text(col.get("description"), f"inputs.{i}.description"),
            )
        )
    outputs = []
    for i, raw in enumerate(read.items(doc.get("outputs"), "outputs")):
        col = read.obj(raw, f"outputs.{i}")
        column_type = col.get("type", "string")
        outputs.append(
            OutputColumn(
                read.text(col.get("name"), f"outputs.{i}.name"),
                column_type,
                decode_value(column_type, col.get("default")),
                read.text(col.get("description"), f"outputs.{i}.description"),
            )
        )
    in_types = {c.name: c.type for c in inputs}
    out_types = {c.name: c.type for c in outputs}
    rules = []
    for r, raw in enumerate(read.items(doc.get("rules"), "rules")):
        rule = read.obj(raw, f"rules.{r}")
        when = {}
        for column, cond in read.obj(rule.get("when") or {}, f"rules.{r}.when").items():
            body = read.obj(cond, f"rules.{r}.when.{column}")
            when[str(column)] = condition_from_json(body, in_types.get(column))
        then = {
            str(column): decode_value(out_types.get(column), value)
            for column, value in read.obj(rule.get("then") or {}, f"rules.{r}.then").items()
        }
        priority = rule.get("priority", 0)
        rules.append(
            Rule(
                when=when, then=then, priority=priority, description=read.text(rule.get("description"), f"rules.{r}.description")
            )
        )
    if read.errors:
        raise DecisionTableInvalid(read.errors, table=name)
    if not name:
        raise DecisionTableInvalid([FieldError("name", "a table needs a name", E.INVALID_TABLE_NAME)])
    return DecisionTableDef(
        name=name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        rules=tuple(rules),
        hit_policy=doc.get("hitPolicy", "first"),
        description=read.text(doc.get("description"), "description"),
    )
