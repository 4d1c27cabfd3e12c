"""Jeopardy: SLAs of tasks, domain orders and orders, their levels, roll-up, alerts and pauses.

**SLAs.** A task's SLA (``order_task.planned_seconds``, its clock started when the task is
released: ``due_at``) comes from, in this order of precedence:

1. the ``fulfilment.sla`` decision table (a rule that matches and gives ``slaSeconds``);
2. a pack's jeopardy policy (hook ``om_register_jeopardy_policies``, highest ``priority`` first);
3. the task template's ``sla`` (the catalog);
4. a fallback policy (``priority <= FALLBACK_PRIORITY``: the core's ``om.default-sla``, 15 min
   automatic / 3 days manual);
5. none: the task is never in jeopardy by its SLA share.

A domain order's SLA (``domain_order.sla_seconds``, its clock from its first released task) and an
order's (counted from submit) come from the same table with ``level`` "domainOrder" / "order"
only (no policy, no template). An order SLA also gives the order its ``committed_completion_at``
when the schedule has not set one.

**Levels** are None (none), LOW, MEDIUM, HIGH, CRITICAL (stored upper case; None reads as null in
GraphQL). A task's or domain order's level is the highest whose threshold the elapsed share of its
SLA has reached (the thresholds of the policy that answers for the task, else 50/75/100/150 %).
An order also has a *predicted* level from its lateness, ``expected_completion_at`` (the
schedule's estimate along the critical path) minus ``committed_completion_at``, relative to the
order's planned span (:data:`PREDICTED_LEVELS`): any lateness is at least LOW, and a commitment
already passed is CRITICAL. The schedule re-estimates only when the plan changes, so between
sessions the pass adds the slip of the most overrun open task (the time past its
``estimated_end_at`` beyond its total float: what CPM would push the end by). It flags an order at
risk before any task's SLA is spent. The lateness is stored as ``predicted_lateness_seconds``.

**Roll-up.** A domain order's level is the max of its own (SLA share), of its open tasks' and of
its children's; a line's the max of its open domain orders'; an order's the max of its lines' and
of its own SLA and predicted levels. Task levels only rise while the task is open (as before);
rolled-up and predicted levels follow the current state and may fall. Rows are written only when
a level changes.

**Alerts.** Each change of a task's or an order's level records a ``ProductOrderJeopardyAlertEvent``
(TMF622 ``ProductOrderJeopardyAlert``: id, alertDate, name, jeopardyType, exception, message,
productOrderItem refs) on the order's events, so it reaches the ``orderEvents`` subscription.

**Pauses.** While an order or a line is held or pending (``paused_at`` set, or in those states),
its tasks are not evaluated, its levels stay as they are and no alert fires. Resuming shifts the
open tasks' ``due_at`` by the pause (core/fulfilment/holds.py), so the pause does not count.

**Scheduled evaluation** (:class:`JeopardyEvaluator`, run by the reconciler): a keyset over open
tasks by (state, id) in bounded batches; each batch's orders are read whole (their lines, domain
orders, open tasks) in a read with no transaction open; pack policies are asked then, outside any
write transaction, with answers cached per (taskKey, kind, specKey) for the pass; the changes are
written per small group of orders in short transactions, each re-checking under the order's lock
that the rows are as the read saw them (a row changed since is left to the next pass).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session, load_only

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.catalog.definitions import TaskTemplate
from om_graph.core.catalog.extensions import JeopardyPolicy, TaskTiming
from om_graph.core.catalog.registry import Registry
from om_graph.core.decisions.definitions import DecisionTableDef, InputColumn, OutputColumn
from om_graph.core.decisions.errors import UnknownDecisionTable
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.states import OPEN_TASK_STATES, DomainOrderStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import PluginCallFailed, call_plugin
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import LineStates, OrderStates

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FALLBACK_PRIORITY",
    "OPEN_TASK_STATES",
    "LEVELS",
    "PREDICTED_LEVELS",
    "SLA_TABLE",
    "SLA_TABLE_DEF",
    "JeopardyEvaluator",
    "JeopardyReport",
    "SlaAnswers",
    "domain_order_sla",
    "highest",
    "jeopardy_level",
    "order_sla",
    "predicted_level",
    "task_sla",
]

LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
"""The levels, lowest first; no level (None) is "none"."""
DEFAULT_THRESHOLDS = (0.5, 0.75, 1.0, 1.5)
"""The SLA shares at which LOW, MEDIUM, HIGH, CRITICAL start when no policy gives its own."""
FALLBACK_PRIORITY = -1000
"""Policies at or below this priority (the core's ``om.default-sla``) rank after the template's ``sla``."""

PREDICTED_LEVELS: tuple[tuple[float, str], ...] = (
    (0.0, "LOW"),  # late at all
    (0.10, "MEDIUM"),  # by a tenth of the planned span
    (0.25, "HIGH"),
    (0.50, "CRITICAL"),
)
"""The share of the order's planned span (committed date minus the order's start: submit, or a
later requested start) its predicted lateness must reach for each level (strictly above 0 for
LOW). A commitment already passed with work open is CRITICAL whatever the share."""

SLA_TABLE = "fulfilment.sla"
SLA_TABLE_DEF = DecisionTableDef(
    name=SLA_TABLE,
    description=(
        "SLAs of tasks, domain orders and orders (jeopardy): the first matching rule's slaSeconds wins over "
        "the packs' jeopardy policies and the catalog's task sla; no rule matching falls through to them."
    ),
    inputs=(
        InputColumn("level", "string", "task, domainOrder or order"),
        InputColumn("taskKey", "string", "the task template's key (level task)"),
        InputColumn("kind", "string", "automatic or manual (task); PRODUCT, SERVICE or RESOURCE (domainOrder)"),
        InputColumn("specKey", "string", "the specification of the task's domain order, or of the domain order"),
        InputColumn("priority", "string", "the order's TMF622 priority, 0 (highest) .. 4"),
        InputColumn("segment", "string", "the order's customer segment"),
        InputColumn("action", "string", "the line's action: add, modify, delete (order level: add, modify, delete or mixed)"),
    ),
    outputs=(OutputColumn("slaSeconds", "integer", default=None, description="the SLA; empty: no SLA from this table"),),
    hit_policy="first",
    rules=(),
)


class SlaTables(Protocol):
    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None: ...


def jeopardy_level(elapsed_share: float, thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS) -> str | None:
    """The highest level whose threshold ``elapsed_share`` has reached; None below the first."""
    level = None
    for name, threshold in zip(LEVELS, thresholds):
        if elapsed_share >= threshold:
            level = name
    return level


def rank(level: str | None) -> int:
    """0 for none, 1..4 for LOW..CRITICAL (an unknown stored value counts as none)."""
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def highest(levels: Iterable[str | None]) -> str | None:
    best: str | None = None
    for level in levels:
        if rank(level) > rank(best):
            best = level
    return best


def predicted_level(lateness_seconds: float, span_seconds: float | None, *, commitment_passed: bool = False) -> str | None:
    """The level an order's predicted lateness gives (see :data:`PREDICTED_LEVELS`)."""
    if lateness_seconds <= 0:
        return None
    if commitment_passed:
        return "CRITICAL"
    share = lateness_seconds / span_seconds if span_seconds and span_seconds > 0 else float("inf")
    level = None
    for threshold, name in PREDICTED_LEVELS:
        if share > threshold if threshold == 0 else share >= threshold:
            level = name
    return level


def _table_sla(tables: SlaTables | None, inputs: Mapping[str, Any]) -> int | None:
    if tables is None:
        return None
    try:
        row = tables.first(SLA_TABLE, inputs)
    except (KeyError, UnknownDecisionTable):  # tables without it (a unit test's)
        return None
    value = (row or {}).get("slaSeconds")
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _policy_answer(registry: Registry, timing: TaskTiming) -> tuple[JeopardyPolicy, timedelta] | None:
    """The first policy's answer; raises PluginCallFailed for a raising policy or one answering
    something other than a timedelta (the order being decomposed is then rejected)."""
    found = call_plugin("jeopardy policies", registry.policy_for, timing)
    if found is None:
        return None
    policy, duration = found
    if not isinstance(duration, timedelta):
        raise PluginCallFailed(f"jeopardy policy {policy.key!r} returned {duration!r}, not a timedelta")
    return policy, duration


def task_sla(
    registry: Registry,
    tables: SlaTables | None,
    *,
    task_key: str,
    kind: str,
    spec_key: str,
    template: TaskTemplate | None = None,
    priority: str | None = None,
    segment: str | None = None,
    action: str | None = None,
) -> int | None:
    """A task's SLA in seconds (None: no SLA): the ``fulfilment.sla`` table, else a pack's
    jeopardy policy, else ``template.sla``, else a fallback policy (see the module's docstring).
    Calls pack code (the policies): never inside a writing transaction. A policy that raises or
    answers something other than a timedelta raises :class:`PluginCallFailed`."""
    seconds = _table_sla(
        tables,
        {
            "level": "task",
            "taskKey": task_key,
            "kind": kind,
            "specKey": spec_key,
            "priority": priority,
            "segment": segment,
            "action": action,
        },
    )
    if seconds is not None:
        return seconds
    found = _policy_answer(registry, TaskTiming(task_key, kind, spec_key, None))
    if found is not None and found[0].priority > FALLBACK_PRIORITY:
        return int(found[1].total_seconds())
    if template is not None and template.sla is not None:
        return int(template.sla.total_seconds())
    return int(found[1].total_seconds()) if found is not None else None


def domain_order_sla(
    tables: SlaTables | None,
    *,
    spec_key: str,
    kind: str,
    priority: str | None = None,
    segment: str | None = None,
    action: str | None = None,
) -> int | None:
    """A domain order's SLA in seconds from the ``fulfilment.sla`` table (level domainOrder)."""
    inputs = {
        "level": "domainOrder",
        "specKey": spec_key,
        "kind": kind,
        "priority": priority,
        "segment": segment,
        "action": action,
    }
    return _table_sla(tables, inputs)


def order_sla(
    tables: SlaTables | None, *, priority: str | None = None, segment: str | None = None, action: str | None = None
) -> int | None:
    """An order's SLA in seconds from the ``fulfilment.sla`` table (level order)."""
    return _table_sla(tables, {"level": "order", "priority": priority, "segment": segment, "action": action})


# --- the scheduled evaluation -------------------------------------------------------------------

# OPEN_TASK_STATES (states.py): the tasks whose SLA clock runs; the keyset walks them state by state.
_CLOSED_DOMAIN_ORDERS = frozenset({DomainOrderStates.COMPLETED, DomainOrderStates.FAILED, DomainOrderStates.CANCELLED})
_CLOSED_LINES = frozenset({LineStates.COMPLETED, LineStates.FAILED, LineStates.REJECTED})
_PAUSED_ORDERS = frozenset({OrderStates.HELD, OrderStates.PENDING})
_PAUSED_LINES = frozenset({LineStates.HELD, LineStates.PENDING})
_EVALUATED_ORDERS = frozenset({OrderStates.IN_PROGRESS, OrderStates.ACKNOWLEDGED})

_T = Task.__table__
_D = DomainOrder.__table__
_O = Order.__table__
_L = OrderLine.__table__
_IDS: BindParameter[int] = bindparam("ids", expanding=True)

_KEYSET = (
    select(_T.c.id, _T.c.order_id)
    .where(_T.c.state == bindparam("state"), _T.c.id > bindparam("after"))
    .order_by(_T.c.id)
    .limit(bindparam("limit"))
)
_ORDER_KEYSET = (  # orders in progress with a commitment (ix_customer_order_state_id), as (id, order_id)
    select(_O.c.id, _O.c.id.label("order_id"))
    .where(_O.c.state == bindparam("state"), _O.c.id > bindparam("after"), _O.c.committed_completion_at.is_not(None))
    .order_by(_O.c.id)
    .limit(bindparam("limit"))
)
_ORDERS = select(
    _O.c.id,
    _O.c.customer_id,
    _O.c.state,
    _O.c.change_seq,
    _O.c.jeopardy,
    _O.c.predicted_lateness_seconds,
    _O.c.expected_completion_at,
    _O.c.committed_completion_at,
    _O.c.requested_start_date,
    _O.c.submitted_at,
    _O.c.created_at,
    _O.c.paused_at,
    _O.c.priority,
    _O.c.segment,
).where(_O.c.id.in_(_IDS))
_LINES = select(_L.c.id, _L.c.order_id, _L.c.line_number, _L.c.action, _L.c.state, _L.c.jeopardy, _L.c.paused_at).where(
    _L.c.order_id.in_(_IDS)
)
_DOMAIN_ORDERS = select(
    _D.c.id,
    _D.c.order_id,
    _D.c.line_id,
    _D.c.parent_id,
    _D.c.kind,
    _D.c.spec_key,
    _D.c.state,
    _D.c.jeopardy,
    _D.c.sla_seconds,
    _D.c.due_at,
    _D.c.started_at,
).where(_D.c.order_id.in_(_IDS))
_OPEN_TASKS = select(
    _T.c.id,
    _T.c.order_id,
    _T.c.domain_order_id,
    _T.c.key,
    _T.c.kind,
    _T.c.state,
    _T.c.due_at,
    _T.c.planned_seconds,
    _T.c.jeopardy,
    _T.c.estimated_end_at,
    _T.c.total_float_seconds,
).where(_T.c.order_id.in_(_IDS), _T.c.state.in_(OPEN_TASK_STATES))
_CHANGE_SEQS = select(_O.c.id, _O.c.change_seq).where(_O.c.id.in_(_IDS))
# The rows a group's changes touch, loaded into the writing session (the write path: the ORM
# flushes what changed, kernel/uow.py; tests/test_write_path.py), with only the columns the pass
# writes (a task row has 35 columns, which the ORM would build into each object for nothing).
_LOAD: dict[type, Any] = {
    Task: select(Task).options(load_only(Task.jeopardy)).where(Task.id.in_(bindparam("ids", expanding=True))),
    DomainOrder: select(DomainOrder)
    .options(load_only(DomainOrder.jeopardy, DomainOrder.sla_seconds, DomainOrder.due_at))
    .where(DomainOrder.id.in_(bindparam("ids", expanding=True))),
    OrderLine: select(OrderLine).options(load_only(OrderLine.jeopardy)).where(OrderLine.id.in_(bindparam("ids", expanding=True))),
}


@dataclass
class JeopardyReport:
    """One pass: what it read, changed and how long its longest transaction was."""

    batches: int = 0
    tasks_read: int = 0
    orders_evaluated: int = 0
    orders_paused: int = 0
    tasks_changed: int = 0
    domain_orders_changed: int = 0
    lines_changed: int = 0
    orders_changed: int = 0
    alerts: int = 0
    conflicts: int = 0  # orders written by someone else since the read: left to the next pass
    policy_failures: int = 0
    write_transactions: int = 0
    longest_transaction_seconds: float = 0.0
    longest_transaction_cpu_seconds: float = 0.0  # the longest one's CPU time in its thread
    longest_read_seconds: float = 0.0
    transaction_seconds: list[float] = field(default_factory=list, repr=False)  # each write's

    def timed(self, seconds: float, *, write: bool, cpu: float = 0.0) -> None:
        if write:
            self.write_transactions += 1
            self.transaction_seconds.append(seconds)
            if seconds > self.longest_transaction_seconds:
                self.longest_transaction_seconds, self.longest_transaction_cpu_seconds = seconds, cpu
        else:
            self.longest_read_seconds = max(self.longest_read_seconds, seconds)


@dataclass
class SlaAnswers:
    """The policies' answers within one pass, per (taskKey, kind, specKey): the thresholds and
    policy key of the policy that answers (the one that gave the task its SLA), or the defaults
    when none answers; None when the policies raised (the task is not evaluated this pass)."""

    registry: Registry
    _cache: dict[tuple[str, str, str], tuple[tuple[float, ...], str | None] | None] = field(default_factory=dict)
    _tables: dict[tuple[str | None, ...], int | None] = field(default_factory=dict)
    failures: int = 0

    def table(
        self,
        tables: SlaTables,
        level: str,
        priority: str | None,
        segment: str | None,
        action: str | None,
        spec_key: str | None = None,
        kind: str | None = None,
    ) -> int | None:
        """A domain order's or an order's SLA from the table, memoised per inputs within the pass."""
        key = (level, priority, segment, action, spec_key, kind)
        if key not in self._tables:
            if level == "order":
                self._tables[key] = order_sla(tables, priority=priority, segment=segment, action=action)
            else:
                assert spec_key is not None and kind is not None
                self._tables[key] = domain_order_sla(
                    tables, spec_key=spec_key, kind=kind, priority=priority, segment=segment, action=action
                )
        return self._tables[key]

    def thresholds(self, task_key: str, kind: str, spec_key: str) -> tuple[tuple[float, ...], str | None] | None:
        key = (task_key, kind, spec_key)
        if key not in self._cache:
            try:
                found = _policy_answer(self.registry, TaskTiming(task_key, kind, spec_key, None))
            except PluginCallFailed:
                log.exception("jeopardy policies failed for task %s of %s", task_key, spec_key)
                self.failures += 1
                self._cache[key] = None
            else:
                self._cache[key] = (found[0].thresholds, found[0].key) if found is not None else (DEFAULT_THRESHOLDS, None)
        return self._cache[key]


@dataclass
class _Change:
    """One order's new levels, computed on a read; written if the order is unchanged since."""

    order: Any  # the order row as read
    lines: dict[int, Any]
    tasks: list[tuple[Any, str, float, str | None, int | None]] = field(
        default_factory=list
    )  # row, level, share, policy, line no.
    domain_orders: list[tuple[Any, str | None, int | None, datetime | None]] = field(default_factory=list)
    line_levels: list[tuple[Any, str | None]] = field(default_factory=list)
    order_level: str | None = None
    lateness: int | None = None
    committed: datetime | None = None
    reason: str = ""

    @property
    def order_changes(self) -> bool:
        o = self.order
        return (self.order_level, self.lateness, self.committed) != (
            o.jeopardy,
            o.predicted_lateness_seconds,
            o.committed_completion_at,
        )

    def empty(self) -> bool:
        return not (self.tasks or self.domain_orders or self.line_levels or self.order_changes)


def _seconds(delta: timedelta) -> float:
    return delta.total_seconds()


class JeopardyEvaluator:
    """The batched, scheduled jeopardy pass (see the module's docstring). ``tables`` gives the
    active decision tables in a session (the SLA table for domain orders and orders); None: no
    table SLAs for them."""

    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        registry: Registry,
        *,
        tables: Callable[[Session], SlaTables] | None = None,
        batch: int = 500,
        write_group: int = 5,
    ):
        self._uow = uow
        self.registry = registry
        self._tables = tables
        self.batch = max(1, batch)
        self.write_group = max(1, write_group)

    def run(self, now: datetime | None = None) -> JeopardyReport:
        """One full pass over every open task, in batches; then over the orders in progress that
        no open task led to (all their work waiting on a predecessor or a lag), for their
        predicted lateness."""
        now = now or utcnow()
        report = JeopardyReport()
        answers = SlaAnswers(self.registry)
        seen: set[int] = set()
        walks = [(_KEYSET, {"state": state}, True) for state in OPEN_TASK_STATES]
        walks.append((_ORDER_KEYSET, {"state": OrderStates.IN_PROGRESS}, False))
        for statement, params, of_tasks in walks:
            after = 0
            while True:
                started = time.perf_counter()
                with self._unit(read_only=True) as uow:
                    connection = uow.session.connection()
                    keys = connection.execute(statement, {**params, "after": after, "limit": self.batch}).all()
                    if not keys:
                        break
                    after = keys[-1].id
                    order_ids = sorted({k.order_id for k in keys} - seen)
                    snapshot = _read(connection, order_ids) if order_ids else None
                    tables = self._tables(uow.session) if self._tables is not None and order_ids else None
                report.timed(time.perf_counter() - started, write=False)
                report.batches += 1
                report.tasks_read += len(keys) if of_tasks else 0
                seen.update(order_ids)
                if snapshot is not None:
                    changes = self._evaluate(snapshot, tables, answers, now, report)  # pack code: no transaction open
                    for start in range(0, len(changes), self.write_group):
                        self._write(changes[start : start + self.write_group], now, report)
                if len(keys) < self.batch:
                    break
        report.policy_failures = answers.failures
        return report

    # --- computing (no transaction open) ---

    def _evaluate(
        self, snap: _Snapshot, tables: SlaTables | None, answers: SlaAnswers, now: datetime, report: JeopardyReport
    ) -> list[_Change]:
        changes = []
        for order in snap.orders.values():
            if order.state not in _EVALUATED_ORDERS:
                if order.state in _PAUSED_ORDERS:
                    report.orders_paused += 1
                continue
            if order.paused_at is not None:
                report.orders_paused += 1
                continue
            report.orders_evaluated += 1
            change = self._evaluate_order(order, snap, tables, answers, now)
            if not change.empty():
                changes.append(change)
        return changes

    def _evaluate_order(
        self, order: Any, snap: _Snapshot, tables: SlaTables | None, answers: SlaAnswers, now: datetime
    ) -> _Change:
        lines = {line.id: line for line in snap.lines.get(order.id, ())}
        change = _Change(order, lines)
        paused_lines = {line.id for line in lines.values() if line.paused_at is not None or line.state in _PAUSED_LINES}
        domain_orders = snap.domain_orders.get(order.id, [])
        by_id = {d.id: d for d in domain_orders}
        levels: dict[int, str | None] = {}  # domain order id -> new level (tasks, own SLA, children)
        opened: dict[int, datetime] = {}  # domain order id -> its first task's release
        slip = 0.0  # how far the most overrun open task pushes the order's end beyond its estimate
        # Tasks: levels only rise while open.
        for task in snap.tasks.get(order.id, ()):
            domain_order = by_id.get(task.domain_order_id)
            if domain_order is None or domain_order.line_id in paused_lines:
                continue
            level = task.jeopardy
            if task.estimated_end_at is not None and now > task.estimated_end_at:
                slip = max(slip, _seconds(now - task.estimated_end_at) - (task.total_float_seconds or 0))
            if task.due_at is not None and task.planned_seconds:
                start = task.due_at - timedelta(seconds=task.planned_seconds)
                opened[task.domain_order_id] = min(opened.get(task.domain_order_id, start), start)
                answer = answers.thresholds(task.key, task.kind, domain_order.spec_key)
                if answer is not None:
                    share = _seconds(now - start) / task.planned_seconds
                    reached = jeopardy_level(share, answer[0])
                    if reached is not None and rank(reached) > rank(task.jeopardy):
                        line = lines.get(domain_order.line_id)
                        change.tasks.append((task, reached, share, answer[1], line.line_number if line is not None else None))
                        level = reached
            levels[task.domain_order_id] = highest((levels.get(task.domain_order_id), level))
        # Domain orders, children (larger ids) before parents.
        for domain_order in sorted(domain_orders, key=lambda d: -d.id):
            if domain_order.line_id in paused_lines:
                continue
            closed = domain_order.state in _CLOSED_DOMAIN_ORDERS
            sla, due = domain_order.sla_seconds, domain_order.due_at
            own = None
            if not closed:
                if sla is None and tables is not None:
                    line = lines.get(domain_order.line_id)
                    sla = answers.table(
                        tables,
                        "domainOrder",
                        order.priority,
                        order.segment,
                        line.action if line is not None else None,
                        spec_key=domain_order.spec_key,
                        kind=domain_order.kind,
                    )
                start = domain_order.started_at or opened.get(domain_order.id)
                if sla and due is None and start is not None:
                    due = start + timedelta(seconds=sla)
                if sla and due is not None:
                    own = jeopardy_level(_seconds(now - (due - timedelta(seconds=sla))) / sla)
            level = None if closed else highest((levels.get(domain_order.id), own))
            if not closed and (level, sla, due) != (domain_order.jeopardy, domain_order.sla_seconds, domain_order.due_at):
                change.domain_orders.append((domain_order, level, sla, due))
            if domain_order.parent_id is not None and not closed:
                levels[domain_order.parent_id] = highest((levels.get(domain_order.parent_id), level))
            levels[domain_order.id] = level
        # Lines: the max of their open domain orders (a paused line keeps its level).
        line_levels: dict[int, str | None] = {}
        for domain_order in domain_orders:
            if domain_order.line_id not in paused_lines and domain_order.state not in _CLOSED_DOMAIN_ORDERS:
                line_levels[domain_order.line_id] = highest((line_levels.get(domain_order.line_id), levels.get(domain_order.id)))
        rolled: list[str | None] = []
        for line in lines.values():
            if line.id in paused_lines or line.state in _CLOSED_LINES:
                rolled.append(line.jeopardy if line.id in paused_lines else None)
                continue
            level = line_levels.get(line.id)
            rolled.append(level)
            if level != line.jeopardy:
                change.line_levels.append((line, level))
        # The order: its lines, its own SLA share (an order SLA from the table) and its predicted
        # lateness. While a line is paused the order's own levels wait too (the line's work is
        # stopped: its lateness is the pause's, not a risk).
        if paused_lines:
            change.order_level, change.lateness, change.committed = (
                order.jeopardy,
                order.predicted_lateness_seconds,
                order.committed_completion_at,
            )
            return change
        committed = order.committed_completion_at
        start = _order_start(order)
        sla = None
        if tables is not None and start is not None:
            actions = {line.action for line in lines.values()}
            mix = next(iter(actions)) if len(actions) == 1 else ("mixed" if actions else None)
            sla = answers.table(tables, "order", order.priority, order.segment, mix)
        if committed is None and sla:
            committed = start + timedelta(seconds=sla)
        own = jeopardy_level(_seconds(now - start) / sla) if sla and start is not None else None
        predicted = None
        lateness = None
        if committed is not None and start is not None and committed > start and order.expected_completion_at is not None:
            lateness = int(_seconds(order.expected_completion_at - committed) + slip)
            predicted = predicted_level(lateness, _seconds(committed - start), commitment_passed=now > committed)
        change.order_level = highest((*rolled, own, predicted))
        change.lateness = lateness if lateness is not None else order.predicted_lateness_seconds
        change.committed = committed
        change.reason = _reason(change.order_level, predicted, own, highest(rolled))
        return change

    # --- writing (short transactions, a few orders each) ---

    @staticmethod
    def _load(session: Session, ids: dict[type, list[int]]) -> dict[type, dict[int, Any]]:
        """The rows to change, by model and id: one statement per model."""
        return {
            model: {row.id: row for row in session.scalars(_LOAD[model], {"ids": wanted})} if wanted else {}
            for model, wanted in ids.items()
        }

    def _unit(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work (a read or a write); its objects are freed by reference counting as soon
        as it ends (kernel/uow.py keeps no reference cycle)."""
        return self._uow(read_only=True) if read_only else self._uow()

    def _write(self, group: list[_Change], now: datetime, report: JeopardyReport) -> None:
        """One short transaction for a few orders: each is written only if nobody wrote it since
        the read (its change_seq, before and under its lock), through the session. Everything
        it writes was computed before it begins: the levels on the read, the alerts' payloads
        here (per group, so that they live only as long as its transaction)."""
        alerts = {id(change): _alerts(change, now) for change in group}
        started, cpu = time.perf_counter(), time.thread_time()
        with self._unit() as uow:
            session = uow.session
            seqs = dict(session.connection().execute(_CHANGE_SEQS, {"ids": [c.order.id for c in group]}).all())
            accepted: list[tuple[_Change, Order]] = []
            for change in group:
                read_seq = change.order.change_seq
                if seqs.get(change.order.id) != read_seq:
                    report.conflicts += 1
                    continue
                order = lock_order(uow, change.order.id)
                if order is None or order.change_seq != read_seq + 1:  # written between the two statements
                    report.conflicts += 1
                    continue
                accepted.append((change, order))
            rows = self._load(
                session,
                {
                    Task: [t.id for c, _ in accepted for t, *_ in c.tasks],
                    DomainOrder: [d.id for c, _ in accepted for d, *_ in c.domain_orders],
                    OrderLine: [line.id for c, _ in accepted for line, _ in c.line_levels],
                },
            )
            for change, order in accepted:
                task_alerts, order_alert = alerts[id(change)]
                for (task, level, *_), payload in zip(change.tasks, task_alerts, strict=True):
                    rows[Task][task.id].jeopardy = level
                    uow.record(
                        order, ev.JEOPARDY_ALERT, entity_kind="task", entity_id=task.id, actor=SYSTEM_ACTOR, payload=payload
                    )
                    report.alerts += 1
                for d, rolled, sla, due in change.domain_orders:
                    domain_order = rows[DomainOrder][d.id]
                    domain_order.jeopardy, domain_order.sla_seconds, domain_order.due_at = rolled, sla, due
                for line, rolled in change.line_levels:
                    rows[OrderLine][line.id].jeopardy = rolled
                if change.order_changes:
                    order.jeopardy = change.order_level
                    order.predicted_lateness_seconds = change.lateness
                    order.committed_completion_at = change.committed
                    if order_alert is not None:
                        uow.record(
                            order,
                            ev.JEOPARDY_ALERT,
                            entity_kind="order",
                            entity_id=order.id,
                            actor=SYSTEM_ACTOR,
                            payload=order_alert,
                        )
                        report.alerts += 1
                        report.orders_changed += 1
                report.tasks_changed += len(change.tasks)
                report.domain_orders_changed += len(change.domain_orders)
                report.lines_changed += len(change.line_levels)
        report.timed(time.perf_counter() - started, write=True, cpu=time.thread_time() - cpu)


@dataclass
class _Snapshot:
    orders: dict[int, Any]
    lines: dict[int, list[Any]]
    domain_orders: dict[int, list[Any]]
    tasks: dict[int, list[Any]]


def _grouped(rows: Iterable[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for row in rows:
        out.setdefault(row.order_id, []).append(row)
    return out


def _read(connection: Any, order_ids: list[int]) -> _Snapshot:
    params = {"ids": order_ids}
    return _Snapshot(
        {o.id: o for o in connection.execute(_ORDERS, params).all()},
        _grouped(connection.execute(_LINES, params).all()),
        _grouped(connection.execute(_DOMAIN_ORDERS, params).all()),
        _grouped(connection.execute(_OPEN_TASKS, params).all()),
    )


def _order_start(order: Any) -> datetime | None:
    """Where the order's planned span starts: submit, or a later requested start date."""
    start = order.submitted_at or order.created_at
    if order.requested_start_date is not None and (start is None or order.requested_start_date > start):
        return order.requested_start_date  # type: ignore[no-any-return]
    return start  # type: ignore[no-any-return]


def _reason(level: str | None, predicted: str | None, own: str | None, lines: str | None) -> str:
    """What raised the order's level (TMF ``exception``): the first source at the level."""
    if level is None:
        return "cleared"
    if rank(predicted) == rank(level):
        return "predictedLateness"
    if rank(own) == rank(level):
        return "slaConsumed"
    return "itemsInJeopardy"


def _alerts(change: _Change, now: datetime) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The payloads of a change's alerts: one per task whose level rose, and the order's when
    its level changes (None otherwise)."""
    order_id = change.order.id
    tasks = [_task_alert(order_id, task, level, share, policy, line, now) for task, level, share, policy, line in change.tasks]
    return tasks, (_order_alert(change, now) if change.order_level != change.order.jeopardy else None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _alert(
    order_id: int, name: str, level: str | None, exception: str, message: str, items: list[int], now: datetime
) -> dict[str, Any]:
    """TMF622 ProductOrderJeopardyAlert (productOrderItem refs by line number)."""
    return {
        "@type": "ProductOrderJeopardyAlert",
        "id": uuid.uuid4().hex,
        "alertDate": now.isoformat(),
        "name": name,
        "jeopardyType": level or "NONE",
        "exception": exception,
        "message": message,
        "productOrder": {"id": str(order_id), "@referredType": "ProductOrder"},
        "productOrderItem": [{"productOrderItemId": str(n), "@referredType": "ProductOrderItem"} for n in sorted(items)],
    }


def _task_alert(
    order_id: int, task: Any, level: str, share: float, policy: str | None, line_number: int | None, now: datetime
) -> dict[str, Any]:
    message = f"task {task.key} has used {share:.0%} of its SLA"
    items = [line_number] if line_number is not None else []
    payload = _alert(order_id, "taskJeopardy", level, "slaConsumed", message, items, now)
    payload.update(
        previous=task.jeopardy,
        policy=policy,
        taskKey=task.key,
        dueAt=_iso(task.due_at),
        slaConsumed=round(share, 3),
    )
    return payload


def _order_alert(change: _Change, now: datetime) -> dict[str, Any]:
    order = change.order
    new = {line.id: level for line, level in change.line_levels}
    at_risk = [line.line_number for line in change.lines.values() if new.get(line.id, line.jeopardy) is not None]
    if change.reason == "predictedLateness":
        message = f"expected completion {_iso(order.expected_completion_at)} is {change.lateness} s after the committed {_iso(change.committed)}"
    elif change.reason == "cleared":
        message = "no longer in jeopardy"
    elif change.reason == "slaConsumed":
        message = f"the order has used its SLA share up to {change.order_level}"
    else:
        message = "order items are in jeopardy"
    payload = _alert(order.id, "orderJeopardy", change.order_level, change.reason, message, at_risk, now)
    payload.update(
        previous=order.jeopardy,
        expectedCompletionDate=_iso(order.expected_completion_at),
        committedCompletionDate=_iso(change.committed),
        predictedLatenessSeconds=change.lateness,
    )
    return payload
