"""Declared fulfilment rules: the roll-up, dependency release and the runnable rule.

Each is data evaluated by one small engine, so a new rule (start-to-start dependencies, a hold
state) is a row, not a branch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.states import DomainOrderStates, TaskKinds, TaskStates
from om_graph.core.ordering.states import LineStates

# -- roll-up (TMF622 consistency) --------------------------------------------------------------

SKIPPED = frozenset({TaskStates.CANCELLED, DomainOrderStates.CANCELLED})  # cancelled work counts as neither
STARTED = frozenset({TaskStates.IN_PROGRESS, TaskStates.COMPLETED, TaskStates.FAILED})
DONE = frozenset({TaskStates.COMPLETED, TaskStates.FAILED})


@dataclass(frozen=True)
class Children:
    """A condition over a parent's child states; skipped (cancelled) children are not counted."""

    quantifier: str  # none | onlySkipped | all | any
    states: frozenset[str] = frozenset()

    def holds(self, states: Sequence[str]) -> bool:
        live = [s for s in states if s not in SKIPPED]
        if self.quantifier == "none":
            return not states
        if self.quantifier == "onlySkipped":
            return bool(states) and not live
        if self.quantifier == "all":
            return bool(live) and all(s in self.states for s in live)
        return any(s in self.states for s in live)


NO_CHILDREN = Children("none")
ONLY_SKIPPED = Children("onlySkipped")


def all_in(*states: str) -> Children:
    return Children("all", frozenset(states))


def any_in(states: Iterable[str]) -> Children:
    return Children("any", frozenset(states))


@dataclass(frozen=True)
class RollupRule:
    name: str
    when: Children
    event: str  # fired on the parent (when its machine allows it from the parent's state)


# Domain orders and (TMF622 v4) lines have no partial state: some work failed, so they failed.
BELOW_ORDER = (
    RollupRule("nothing to do", NO_CHILDREN, "complete"),
    RollupRule("all work skipped", ONLY_SKIPPED, "fail"),
    RollupRule("all completed", all_in(TaskStates.COMPLETED), "complete"),
    RollupRule("all finished, some failed", all_in(*DONE), "fail"),
    RollupRule("work started", any_in(STARTED), "start"),
)
ORDER_LEVEL = (
    RollupRule("nothing to do", NO_CHILDREN, "complete"),
    RollupRule("all work skipped", ONLY_SKIPPED, "fail"),
    RollupRule("all completed", all_in(LineStates.COMPLETED), "complete"),
    RollupRule("all failed", all_in(LineStates.FAILED), "fail"),
    RollupRule("finished, some completed", all_in(LineStates.COMPLETED, LineStates.FAILED), "completePartially"),
    RollupRule("work started", any_in(STARTED), "start"),
)


def roll_up_event(rules: Sequence[RollupRule], child_states: Iterable[str]) -> str | None:
    """The event the first matching rule fires on the parent, or None."""
    states = list(child_states)
    return next((rule.event for rule in rules if rule.when.holds(states)), None)


# -- dependency release ------------------------------------------------------------------------


class DependencyTypes:
    FINISH_TO_START = "finishToStart"
    START_TO_START = "startToStart"
    FINISH_TO_FINISH = "finishToFinish"
    START_TO_FINISH = "startToFinish"


class Gates:
    """What a dependency holds back on its successor."""

    START = "start"  # the successor is not released (made ready) before the gate opens
    FINISH = "finish"  # the successor may run, but is not completed before the gate opens


@dataclass(frozen=True)
class DependencyRule:
    """A dependency type as data: the gate opens ``lag`` after the predecessor's ``at`` moment
    (``startedAt`` or ``finishedAt``), once the predecessor is in one of ``states``."""

    gate: str  # Gates.START | Gates.FINISH
    at: str  # the predecessor's column: started_at | finished_at
    states: frozenset[str]


# A predecessor counts as started once it ran (it may be on hold, in fallout, or done); as finished
# only once it completed. A failed predecessor opens no gate: failure cancels its successors.
# A cancelled predecessor opens none either (keeps the finish-to-start behaviour): its successors
# wait until they are cancelled with it.
_STARTED = frozenset({TaskStates.IN_PROGRESS, TaskStates.ON_HOLD, TaskStates.COMPLETED})
_FINISHED = frozenset({TaskStates.COMPLETED})
DEPENDENCY_RULES = {
    DependencyTypes.FINISH_TO_START: DependencyRule(Gates.START, "finished_at", _FINISHED),
    DependencyTypes.START_TO_START: DependencyRule(Gates.START, "started_at", _STARTED),
    DependencyTypes.FINISH_TO_FINISH: DependencyRule(Gates.FINISH, "finished_at", _FINISHED),
    DependencyTypes.START_TO_FINISH: DependencyRule(Gates.FINISH, "started_at", _STARTED),
}
# Per dependency type: the predecessor states that no longer hold the successor back (the
# schema's DependencyType enum is its keys).
RELEASED_BY = {kind: rule.states for kind, rule in DEPENDENCY_RULES.items()}

OPEN = datetime.min  # a gate with no time constraint: open since always
# A start gate, once the predecessor started, stays open while it retries (a back-off or a fallout
# retry moves it back to ready with its ``started_at`` kept); only failure or cancellation shut it.
_NEVER_STARTED = frozenset({TaskStates.FAILED, TaskStates.CANCELLED})


def _reached(rule: DependencyRule, predecessor: Any) -> bool:
    if predecessor.state in rule.states:
        return True
    return (
        rule.at == "started_at"
        and getattr(predecessor, "started_at", None) is not None
        and predecessor.state not in _NEVER_STARTED
    )


def gate_opens(dependency_type: str, lag_seconds: int, predecessor: Any) -> datetime | None:
    """When the dependency lets its successor go (start or finish, by its type's gate), or None
    while the predecessor has not reached its moment. A predecessor in the right state without
    the moment recorded (work entered by hand) opens the gate at once."""
    rule = DEPENDENCY_RULES[dependency_type]
    if not _reached(rule, predecessor):
        return None
    moment = getattr(predecessor, rule.at)
    return OPEN if moment is None else moment + timedelta(seconds=lag_seconds or 0)


def gates_due_sql(now: datetime) -> ColumnElement[bool]:
    """Tasks whose dependency gate opened by ``now`` (a lag ran out) but that no session moved
    yet: pending ones to release, finish-blocked ones to complete. The reconciler re-sends their
    order's advance job when the delayed one was lost (their ``dispatched_at`` is its clock)."""
    blocked = and_(Task.finish_blocked.is_(True), Task.state == TaskStates.IN_PROGRESS)
    return and_(Task.release_at <= now, or_(Task.state == TaskStates.PENDING, blocked))


def releases(dependency_type: str, predecessor: Task) -> bool:
    """Whether the predecessor's state lets the successor go (ignoring the lag)."""
    return _reached(DEPENDENCY_RULES[dependency_type], predecessor)


# -- the runnable rule -------------------------------------------------------------------------

_OPS = {"<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Due:
    """Tasks in ``state`` whose ``column`` is ``op`` now (or unset, when ``unset_passes``)."""

    state: str
    column: str
    op: str
    unset_passes: bool

    def matches(self, task: Any, now: datetime) -> bool:
        value = getattr(task, self.column)
        return task.state == self.state and (self.unset_passes if value is None else _OPS[self.op](value, now))

    def sql(self, now: datetime) -> ColumnElement[bool]:
        column = getattr(Task, self.column)
        due = _OPS[self.op](column, now)
        return and_(Task.state == self.state, or_(column.is_(None), due) if self.unset_passes else due)


@dataclass(frozen=True)
class RunnableRule:
    kind: str
    when: tuple[Due, ...]

    def matches(self, task: Any, now: datetime) -> bool:
        return task.kind == self.kind and any(due.matches(task, now) for due in self.when)

    def sql(self, now: datetime) -> ColumnElement[bool]:
        return and_(Task.kind == self.kind, or_(*(due.sql(now) for due in self.when)))


# Automatic tasks a worker may claim now: ready and past any retry back-off, or in progress under
# a lease that expired (its worker is gone).
RUNNABLE = RunnableRule(
    TaskKinds.AUTOMATIC,
    (
        Due(TaskStates.READY, "retry_at", "<=", unset_passes=True),
        Due(TaskStates.IN_PROGRESS, "lease_until", "<", unset_passes=False),
    ),
)
