"""Processing a submitted order (in a worker): business validation, enrichment, decomposition,
the start of orchestration, then the waves of automatic work; manual task completion."""

from __future__ import annotations

import logging
from collections.abc import Callable

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.extensions import LineView
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.decomposition import Decomposer
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.plan import OrderPlan, load_lines
from om_graph.core.fulfilment.rollup import rollup
from om_graph.core.inventory.settlement import create_placeholders
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import FieldError, PluginCallFailed, call_plugin
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.validation import check_characteristics

UowFactory = Callable[..., UnitOfWork]
log = logging.getLogger(__name__)


def _view(order: Order, line: OrderLine) -> LineView:
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


class OrderProcessing:
    def __init__(self, uow: UowFactory, registry: Registry, orchestrator: Orchestrator):
        self._uow = uow
        self.registry = registry
        self.decomposer = Decomposer(registry)
        self.orchestrator = orchestrator

    # -- processing (worker) -------------------------------------------------------------------

    def process(self, order_id: int, *, then_advance: bool = False) -> None:
        """Business validation, enrichment, decomposition and the start of orchestration, all in
        one transaction: a crash leaves the order acknowledged and the reconciler re-runs it.
        A pack's extension that fails is not transient: the order is rejected with the reason.

        With ``then_advance`` (what the worker does) the same transaction claims the first wave
        of automatic tasks and this call goes on to run them; otherwise an advance job is queued."""
        try:
            claims, plan = self._process(order_id, claim=then_advance)
        except PluginCallFailed as exc:
            log.error("order %s rejected: %s", order_id, exc)
            with self._uow() as uow:
                order = lock_order(uow, order_id)
                if order is not None and order.state == "acknowledged":
                    self._reject(uow, order, load_lines(uow.session, order), exc.errors, reason="processingFailed")
            return
        if claims:
            self._run_waves(order_id, claims, plan)

    def _process(self, order_id: int, *, claim: bool) -> tuple[list, OrderPlan | None]:
        with self._uow() as uow:
            order = lock_order(uow, order_id)
            if order is None or order.state != "acknowledged":
                return [], None
            lines = load_lines(uow.session, order)
            issues = self._business_issues(order, lines)
            if issues:
                self._reject(uow, order, lines, issues)
                return [], None
            self._enrich(uow, order, lines)
            plan = self.decomposer.decompose(uow.session, order, lines)
            fire(uow, order, order, "start", SYSTEM_ACTOR)
            for line in lines:
                fire(uow, order, line, "start", SYSTEM_ACTOR)
                create_placeholders(uow, order, line, self.registry)
            order.processing_dispatched_at = None
            order_plan = OrderPlan.build(
                order, lines, plan.domain_orders, plan.tasks, [(d.task_id, d.predecessor_id) for d in plan.dependencies]
            )
            with_predecessors = {d.task_id for d in plan.dependencies}
            roots = [t for t in plan.tasks if t.id not in with_predecessors]
            self.orchestrator.release(uow, order_plan, roots, enqueue=not claim)
            claims = self.orchestrator.claim_wave(uow, order_plan, roll_up=False) if claim else []
            rollup(uow, order_plan, self.registry)
            return claims, order_plan

    def _business_issues(self, order: Order, lines: list[OrderLine]) -> list[FieldError]:
        issues: list[FieldError] = []
        for index, line in enumerate(lines):
            view = _view(order, line)
            for validator in self.registry.validators_for(line.spec_key):
                for issue in call_plugin(f"business validator {validator.key!r}", validator.validate, view):
                    issues.append(FieldError(f"lines.{index}.{issue.field}", issue.message, issue.code))
        return issues

    def _reject(
        self,
        uow: UnitOfWork,
        order: Order,
        lines: list[OrderLine],
        issues: list[FieldError],
        reason: str = "businessValidationFailed",
    ) -> None:
        # TMF622: acceptance is all-or-nothing, so every line is rejected with the order.
        for line in lines:
            fire(uow, order, line, "reject", SYSTEM_ACTOR)
        fire(uow, order, order, "reject", SYSTEM_ACTOR)
        order.processing_dispatched_at = None
        uow.record(
            order,
            ev.ERROR_MESSAGE,
            entity_kind="order",
            entity_id=order.id,
            actor=SYSTEM_ACTOR,
            payload={
                "reason": reason,
                "errors": [{"field": i.field, "message": i.message, "code": i.code} for i in issues],
            },
        )

    def _enrich(self, uow: UnitOfWork, order: Order, lines: list[OrderLine]) -> None:
        for index, line in enumerate(lines):
            if line.action == "delete":
                continue
            spec = self.registry.specifications[line.spec_key]
            for step in self.registry.enrichment_steps:
                view = _view(order, line)
                if not step.applies_to(view):
                    continue
                enriched = call_plugin(f"enrichment step {step.key!r}", step.enrich, view)
                updates = {k: v for k, v in enriched.items() if k not in line.characteristics or line.characteristics[k] is None}
                if not updates:
                    continue
                checked, errors = check_characteristics(spec, updates, f"lines.{index}.characteristics", apply_defaults=False)
                errors = [e for e in errors if e.code != "REQUIRED"]
                if errors:
                    raise PluginCallFailed(f"enrichment step {step.key!r} produced invalid values", errors)
                line.characteristics = {**line.characteristics, **checked}
                uow.record(
                    order,
                    ev.ORDER_ATTRIBUTE_CHANGE,
                    entity_kind="line",
                    entity_id=line.id,
                    actor=SYSTEM_ACTOR,
                    payload={"enrichmentStep": step.key, "characteristics": checked},
                )

    # -- tasks ---------------------------------------------------------------------------------

    def complete_task(self, actor: Actor, task_id: int, characteristics: dict | None = None) -> Task:
        require(actor, Permission.TASK_COMPLETE)
        with self._uow() as uow:
            return self.orchestrator.complete_manual(uow, task_id, actor, characteristics or {})

    def advance(self, order_id: int) -> int:
        """Run the order's automatic work wave by wave until none is runnable; returns the
        number of task attempts run. Each wave: claim (one transaction), handlers (no
        transaction), record results and claim the next wave (one transaction)."""
        with self._uow() as uow:
            plan = self.orchestrator.load(uow, order_id)
            claims = self.orchestrator.claim_wave(uow, plan) if plan is not None else []
        return self._run_waves(order_id, claims, plan)

    def _run_waves(self, order_id: int, claims: list, plan: OrderPlan | None) -> int:
        orchestrator = self.orchestrator
        attempts = 0
        while claims:
            results = orchestrator.run_wave(claims)
            attempts += len(results)
            with self._uow() as uow:
                plan = orchestrator.load(uow, order_id, previous=plan)
                claims = orchestrator.finish_wave_and_claim_next(uow, plan, results)
        return attempts
