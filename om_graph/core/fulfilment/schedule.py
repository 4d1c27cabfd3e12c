"""Schedules: planned, estimated and actual dates of an order's tasks, the critical path, and the
expected completion of its lines and the order.

The first half is pure: functions over plain rows (anything with the attributes they read: ORM
rows, SQL rows, test namespaces), O(tasks + dependencies), no database. The critical path method
(CPM) runs over the tasks' durations and the typed dependencies with their lags, read from the same
table as the release rules (:data:`rules.DEPENDENCY_RULES`: a gate is the successor's start or
finish, opened ``lag`` after the predecessor's start or finish):

- *planned* dates are computed once, when the plan is made: forward from the order's submit time
  (or its requested start date, when later) — the early schedule; or, when the order has a
  requested completion date, backward from it — the late schedule (the latest dates that still
  meet it);
- *estimated* dates are recomputed whenever the plan changes (each plan session): actual starts
  and finishes are fixed, work not started cannot start before now, work in progress does not
  end before now;
- *total float* is the slack before a task delays the order's end (a backward pass from the
  estimated end); *critical* tasks have none.

The second half (:func:`reschedule`) applies a schedule to a loaded plan, in the plan session's
close: it writes only the columns whose value moved (by more than :data:`TOLERANCE`), so a
session in which nothing moved writes nothing, and records each revision of a line's or the
order's expected completion (:class:`~om_graph.core.fulfilment.models.CompletionEstimate`, with its
reason; the order's also as an ``ExpectedCompletionDateChange`` event).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.fulfilment.durations import default_duration
from om_graph.core.fulfilment.models import CompletionEstimate
from om_graph.core.fulfilment.rules import DEPENDENCY_RULES, Gates
from om_graph.core.fulfilment.states import DOMAIN_ORDER_DONE, TaskKinds, TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.ordering.states import LINE, ORDER

if TYPE_CHECKING:
    from om_graph.core.fulfilment.plan import OrderPlan
    from om_graph.core.kernel.uow import UnitOfWork

# A task without a duration (none from its template or the duration table) is planned with these.
DEFAULT_DURATION_SECONDS = {kind: default_duration(kind) for kind in (TaskKinds.AUTOMATIC, TaskKinds.MANUAL)}  # durations.py's
# Estimated dates and float are rewritten, and an expected completion revised, only when they move
# by more than this: clocks move in every session, and a revision per second is noise.
TOLERANCE = timedelta(seconds=60)

Edge = tuple[int, int, str, int]  # (task id, predecessor id, dependency type, lag seconds)
Span = tuple[datetime, datetime]


class Reasons:
    """Why an expected completion date was revised (CompletionEstimate.reason)."""

    PLANNED = "planned"
    TASK_STARTED_LATE = "taskStartedLate"
    TASK_STARTED_EARLY = "taskStartedEarly"
    TASK_FINISHED_LATE = "taskFinishedLate"
    TASK_FINISHED_EARLY = "taskFinishedEarly"
    TASK_RUNNING_LATE = "taskRunningLate"
    RESUMED = "resumed"
    REPLANNED = "replanned"  # work added to the plan (a parked part of the decomposition built)
    RESCHEDULED = "rescheduled"  # anything else (a task cancelled, a lag)


@dataclass(frozen=True, slots=True)
class TaskDates:
    start: datetime
    end: datetime
    float_seconds: int | None = None

    @property
    def critical(self) -> bool:
        return self.float_seconds is not None and self.float_seconds <= 0


def duration_of(task: Any) -> timedelta:
    seconds = task.duration_seconds
    if seconds is None:
        seconds = DEFAULT_DURATION_SECONDS.get(task.kind, DEFAULT_DURATION_SECONDS[TaskKinds.AUTOMATIC])
    return timedelta(seconds=max(0, seconds))


class Network:
    """The tasks and their typed dependencies, in a topological order (a cycle, which the catalog
    refuses, would not loop: its tasks come last, in id order, their cyclic edges ignored)."""

    def __init__(self, tasks: Iterable[Any], edges: Iterable[Edge]):
        self.tasks = {t.id: t for t in tasks if t.state != TaskStates.CANCELLED}  # cancelled work has no dates
        self.predecessors: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        self.successors: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        for task_id, predecessor_id, kind, lag in edges:
            if task_id in self.tasks and predecessor_id in self.tasks:
                self.predecessors[task_id].append((predecessor_id, kind, lag or 0))
                self.successors[predecessor_id].append((task_id, kind, lag or 0))
        self.duration = {i: duration_of(t) for i, t in self.tasks.items()}
        self.order = self._topological()

    def _topological(self) -> list[int]:
        waiting = {i: len(self.predecessors.get(i, ())) for i in self.tasks}
        ready = sorted(i for i, n in waiting.items() if n == 0)
        order: list[int] = []
        while ready:
            current = ready.pop()
            order.append(current)
            for successor, _, _ in self.successors.get(current, ()):
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    ready.append(successor)
        if len(order) < len(self.tasks):
            placed = set(order)
            order.extend(sorted(i for i in self.tasks if i not in placed))
        return order

    def forward(
        self,
        origin: datetime,
        fixed_start: Mapping[int, datetime] | None = None,
        fixed_end: Mapping[int, datetime] | None = None,
        *,
        not_before: Mapping[int, datetime] | None = None,
        shift_start: bool = True,
    ) -> dict[int, Span]:
        """Earliest (start, end) per task from ``origin``. Fixed starts and ends (actuals) are
        kept; ``not_before`` bounds an open task's end (now, for work in progress). A finish gate
        moves the start with it (CPM) when ``shift_start``, else only the end (a released task
        that waits at its finish, as the orchestrator runs it)."""
        fixed_start, fixed_end, not_before = fixed_start or {}, fixed_end or {}, not_before or {}
        dates: dict[int, Span] = {}
        position = {i: n for n, i in enumerate(self.order)}
        for task_id in self.order:
            duration = self.duration[task_id]
            start_bound, finish_bound = origin, origin  # the end comes after the start anyway
            for predecessor_id, kind, lag in self.predecessors.get(task_id, ()):
                if position[predecessor_id] > position[task_id]:
                    continue  # a cyclic edge (see the class)
                rule = DEPENDENCY_RULES[kind]
                p_start, p_end = dates[predecessor_id]
                bound = (p_start if rule.at == "started_at" else p_end) + timedelta(seconds=lag)
                if rule.gate == Gates.START:
                    start_bound = max(start_bound, bound)
                else:
                    finish_bound = max(finish_bound, bound)
            if task_id in fixed_start:
                start = fixed_start[task_id]
            else:
                start = max(start_bound, finish_bound - duration) if shift_start else start_bound
            if task_id in fixed_end:
                end = fixed_end[task_id]
                start = min(start, end)  # finished without a recorded start (entered by hand)
            else:
                end = max(start + duration, finish_bound, not_before.get(task_id, datetime.min))
            dates[task_id] = (start, end)
        return dates

    def backward(self, end: datetime, durations: Mapping[int, timedelta] | None = None) -> dict[int, Span]:
        """Latest (start, end) per task that still finishes everything by ``end``."""
        durations = durations or self.duration
        dates: dict[int, Span] = {}
        position = {i: n for n, i in enumerate(self.order)}
        for task_id in reversed(self.order):
            duration = durations[task_id]
            latest_end = end
            for successor_id, kind, lag in self.successors.get(task_id, ()):
                if position[successor_id] < position[task_id]:
                    continue
                rule = DEPENDENCY_RULES[kind]
                s_start, s_end = dates[successor_id]
                limit = (s_start if rule.gate == Gates.START else s_end) - timedelta(seconds=lag)
                if rule.at == "started_at":
                    limit += duration  # the predecessor's start is bound: its end may come later
                latest_end = min(latest_end, limit)
            dates[task_id] = (latest_end - duration, latest_end)
        return dates


def _floats(network: Network, early: Mapping[int, Span]) -> dict[int, int]:
    """Total float per task over an early schedule: how far each can slip before the end moves."""
    if not early:
        return {}
    durations = {i: e - s for i, (s, e) in early.items()}
    late = network.backward(max(e for _, e in early.values()), durations)
    return {i: int((late[i][0] - early[i][0]).total_seconds()) for i in early}


def plan_dates(
    tasks: Iterable[Any], edges: Iterable[Edge], start: datetime, deadline: datetime | None = None
) -> dict[int, TaskDates]:
    """Planned dates: the early schedule from ``start``, or with a ``deadline`` the late schedule
    that ends on it; float against the early schedule's end (zero: critical)."""
    network = Network(tasks, edges)
    early = network.forward(start)
    floats = _floats(network, early)
    dates = network.backward(deadline) if deadline is not None else early
    return {i: TaskDates(s, e, floats.get(i)) for i, (s, e) in dates.items()}


def estimate_dates(
    tasks: Iterable[Any], edges: Iterable[Edge], now: datetime, origin: datetime | None = None
) -> dict[int, TaskDates]:
    """Estimated dates now: actual starts and finishes fixed, the rest from now on; float
    against the estimated end."""
    network = Network(tasks, edges)
    fixed_start: dict[int, datetime] = {}
    fixed_end: dict[int, datetime] = {}
    not_before: dict[int, datetime] = {}
    for task_id, task in network.tasks.items():
        if task.started_at is not None:
            fixed_start[task_id] = task.started_at
        if task.finished_at is not None and task.state in (TaskStates.COMPLETED, TaskStates.FAILED):
            fixed_end[task_id] = task.finished_at
        elif task.started_at is not None:
            not_before[task_id] = now  # in progress (or on hold): it ends now at the earliest
    dates = network.forward(max(origin, now) if origin else now, fixed_start, fixed_end, not_before=not_before, shift_start=False)
    floats = _floats(network, dates)
    return {i: TaskDates(s, e, floats.get(i)) for i, (s, e) in dates.items()}


def spans(domain_orders: Iterable[Any], tasks: Iterable[Any], dates: Mapping[int, TaskDates]) -> dict[int, Span]:
    """Per domain order: from its first task's start to its last task's end, its children's included."""
    result: dict[int, Span] = {}
    for task in tasks:
        if (d := dates.get(task.id)) is not None:
            result[task.domain_order_id] = _union(result.get(task.domain_order_id), (d.start, d.end))
    for domain_order in sorted(domain_orders, key=lambda d: d.id, reverse=True):  # children first
        span = result.get(domain_order.id)
        if span is not None and domain_order.parent_id is not None:
            result[domain_order.parent_id] = _union(result.get(domain_order.parent_id), span)
    return result


def _union(a: Span | None, b: Span) -> Span:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


def line_completions(domain_orders: Iterable[Any], domain_spans: Mapping[int, Span]) -> dict[int, datetime]:
    """Per line: the end of its last domain order."""
    result: dict[int, datetime] = {}
    for domain_order in domain_orders:
        if domain_order.parent_id is None and (span := domain_spans.get(domain_order.id)) is not None:
            result[domain_order.line_id] = max(result.get(domain_order.line_id, span[1]), span[1])
    return result


def plan_start(order: Any, now: datetime) -> datetime:
    """Where planning starts: the submit time, or the requested start date when later."""
    start = order.submitted_at or now
    if order.requested_start_date is not None and order.requested_start_date > start:
        start = order.requested_start_date
    return start


# -- applying a schedule to a plan (the plan session's close) ----------------------------------


def _moved(old: datetime | None, new: datetime | None, exact: bool = False) -> bool:
    if old is None or new is None:
        return old is not new
    return old != new if exact else abs(new - old) > TOLERANCE


def _assign(row: Any, column: str, value: Any, exact: bool = False) -> None:
    old = getattr(row, column)
    if isinstance(value, datetime) or value is None:
        if _moved(old, value, exact):
            setattr(row, column, value)
    elif old != value:
        setattr(row, column, value)


def reschedule(uow: UnitOfWork, plan: OrderPlan, now: datetime) -> None:
    """Plan what is not planned yet, re-estimate everything, roll the dates up to domain orders,
    lines and the order, and record each revision of an expected completion. Writes only what
    moved."""
    order = plan.order
    tasks = list(plan.tasks.values())
    if not tasks:
        return
    edges = [(t, p, kind, plan.lags.get((t, p), 0)) for t, preds in plan.predecessors.items() for p, kind in preds]
    unplanned = [t for t in tasks if t.planned_start_at is None and t.state != TaskStates.CANCELLED]
    planning = bool(unplanned) and len(unplanned) == sum(1 for t in tasks if t.state != TaskStates.CANCELLED)
    replanned = bool(unplanned) and not planning
    if unplanned:
        if planning:
            planned = plan_dates(tasks, edges, plan_start(order, now), order.requested_completion_date)
        else:
            # Work added to a running plan (a parked part built): planned from now after what is planned.
            network = Network(tasks, edges)
            fixed = {t.id: (t.planned_start_at, t.planned_end_at) for t in tasks if t.planned_start_at and t.planned_end_at}
            early = network.forward(now, {i: s for i, (s, _) in fixed.items()}, {i: e for i, (_, e) in fixed.items()})
            planned = {i: TaskDates(s, e) for i, (s, e) in early.items()}
        for task in unplanned:
            if (d := planned.get(task.id)) is not None:
                task.planned_start_at, task.planned_end_at = d.start, d.end
        planned_spans = spans(
            plan.domain_orders,
            tasks,
            {t.id: TaskDates(t.planned_start_at, t.planned_end_at) for t in tasks if t.planned_start_at and t.planned_end_at},
        )
        for domain_order in plan.domain_orders:
            if domain_order.planned_start_at is None and (span := planned_spans.get(domain_order.id)) is not None:
                domain_order.planned_start_at, domain_order.planned_end_at = span

    reason, detail = _reason(tasks, now)
    estimated = estimate_dates(tasks, edges, now)
    for task in tasks:
        d = estimated.get(task.id)
        if d is None:
            continue
        _assign(task, "estimated_start_at", d.start, exact=task.started_at is not None)
        _assign(task, "estimated_end_at", d.end, exact=task.finished_at is not None and task.state != TaskStates.IN_PROGRESS)
        if task.state not in (TaskStates.COMPLETED, TaskStates.FAILED) and d.float_seconds is not None:
            if task.total_float_seconds is None or abs(task.total_float_seconds - d.float_seconds) > TOLERANCE.total_seconds():
                task.total_float_seconds = d.float_seconds
            _assign(task, "critical", d.critical)
    estimated_spans = spans(plan.domain_orders, tasks, estimated)
    started: dict[int, datetime] = {}
    for task in tasks:
        if task.started_at is not None:
            started[task.domain_order_id] = min(started.get(task.domain_order_id, task.started_at), task.started_at)
    for domain_order in plan.domain_orders:
        if (span := estimated_spans.get(domain_order.id)) is not None:
            done = domain_order.state in DOMAIN_ORDER_DONE  # its actual span: exact
            _assign(domain_order, "estimated_start_at", span[0], exact=done)
            _assign(domain_order, "estimated_end_at", span[1], exact=done)
        if domain_order.started_at is None and domain_order.id in started:
            domain_order.started_at = started[domain_order.id]

    if planning:
        reason, detail = Reasons.PLANNED, None
    elif replanned:
        reason, detail = Reasons.REPLANNED, None
    elif (resumed := _resumed([order, *plan.lines])) is not None:
        reason, detail = Reasons.RESUMED, resumed
    lines = line_completions(plan.domain_orders, estimated_spans)
    for line in plan.lines:
        done = line.state in LINE.terminal  # its actual end: exact
        if (expected := lines.get(line.id)) is not None and _moved(line.expected_completion_at, expected, done):
            _revise(uow, order, line, expected, reason, detail, now)
    if lines:
        expected = max(lines.values())
        if _moved(order.expected_completion_at, expected, order.state in ORDER.terminal):
            _revise(uow, order, None, expected, reason, detail, now)
        if order.committed_completion_at is None:  # once: the requested date, else the first plan's end
            planned_ends = [t.planned_end_at for t in tasks if t.planned_end_at is not None]
            order.committed_completion_at = order.requested_completion_date or max(planned_ends, default=expected)


def _revise(uow: UnitOfWork, order: Any, line: Any, expected: datetime, reason: str, detail: str | None, now: datetime) -> None:
    row = line if line is not None else order
    previous = row.expected_completion_at
    row.expected_completion_at = expected
    uow.session.add(
        CompletionEstimate(
            order_id=order.id,
            line_id=line.id if line is not None else None,
            expected_at=expected,
            previous_at=previous,
            reason=reason,
            detail=detail,
            recorded_at=now,
        )
    )
    if line is None:
        uow.record(
            order,
            ev.EXPECTED_COMPLETION_CHANGE,
            entity_kind="order",
            entity_id=order.id,
            actor=SYSTEM_ACTOR,
            payload={
                "expectedCompletionDate": expected.isoformat(),
                "previousExpectedCompletionDate": previous.isoformat() if previous else None,
                "reason": reason,
                "detail": detail,
            },
        )


def _resumed(rows: list[Any]) -> str | None:
    """What this transaction resumed (its pause ended: ``paused_at`` cleared), if anything."""
    for row in rows:
        state = inspect(row, raiseerr=False)
        if state is None or row.paused_at is not None:
            continue
        history = state.attrs.paused_at.history
        if any(value is not None for value in history.deleted):
            return f"order {row.id}" if row is rows[0] else f"line {row.line_number}"
    return None


def _reason(tasks: list[Any], now: datetime) -> tuple[str, str | None]:
    """Why the estimates move, read before they are rewritten: the task whose actual start or
    finish is furthest from what was estimated for it (or that runs past its estimated end)."""
    best: tuple[float, str, Any] | None = None
    for task in tasks:
        candidates: list[tuple[float, str]] = []
        if task.started_at is not None and task.estimated_start_at is not None and task.estimated_start_at != task.started_at:
            delta = (task.started_at - task.estimated_start_at).total_seconds()
            candidates.append((delta, Reasons.TASK_STARTED_LATE if delta > 0 else Reasons.TASK_STARTED_EARLY))
        if task.finished_at is not None and task.estimated_end_at is not None and task.estimated_end_at != task.finished_at:
            delta = (task.finished_at - task.estimated_end_at).total_seconds()
            candidates.append((delta, Reasons.TASK_FINISHED_LATE if delta > 0 else Reasons.TASK_FINISHED_EARLY))
        elif task.finished_at is None and task.started_at is not None and task.estimated_end_at and now > task.estimated_end_at:
            candidates.append(((now - task.estimated_end_at).total_seconds(), Reasons.TASK_RUNNING_LATE))
        for delta, reason in candidates:
            if best is None or abs(delta) > abs(best[0]):
                best = (delta, reason, task)
    if best is None:
        return Reasons.RESCHEDULED, None
    task = best[2]
    return best[1], f"task {task.key} ({task.id})"[:500]
