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

from collections.abc import Mapping
from typing import Any

from om_graph.core.decisions.definitions import (
    DecisionTableDef,
)
from om_graph.core.decisions.error_codes import DecisionsErrorCode as E
from om_graph.core.decisions.errors import DecisionInputInvalid, DecisionTableInvalid
from om_graph.core.decisions.index import IndexItem, LeafEntry, TreeBuilder
from om_graph.core.decisions.validation import validate
from om_graph.core.decisions.values import (
    MAX_ERRORS,
    Mismatch,
    NormalizedRule,
    input_coercer,
    type_word,
)
from om_graph.core.kernel.errors import FieldError

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
        self._coercers = tuple((c.name, input_coercer(c.type)) for c in defn.inputs)
        self._outputs = {rule.index: dict(rule.outputs) for rule in rules}
        self._collect = defn.hit_policy == "collect"
        if defn.hit_policy == "priority":

            def order_key(rule: NormalizedRule) -> Any:
                return (-rule.priority, rule.index)
        else:

            def order_key(rule: NormalizedRule) -> Any:
                return rule.index

        self._builder = TreeBuilder(self.input_types, order_key, truncate=defn.hit_policy in ("first", "priority"))
        all_columns = frozenset(range(len(self.input_names)))
        self._root = self._builder.build([IndexItem(rule, all_columns) for rule in rules])

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
                except Mismatch:
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

    def _leaf(self, row: tuple[Any, ...]) -> tuple[LeafEntry, ...]:
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
