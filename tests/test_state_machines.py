"""The transition tables, their guards and effects, the declared roll-up rules and the API enums."""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from graphql import build_schema
from hypothesis import given
from hypothesis import strategies as st

from om_graph.core.fulfilment.rules import BELOW_ORDER, ORDER_LEVEL, RELEASED_BY, roll_up_event
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK
from om_graph.core.inventory.states import PRODUCT
from om_graph.core.kernel.errors import InvalidTransition, ValidationFailed
from om_graph.core.kernel.machine import SYSTEM_ONLY, StateMachine, States, t
from om_graph.core.kernel.transitions import fire
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import LINE, ORDER

MACHINES = [ORDER, LINE, DOMAIN_ORDER, TASK, PRODUCT]
ALL_ROLES = SYSTEM_ONLY | frozenset().union(*(tr.roles for m in MACHINES for tr in m.transitions))
SYSTEM = SimpleNamespace(roles=SYSTEM_ONLY, label="system")
AGENT = SimpleNamespace(roles=frozenset({"order_agent", "order_fulfillment_agent"}), label="agent")


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_state_is_reachable_from_the_initial_one(machine):
    assert machine.reachable() == machine.states
    assert machine.initial in machine.states and machine.terminal <= machine.states


class _Two(States):
    A = "a"
    B = "b"
    C = "c"


def test_construction_refuses_unreachable_states_and_exits_from_terminal_states():
    with pytest.raises(ValueError, match="unreachable"):
        StateMachine("m", _Two, initial=_Two.A, terminal={_Two.C}, transitions=[t(_Two.A, "go", _Two.B)])
    with pytest.raises(ValueError, match="leaves a terminal state"):
        StateMachine("m", _Two, _Two.A, {_Two.B}, [t(_Two.A, "go", _Two.B), t(_Two.B, "on", _Two.C)])
    with pytest.raises(ValueError, match="declared states"):
        StateMachine("m", _Two, _Two.A, {_Two.B}, [t(_Two.A, "go", _Two.B), t(_Two.A, "x", "typo")])


@given(st.sampled_from(MACHINES).flatmap(lambda m: st.tuples(st.just(m), st.sampled_from(sorted(m.terminal)))))
def test_no_transition_leaves_a_terminal_state(drawn):
    machine, state = drawn
    assert machine.events_from(state) == []
    for tr in machine.transitions:
        with pytest.raises(InvalidTransition):
            machine.transition(state, tr.event, ALL_ROLES)


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


# -- guards and effects (table tests) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "entity", "event", "actor", "code"),
    [
        (ORDER, SimpleNamespace(state="acknowledged"), "edit", AGENT, "NOT_DRAFT"),
        (ORDER, SimpleNamespace(state="draft"), "edit", AGENT, None),
        (TASK, SimpleNamespace(state="ready", kind="automatic"), "complete", AGENT, "NOT_MANUAL"),
        (TASK, SimpleNamespace(state="ready", kind="manual"), "complete", AGENT, None),
        (TASK, SimpleNamespace(state="inProgress", kind="automatic"), "complete", SYSTEM, None),
        # work queues: someone else's manual task (core/fulfilment/queues.py)
        (TASK, SimpleNamespace(state="ready", kind="manual", assignee="other"), "complete", AGENT, "NOT_ASSIGNEE"),
        (TASK, SimpleNamespace(state="ready", kind="manual", assignee="agent"), "complete", AGENT, None),
    ],
)
def test_guards_refuse_with_their_declared_code(machine, entity, event, actor, code):
    if code is None:
        assert machine.enter(entity, entity.state, event, actor).event == event
    else:
        with pytest.raises(ValidationFailed) as err:
            machine.enter(entity, entity.state, event, actor)
        assert [e.code for e in err.value.errors] == [code]


@dataclass
class _RecordingUow:
    recorded: list

    def record(self, order, event_type, **fields):
        self.recorded.append((event_type, fields["from_state"], fields["to_state"]))


@pytest.mark.parametrize(
    ("start", "event", "stamped"),
    [("draft", "submit", False), ("draft", "edit", False), ("inProgress", "complete", True), ("inProgress", "fail", True)],
)
def test_order_transitions_bump_its_version_as_a_declared_effect(start, event, stamped):
    order = Order(state=start, version=3)
    uow = _RecordingUow([])
    actor = SimpleNamespace(roles=ALL_ROLES, label="x")
    fire(uow, order, order, event, actor)
    assert order.version == 4
    assert (order.completed_at is not None) == stamped
    assert "bumpVersion" in [e.name for e in ORDER.effects_of(ORDER.transition(start, event, ALL_ROLES))]
    [(event_type, _, _)] = uow.recorded
    assert event_type == ("ProductOrderAttributeValueChangeEvent" if event == "edit" else "ProductOrderStateChangeEvent")


# -- the API's enums equal the tables -------------------------------------------------------------


SCHEMA = build_schema((pathlib.Path(__file__).parent.parent / "schema.graphql").read_text())


def _graphql_name(state: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", state).upper()  # inProgress -> IN_PROGRESS


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        ("OrderState", ORDER.states),
        ("OrderLineState", LINE.states),
        ("DomainOrderState", DOMAIN_ORDER.states),
        ("TaskState", TASK.states),
        ("ProductStatus", PRODUCT.states),
        ("DependencyType", set(RELEASED_BY)),
    ],
    ids=str,
)
def test_the_committed_schemas_enums_are_exactly_the_machines_states(enum, values):
    """The committed schema.graphql (what clients build against), not enums built from the tables."""
    assert set(SCHEMA.type_map[enum].values) == {_graphql_name(v) for v in values}


# -- the roll-up rules: stated properties, not a second implementation ---------------------------

CHILD_STATES = sorted(TASK.states | DOMAIN_ORDER.states | LINE.states - {"draft", "rejected"})
TERMINAL = {"completed", "failed"}
children = st.lists(st.sampled_from(CHILD_STATES), max_size=10)
levels = st.sampled_from([BELOW_ORDER, ORDER_LEVEL])


@given(levels, children)
def test_parent_completes_iff_all_work_not_skipped_completed(rules, states):
    live = [s for s in states if s != "cancelled"]
    completes = roll_up_event(rules, states) == "complete"
    assert completes == (not states or (bool(live) and all(s == "completed" for s in live)))


@given(levels, st.lists(st.sampled_from(sorted(TERMINAL | {"cancelled"})), min_size=1, max_size=10))
def test_never_in_progress_when_all_children_are_terminal(rules, states):
    assert roll_up_event(rules, states) in {"complete", "fail", "completePartially"}


@given(levels, children, st.integers(min_value=0, max_value=10))
def test_a_cancelled_child_never_changes_the_result(rules, states, at):
    if not [s for s in states if s != "cancelled"]:
        return  # nothing but skipped work: the parent fails (no work is not the same as skipped work)
    assert roll_up_event(rules, [*states[:at], "cancelled", *states[at:]]) == roll_up_event(rules, states)


@given(children)
def test_order_level_partial_iff_a_terminal_mix_with_some_completed(states):
    live = [s for s in states if s != "cancelled"]
    mixed = bool(live) and set(live) <= TERMINAL and "completed" in live and "failed" in live
    assert (roll_up_event(ORDER_LEVEL, states) == "completePartially") == mixed
    assert roll_up_event(BELOW_ORDER, states) != "completePartially"  # no partial below the order


@given(levels, children, st.permutations(range(10)))
def test_the_roll_up_ignores_the_order_of_children(rules, states, perm):
    shuffled = [states[i] for i in perm if i < len(states)]
    assert roll_up_event(rules, states) == roll_up_event(rules, shuffled)


@given(levels, children)
def test_started_work_starts_the_parent_unless_it_is_finished(rules, states):
    live = [s for s in states if s != "cancelled"]
    started = any(s in {"inProgress", "completed", "failed"} for s in live)
    finished = not states or not live or set(live) <= TERMINAL
    assert (roll_up_event(rules, states) == "start") == (started and not finished)
