"""The pack SDK's compensation support: SimulatedSystem.reverse, released_outcome, original, and
om_graph.testing's undo_context / check_compensation / check_redo catching broken undos."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from om_graph.api import SimulatedSystem, TaskContext, TaskHandler, TaskOutcome, original, recorded_outcome, released_outcome
from om_graph.testing import check_compensation, check_redo, recorded, task_context, undo_context

SYSTEM = SimulatedSystem("sdk-test")


@pytest.fixture(autouse=True)
def _clean():
    SYSTEM.clear()
    yield


def allocate(ctx: TaskContext) -> TaskOutcome:
    return recorded_outcome(SYSTEM, ctx, {"thingId": "T-" + ctx.idempotency_key}, "thing allocated")


def release(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(SYSTEM, ctx, f"thing {original(ctx, 'thingId')} released")


GOOD = TaskHandler("sdk.thing", do=allocate, undo=release)


def test_undo_context_is_what_the_core_passes():
    do = task_context("sdk.thing", "sdk.spec", idempotency_key="k1", colour="red")
    outcome = allocate(do)
    undo = undo_context(do, outcome, idempotency_key="u1")
    assert (undo.mode, undo.idempotency_key, undo.compensates) == ("undo", "u1", "k1")
    assert undo.outcome == recorded(outcome) == {"characteristics": {"thingId": "T-k1"}, "message": "thing allocated"}
    assert undo.characteristics == {"colour": "red", "thingId": "T-k1"}
    assert release(undo).message == "thing T-k1 released"


def test_a_good_handler_passes_and_reports_its_undos():
    check = check_compensation(GOOD, task_context("sdk.thing", "sdk.spec", idempotency_key="k1"), systems=[SYSTEM])
    assert [o.message for o in check.undo_outcomes] == [
        "thing T-k1 released",
        "thing T-k1 released (nothing left to release in sdk-test)",
        "thing T-k1 released (nothing left to release in sdk-test)",
    ]


def test_a_handler_without_undo_is_refused():
    with pytest.raises(AssertionError, match="has no undo"):
        check_compensation(TaskHandler("sdk.thing", do=allocate), task_context("sdk.thing", "sdk.spec"), systems=[SYSTEM])


def test_an_undo_releasing_its_own_key_instead_of_the_compensated_one_is_caught():
    def wrong(ctx: TaskContext) -> None:
        SYSTEM.release(ctx.idempotency_key)  # the undo task's key: the original's record stays

    with pytest.raises(AssertionError, match="state differs"):
        check_compensation(
            TaskHandler("sdk.thing", do=allocate, undo=wrong), task_context("sdk.thing", "sdk.spec"), systems=[SYSTEM]
        )


def test_an_undo_failing_on_work_already_gone_is_caught():
    def strict(ctx: TaskContext) -> None:
        if not SYSTEM.reverse(ctx.idempotency_key, ctx.compensates or ""):
            raise RuntimeError("nothing to release")

    with pytest.raises(RuntimeError, match="nothing to release"):
        check_compensation(
            TaskHandler("sdk.thing", do=allocate, undo=strict), task_context("sdk.thing", "sdk.spec"), systems=[SYSTEM]
        )


def test_a_do_that_changes_nothing_in_the_given_systems_is_caught():
    handler = TaskHandler("sdk.noop", do=lambda ctx: TaskOutcome(), undo=lambda ctx: None)
    with pytest.raises(AssertionError, match="changed nothing"):
        check_compensation(handler, task_context("sdk.noop", "sdk.spec"), systems=[SYSTEM])


def test_a_redo_is_its_own_work_and_its_undo_leaves_the_first_do():
    check = check_redo(GOOD, task_context("sdk.thing", "sdk.spec", idempotency_key="k1"), systems=[SYSTEM], colour="blue")
    assert check.redo_context.mode == "redo" and check.redo_context.characteristics["colour"] == "blue"
    assert SYSTEM.get("k1") is not None and SYSTEM.active_count() == 1


@given(st.lists(st.sampled_from(["u1", "u2", "u3"]), min_size=1, max_size=12))
def test_reverse_releases_the_original_once_whatever_the_undo_calls(undo_keys):
    SYSTEM.clear()
    SYSTEM.allocate("k1", {"x": 1})
    SYSTEM.allocate("other", {"x": 2})
    released = [SYSTEM.reverse(key, "k1") for key in undo_keys]
    assert released.count(True) == 1 and released[0] is True
    assert SYSTEM.get("k1") is None and SYSTEM.get("other") == {"x": 2}
    assert SYSTEM.reversed_by(undo_keys[0]) == "k1"


def test_a_redo_keeps_the_identifiers_the_original_recorded():
    from dataclasses import replace

    from om_graph.api import keep_or
    from om_graph.testing import redo_context

    def serial(ctx: TaskContext) -> TaskOutcome:
        value = keep_or(ctx, "serial", lambda: "S-" + ctx.idempotency_key)
        return recorded_outcome(SYSTEM, ctx, {"serial": value, "speed": ctx.characteristics["speed"]}, "configured")

    do = task_context("sdk.serial", "sdk.spec", idempotency_key="k1", speed=500)
    first = serial(do)
    # The revision's new domain order carries the line's values, not the original's outputs.
    redo = replace(redo_context(do, first, speed=1000), characteristics={"speed": 1000})
    again = serial(redo)
    assert again.characteristics == {"serial": "S-k1", "speed": 1000}
