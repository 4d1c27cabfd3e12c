"""orderPreview: what an order would become, computed by the code of the real run, writing nothing.

For an unsaved order (orderCreate's input) the order is captured in memory by
``OrderService.capture`` (validation, prices, priority: what orderCreate stores); for a draft it is
read as stored (its prices were computed at its last edit and are what submit freezes). Then the
stages run as a submitted order's do (``pipeline.StageWork.run``, the same validators, enrichment
steps, policies, decomposition rules and jeopardy policies), from ``validation``, except that a
wait does not stop them: each wait is reported and the next stage runs as if it were over. The
plan (``Decomposer.plan``) is scheduled as the real order's first plan is (``schedule.plan_dates``:
the tasks' durations and the typed dependencies with their lags) for a predicted completion.

Nothing is written and no id is reserved: the reads are one read-only unit of work, closed before
any pack code runs; the in-memory order and lines have no id (unsaved lines carry negative
references, ``-line_number``, so the stages' results can name their line), and the plan's rows
are never added to a session.

Schedule assumptions (:func:`schedule`): orchestration starts now, or at the order's requested
start date when later (``schedule.plan_start``; the waits are assumed to end at once: each delays
the whole prediction by its length); each task takes its ``duration_seconds`` (durations.py: the
``fulfilment.task.duration`` table, the template, the defaults), as decomposition stores it, and
starts or finishes as its typed dependencies allow; retries, queueing and holds are not counted.
The dates are the early schedule (the real plan is the late one when the order has a requested
completion date; its estimates, and so its ``expectedCompletionDate``, are the early one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.error_codes import CatalogErrorCode
from om_graph.core.fulfilment.decomposition import Decomposition, installed_characteristics
from om_graph.core.fulfilment.schedule import duration_of, plan_dates, plan_start
from om_graph.core.fulfilment.states import TASK
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, InvalidTransition, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.lifecycle.approval import ApprovalStepSpec, is_new_customer
from om_graph.core.lifecycle.enrichment import EnrichmentTaskSpec, Tables
from om_graph.core.lifecycle.pipeline import Snapshot, StageRun, StageWork, resumed_statuses
from om_graph.core.lifecycle.stages import STAGES, Stages
from om_graph.core.ordering.commands import OrderInput
from om_graph.core.ordering.error_codes import OrderingErrorCode
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.service import OrderService
from om_graph.core.ordering.states import ORDER

UowFactory = Callable[..., UnitOfWork]
TablesSource = Callable[[Any], Tables]

_DRAFT = select(Order).where(Order.id == bindparam("order_id")).options(joinedload(Order.lines))


@dataclass(frozen=True)
class PreviewEnrichment:
    """Values an automatic enrichment step would set on a line."""

    line_number: int
    step_key: str
    characteristics: dict[str, Any]


@dataclass(frozen=True)
class PreviewDomainOrder:
    ref: int  # position in the plan: the real ids are reserved in this order (parents first)
    parent_ref: int | None
    line_number: int
    kind: str
    spec_key: str
    unit_index: int


@dataclass(frozen=True)
class PreviewTask:
    ref: int  # position in the plan (the real ids come out in this order)
    domain_order_ref: int
    key: str
    name: str
    kind: str
    planned_seconds: int | None  # the jeopardy policies' SLA, as the real task stores it
    duration_seconds: int  # what the schedule assumed (schedule.duration_of: the stored duration or the default)
    depends_on: tuple[int, ...]  # refs of its predecessors, any type
    earliest_start: datetime
    earliest_finish: datetime
    critical: bool
    dependencies: tuple[PreviewDependency, ...] = ()
    total_float_seconds: int | None = None


@dataclass(frozen=True)
class PreviewDependency:
    predecessor_ref: int
    type: str  # rules.DependencyTypes
    lag_seconds: int


@dataclass(frozen=True)
class Wait:
    stage: str
    waiting_for: str


@dataclass
class OrderPreview:
    order: Order  # in memory: header, prices, totals (never stored by the preview)
    lines: list[OrderLine]  # with the automatic enrichment's values
    order_id: int | None  # the draft previewed, None for an unsaved order
    started_at: datetime
    enrichments: list[PreviewEnrichment] = field(default_factory=list)
    enrichment_tasks: list[EnrichmentTaskSpec] = field(default_factory=list)
    approval_steps: list[ApprovalStepSpec] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    domain_orders: list[PreviewDomainOrder] = field(default_factory=list)
    tasks: list[PreviewTask] = field(default_factory=list)
    predicted_completion: datetime | None = None
    critical_path: list[int] = field(default_factory=list)  # task refs, first to last

    @property
    def meets_requested_completion(self) -> bool | None:
        requested = self.order.requested_completion_date
        if requested is None or self.predicted_completion is None:
            return None
        return self.predicted_completion <= requested


@dataclass(frozen=True, slots=True)
class _Scheduled:
    """A planned task as the schedule reads it (``schedule.Network``: id, state, kind, duration)."""

    id: int
    kind: str
    duration_seconds: int | None
    state: str = TASK.initial


def schedule(plan: Decomposition, start: datetime) -> tuple[list[tuple[datetime, datetime, int | None]], list[int], datetime]:
    """Earliest (start, finish, total float seconds) of each of the plan's tasks (in plan order)
    when orchestration starts at ``start`` (``schedule.plan_dates``, the real plan's CPM), a
    critical path (task indexes, first to last: from the last task to finish back through
    critical predecessors) and the completion."""
    index = {id(task): i for i, task in enumerate(plan.tasks)}
    rows = [_Scheduled(i, task.kind, task.duration_seconds) for i, task in enumerate(plan.tasks)]
    edges = [(index[id(e.task)], index[id(e.predecessor)], e.dependency_type, e.lag_seconds) for e in plan.edges]
    dates = plan_dates(rows, edges, start)
    if not dates:
        return [], [], start
    times = [(dates[i].start, dates[i].end, dates[i].float_seconds) for i in range(len(rows))]
    completion = max(end for _, end, _ in times)
    predecessors: dict[int, list[int]] = {}
    for task_id, predecessor_id, _, _ in edges:
        predecessors.setdefault(task_id, []).append(predecessor_id)
    path: list[int] = []
    current: int | None = min(i for i, (_, end, _) in enumerate(times) if end == completion)
    while current is not None:
        path.append(current)
        critical = [p for p in predecessors.get(current, ()) if dates[p].critical and p not in path]
        current = min(critical, key=lambda p: (-times[p][1].timestamp(), p)) if critical else None
    return times, path[::-1], completion


class PreviewService:
    def __init__(self, uow: UowFactory, orders: OrderService, stages: StageWork, tables: TablesSource):
        self._uow = uow
        self.orders = orders
        self.stages = stages
        self._tables = tables

    def preview(self, actor: Actor, *, data: OrderInput | None = None, order_id: int | None = None) -> OrderPreview:
        """Preview an unsaved order (``data``, orderCreate's input; ORDER_CAPTURE) or a draft
        (``order_id``; ORDER_READ, a customer's own only). ValidationFailed with the problems
        orderCreate or the stages would report; nothing is written."""
        if (data is None) == (order_id is None):
            raise ValidationFailed.single(
                "input", "give either an order to capture or the id of a draft", CommonErrorCode.INVALID
            )
        started_at = utcnow()
        with self._uow(read_only=True) as uow:
            session = uow.session
            if data is not None:
                require(actor, Permission.ORDER_CAPTURE)
                order = self.orders.capture(session, actor, self.orders.scoped(actor, data))
                lines = list(order.lines)
                for line in lines:
                    line.id = -line.line_number  # a reference for the stages' results, never stored
                customer_order_id = None
            else:
                require(actor, Permission.ORDER_READ)
                order = self._draft(session, actor, order_id)  # type: ignore[arg-type]
                lines = sorted(order.lines, key=lambda line: line.line_number)
                customer_order_id = order.id
            snapshot = Snapshot(
                order,
                lines,
                installed_characteristics(session, lines),
                tables=self._tables(session),
                new_customer=is_new_customer(session, order.customer_id, order_id=customer_order_id),
                statuses=resumed_statuses(session, lines),  # a resume voiding a pending suspend: nothing to do
            )
        # The read is over: pack code (validators, steps, rules, policies) runs with none open.
        order.stage = STAGES.initial  # in memory only: the stages a submitted order starts with
        run = self.stages.run(snapshot, through_waits=True)
        if run.rejection is not None:
            raise ValidationFailed(run.rejection[1] or [FieldError("lines", run.rejection[0], CatalogErrorCode.BUSINESS_RULE)])
        return self._result(order, lines, customer_order_id, started_at, run)

    def _draft(self, session: Session, actor: Actor, order_id: int) -> Order:
        order: Order | None = session.scalars(_DRAFT, {"order_id": order_id}).unique().first()
        if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
            raise NotFound("no such order", field="id")
        if order.state != ORDER.initial:
            raise InvalidTransition(
                f"order {order_id} is {order.state}: only a draft (or unsaved) order can be previewed",
                field="id",
                code=OrderingErrorCode.NOT_DRAFT,
            )
        return order

    @staticmethod
    def _result(
        order: Order, lines: Sequence[OrderLine], order_id: int | None, started_at: datetime, run: StageRun
    ) -> OrderPreview:
        number_of = {line.id: line.line_number for line in lines}
        preview = OrderPreview(order=order, lines=list(lines), order_id=order_id, started_at=started_at)
        preview.enrichments = [
            PreviewEnrichment(number_of[e.line_id], e.step_key, dict(e.characteristics)) for e in run.enrichments
        ]
        preview.enrichment_tasks = [
            EnrichmentTaskSpec(t.line_number, None, t.key, t.name, tuple(t.capture or ()), t.role) for t in run.new_tasks
        ]
        preview.approval_steps = list(run.new_steps)
        preview.waits = [Wait(stage, waiting_for) for stage, waiting_for in run.waits]
        plan = run.decomposition
        if plan is None:
            return preview
        # Parts a missing characteristic would park (staggered decomposition): the line would be pending.
        preview.waits += [
            Wait(
                Stages.DECOMPOSITION,
                f"characteristic {w.characteristic} of line {number_of[w.line_id]}: {w.spec_key} needs it"[:200],
            )
            for w in plan.waits
        ]
        ref_of: dict[int, int] = {id(d): i for i, d in enumerate(plan.domain_orders)}
        preview.domain_orders = [
            PreviewDomainOrder(
                i, ref_of[id(d.parent)] if d.parent is not None else None, number_of[d.line_id], d.kind, d.spec_key, d.unit_index
            )
            for i, d in enumerate(plan.domain_orders)
        ]
        preview.started_at = plan_start(order, started_at)  # now, or the requested start date when later
        times, path, completion = schedule(plan, preview.started_at)
        task_ref = {id(task): i for i, task in enumerate(plan.tasks)}
        depends: dict[int, list[PreviewDependency]] = {}
        for edge in plan.edges:
            depends.setdefault(task_ref[id(edge.task)], []).append(
                PreviewDependency(task_ref[id(edge.predecessor)], edge.dependency_type, edge.lag_seconds)
            )
        preview.tasks = [
            PreviewTask(
                ref=i,
                domain_order_ref=ref_of[id(task.domain_order)],
                key=task.key,
                name=task.name,
                kind=task.kind,
                planned_seconds=task.planned_seconds,
                duration_seconds=int(duration_of(task).total_seconds()),
                depends_on=tuple(sorted(d.predecessor_ref for d in depends.get(i, ()))),
                earliest_start=times[i][0],
                earliest_finish=times[i][1],
                critical=(slack := times[i][2]) is not None and slack <= 0,
                dependencies=tuple(sorted(depends.get(i, ()), key=lambda d: d.predecessor_ref)),
                total_float_seconds=times[i][2],
            )
            for i, task in enumerate(plan.tasks)
        ]
        preview.predicted_completion = completion
        preview.critical_path = path
        return preview
