"""Decision tables compiled: validation errors naming rule and column, typed inputs, and the
indexed evaluation equal to a naive scan of the definition for every hit policy (hypothesis)."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from om_graph.core.decisions.compiled import compile_table, scan_evaluate
from om_graph.core.decisions.definitions import (
    ANY,
    Condition,
    DecisionTableDef,
    InputColumn,
    OutputColumn,
    Rule,
)
from om_graph.core.decisions.errors import DecisionInputInvalid, DecisionTableInvalid

COLUMNS = (
    InputColumn("offering", "string"),
    InputColumn("bandwidth", "integer"),
    InputColumn("amount", "number"),
    InputColumn("day", "date"),
    InputColumn("business", "boolean"),
)
OUTPUTS = (OutputColumn("label", "string", default="none"), OutputColumn("price", "number", default=Decimal("0")))
D0 = date(2026, 1, 1)


def table(rules, hit_policy="first", inputs=COLUMNS, outputs=OUTPUTS, name="test.table"):
    return DecisionTableDef(name, tuple(inputs), tuple(outputs), tuple(rules), hit_policy)


def errors_of(defn) -> dict[str, str]:
    with pytest.raises(DecisionTableInvalid) as info:
        compile_table(defn)
    return {e.field: e.code for e in info.value.errors}


# --- validation ---------------------------------------------------------------------------------


def test_unknown_column_in_a_rule_is_named_with_rule_and_column():
    assert errors_of(table([Rule(), Rule(), Rule(), Rule(when={"bandwith": Condition.equals(1)})])) == {
        "rules.3.when.bandwith": "UNKNOWN_COLUMN"
    }
    assert errors_of(table([Rule(then={"cost": 1})])) == {"rules.0.then.cost": "UNKNOWN_COLUMN"}


@pytest.mark.parametrize(
    ("column", "cond", "field"),
    [
        ("bandwidth", Condition.equals("1000"), "rules.0.when.bandwidth.value"),
        ("bandwidth", Condition.equals(True), "rules.0.when.bandwidth.value"),
        ("bandwidth", Condition.equals(1.5), "rules.0.when.bandwidth.value"),
        ("offering", Condition.one_of("a", 2), "rules.0.when.offering.values.1"),
        ("amount", Condition.between("x", 3), "rules.0.when.amount.minimum"),
        ("amount", Condition.equals(float("nan")), "rules.0.when.amount.value"),
        ("day", Condition.equals("2026-13-01"), "rules.0.when.day.value"),
        ("day", Condition.equals("1 Jan 2026"), "rules.0.when.day.value"),
        ("business", Condition.equals(1), "rules.0.when.business.value"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(column, cond, field):
    assert errors_of(table([Rule(when={column: cond})])) == {field: "VALUE_TYPE_MISMATCH"}


def test_condition_shapes_are_checked():
    errs = errors_of(
        table(
            [
                Rule(when={"bandwidth": Condition.between(1000, 100)}),
                Rule(when={"bandwidth": Condition.between(5, 5, maximum_inclusive=False)}),
                Rule(when={"offering": Condition.one_of()}),
                Rule(when={"offering": Condition.between("a", "b")}),
                Rule(when={"amount": Condition.between()}),
                Rule(when={"offering": Condition("like", value="x")}),  # type: ignore[arg-type]
                Rule(when={"offering": Condition("equals")}),
                Rule(when={"offering": Condition("any", value="x")}),
            ]
        )
    )
    assert errs == {
        "rules.0.when.bandwidth.minimum": "RANGE_INVERTED",
        "rules.1.when.bandwidth.minimum": "RANGE_INVERTED",
        "rules.2.when.offering.values": "EMPTY_IN",
        "rules.3.when.offering": "RANGE_NOT_ORDERED",
        "rules.4.when.amount": "RANGE_UNBOUNDED",
        "rules.5.when.offering.op": "UNKNOWN_CONDITION",
        "rules.6.when.offering.value": "VALUE_TYPE_MISMATCH",
        "rules.7.when.offering": "UNKNOWN_CONDITION",
    }


def test_columns_and_hit_policy_are_checked():
    errs = errors_of(
        table(
            [Rule(then={"price": "free"})],
            hit_policy="best",
            inputs=(InputColumn("a"), InputColumn("a", "integer"), InputColumn("b", "money")),  # type: ignore[arg-type]
            outputs=(OutputColumn("price", "number", default="zero"), OutputColumn("x-y")),
            name="bad name",
        )
    )
    assert errs == {
        "name": "INVALID_TABLE_NAME",
        "hitPolicy": "UNKNOWN_HIT_POLICY",
        "inputs.1.name": "DUPLICATE_COLUMN",
        "inputs.2.type": "UNKNOWN_COLUMN_TYPE",
        "outputs.0.default": "VALUE_TYPE_MISMATCH",
        "outputs.1.name": "INVALID_TABLE_NAME",
        "rules.0.then.price": "VALUE_TYPE_MISMATCH",
    }
    assert errors_of(table([], outputs=())) == {"outputs": "NO_OUTPUTS"}


def test_unique_refuses_rules_that_can_match_one_input():
    ok = [
        Rule(when={"offering": Condition.equals("a"), "bandwidth": Condition.between(0, 100)}),
        Rule(when={"offering": Condition.equals("a"), "bandwidth": Condition.between(101, None)}),
        Rule(when={"offering": Condition.equals("b")}),
        Rule(when={"offering": Condition.one_of("c", "d"), "amount": Condition.between(maximum=10, maximum_inclusive=False)}),
        Rule(when={"offering": Condition.one_of("d", "e"), "amount": Condition.between(minimum=10)}),
    ]
    compile_table(table(ok, "unique"))
    clash = [*ok, Rule(when={"bandwidth": Condition.equals(100), "offering": Condition.one_of("z", "a")})]
    assert errors_of(table(clash, "unique")) == {"rules.5.when": "OVERLAPPING_RULES"}
    # exclusive bounds that touch do not overlap; inclusive ones do
    touching = [Rule(when={"amount": Condition.between(0, 10)}), Rule(when={"amount": Condition.between(minimum=10)})]
    assert errors_of(table(touching, "unique")) == {"rules.1.when": "OVERLAPPING_RULES"}
    # any meets everything; the same rules are fine under first
    anys = [Rule(when={"offering": Condition.equals("a")}), Rule(when={"business": ANY})]
    assert errors_of(table(anys, "unique")) == {"rules.1.when": "OVERLAPPING_RULES"}
    compile_table(table(anys, "first"))


def test_the_unique_check_of_1000_rules_is_fast():
    rules = [
        Rule(
            when={
                "offering": Condition.equals(f"o{i // 20}"),
                "bandwidth": Condition.between((i % 20) * 100, (i % 20) * 100 + 99),
            }
        )
        for i in range(1000)
    ]
    started = time.perf_counter()
    compile_table(table(rules, "unique"))
    assert time.perf_counter() - started < 2.0
    rules.append(Rule(when={"offering": Condition.equals("o3"), "bandwidth": Condition.equals(150)}))
    assert errors_of(table(rules, "unique")) == {"rules.1000.when": "OVERLAPPING_RULES"}


# --- evaluation -------------------------------------------------------------------------------


def test_evaluation_types_defaults_and_hit_policies():
    rules = [
        Rule(when={"offering": Condition.equals("fibre"), "bandwidth": Condition.between(0, 500)}, then={"label": "slow"}),
        Rule(when={"offering": Condition.equals("fibre")}, then={"label": "fast", "price": 12.5}, priority=5),
        Rule(when={"day": Condition.between("2026-01-01", date(2026, 1, 31))}, then={"label": "january"}, priority=9),
    ]
    first = compile_table(table(rules))
    assert first.evaluate({"offering": "fibre", "bandwidth": 100}) == [{"label": "slow", "price": Decimal("0")}]
    assert first.first({"offering": "fibre", "bandwidth": 1000}) == {"label": "fast", "price": Decimal("12.5")}
    assert first.evaluate({"offering": "dsl"}) == [] and first.first({}) is None
    assert first.evaluate({"day": "2026-01-05", "unknown": object()}) == [{"label": "january", "price": Decimal("0")}]
    priority = compile_table(table(rules, "priority"))
    assert priority.match({"offering": "fibre", "bandwidth": 100, "day": D0}) == [2]
    assert priority.match({"offering": "fibre", "bandwidth": 100}) == [1]
    collect = compile_table(table(rules, "collect"))
    assert collect.match({"offering": "fibre", "bandwidth": 100, "day": D0}) == [0, 1, 2]
    assert collect.first({"offering": "fibre", "bandwidth": 100})["label"] == "slow"  # type: ignore[index]
    out = collect.evaluate({"offering": "fibre"})
    out[0]["label"] = "mutated"
    assert collect.evaluate({"offering": "fibre"})[0]["label"] == "fast"


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"bandwidth": "1000"}, "inputs.bandwidth"),
        ({"bandwidth": True}, "inputs.bandwidth"),
        ({"amount": "1.5"}, "inputs.amount"),
        ({"day": "yesterday"}, "inputs.day"),
        ({"business": 0}, "inputs.business"),
        ({"offering": 7}, "inputs.offering"),
    ],
)
def test_a_wrong_typed_input_is_an_error(inputs, field):
    compiled = compile_table(table([Rule()]))
    with pytest.raises(DecisionInputInvalid) as info:
        compiled.evaluate(inputs)
    assert [(e.field, e.code) for e in info.value.errors] == [(field, "INPUT_TYPE_MISMATCH")]


def test_numbers_compare_across_int_float_and_decimal():
    compiled = compile_table(table([Rule(when={"amount": Condition.between(Decimal("0.1"), 2)}, then={"label": "in"})]))
    for value in (0.1, Decimal("0.10"), 1, 2, Decimal("2.0")):
        assert compiled.match({"amount": value}) == [0], value
    for value in (0.09, 3, Decimal("2.0001")):
        assert compiled.match({"amount": value}) == [], value


# --- the compiled evaluation equals a naive scan of the definition -----------------------------

OFFERINGS = ("a", "b", "c", "d")


def _value(column: InputColumn, draw_int: int) -> Any:
    if column.type == "string":
        return OFFERINGS[draw_int % len(OFFERINGS)]
    if column.type == "integer":
        return draw_int
    if column.type == "number":
        return Decimal(draw_int) / 2
    if column.type == "date":
        return D0 + timedelta(days=draw_int)
    return bool(draw_int % 2)


@st.composite
def conditions(draw, column: InputColumn) -> Condition:
    ints = st.integers(0, 12)
    ops = ["any", "equals", "in"] + (["range"] if column.type in ("integer", "number", "date") else [])
    op = draw(st.sampled_from(ops))
    if op == "any":
        return ANY
    if op == "equals":
        return Condition.equals(_value(column, draw(ints)))
    if op == "in":
        return Condition.one_of(*(_value(column, i) for i in draw(st.lists(ints, min_size=1, max_size=4))))
    lo = draw(st.one_of(st.none(), ints))
    hi = draw(st.one_of(st.none(), st.integers(lo or 0, 14)))
    if lo is None and hi is None:
        hi = 6
    lo_inc, hi_inc = draw(st.booleans()), draw(st.booleans())
    if lo is not None and hi is not None and lo == hi:
        lo_inc = hi_inc = True
    if column.type == "integer" and lo is not None and hi is not None and hi - lo < 2:
        lo_inc = hi_inc = True
    if column.type == "date" and lo is not None and hi is not None and hi - lo < 2:
        lo_inc = hi_inc = True
    return Condition.between(
        None if lo is None else _value(column, lo),
        None if hi is None else _value(column, hi),
        minimum_inclusive=lo_inc,
        maximum_inclusive=hi_inc,
    )


@st.composite
def tables(draw, hit_policy: str) -> DecisionTableDef:
    columns = tuple(draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4, unique=True)))
    n = draw(st.integers(0, 40))
    rules = []
    for i in range(n):
        when = {c.name: draw(conditions(c)) for c in columns if draw(st.booleans())}
        rules.append(Rule(when=when, then={"label": f"r{i}"}, priority=draw(st.integers(0, 3))))
    return table(rules, hit_policy, inputs=columns)


@st.composite
def input_rows(draw) -> dict[str, Any]:
    return {c.name: (None if draw(st.integers(0, 6)) == 0 else _value(c, draw(st.integers(-1, 15)))) for c in COLUMNS}


def naive(defn: DecisionTableDef, inputs: dict[str, Any]) -> list[int]:
    """The definition read literally: every rule in turn, each condition as the docstring says."""

    def number(v: Any) -> Any:  # the strategies give values in their native types
        return v

    def holds(cond: Condition, x: Any) -> bool:
        if cond.op == "any":
            return True
        if x is None:
            return False
        if cond.op == "equals":
            return x == number(cond.value)
        if cond.op == "in":
            return any(x == number(v) for v in cond.values)
        lo, hi = number(cond.minimum), number(cond.maximum)
        if lo is not None and (x < lo or (x == lo and not cond.minimum_inclusive)):
            return False
        return not (hi is not None and (x > hi or (x == hi and not cond.maximum_inclusive)))

    hits = [i for i, rule in enumerate(defn.rules) if all(holds(c, inputs.get(k)) for k, c in rule.when.items())]
    if defn.hit_policy == "collect":
        return hits
    if defn.hit_policy == "priority" and hits:
        return [min(hits, key=lambda i: (-defn.rules[i].priority, i))]
    return hits[:1]


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("hit_policy", ["first", "priority", "collect"])
@PROPERTY
@given(data=st.data())
def test_compiled_evaluation_equals_a_naive_scan(hit_policy, data):
    defn = data.draw(tables(hit_policy))
    compiled = compile_table(defn)
    for _ in range(25):
        row = data.draw(input_rows())
        expected = naive(defn, row)
        assert compiled.match(row) == expected
        assert scan_evaluate(compiled, row) == expected
        assert compiled.evaluate(row) == [compiled._outputs[i] for i in expected]
        assert compiled.first(row) == (compiled._outputs[expected[0]] if expected else None)


def _grid(column: InputColumn) -> list[Any]:
    """Every value class a column's drawn conditions can tell apart (numbers in quarter steps,
    so an overlap between exclusive bounds shows)."""
    if column.type == "number":
        return [None, *(Decimal(i) / 4 for i in range(-4, 64))]
    return [None, *(_value(column, i) for i in range(-1, 16))]


def _naive_overlap(defn: DecisionTableDef, a: Rule, b: Rule) -> bool:
    """Columns are independent, so two rules overlap when every column has a value both accept."""

    def accepts(rule: Rule, column: InputColumn, x: Any) -> bool:
        one = DecisionTableDef(
            "t", (column,), defn.outputs, (Rule(when={k: v for k, v in rule.when.items() if k == column.name}),)
        )
        return naive(one, {column.name: x}) == [0]

    return all(any(accepts(a, c, x) and accepts(b, c, x) for x in _grid(c)) for c in defn.inputs)


@PROPERTY
@given(data=st.data())
def test_unique_compiles_exactly_when_no_two_rules_overlap(data):
    defn = data.draw(tables("unique"))
    pairs = {
        (i, j)
        for i in range(len(defn.rules))
        for j in range(i + 1, len(defn.rules))
        if _naive_overlap(defn, defn.rules[i], defn.rules[j])
    }
    try:
        compiled = compile_table(defn)
    except DecisionTableInvalid as exc:
        assert pairs, exc.errors
        assert {e.code for e in exc.errors} == {"OVERLAPPING_RULES"}
        later = {int(e.field.split(".")[1]) for e in exc.errors}
        assert later <= {j for _, j in pairs}
        return
    assert not pairs
    for _ in range(20):
        row = data.draw(input_rows())
        assert len(compiled.match(row)) <= 1
        assert compiled.match(row) == naive(defn, row)


@pytest.mark.parametrize("hit_policy", ["first", "collect"])
@PROPERTY
@given(data=st.data())
def test_a_definition_survives_its_json_form(hit_policy, data):
    from om_graph.core.decisions.codec import from_json, to_json

    defn = data.draw(tables(hit_policy))
    stored = json.loads(json.dumps(to_json(defn)))  # as the database's JSON column keeps it
    again = from_json(stored)
    assert to_json(again) == to_json(defn)
    a, b = compile_table(defn), compile_table(again)
    for _ in range(10):
        row = data.draw(input_rows())
        assert a.match(row) == b.match(row)
