"""The stages' work, computed from a read of the order with no transaction open.

Each active stage has one function here; it calls pack code (business validators, enrichment
steps, the approval gate, decomposition rules and jeopardy policies) and either passes, makes the
order wait, or rejects it. Consecutive stages run on the same read, so the stages an order passes
in one go cost one fenced write (``processing``), however many of them there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from om_graph.core.catalog.extensions import EnrichmentPending, LineView
from om_graph.core.catalog.registry import Registry
from om_graph.core.decisions.errors import DecisionError
from om_graph.core.fulfilment.decomposition import Decomposer, Decomposition
from om_graph.core.inventory.models import Product
from om_graph.core.inventory.states import ProductStatuses
from om_graph.core.kernel.errors import FieldError, PluginCallFailed, call_plugin
from om_graph.core.lifecycle.approval import NO_TABLES, ApprovalStepSpec, approval_steps_for, describe_wait
from om_graph.core.lifecycle.enrichment import Tables, describe_open, enrichment_tasks_for, new_tasks
from om_graph.core.lifecycle.models import ApprovalStep, EnrichmentTask
from om_graph.core.lifecycle.stages import AWAIT_TASKS, PASS, STAGES, WAIT, Stages
from om_graph.core.lifecycle.states import ApprovalStates, EnrichmentTaskStates
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.validation import check_characteristics

# A pack's approval gate answers why the order needs a person (None: it does not); beside the
# approval policy table, it asks for one level at least (lifecycle/approval.py).
ApprovalGate = Callable[[Order, Sequence[LineView]], str | None]
_RESUMED_STATUSES = select(Product.id, Product.status).where(Product.id.in_(bindparam("ids", expanding=True)))
NOTHING_TO_DO = "nothingToDo"  # the outcome of a line decomposition left out (has_nothing_to_do)


def no_approval_needed(order: Order, lines: Sequence[LineView]) -> str | None:
    return None


@dataclass
class Snapshot:
    """The order as one read saw it (detached objects); the stage write is fenced on it."""

    order: Order
    lines: list[OrderLine]
    installed: dict[int, dict[str, Any]]  # characteristics of the products the lines change
    tables: Tables | None = None  # the active decision tables (enrichment and approval policies)
    tasks: list[EnrichmentTask] = field(default_factory=list)  # the order's manual enrichment tasks
    steps: list[ApprovalStep] = field(default_factory=list)  # the current approval round's steps
    new_customer: bool = False  # the approval policy's newCustomer
    read_characteristics: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The statuses of the products the resume lines change (what decomposition leaves out: a resume
    # of a product that is not suspended has nothing to do); none read: every line is decomposed.
    statuses: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.read_characteristics = {line.id: line.characteristics for line in self.lines}

    def forget_enrichment(self) -> None:
        """Give the lines back the values they were read with (a stopped run writes none)."""
        for line in self.lines:
            set_committed_value(line, "characteristics", self.read_characteristics[line.id])


@dataclass(frozen=True)
class Enrichment:
    line_id: int
    step_key: str
    characteristics: dict[str, Any]


@dataclass
class StageRun:
    """What running the stages from the snapshot's stage produced."""

    events: list[str] = field(default_factory=list)  # stage events, in order (passes, then a wait)
    enrichments: list[Enrichment] = field(default_factory=list)
    rejection: tuple[str, list[FieldError]] | None = None  # (reason, errors)
    waiting_for: str | None = None
    wait_event: str | None = None  # the stage event of the wait, when not the stage's usual one
    new_tasks: list[EnrichmentTask] = field(default_factory=list)  # manual enrichment tasks to create
    new_steps: list[ApprovalStepSpec] = field(default_factory=list)  # the approval round to store
    # With ``through_waits`` (orderPreview): each wait met, as (stage, what it waits for); the
    # stages after it ran as if it were over.
    waits: list[tuple[str, str]] = field(default_factory=list)
    through_waits: bool = False
    decomposition: Decomposition | None = None
    nothing_to_do: dict[int, str] = field(default_factory=dict)  # lines decomposition left out (no work): line number → why

    @property
    def stopped(self) -> bool:
        return self.rejection is not None or self.waiting_for is not None


def has_nothing_to_do(line: OrderLine, statuses: dict[int, str]) -> bool:
    """A resume line whose product is not suspended (``statuses``, when read): its pending suspend
    was voided when its order was submitted (change/suspend_void.py), so the product stayed active
    and there is nothing to resume. The line gets no work and completes at once."""
    status = statuses.get(line.product_id) if line.product_id is not None else None
    return line.action == "resume" and status is not None and status != ProductStatuses.SUSPENDED


def resumed_statuses(session: Session, lines: Sequence[OrderLine]) -> dict[int, str]:
    """The statuses of the products the resume lines change (:func:`has_nothing_to_do`)."""
    ids = [line.product_id for line in lines if line.action == "resume" and line.product_id is not None]
    return {row.id: row.status for row in session.execute(_RESUMED_STATUSES, {"ids": ids})} if ids else {}


def view(order: Order, line: OrderLine) -> LineView:
    return LineView(
        line_id=line.id,
        line_number=line.line_number,
        action=line.action,
        offering_key=line.offering_key,
        spec_key=line.spec_key,
        quantity=line.quantity,
        characteristics=dict(line.characteristics),
        customer_id=order.customer_id,
        product_id=line.product_id,
    )


class StageWork:
    def __init__(self, registry: Registry, decomposer: Decomposer, approval: ApprovalGate = no_approval_needed):
        self.registry = registry
        self.decomposer = decomposer
        self.approval = approval
        self._work: dict[str, Callable[[Snapshot, StageRun], None]] = {
            Stages.VALIDATION: self._validate,
            Stages.ENRICHMENT: self._enrich,
            Stages.APPROVAL: self._approve,
            Stages.DECOMPOSITION: self._decompose,
        }

    def run(self, snapshot: Snapshot, *, through_waits: bool = False) -> StageRun:
        """Run the stages from the order's stored one until one stops or orchestration is next.
        The snapshot's lines take the enrichment's values in memory (decomposition sees them).
        ``through_waits`` (orderPreview, which writes nothing): a wait is noted in ``run.waits``
        and the next stage runs as if it were over; only a rejection stops."""
        run = StageRun(through_waits=through_waits)
        stage = snapshot.order.stage
        try:
            while stage in PASS:
                self._work[stage](snapshot, run)
                if run.waiting_for is not None:
                    run.events.append(run.wait_event or WAIT[stage])
                    if through_waits and run.rejection is None:
                        run.waits.append((stage, run.waiting_for))
                        run.waiting_for = run.wait_event = None
                if run.stopped:
                    break
                run.events.append(PASS[stage])
                stage = STAGES.target_of(PASS[stage])
        except PluginCallFailed as exc:
            run.rejection = ("processingFailed", exc.errors)
        except DecisionError as exc:  # a policy table the order's values do not fit (e.g. an input's type)
            run.rejection = ("processingFailed", exc.errors)
        return run

    def _validate(self, snapshot: Snapshot, run: StageRun) -> None:
        issues: list[FieldError] = []
        for index, line in enumerate(snapshot.lines):
            validators = self.registry.validators_for(line.spec_key)
            if not validators:
                continue
            line_view = view(snapshot.order, line)
            for validator in validators:
                for issue in call_plugin(f"business validator {validator.key!r}", validator.validate, line_view):
                    issues.append(FieldError(f"lines.{index}.{issue.field}", issue.message, issue.code))
        if issues:
            run.rejection = ("businessValidationFailed", issues)

    def _enrich(self, snapshot: Snapshot, run: StageRun) -> None:
        for index, line in enumerate(snapshot.lines):
            if line.action in ("delete", "suspend", "resume"):  # no characteristics to enrich
                continue
            rules = self.registry.rules_for(line.offering_key, line.spec_key)
            for step in self.registry.enrichment_steps:
                line_view = view(snapshot.order, line)
                if not step.applies_to(line_view):
                    continue
                enriched = call_plugin(f"enrichment step {step.key!r}", step.enrich, line_view)
                if isinstance(enriched, EnrichmentPending):
                    what = f"characteristic {enriched.characteristic}" if enriched.characteristic else f"step {step.key}"
                    run.waiting_for = f"{what}: {enriched.reason}"[:200]
                    if not run.through_waits:
                        return
                    # orderPreview: this line's later steps wait with it; the other lines go on.
                    run.waits.append((Stages.ENRICHMENT, run.waiting_for))
                    run.waiting_for = None
                    break
                updates = {k: v for k, v in enriched.items() if k not in line.characteristics or line.characteristics[k] is None}
                if not updates:
                    continue
                checked, errors = check_characteristics(
                    rules, updates, f"lines.{index}.characteristics", apply_defaults=False, context=line.characteristics
                )
                errors = [e for e in errors if e.code != "REQUIRED"]
                if errors:
                    raise PluginCallFailed(f"enrichment step {step.key!r} produced invalid values", errors)
                line.characteristics = {**line.characteristics, **checked}
                run.enrichments.append(Enrichment(line.id, step.key, checked))
        self._manual_tasks(snapshot, run)

    def _manual_tasks(self, snapshot: Snapshot, run: StageRun) -> None:
        """After the automatic steps: the policy's manual tasks; wait while any is open."""
        if snapshot.tables is None:
            return
        specs = enrichment_tasks_for(snapshot.order, snapshot.lines, snapshot.tables, specifications=self.registry.specifications)
        current = {line.id for line in snapshot.lines}
        run.new_tasks = new_tasks(snapshot.order, specs, snapshot.tasks)
        waiting = [t for t in snapshot.tasks if t.state == EnrichmentTaskStates.OPEN and t.line_id in current]
        waiting += run.new_tasks
        if waiting:
            run.waiting_for = describe_open(sorted(waiting, key=lambda t: t.line_number))
            run.wait_event = AWAIT_TASKS

    def _approve(self, snapshot: Snapshot, run: StageRun) -> None:
        """The round's stored steps decide; the first pass of a round asks the policy (and a
        pack's gate) and, when approval is needed, stores the round and waits."""
        if snapshot.steps:
            pending = [s for s in snapshot.steps if s.state == ApprovalStates.PENDING]
            if pending:
                run.waiting_for = describe_wait(pending[0])
            return
        reasons: list[str] = []
        if self.approval is not no_approval_needed:
            views = [view(snapshot.order, line) for line in snapshot.lines]
            reason = call_plugin("approval gate", self.approval, snapshot.order, views)
            if reason:
                reasons.append(str(reason))
        tables = snapshot.tables if snapshot.tables is not None else NO_TABLES
        run.new_steps = approval_steps_for(
            snapshot.order, snapshot.lines, tables, new_customer=snapshot.new_customer, extra_reasons=reasons
        )
        if run.new_steps:
            run.waiting_for = describe_wait(run.new_steps[0])

    def _decompose(self, snapshot: Snapshot, run: StageRun) -> None:
        run.nothing_to_do = {
            line.line_number: f"product {line.product_id} is {snapshot.statuses[line.product_id]}: nothing to {line.action}"
            for line in snapshot.lines
            if line.product_id is not None and has_nothing_to_do(line, snapshot.statuses)
        }
        lines = [line for line in snapshot.lines if line.line_number not in run.nothing_to_do]
        run.decomposition = self.decomposer.plan(snapshot.order, lines, snapshot.installed, snapshot.tables)  # type: ignore[arg-type]
