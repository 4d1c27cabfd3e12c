"""A revision waiting for approval (core/change/revision.py): the lines it changes are withheld
(fulfilment/holds.py ``withhold``) until it is approved or rejected; a resume of such a line does
not end that (``on_resume``, an ``Orchestrator.resume_hooks`` entry), and the order ending rejects
it (``on_rolled_up``, an ``Orchestrator.rolled_up_hooks`` entry)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change import versions
from om_graph.core.change.models import OrderRevision
from om_graph.core.change.states import RevisionStates
from om_graph.core.fulfilment import holds
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.ordering.models import OrderLine
from om_graph.core.ordering.states import ORDER


def awaiting(revision: OrderRevision) -> str:
    return f"revision {revision.id} awaits approval"


def revised_lines(lines: Iterable[OrderLine], changes: Iterable[versions.Change]) -> list[OrderLine]:
    """The stored lines a revision changes or removes (a price alone is no change to their work)."""
    return _lines_changed(lines, [(change.path, change.kind) for change in changes])


def _lines_changed(lines: Iterable[OrderLine], changes: Iterable[tuple[str, str]]) -> list[OrderLine]:
    numbers = set()
    for path, kind in changes:
        parts = path.split(".")
        if parts[0] == "lines" and len(parts) > 1 and kind not in (versions.ChangeKinds.PRICE, versions.ChangeKinds.LINE_ADDED):
            numbers.add(int(parts[1]))
    return [line for line in lines if line.line_number in numbers]


def _waiting_revision(session: PlanSession) -> OrderRevision | None:
    return session.uow.session.scalar(
        select(OrderRevision).where(
            OrderRevision.order_id == session.order.id, OrderRevision.state == RevisionStates.PENDING_APPROVAL
        )
    )


def on_rolled_up(session: PlanSession) -> None:
    """A revision still waiting for approval when its order ends (completed, failed, cancelled) is
    rejected with the order's state as its reason: there is nothing left to revise. Every end an
    order with a waiting revision can reach runs in a plan session (the roll-up's, the
    cancellation settlement's); the lifecycle's ``reject`` ends an acknowledged order, which no
    revision waits on (not revisable); tests/test_revision_order_ends.py."""
    if session.order.state not in ORDER.terminal:
        return
    revision = _waiting_revision(session)
    if revision is not None:
        reason = f"the order is {session.order.state}"
        session.fire(revision, "reject", SYSTEM_ACTOR, {"reason": reason})
        revision.error = {"reason": reason}
        if (revision.compensation or {}).get("pausedClock") and session.order.paused_at is not None:
            holds.end_pause(session, session.order)  # the clock the revision stopped


def on_resume(session: PlanSession) -> None:
    """A resume ends a manager's (or fallout's) hold, not a waiting revision's: the lines the
    revision withheld are withheld again (run by fulfilment/holds.py ``resume``)."""
    revision = _waiting_revision(session)
    if revision is not None:
        changed = _lines_changed(session.plan.lines, [(str(c["path"]), str(c["kind"])) for c in revision.diff or ()])
        holds.withhold([line for line in changed if line.hold_reason is None], awaiting(revision))


def release(session: PlanSession, revision: OrderRevision) -> None:
    """The lines a waiting revision withheld (:func:`holds.withhold`) go on (approved or rejected)."""
    reason = awaiting(revision)
    holds.release(session, [line for line in session.plan.lines if line.hold_reason == reason])
