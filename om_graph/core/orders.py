"""Order capture and processing: create, update (draft), submit, then (in a worker) validate,
enrich, decompose and start orchestration."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from om_graph.core import events as ev
from om_graph.core.commands import OrderInput
from om_graph.core.decomposition import Decomposer
from om_graph.core.errors import Conflict, FieldError, NotFound, PluginCallFailed, ValidationFailed, call_plugin
from om_graph.core.extension_points import LineView
from om_graph.core.ids import reserve_ids
from om_graph.core.inventory import create_placeholders
from om_graph.core.models import Order, OrderLine, Task, money, utcnow
from om_graph.core.orchestration import Orchestrator
from om_graph.core.ports import PROCESS_ORDER, Job
from om_graph.core.permissions import Permission, require
from om_graph.core.registry import Registry
from om_graph.core.plan import OrderPlan, load_lines
from om_graph.core.rollup import rollup
from om_graph.core.transitions import fire
from om_graph.core.uow import SYSTEM_ACTOR, Actor, UnitOfWork
from om_graph.core.validation import OrderValidator, ValidLine, check_characteristics

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


class OrderService:
    def __init__(self, uow: UowFactory, registry: Registry, orchestrator: Orchestrator):
        self._uow = uow
        self.registry = registry
        self.validator = OrderValidator(registry)
        self.decomposer = Decomposer(registry)
        self.orchestrator = orchestrator

    # -- capture -------------------------------------------------------------------------------

    def create(self, actor: Actor, data: OrderInput, *, submit: bool = False) -> Order:
        """Create a draft order, or with ``submit`` (TMF622 requestedInitialState
        ``acknowledged``) create and submit it in one transaction."""
        require(actor, Permission.ORDER_CAPTURE)
        data = self._scoped(actor, data)
        fingerprint = data.fingerprint()
        if data.idempotency_key:
            existing = self._by_idempotency_key(data.customer_id, data.idempotency_key)
            if existing is not None:
                return self._replay(existing, fingerprint)
        try:
            with self._uow() as uow:
                lines, errors = self.validator.validate(uow.session, data)
                if errors:
                    raise ValidationFailed(errors)
                order = Order(
                    customer_id=data.customer_id,
                    state="draft",
                    version=1,
                    description=data.description,
                    external_id=data.external_id,
                    idempotency_key=data.idempotency_key,
                    request_hash=fingerprint,
                    requested_completion_date=data.requested_completion_date,
                    created_by=actor.label,
                )
                self._set_lines(order, lines)
                [order.id] = reserve_ids(uow.session, Order, 1)
                for line, line_id in zip(order.lines, reserve_ids(uow.session, OrderLine, len(order.lines))):
                    line.id, line.order_id = line_id, order.id
                uow.record(order, ev.ORDER_CREATE, entity_kind="order", entity=order, actor=actor, to_state="draft")
                if submit:
                    self._submit(uow, actor, order, order.lines)
                uow.insert([order, *order.lines])  # written once, as captured (or submitted)
                return order
        except (IntegrityError, OperationalError):
            # IntegrityError: a concurrent retry with the same key won the race. OperationalError:
            # the connection was lost, perhaps after the COMMIT reached the database. Either way
            # the key says whether the order is stored: answer as a retry does, else the error.
            existing = self._by_idempotency_key(data.customer_id, data.idempotency_key) if data.idempotency_key else None
            if existing is None:
                raise
            return self._replay(existing, fingerprint)

    def _scoped(self, actor: Actor, data: OrderInput) -> OrderInput:
        if actor.account_id is None:
            return data
        if data.customer_id and data.customer_id != actor.account_id:
            raise ValidationFailed.single("customerId", "customers order for their own account", "FORBIDDEN")
        return OrderInput(**{**data.__dict__, "customer_id": actor.account_id})

    def _by_idempotency_key(self, customer_id: str, key: str) -> Order | None:
        with self._uow(read_only=True) as uow:
            return uow.session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id, Order.idempotency_key == key)
                .options(selectinload(Order.lines))
            ).first()

    @staticmethod
    def _replay(existing: Order, fingerprint: str) -> Order:
        if existing.request_hash != fingerprint:
            raise Conflict(
                "this idempotency key was used for a different order", field="idempotencyKey", code="IDEMPOTENCY_KEY_REUSED"
            )
        return existing

    def _set_lines(self, order: Order, lines: list[ValidLine]) -> None:
        order.lines = [
            OrderLine(
                line_number=v.line_number,
                action=v.action,
                offering_key=v.offering.key,
                spec_key=v.spec.key,
                quantity=v.quantity,
                characteristics=v.characteristics,
                product_id=v.product_id,
                state="draft",
                unit_one_time_price=v.unit_one_time_price,
                unit_recurring_price=v.unit_recurring_price,
            )
            for v in lines
        ]
        currencies = {v.offering.currency for v in lines if v.action == "add"}
        order.currency = currencies.pop() if len(currencies) == 1 else (order.currency or "EUR")
        order.one_time_total = money(sum((v.unit_one_time_price * v.quantity for v in lines), Decimal("0")))
        order.recurring_total = money(sum((v.unit_recurring_price * v.quantity for v in lines), Decimal("0")))
        if len(currencies) > 1:
            raise ValidationFailed.single("lines", "all lines of an order must be priced in one currency", "CURRENCY_MISMATCH")

    def _load_for_write(self, uow: UnitOfWork, actor: Actor, order_id: int, expected_version: int | None) -> Order:
        order = uow.lock_order(order_id)
        if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
            raise NotFound("no such order", field="id")
        if expected_version is not None and order.version != expected_version:
            raise Conflict(
                f"the order changed (version {order.version}, you sent {expected_version}); reload it", field="version"
            )
        return order

    def update(self, actor: Actor, order_id: int, data: OrderInput, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_CAPTURE)
        with self._uow() as uow:
            order = self._load_for_write(uow, actor, order_id, expected_version)
            if order.state != "draft":
                raise ValidationFailed.single("id", f"only draft orders can be edited (this one is {order.state})", "NOT_DRAFT")
            data = OrderInput(**{**data.__dict__, "customer_id": order.customer_id})
            lines, errors = self.validator.validate(uow.session, data)
            if errors:
                raise ValidationFailed(errors)
            uow.session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
            set_committed_value(order, "lines", [])  # what the DELETE left, without reading it back
            order.description = data.description
            order.external_id = data.external_id
            order.requested_completion_date = data.requested_completion_date
            self._set_lines(order, lines)
            order.version += 1
            uow.record(
                order, ev.ORDER_ATTRIBUTE_CHANGE, entity_kind="order", entity_id=order.id, actor=actor,
                payload={"changed": ["lines", "description", "externalId", "requestedCompletionDate"]},
            )
            return order

    def submit(self, actor: Actor, order_id: int, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_CAPTURE)
        with self._uow() as uow:
            order = self._load_for_write(uow, actor, order_id, expected_version)
            self._submit(uow, actor, order, load_lines(uow.session, order))
            return order

    def _submit(self, uow: UnitOfWork, actor: Actor, order: Order, lines: list[OrderLine]) -> None:
        fire(uow, order, order, "submit", actor)
        for line in lines:
            fire(uow, order, line, "submit", actor)
        order.submitted_at = utcnow()
        order.processing_dispatched_at = utcnow()
        uow.enqueue(Job(PROCESS_ORDER, {"order_id": order.id}))

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
                order = uow.lock_order(order_id)
                if order is not None and order.state == "acknowledged":
                    self._reject(uow, order, load_lines(uow.session, order), exc.errors, reason="processingFailed")
            return
        if claims:
            self._run_waves(order_id, claims, plan)

    def _process(self, order_id: int, *, claim: bool) -> tuple[list, OrderPlan | None]:
        with self._uow() as uow:
            order = uow.lock_order(order_id)
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
        self, uow: UnitOfWork, order: Order, lines: list[OrderLine], issues: list[FieldError], reason: str = "businessValidationFailed"
    ) -> None:
        # TMF622: acceptance is all-or-nothing, so every line is rejected with the order.
        for line in lines:
            fire(uow, order, line, "reject", SYSTEM_ACTOR)
        fire(uow, order, order, "reject", SYSTEM_ACTOR)
        order.processing_dispatched_at = None
        uow.record(
            order, ev.ERROR_MESSAGE, entity_kind="order", entity_id=order.id, actor=SYSTEM_ACTOR,
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
                    order, ev.ORDER_ATTRIBUTE_CHANGE, entity_kind="line", entity_id=line.id, actor=SYSTEM_ACTOR,
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
