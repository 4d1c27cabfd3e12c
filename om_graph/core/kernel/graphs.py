"""Small graph helpers shared by the contexts (the catalog's task dependencies, a line's
relationships)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def find_cycle(graph: Mapping[N, Iterable[N]]) -> list[N] | None:
    """A cycle of ``graph`` (node -> the nodes it points at) as a path whose last node is its
    first, or None. Nodes are visited in sorted order, so the answer is deterministic."""
    state: dict[N, int] = {}  # 1 visiting, 2 done
    stack: list[N] = []

    def visit(node: N) -> list[N] | None:
        state[node] = 1
        stack.append(node)
        for target in graph.get(node, ()):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):  # type: ignore[type-var]
        if node not in state and (found := visit(node)):
            return found
    return None
