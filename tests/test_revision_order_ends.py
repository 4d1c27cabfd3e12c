"""A revision waiting for approval when its order ends is rejected by ``revision_waiting.on_rolled_up``
(an ``Orchestrator.rolled_up_hooks`` entry, run by every plan session after its roll-up). These
tests pin down why that one place is enough: every transition of the ORDER machine into a terminal
state is either fired inside a plan session (complete, fail, completePartially: the roll-up;
cancel: the cancellation's settlement, a close hook) or leaves a state no revision can be waiting
in (reject: an acknowledged order, discard: a draft, neither revisable), and a cancellation is refused, or
waits, while a revision is open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from om_graph.core.change.revision import REVISABLE_ORDER_STATES
from om_graph.core.change.revision_input import RevisionInput
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.states import ORDER, OrderStates
from tests.support import AGENT
from tests.test_cancellation import drain, place, svc  # noqa: F401  (svc: the fixture)

S = OrderStates
# Every way into a terminal order state, and where it is fired (see the module docstring).
TERMINAL_ENTRIES = {
    ("complete", S.COMPLETED): {S.IN_PROGRESS},  # fulfilment/rollup.py, in a plan session
    ("fail", S.FAILED): {S.IN_PROGRESS},  # the roll-up
    ("completePartially", S.PARTIAL): {S.IN_PROGRESS},  # the roll-up
    ("reject", S.REJECTED): {S.ACKNOWLEDGED},  # lifecycle/processing.py, outside one: not revisable
    ("cancel", S.CANCELLED): {S.PENDING_CANCELLATION},  # cancellation_settlement.py, a close hook
    ("discard", S.CANCELLED): {S.DRAFT},  # ordering/service.py (TMF622 DELETE): a draft, not revisable
}


def _waiting_revision(svc, order_id, **changes):  # noqa: F811
    """A revision the approval policy holds (a discount over its limit)."""
    revision = svc.revisions.revise(
        AGENT,
        order_id,
        RevisionInput(manual_discount_percent=Decimal("25"), **changes),
        expected_version=None,
        reason="a goodwill discount",
    )
    assert revision.state == "pendingApproval", revision.state
    return revision


def test_every_terminal_order_transition_is_known_and_none_leaves_a_revisable_state_but_the_roll_ups():
    found = {
        (t.event, t.target): set(t.sources) for t in ORDER.transitions if t.target in ORDER.terminal and t.target not in t.sources
    }
    assert found == TERMINAL_ENTRIES  # a new way to end an order: check it rejects a waiting revision
    assert not {S.ACKNOWLEDGED, S.PENDING_CANCELLATION, S.DRAFT} & set(REVISABLE_ORDER_STATES)


def test_an_order_not_started_cannot_be_revised(svc):  # noqa: F811
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("undo-box", characteristics={"label": "x"}),)))
    svc.orders.submit(AGENT, order.id)  # acknowledged: its stage pass is still queued (it may be rejected)
    with pytest.raises(ValidationFailed) as refused:
        svc.revisions.revise(
            AGENT, order.id, RevisionInput(manual_discount_percent=Decimal("5")), expected_version=None, reason="r"
        )
    assert refused.value.errors[0].code == "NOT_REVISABLE"


def test_a_waiting_revision_refuses_a_cancellation_and_holds_a_dated_one(svc):  # noqa: F811
    waiting = place(svc)
    _waiting_revision(svc, waiting)
    [line] = svc.queries.order(AGENT, waiting).lines
    for line_id in (None, line.id):  # the order, or its line
        with pytest.raises(ValidationFailed) as refused:
            svc.cancellations.request(AGENT, waiting, line_id=line_id, reason="r")
        assert refused.value.errors[0].code == "REVISION_IN_PROGRESS"

    order_id = place(svc)
    dated = svc.cancellations.request(AGENT, order_id, reason="moving out", requested_date=utcnow() + timedelta(hours=1))
    assert dated.state == "acknowledged"
    revision = _waiting_revision(svc, order_id)
    # Its date comes while the revision waits: it is not carried out (one change at a time).
    assert svc.cancellations.run_due(utcnow() + timedelta(hours=2)) == 0
    assert svc.cancel_requests.get(AGENT, dated.id).state == "acknowledged"
    assert svc.queries.order(AGENT, order_id).order.state == "inProgress"
    assert svc.revisions.get(AGENT, revision.id).state == "pendingApproval"


def test_a_waiting_revision_of_an_order_its_last_line_cancellation_ends_is_rejected(svc):  # noqa: F811
    order_id = place(svc)
    [line] = svc.queries.order(AGENT, order_id).lines
    request = svc.cancellations.request(AGENT, order_id, line_id=line.id, reason="not needed")
    assert request.state == "inProgress"  # its undo work is queued
    # A revision adding a line (the cancelled one is not revised), held for approval.
    revision = _waiting_revision(svc, order_id, add_lines=(LineInput("undo-box", characteristics={"label": "y"}),))
    drain(svc)  # the undos run; the settlement cancels the line, and with it the order (a close hook)
    assert svc.queries.order(AGENT, order_id).order.state == "cancelled"
    ended = svc.revisions.get(AGENT, revision.id)
    assert ended.state == "rejected" and ended.error == {"reason": "the order is cancelled"}
