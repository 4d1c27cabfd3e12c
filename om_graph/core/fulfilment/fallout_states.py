"""The fallout record's machine (DOMAIN.md row 16): open → inProgress → onHold / awaitingInformation
→ resolved → closed, or cancelled.

Who may fire what is the permission table's: fallout agents (FALLOUT_WORK) take, park and resolve
records; managers (FALLOUT_MANAGE) also reassign them and give up. The system opens them, reopens
one when a retry fails again (one record per failure, never a duplicate), resolves one when its
retry succeeds and cancels those whose task was cancelled.
"""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.fulfilment.models import Fallout
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import Effect, StateMachine, States, t
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import bind

WORK_ROLES = roles_with(Permission.FALLOUT_WORK)
MANAGE_ROLES = roles_with(Permission.FALLOUT_MANAGE)


class FalloutStates(States):
    OPEN = "open"  # waits for an agent
    IN_PROGRESS = "inProgress"  # an agent works it (or its retry runs)
    ON_HOLD = "onHold"  # parked by the agent (waiting on something outside)
    AWAITING_INFORMATION = "awaitingInformation"  # waiting for information from someone
    RESOLVED = "resolved"  # the task went on (retried to success, skipped, resolved by hand)
    CLOSED = "closed"  # reviewed and closed, or given up
    CANCELLED = "cancelled"  # its task was cancelled: nothing left to do


F = FalloutStates
ACTIVE = (F.OPEN, F.IN_PROGRESS, F.ON_HOLD, F.AWAITING_INFORMATION)


def _bump_version(fallout: Fallout) -> None:
    fallout.version = (fallout.version or 1) + 1


def _stamp_closed(fallout: Fallout) -> None:
    fallout.closed_at = utcnow()


BUMP_VERSION = Effect("bumpVersion", _bump_version)  # what a client's version (optimistic lock) compares
STAMP_CLOSED = Effect("stampClosed", _stamp_closed)

FALLOUT = StateMachine(
    "fallout",
    FalloutStates,
    initial=F.OPEN,
    terminal={F.CLOSED, F.CANCELLED},
    effects=[BUMP_VERSION],
    transitions=[
        t((F.OPEN, F.ON_HOLD, F.AWAITING_INFORMATION), "take", F.IN_PROGRESS, WORK_ROLES),
        t(F.IN_PROGRESS, "hold", F.ON_HOLD, WORK_ROLES),
        t(F.IN_PROGRESS, "requestInformation", F.AWAITING_INFORMATION, WORK_ROLES),
        t(ACTIVE, "reassign", F.OPEN, MANAGE_ROLES),
        # The actions on its task (core/fulfilment/fallout.py).
        t(ACTIVE, "retry", F.IN_PROGRESS, WORK_ROLES),  # the handler runs again: resolved or reopened
        t(ACTIVE, "reopen", F.OPEN),  # the retry failed again: the new attempt's error
        t(ACTIVE, "resolve", F.RESOLVED, WORK_ROLES),  # retried to success, skipped or resolved by hand
        t(F.RESOLVED, "close", F.CLOSED, WORK_ROLES, effects=[STAMP_CLOSED]),
        t(ACTIVE, "giveUp", F.CLOSED, MANAGE_ROLES, effects=[STAMP_CLOSED]),  # the task fails
        t(ACTIVE, "cancel", F.CANCELLED, effects=[STAMP_CLOSED]),
    ],
)

bind(Fallout, FALLOUT, kind="fallout", event_type=ev.FALLOUT_STATE_CHANGE)
