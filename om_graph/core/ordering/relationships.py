"""Relationships between an order's lines (TMF622 ``productOrderItemRelationship``), checked at
capture and stored on the line (``order_line.relationships``: [{"lineNumber", "relationshipType"}]).

``reliesOn``: the line's work starts once the other line's is done; decomposition turns it into
finish-to-start dependencies from the other line's last tasks to this line's first ones (e.g. the
router ships once the access line is live). A line may not rely on itself, on a line the order
does not have, nor (through others) on a line that relies on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.kernel.graphs import find_cycle

RELIES_ON = "reliesOn"
LINE_RELATIONSHIP_TYPES = (RELIES_ON,)
MAX_RELATIONSHIPS = 50  # per line


def relationship_errors(relationships: Sequence[Sequence[tuple[int, str]]]) -> list[FieldError]:
    """Problems of the lines' relationships (``relationships[i]``: line ``i + 1``'s, as
    (line number, type) pairs), with field paths ``lines.<index>.relationships.<j>.<field>``."""
    errors: list[FieldError] = []
    count = len(relationships)
    graph: dict[int, list[int]] = {}
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
            else:
                seen.add((other, kind))
                graph.setdefault(number, []).append(other)
    cycle = find_cycle(graph)
    if cycle:
        errors.append(
            FieldError(
                f"lines.{cycle[0] - 1}.relationships",
                "lines rely on each other in a cycle: " + " -> ".join(str(n) for n in cycle),
                CommonErrorCode.INVALID,
            )
        )
    return errors


def stored(given: Sequence[tuple[int, str]]) -> list[dict[str, object]] | None:
    """The line's relationships as stored (None: none)."""
    return [{"lineNumber": number, "relationshipType": kind} for number, kind in given] or None
