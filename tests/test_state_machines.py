"""The transition tables and the roll-up rule, checked exhaustively and with Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, aggregate
from om_graph.core.inventory.states import PRODUCT
from om_graph.core.kernel.errors import InvalidTransition
from om_graph.core.kernel.machine import SYSTEM_ONLY
from om_graph.core.ordering.states import LINE, ORDER

MACHINES = [ORDER, LINE, DOMAIN_ORDER, TASK, PRODUCT]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_terminal_states_have_no_way_out_and_every_state_is_reachable(machine):
    for state in machine.terminal:
        assert machine.events_from(state) == [], f"{state} is terminal"
    reachable, frontier = {machine.initial}, [machine.initial]
    while frontier:
        state = frontier.pop()
        for event in machine.events_from(state):
            target = machine.transition(
                state, event, frozenset({"system"}) | frozenset().union(*(t.roles for t in machine.transitions))
            ).target
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == machine.states


def test_tmf622_order_edges():
    assert ORDER.transition("draft", "submit", frozenset({"order_agent"})).target == "acknowledged"
    assert ORDER.transition("acknowledged", "reject").target == "rejected"
    assert ORDER.transition("inProgress", "completePartially").target == "partial"
    with pytest.raises(InvalidTransition):
        ORDER.transition("completed", "start")
    with pytest.raises(InvalidTransition) as err:
        ORDER.transition("acknowledged", "start", frozenset({"customer"}))  # only the system starts orders
    assert err.value.code == "FORBIDDEN"


def test_pending_terminate_cannot_return_to_active():
    assert not PRODUCT.can("terminated", "activate")


ALL_STATES = sorted({s for m in (TASK, DOMAIN_ORDER, LINE) for s in m.states} | {"partial"})


@given(st.lists(st.sampled_from(ALL_STATES), max_size=12))
def test_aggregate_follows_tmf622_consistency_rules(states):
    result = aggregate(states)
    live = [s for s in states if s != "cancelled"]
    if not states:
        assert result == "completed"
    elif not live:
        assert result == "failed"
    elif all(s == "completed" for s in live):
        assert result == "completed"
    elif all(s in ("completed", "failed", "partial") for s in live):
        assert result == ("failed" if all(s == "failed" for s in live) else "partial")
    elif any(s in ("inProgress", "completed", "failed", "partial") for s in live):
        assert result == "inProgress"
    else:
        assert result is None


@given(st.lists(st.sampled_from(sorted(TASK.states)), min_size=1, max_size=8), st.permutations(range(8)))
def test_aggregate_ignores_order_of_children(states, perm):
    shuffled = [states[i] for i in perm if i < len(states)]
    assert aggregate(states) == aggregate(shuffled)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(TASK.states)), st.sampled_from(["release", "start", "retry", "complete", "fail", "cancel"])
        ),
        max_size=20,
    )
)
def test_task_machine_never_leaves_a_terminal_state(steps):
    state = TASK.initial
    for _, event in steps:
        try:
            new = TASK.transition(state, event, SYSTEM_ONLY | frozenset({"order_fulfillment_agent"})).target
        except InvalidTransition:
            continue
        assert state not in TASK.terminal
        state = new
