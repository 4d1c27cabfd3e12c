"""The decision tree a compiled table's rules are indexed in (core/decisions/compiled.py's
docstring, "Compilation"): hash and interval nodes, leaves with generated predicates."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from om_graph.core.decisions.values import (
    ANY_KIND,
    ORDERED_TYPES,
    RANGE_KIND,
    SET_KIND,
    NormalizedRule,
)

_LEAF_SIZE = 4  # stop splitting a bucket this small
_MAX_DEPTH = 3


# --- the index ---------------------------------------------------------------------------------

# A leaf entry: (rule index, predicate over the input row or None when the path decided it all).
LeafEntry = tuple[int, Callable[[tuple[Any, ...]], bool] | None]


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
class IndexItem:
    """A rule on its way down the tree: the columns the path has not decided yet."""

    rule: NormalizedRule
    open_columns: frozenset[int]


def _split_hash(items: list[IndexItem], column: int) -> tuple[dict[Any, list[IndexItem]], list[IndexItem], list[IndexItem]]:
    buckets: dict[Any, list[IndexItem]] = {}
    for item in items:
        cond = item.rule.conditions[column]
        if cond.kind == SET_KIND:
            for v in cond.values:
                buckets.setdefault(v, [])
    other: list[IndexItem] = []
    missing: list[IndexItem] = []
    decided = None
    for item in items:
        cond = item.rule.conditions[column]
        if cond.kind == SET_KIND:
            decided = IndexItem(item.rule, item.open_columns - {column})
            for v in cond.values:
                buckets[v].append(decided)
        elif cond.kind == ANY_KIND:
            decided = IndexItem(item.rule, item.open_columns - {column})
            for bucket in buckets.values():
                bucket.append(decided)
            other.append(decided)
            missing.append(decided)
        else:  # a range among equals: in every bucket it may match, still to check
            for v, bucket in buckets.items():
                if cond.matches(v):
                    bucket.append(IndexItem(item.rule, item.open_columns - {column}))
            other.append(item)
    return buckets, other, missing


def _split_interval(items: list[IndexItem], column: int) -> tuple[list[Any], list[list[IndexItem]], list[IndexItem]]:
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
    regions: list[list[IndexItem]] = [[] for _ in range(2 * len(points) + 1)]
    missing: list[IndexItem] = []
    for item in items:
        cond = item.rule.conditions[column]
        decided = IndexItem(item.rule, item.open_columns - {column})
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


def _cost(groups: Iterable[list[IndexItem]]) -> tuple[float, int]:
    sizes = [len(g) for g in groups]
    return (max(sizes) + sum(sizes) / len(sizes)) / 2 if sizes else 0.0, sum(sizes)


class TreeBuilder:
    def __init__(self, column_types: Sequence[str], order_key: Callable[[NormalizedRule], Any], truncate: bool):
        self.column_types = column_types
        self.order_key = order_key
        self.truncate = truncate
        self.predicates: dict[tuple[int, frozenset[int]], Callable[[tuple[Any, ...]], bool] | None] = {}
        self.rules_by_index: dict[int, NormalizedRule] = {}
        self.leaves: list[tuple[LeafEntry, ...]] = []

    def build(self, items: list[IndexItem], depth: int = 0) -> Any:
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

    def leaf(self, items: list[IndexItem]) -> tuple[LeafEntry, ...]:
        entries: list[LeafEntry] = []
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
