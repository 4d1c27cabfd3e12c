"""Order capture: create, update (draft) and submit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.registry import Registry
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import (
    Conflict,
    ValidationFailed,
)
from om_graph.core.kernel.ids import reserve_many
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import PROCESS_ORDER, Job
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.commands import OrderInput
from om_graph.core.ordering.error_codes import OrderingErrorCode
from om_graph.core.ordering.lines import load_lines
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.pricing import SoldAs, price_order
from om_graph.core.ordering.priority import order_priority
from om_graph.core.ordering.relationships import stored as stored_relationships
from om_graph.core.ordering.states import LINE, ORDER
from om_graph.core.ordering.validation import (
    OrderValidator,
    ValidLine,
)
from om_graph.core.pricing.pricer import Pricer
from om_graph.core.pricing.request import Tables
from om_graph.core.pricing.tables import DefaultTables

UowFactory = Callable[..., UnitOfWork]
TablesSource = Callable[[Session], Tables]  # the active decision tables, read in a transaction
SubmittedHook = Callable[[UnitOfWork, Actor, "Order", list["OrderLine"]], None]
log = logging.getLogger(__name__)


class OrderService:
    def __init__(self, uow: UowFactory, registry: Registry, pricer: Pricer | None = None, tables: TablesSource | None = None):
        self._uow = uow
        self.registry = registry
        self.validator = OrderValidator(registry)
        # Prices are computed on create and on every draft edit (core/pricing/pricer.py), from the
        # decision tables active in the transaction (``tables(session)``); submit freezes them.
        self.pricer = pricer or Pricer(registry)
        self.tables: TablesSource = tables or DefaultTables()
        # Called in the submit's transaction once the order's rows are written (a later context's
        # bookkeeping: change management's version 1), so ordering imports none of it.
        self.submitted_hooks: list[SubmittedHook] = []

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
                order = self.capture(uow.session, actor, data, fingerprint)
                ids = reserve_many(uow.session, {Order: 1, OrderLine: len(order.lines)})
                [order.id] = ids[Order]
                for line, line_id in zip(order.lines, ids[OrderLine]):
                    line.id, line.order_id = line_id, order.id
                uow.record(order, ev.ORDER_CREATE, entity_kind="order", entity=order, actor=actor, to_state=ORDER.initial)
                if submit:
                    self._submit(uow, actor, order, order.lines)
                uow.add_new([order, *order.lines])  # written once, as captured (or submitted)
                if submit:
                    self._submitted(uow, actor, order, order.lines)
                return order
        except (IntegrityError, OperationalError):
            # IntegrityError: a concurrent retry with the same key won the race. OperationalError:
            # the connection was lost, perhaps after the COMMIT reached the database. Either way
            # the key says whether the order is stored: answer as a retry does, else the error.
            existing = self._by_idempotency_key(data.customer_id, data.idempotency_key) if data.idempotency_key else None
            if existing is None:
                raise
            return self._replay(existing, fingerprint)

    def capture(
        self,
        session: Session,
        actor: Actor,
        data: OrderInput,
        fingerprint: str | None = None,
        *,
        editing: int | None = None,
        sold: SoldAs | None = None,
    ) -> Order:
        """The order ``data`` (already scoped to the actor) makes, validated, priced and
        prioritised, in memory: no id, nothing added to the session. orderCreate stores it;
        orderPreview (lifecycle/preview.py) runs the stages on it; a revision
        (change/revision.py, ``editing``: the revised order, whose own lines make no product
        busy) validates its new version with it, priced as the order was sold (``sold``).
        ValidationFailed when invalid."""
        lines, errors = self.validator.validate(session, data, editing=editing)
        if errors:
            raise ValidationFailed(errors)
        order = Order(
            customer_id=data.customer_id,
            state=ORDER.initial,
            version=1,
            description=data.description,
            external_id=data.external_id,
            idempotency_key=data.idempotency_key,
            request_hash=fingerprint,
            requested_completion_date=data.requested_completion_date,
            requested_start_date=data.requested_start_date,
            created_by=actor.label,
        )
        self._set_lines(order, lines)
        price_order(self.pricer, self.tables(session), actor, order, data, lines, sold=sold)
        order.priority = order_priority(self.tables(session), order, order.lines)  # ordering/priority.py
        return order

    def scoped(self, actor: Actor, data: OrderInput) -> OrderInput:
        """``data`` for the actor: a customer orders for their own account only."""
        return self._scoped(actor, data)

    def _scoped(self, actor: Actor, data: OrderInput) -> OrderInput:
        if actor.account_id is None:
            return data
        if data.customer_id and data.customer_id != actor.account_id:
            raise ValidationFailed.single("customerId", "customers order for their own account", CommonErrorCode.FORBIDDEN)
        return OrderInput(**{**data.__dict__, "customer_id": actor.account_id})

    def validate(self, actor: Actor, data: OrderInput) -> None:
        """Capture ``data`` without storing it (an import's dry run): ValidationFailed when it is
        invalid, with the errors orderCreate would answer."""
        require(actor, Permission.ORDER_CAPTURE)
        data = self._scoped(actor, data)
        with self._uow(read_only=True) as uow:
            self.capture(uow.session, actor, data)

    def captured_before(self, actor: Actor, data: OrderInput) -> int | None:
        """The order ``data``'s idempotency key made before (a retried request or import run
        again), or None: one indexed read, no validation or pricing."""
        require(actor, Permission.ORDER_CAPTURE)
        data = self._scoped(actor, data)
        if not data.idempotency_key:
            return None
        with self._uow(read_only=True) as uow:
            return uow.session.scalar(
                select(Order.id).where(Order.customer_id == data.customer_id, Order.idempotency_key == data.idempotency_key)
            )

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
                "this idempotency key was used for a different order",
                field="idempotencyKey",
                code=OrderingErrorCode.IDEMPOTENCY_KEY_REUSED,
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
                state=LINE.initial,
                unit_one_time_price=v.unit_one_time_price,
                unit_recurring_price=v.unit_recurring_price,
                relationships=stored_relationships(v.relationships),
            )
            for v in lines
        ]
        # currency, totals and the lines' prices: ordering.pricing.price_order

    def update(self, actor: Actor, order_id: int, data: OrderInput, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_CAPTURE)
        with self._uow() as uow:
            order = lock_for_write(uow, actor, order_id, expected_version)
            changed = ["lines", "description", "externalId", "requestedCompletionDate", "requestedStartDate"]
            fire(uow, order, order, "edit", actor, {"changed": changed})
            data = OrderInput(**{**data.__dict__, "customer_id": order.customer_id})
            lines, errors = self.validator.validate(uow.session, data, editing=order.id)
            if errors:
                raise ValidationFailed(errors)
            load_lines(uow.session, order)
            order.lines = []  # the old lines go by the delete-orphan cascade
            uow.session.flush()  # before the new lines are inserted: (order_id, line_number) is unique
            order.description = data.description
            order.external_id = data.external_id
            order.requested_completion_date = data.requested_completion_date
            order.requested_start_date = data.requested_start_date
            self._set_lines(order, lines)
            price_order(self.pricer, self.tables(uow.session), actor, order, data, lines)
            order.priority = order_priority(self.tables(uow.session), order, order.lines)  # ordering/priority.py
            return order

    def submit(self, actor: Actor, order_id: int, expected_version: int | None = None) -> Order:
        require(actor, Permission.ORDER_CAPTURE)
        with self._uow() as uow:
            order = lock_for_write(uow, actor, order_id, expected_version)
            lines = load_lines(uow.session, order)
            self._submit(uow, actor, order, lines)
            self._submitted(uow, actor, order, lines)
            return order

    def discard(self, actor: Actor, order_id: int, expected_version: int | None = None) -> Order:
        """Discard a draft (TMF622 DELETE): it and its lines ``discard`` (→ cancelled, a
        ``ProductOrderDeleteEvent``) and ``discarded_at`` is stamped. The rows stay, for the
        order's history and the listeners; the TMF facade no longer shows it. A submitted order is
        cancelled instead (``INVALID_STATE`` here)."""
        require(actor, Permission.ORDER_CAPTURE)
        with self._uow() as uow:
            order = lock_for_write(uow, actor, order_id, expected_version)
            lines = load_lines(uow.session, order)
            fire(uow, order, order, "discard", actor)
            for line in lines:
                fire(uow, order, line, "discard", actor)
            order.discarded_at = utcnow()
            return order

    def _submitted(self, uow: UnitOfWork, actor: Actor, order: Order, lines: list[OrderLine]) -> None:
        """After the submitted order's rows are written, in its transaction: the hooks a later
        context registers (services.py: change management writes order version 1)."""
        for hook in self.submitted_hooks:
            hook(uow, actor, order, lines)

    def _submit(self, uow: UnitOfWork, actor: Actor, order: Order, lines: list[OrderLine]) -> None:
        fire(uow, order, order, "submit", actor)
        order.priority = order_priority(self.tables(uow.session), order, lines)  # the urgency measured again
        for line in lines:
            fire(uow, order, line, "submit", actor)
        order.submitted_at = utcnow()
        # Each submit starts a new approval round; the submitter may not approve it.
        order.approval_round = (order.approval_round or 0) + 1
        order.submitted_by = actor.label
        order.processing_dispatched_at = utcnow()
        uow.enqueue(Job(PROCESS_ORDER, {"order_id": order.id}))
