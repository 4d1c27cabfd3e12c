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
already passed is CRITICAL. It flags an order at risk before any task is late.

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
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from om_graph.core.catalog.definitions import TaskTemplate
from om_graph.core.catalog.extensions import JeopardyPolicy, TaskTiming
from om_graph.core.catalog.registry import Registry
from om_graph.core.decisions.definitions import DecisionTableDef, InputColumn, OutputColumn
from om_graph.core.decisions.errors import UnknownDecisionTable
from om_graph.core.kernel.errors import PluginCallFailed, call_plugin

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FALLBACK_PRIORITY",
    "LEVELS",
    "PREDICTED_LEVELS",
    "SLA_TABLE",
    "SLA_TABLE_DEF",
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
"""Predicted lateness over the order's planned span (committed date minus planned start, else
submit) from which each level starts (lateness strictly above 0 for LOW). A commitment already
passed with work open is CRITICAL whatever the share."""

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
