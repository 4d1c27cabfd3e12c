"""A decision table as a pack ships it or an admin edits it (immutable; DMN-like).

A table has typed input columns, typed output columns, a hit policy and ordered rules. A rule
gives a condition per input column (a column it does not name matches anything) and a value per
output column (one it does not name takes the column's default). Evaluating a table with an input
row returns the outputs of the matching rules as the hit policy says:

- ``first``: the first matching rule, in rule order;
- ``unique``: at most one rule can match any input (checked when the table is compiled);
- ``priority``: the matching rule with the highest ``priority`` (ties: the earlier rule);
- ``collect``: every matching rule, in rule order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ColumnType = Literal["string", "integer", "number", "boolean", "date"]
HitPolicy = Literal["first", "unique", "priority", "collect"]
ConditionOp = Literal["any", "equals", "in", "range"]
HIT_POLICIES: tuple[HitPolicy, ...] = ("first", "unique", "priority", "collect")
COLUMN_TYPES: tuple[ColumnType, ...] = ("string", "integer", "number", "boolean", "date")


@dataclass(frozen=True)
class InputColumn:
    name: str
    type: ColumnType = "string"
    description: str = ""


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: ColumnType = "string"
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class Condition:
    """``equals`` compares with ``value``; ``in`` with each of ``values``; ``range`` is
    ``minimum..maximum`` (either bound may be open: None), each bound inclusive unless said
    otherwise; ``any`` matches everything, a missing input included."""

    op: ConditionOp = "any"
    value: Any = None
    values: tuple[Any, ...] = ()
    minimum: Any = None
    maximum: Any = None
    minimum_inclusive: bool = True
    maximum_inclusive: bool = True

    @staticmethod
    def equals(value: Any) -> Condition:
        return Condition("equals", value=value)

    @staticmethod
    def one_of(*values: Any) -> Condition:
        return Condition("in", values=tuple(values))

    @staticmethod
    def between(
        minimum: Any = None, maximum: Any = None, *, minimum_inclusive: bool = True, maximum_inclusive: bool = True
    ) -> Condition:
        return Condition(
            "range",
            minimum=minimum,
            maximum=maximum,
            minimum_inclusive=minimum_inclusive,
            maximum_inclusive=maximum_inclusive,
        )


ANY = Condition()


@dataclass(frozen=True)
class Rule:
    when: Mapping[str, Condition] = field(default_factory=dict)
    then: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0  # the ``priority`` hit policy only
    description: str = ""


@dataclass(frozen=True)
class DecisionTableDef:
    """``name`` is namespaced by its consumer (``approval.policy``, ``pricing.priceList``,
    ``tsm.fibreMonthlyPrice``). A pack ships one as the table's default version."""

    name: str
    inputs: tuple[InputColumn, ...]
    outputs: tuple[OutputColumn, ...]
    rules: tuple[Rule, ...] = ()
    hit_policy: HitPolicy = "first"
    description: str = ""
