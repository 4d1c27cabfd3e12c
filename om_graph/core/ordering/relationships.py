"""Relationships between an order's lines (TMF622 ``productOrderItemRelationship``), checked at
capture and stored on the line (``order_line.relationships``: [{"lineNumber", "relationshipType"}]).

``reliesOn``: the line's work starts once the other line's is done; decomposition turns it into
finish-to-start dependencies from the other line's last tasks to this line's first ones (e.g. the
router ships once the access line is live). A line may not rely on itself, on a line the order
does not have, nor (through others) on a line that relies on it.

``bundles`` / ``bundledBy``: the line is a bundle containing the other line, or is contained in
it (TMF622's pair). A bundle is atomic: the lines connected by these relationships (either
direction, transitively) are one bundle, and a member past a point of no return holds every
member (core/change/ponr.py). Containment may not loop (a line inside itself, through others),
and a pair may not say both directions at once (1 bundles 2 and 1 bundledBy 2). They add no task
dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.kernel.graphs import find_cycle

RELIES_ON = "reliesOn"
BUNDLES = "bundles"
BUNDLED_BY = "bundledBy"
LINE_RELATIONSHIP_TYPES = (RELIES_ON, BUNDLES, BUNDLED_BY)
BUNDLE_TYPES = (BUNDLES, BUNDLED_BY)
MAX_RELATIONSHIPS = 50  # per line


def relationship_errors(relationships: Sequence[Sequence[tuple[int, str]]]) -> list[FieldError]:
    """Problems of the lines' relationships (``relationships[i]``: line ``i + 1``'s, as
    (line number, type) pairs), with field paths ``lines.<index>.relationships.<j>.<field>``."""
    errors: list[FieldError] = []
    count = len(relationships)
    relies: dict[int, list[int]] = {}
    contains: dict[int, list[int]] = {}  # bundle -> member (bundles, and bundledBy reversed)
    for index, given in enumerate(relationships):
        number = index + 1
        path = f"lines.{index}.relationships"
        if len(given) > MAX_RELATIONSHIPS:
            errors.append(FieldError(path, f"at most {MAX_RELATIONSHIPS} relationships", CommonErrorCode.TOO_MANY))
            continue
        seen: set[tuple[int, str]] = set()
        for j, (other, kind) in enumerate(given):
            at = f"{path}.{j}"
            if kind not in LINE_RELATIONSHIP_TYPES:
                errors.append(
                    FieldError(f"{at}.relationshipType", f"one of {', '.join(LINE_RELATIONSHIP_TYPES)}", CommonErrorCode.INVALID)
                )
            elif other == number:
                errors.append(FieldError(f"{at}.lineNumber", "a line cannot relate to itself", CommonErrorCode.INVALID))
            elif not 1 <= other <= count:
                errors.append(FieldError(f"{at}.lineNumber", f"the order has no line {other}", CommonErrorCode.NOT_FOUND))
            elif (other, kind) in seen:
                errors.append(FieldError(f"{at}.lineNumber", "given twice", CommonErrorCode.DUPLICATE))
            elif kind in BUNDLE_TYPES and (other, BUNDLES if kind == BUNDLED_BY else BUNDLED_BY) in seen:
                errors.append(
                    FieldError(
                        f"{at}.relationshipType",
                        f"line {number} cannot both bundle line {other} and be bundled by it",
                        CommonErrorCode.INVALID,
                    )
                )
            else:
                seen.add((other, kind))
                if kind == RELIES_ON:
                    relies.setdefault(number, []).append(other)
                elif kind == BUNDLES:
                    contains.setdefault(number, []).append(other)
                else:
                    contains.setdefault(other, []).append(number)
    cycle = find_cycle(relies)
    if cycle:
        errors.append(
            FieldError(
                f"lines.{cycle[0] - 1}.relationships",
                "lines rely on each other in a cycle: " + " -> ".join(str(n) for n in cycle),
                CommonErrorCode.INVALID,
            )
        )
    loop = find_cycle({k: sorted(set(v)) for k, v in contains.items()})
    if loop:
        errors.append(
            FieldError(
                f"lines.{loop[0] - 1}.relationships",
                "bundles contain each other in a cycle: " + " -> ".join(str(n) for n in loop),
                CommonErrorCode.INVALID,
            )
        )
    return errors


def stored(given: Sequence[tuple[int, str]]) -> list[dict[str, object]] | None:
    """The line's relationships as stored (None: none)."""
    return [{"lineNumber": number, "relationshipType": kind} for number, kind in given] or None


def bundles(lines: Iterable[tuple[int, Sequence[Mapping[str, Any]] | None]]) -> dict[int, frozenset[int]]:
    """Per line number (of ``lines``: (line number, stored relationships)), the line numbers of its
    bundle: the component connected by ``bundles``/``bundledBy`` either way, itself included. A
    line in no bundle maps to itself alone; a relationship to a line not given is ignored."""
    given = list(lines)
    numbers = [number for number, _ in given]
    parent = {n: n for n in numbers}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for number, relationships in given:
        for r in relationships or ():
            other = int(r.get("lineNumber", 0))
            if r.get("relationshipType") in BUNDLE_TYPES and other in parent and other != number:
                a, b = root(number), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, set[int]] = {}
    for n in numbers:
        groups.setdefault(root(n), set()).add(n)
    return {n: frozenset(groups[root(n)]) for n in numbers}
