"""kernel.graphs.find_cycle: the one cycle finder (task dependencies, line relationships, mappings)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from om_graph.core.kernel.graphs import find_cycle


def test_find_cycle_names_the_path_back_to_its_first_node():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({1: [2], 2: [3]}) is None
    assert find_cycle({1: [1]}) == [1, 1]


@given(st.dictionaries(st.integers(0, 6), st.lists(st.integers(0, 6), max_size=3), max_size=7))
def test_a_found_cycle_is_a_path_of_the_graph_and_none_means_acyclic(graph):
    cycle = find_cycle(graph)
    if cycle is not None:
        assert cycle[0] == cycle[-1] and all(b in graph.get(a, ()) for a, b in zip(cycle, cycle[1:]))
        return
    # acyclic: a topological order exists (Kahn)
    nodes = set(graph) | {t for ts in graph.values() for t in ts}
    incoming = {n: 0 for n in nodes}
    for ts in graph.values():
        for t in ts:
            incoming[t] += 1
    ready = [n for n, c in incoming.items() if c == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for t in graph.get(n, ()):
            incoming[t] -= 1
            if incoming[t] == 0:
                ready.append(t)
    assert seen == len(nodes)
