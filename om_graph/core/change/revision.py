"""In-flight revision of a running order (``orderRevise``, ``revisionApprove``, ``revisionReject``).

A revision is read, computed, written (like a stage pass, lifecycle/processing.py):

1. **read** (read-only unit of work): the order, its lines and plan; the revised order is built
   from its rows and the changes and validated and priced *as capture does*
   (``OrderService.capture`` with ``editing``: the same validator, catalog constraints, pricer
   and priority); the diff against the rows (``versions.diff``); the PONR assessment of the
   changed lines (``ponr.assess``, ``refuse_past_ponr``);
2. **compute** (no transaction: pack code): the approval policy on the revised order
   (``lifecycle.approval.approval_steps_for``) and, when no approval is needed, the new plan
   (``Decomposer.plan`` of the revised lines) and the compensation plan (``plan_diff.compare``);
3. **write** (one plan session): locks the order, checks its change_seq is the read's (else the
   three steps run again), creates the revision and either waits for approval (``pendingApproval``,
   the order's clock paused) or applies it: the soft PONR charges, ``compensation.cancel_open`` and
   ``undo_tasks``, the redo and new tasks and domain orders, the new values on the lines and the
   order, order version n + 1, and the events.

Revisable: an order in progress, pending or held (its plan exists); not a line that completed
(``LINE_COMPLETED``). One open revision per order (a partial unique index): a second one is
``REVISION_IN_PROGRESS``; a stale ``version`` is the usual ``CONFLICT``. The revision completes
when the tasks it planned (``Task.revision_id``) have all finished (:func:`on_plan_close`, run by
every plan session's close). A domain order the new plan of a kept line no longer produces (a child
service a characteristic switched off: ``CompensationPlan.dropped``, kept in the revision's
``compensation`` as ``dropped``) is withdrawn (cancelled) once its work is over, its undos done;
one whose undo failed is left to fallout. A withdrawn domain order's outputs do not reach the
product (fulfilment/rollup.py ``unit_outputs``).

The new plan's parked parts (staggered decomposition) are written as the decomposer writes them
and their lines go pending; the current plan's waits the new plan no longer has are released or
cancelled (revision_work.py ``write_work``, ``unpark``). A parked part is not the revision's work:
the revision completes once the tasks it planned are over, the part then proceeds as any parked
part when its data is supplied (tasks of the revision built on it finish after it, and so does
the revision then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.registry import Registry
from om_graph.core.change import charges as change_charges
from om_graph.core.change import compensation, plan_diff, ponr, versions
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.change.models import OPEN_REVISION_STATES, OrderRevision, OrderVersion
from om_graph.core.change.revision_input import LineRevision, RevisionInput, revision_paths
from om_graph.core.change.revision_pricing import REVISION_DISCOUNT, Priced, new_adjustment_errors, order_adjustments
from om_graph.core.change.revision_waiting import awaiting, release, revised_lines
from om_graph.core.change.revision_work import revise_inputs, unpark, write_work
from om_graph.core.change.states import REVISION, RevisionStates
from om_graph.core.fulfilment import holds
from om_graph.core.fulfilment.decomposition import Decomposer, installed_characteristics
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, DomainOrderStates, TaskModes, TaskStates
from om_graph.core.inventory.settlement import align_placeholders, create_placeholders
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from om_graph.core.kernel.ids import reserve_many
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.lifecycle.approval import approval_steps_for
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.lines import load_lines
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.pricing import SoldAs, apply_prices
from om_graph.core.ordering.relationships import stored as stored_relationships
from om_graph.core.ordering.service import OrderService
from om_graph.core.ordering.states import LINE, LineStates, OrderStates
from om_graph.core.pricing.request import adjustments_from_json, channel_of

UowFactory = Callable[..., UnitOfWork]
TablesSource = Callable[[Session], Any]
log = logging.getLogger(__name__)

REVISABLE_ORDER_STATES = frozenset({OrderStates.IN_PROGRESS, OrderStates.PENDING, OrderStates.HELD})
REASON_MAX = 500
MAX_REVISIONS_PAGE = 100  # revisionsAwaitingApproval's first
_STALE_RETRIES = 3


# -- what the read and the computation produce ------------------------------------------------------


@dataclass
class RevisionPlan:
    """A revision computed on the order as read (:meth:`RevisionService.compute`), not written."""

    order_id: int
    change_seq: int
    revised: Order  # in memory: the order as the revision makes it (lines numbered as stored)
    numbers: list[int]  # the revised lines' numbers
    changes: list[versions.Change]
    assessment: ponr.PonrAssessment | None
    approval: list[Any]  # the approval policy's steps ([]: none needed)
    compensation: plan_diff.CompensationPlan | None = None
    temp_ids: dict[int, int] = field(default_factory=dict)  # new line's temporary id -> its line number


class _Stale(Exception):
    """The order was written between the read and the write: read and compute again."""


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed.single("reason", "say why the order is revised", CommonErrorCode.REQUIRED)
    if len(text) > REASON_MAX:
        raise ValidationFailed.single("reason", f"at most {REASON_MAX} characters", CommonErrorCode.TOO_LONG)
    return text


def _not_revisable(order: Order) -> ValidationFailed:
    return ValidationFailed.single(
        "id",
        f"order {order.id} is {order.state}: only an order in progress, pending or held is revised",
        ChangeErrorCode.NOT_REVISABLE,
    )


def _open_revision(session: Session, order_id: int) -> OrderRevision | None:
    return session.scalars(
        select(OrderRevision).where(OrderRevision.order_id == order_id, OrderRevision.state.in_(OPEN_REVISION_STATES))
    ).first()


def _in_progress(order_id: int) -> ValidationFailed:
    return ValidationFailed.single(
        "id", f"order {order_id} has a revision in progress: one at a time", ChangeErrorCode.REVISION_IN_PROGRESS
    )


class RevisionService:
    def __init__(
        self,
        uow: UowFactory,
        registry: Registry,
        orders: OrderService,
        orchestrator: Orchestrator,
        decomposer: Decomposer,
        tables: TablesSource,
    ):
        self._uow = uow
        self.registry = registry
        self.orders = orders
        self.orchestrator = orchestrator
        self.decomposer = decomposer
        self._tables = tables

    # -- use cases ---------------------------------------------------------------------------------

    def revise(
        self,
        actor: Actor,
        order_id: int,
        changes: RevisionInput,
        *,
        expected_version: int | None,
        reason: str,
        acknowledge_ponr: bool = False,
    ) -> OrderRevision:
        require(actor, Permission.ORDER_REVISE)
        text = _reason(reason)
        for _ in range(_STALE_RETRIES):
            prepared = self._prepare(actor, order_id, changes, expected_version, acknowledge_ponr, revising=None)
            try:
                return self._write_new(actor, prepared, changes, text, expected_version, acknowledge_ponr)
            except _Stale:
                log.info("order %s changed while its revision was computed; computing it again", order_id)
        raise Conflict(f"order {order_id} kept changing; try again", field="version")

    def approve(self, actor: Actor, revision_id: int, comment: str | None = None) -> OrderRevision:
        """Approve a revision waiting for approval (``order:approve``, not its requester): it is
        computed again on the order as it now is and applied."""
        require(actor, Permission.ORDER_APPROVE)
        for _ in range(_STALE_RETRIES):
            revision = self._waiting(actor, revision_id)
            changes = RevisionInput.from_json(revision.changes)
            # Validated and priced again as its requester (their price limits), applied by the approver.
            requester = _requester(revision.changes, actor)
            prepared = self._prepare(
                requester, revision.order_id, changes, None, revision.ponr_acknowledged, revising=revision_id
            )
            try:
                with self._uow() as uow:
                    order = self._lock(uow, actor, prepared)
                    row = uow.session.get(OrderRevision, revision_id)
                    assert row is not None
                    fire(uow, order, row, "approve", actor, {"comment": comment} if comment else None)
                    row.diff = [c.as_json() for c in prepared.changes]  # against the order as it now is
                    self._apply(uow, actor, order, row, prepared)
                    return row
            except _Stale:
                continue
        raise Conflict("the order kept changing; try again", field="id")

    def reject(self, actor: Actor, revision_id: int, reason: str | None = None) -> OrderRevision:
        require(actor, Permission.ORDER_APPROVE)
        self._waiting(actor, revision_id)
        with self._uow() as uow:
            row = uow.session.get(OrderRevision, revision_id)
            assert row is not None
            order = lock_for_write(uow, actor, row.order_id)
            fire(uow, order, row, "reject", actor, {"reason": reason} if reason else None)
            row.error = {"reason": reason} if reason else None
            self._end_pause(uow, order, row)
            order.version += 1
            return row

    def _waiting(self, actor: Actor, revision_id: int) -> OrderRevision:
        with self._uow(read_only=True) as uow:
            row = uow.session.get(OrderRevision, revision_id)
            if row is None:
                raise NotFound("no such revision", field="id", code=ChangeErrorCode.UNKNOWN_REVISION)
            if row.state != RevisionStates.PENDING_APPROVAL:
                raise ValidationFailed.single(
                    "id", f"revision {revision_id} is {row.state}, not waiting for approval", CommonErrorCode.INVALID_STATE
                )
            if row.requested_by == actor.label:
                raise ValidationFailed.single("id", "the requester of a revision may not approve it", CommonErrorCode.FORBIDDEN)
            return row

    # -- reads -------------------------------------------------------------------------------------

    def revisions_of_orders(self, actor: Actor, order_ids: Iterable[int]) -> dict[int, list[OrderRevision]]:
        """Each order's revisions, oldest first (callers have read the orders already)."""
        return self._of_orders(actor, OrderRevision, OrderRevision.id, order_ids)

    def versions_of_orders(self, actor: Actor, order_ids: Iterable[int]) -> dict[int, list[OrderVersion]]:
        """Each order's versions, by number."""
        return self._of_orders(actor, OrderVersion, OrderVersion.number, order_ids)

    def _of_orders(self, actor: Actor, model: Any, ordering: Any, order_ids: Iterable[int]) -> dict[int, list[Any]]:
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(order_ids))
        found: dict[int, list[Any]] = {i: [] for i in ids}
        if not ids:
            return found
        with self._uow(read_only=True) as uow:
            statement = select(model).where(model.order_id.in_(ids)).order_by(ordering)
            if actor.account_id is not None:
                statement = statement.join(Order, Order.id == model.order_id).where(Order.customer_id == actor.account_id)
            for row in uow.session.scalars(statement):
                found[row.order_id].append(row)
            uow.session.expunge_all()
        return found

    def get(self, actor: Actor, revision_id: int) -> OrderRevision:
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            row = uow.session.get(OrderRevision, revision_id)
            order = uow.session.get(Order, row.order_id) if row is not None else None
            if row is None or order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
                raise NotFound("no such revision", field="id", code=ChangeErrorCode.UNKNOWN_REVISION)
            return row

    def awaiting_approval(self, actor: Actor, first: int) -> list[OrderRevision]:
        """Revisions the approval policy holds (PENDING_APPROVAL), oldest first: the approvers' queue."""
        require(actor, Permission.ORDER_APPROVE)
        if not 1 <= first <= MAX_REVISIONS_PAGE:
            raise ValidationFailed([FieldError("first", f"between 1 and {MAX_REVISIONS_PAGE}", CommonErrorCode.OUT_OF_RANGE)])
        stmt = select(OrderRevision).where(OrderRevision.state == RevisionStates.PENDING_APPROVAL)
        if actor.account_id is not None:  # row scoping, as every read here
            stmt = stmt.join(Order, Order.id == OrderRevision.order_id).where(Order.customer_id == actor.account_id)
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(stmt.order_by(OrderRevision.id).limit(first)))

    def version_diff(self, actor: Actor, order_id: int, first: int, second: int) -> list[versions.Change]:
        """What changed from the order's version ``first`` to ``second`` (UNKNOWN_ORDER_VERSION)."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            order = uow.session.get(Order, order_id)
            if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
                raise NotFound("no such order", field="orderId")
            a = versions.version_of(uow.session, order_id, first)
            b = versions.version_of(uow.session, order_id, second)
            missing = [n for n, v in ((first, a), (second, b)) if v is None]
            if missing:
                raise ValidationFailed(
                    [
                        FieldError(
                            "from" if n == first else "to",
                            f"order {order_id} has no version {n}",
                            ChangeErrorCode.UNKNOWN_ORDER_VERSION,
                        )
                        for n in missing
                    ]
                )
            assert a is not None and b is not None
            return versions.diff(a.snapshot, b.snapshot)

    # -- read and compute ----------------------------------------------------------------------------

    def compute(self, actor: Actor, order_id: int, changes: RevisionInput, *, acknowledge_ponr: bool = False) -> RevisionPlan:
        """What ``revise`` would write, computed on the order as it is and written nowhere: the
        revised order (validated and priced), its diff, PONR assessment, approval steps and
        compensation plan (bench/compensation.py times it)."""
        require(actor, Permission.ORDER_REVISE)
        return self._prepare(actor, order_id, changes, None, acknowledge_ponr, revising=None)

    def _prepare(
        self,
        actor: Actor,
        order_id: int,
        changes: RevisionInput,
        expected_version: int | None,
        acknowledge_ponr: bool,
        *,
        revising: int | None,
    ) -> RevisionPlan:
        with self._uow(read_only=True) as uow:
            session = uow.session
            order = session.get(Order, order_id)
            if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
                raise NotFound("no such order", field="id")
            if expected_version is not None and order.version != expected_version:
                raise Conflict(
                    f"the order changed (version {order.version}, you sent {expected_version}); reload it", field="version"
                )
            if order.state not in REVISABLE_ORDER_STATES:
                raise _not_revisable(order)
            open_revision = _open_revision(session, order_id)
            if open_revision is not None and open_revision.id != revising:
                raise _in_progress(order_id)
            plan = OrderPlan.load(session, order)
            live = live_lines(plan.lines)
            data, numbers, touched = self._revised_input(actor, order, plan.lines, changes)
            sold = SoldAs(order.channel or channel_of(actor), order.segment, (order.submitted_at or order.created_at).date())
            try:
                revised = self.orders.capture(session, actor, data, editing=order.id, sold=sold)
            except ValidationFailed as failed:
                raise ValidationFailed(revision_paths(failed.errors, numbers, changes)) from None
            revised.id = order.id
            by_number = {line.line_number: line for line in live}
            temp_ids: dict[int, int] = {}
            for line, number in zip(revised.lines, numbers, strict=True):
                line.line_number = number
                line.relationships = _renumbered(line.relationships, numbers)
                line.order_id = order.id
                if number in by_number:
                    line.id = by_number[number].id
                else:
                    line.id = -number  # a new line's temporary id (its real one is reserved at the write)
                    temp_ids[line.id] = number
            found = versions.diff(versions.snapshot(order, live), versions.snapshot(revised, revised.lines))
            if not found:
                raise ValidationFailed.single("lines", "the revision changes nothing", ChangeErrorCode.NO_CHANGE)
            changed_numbers = touched | {int(c.path.split(".")[1]) for c in found if c.path.startswith("lines.")}
            changed_ids = [by_number[n].id for n in sorted(changed_numbers) if n in by_number]
            assessment = ponr.assess(plan, changed_ids, registry=self.registry) if changed_ids else None
            if assessment is not None:
                ponr.refuse_past_ponr(assessment, acknowledged=acknowledge_ponr)
            tables = self._tables(session)
            installed = installed_characteristics(session, list(revised.lines))
            prepared = RevisionPlan(order.id, order.change_seq, revised, numbers, found, assessment, [], temp_ids=temp_ids)
        # No transaction open: the policy, and pack code (decomposition rules, jeopardy policies).
        if revising is None:
            prepared.approval = approval_steps_for(revised, revised.lines, tables, new_customer=False)
        if not prepared.approval:
            new_plan = self.decomposer.plan(revised, list(revised.lines), installed, tables)
            line_numbers = {line.id: line.line_number for line in revised.lines}
            inputs = {key: frozenset(c.name for c in spec.characteristics) for key, spec in self.registry.specifications.items()}
            prepared.compensation = plan_diff.compare(
                plan, new_plan, line_numbers, versions.changed_characteristics(found), inputs, {line.id for line in live}
            )
        return prepared

    def _revised_input(
        self, actor: Actor, order: Order, lines: Sequence[OrderLine], changes: RevisionInput
    ) -> tuple[OrderInput, list[int], set[int]]:
        """The revised order as capture's input (lines in line-number order, relationships by
        input position), the line numbers of its lines, and the numbers of the lines changed.
        It keeps the order's price list and the manual adjustments the order and its lines were
        sold with; the revision's own discount replaces an earlier revision's."""
        by_number = {line.line_number: line for line in live_lines(lines)}
        errors: list[FieldError] = new_adjustment_errors(actor, changes)
        wanted: dict[int, LineRevision] = {}
        for index, change in enumerate(changes.lines):
            path = f"lines.{index}.lineNumber"
            line = by_number.get(change.line_number)
            if line is None:
                errors.append(FieldError(path, f"order {order.id} has no line {change.line_number}", CommonErrorCode.NOT_FOUND))
            elif line.state in LINE.terminal:
                errors.append(
                    FieldError(
                        path,
                        f"line {line.line_number} is {line.state}: change it with a new order",
                        ChangeErrorCode.LINE_COMPLETED,
                    )
                )
            elif change.line_number in wanted:
                errors.append(FieldError(path, "one change per line", CommonErrorCode.INVALID))
            elif change.remove and (change.characteristics or change.quantity is not None):
                errors.append(
                    FieldError(
                        f"lines.{index}.remove",
                        "a removed line takes no other change: remove it, or change it",
                        CommonErrorCode.INVALID,
                    )
                )
            else:
                wanted[change.line_number] = change
        if errors:
            raise ValidationFailed(errors)
        kept = [line for number, line in sorted(by_number.items()) if not wanted.get(number, _KEEP).remove]
        if not kept and not changes.add_lines:
            raise ValidationFailed.single(
                "lines", "a revision cannot remove every line: cancel the order", CommonErrorCode.INVALID
            )
        next_number = max((line.line_number for line in lines), default=0) + 1  # removed lines keep theirs
        numbers = [line.line_number for line in kept] + list(range(next_number, next_number + len(changes.add_lines)))
        position = {number: i + 1 for i, number in enumerate(numbers)}

        def relationships(given: Sequence[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
            return tuple((position.get(number, number), kind) for number, kind in given if number in position)

        inputs: list[LineInput] = []
        for line in kept:
            change = wanted.get(line.line_number, _KEEP)
            # A delete, suspend or resume line carries none of its own (capture fills the product's in).
            stored = line.characteristics if line.action in ("add", "modify") else {}
            characteristics = {**stored, **change.characteristics}
            inputs.append(
                LineInput(
                    offering=line.offering_key,
                    quantity=change.quantity if change.quantity is not None else line.quantity,
                    action=line.action,
                    characteristics={k: v for k, v in characteristics.items() if v is not None},
                    product_id=line.product_id,
                    price_adjustments=adjustments_from_json(line.price_adjustments),
                    relationships=relationships(
                        [(int(r["lineNumber"]), str(r["relationshipType"])) for r in line.relationships or ()]
                    ),
                )
            )
        inputs.extend(replace(line, relationships=relationships(line.relationships)) for line in changes.add_lines)
        adjustments = adjustments_from_json(order.price_adjustments)
        if changes.manual_discount_percent is not None:
            adjustments = (
                *(a for a in adjustments if a.reason != REVISION_DISCOUNT),
                *order_adjustments(changes.manual_discount_percent),
            )
        data = OrderInput(
            customer_id=order.customer_id,
            lines=tuple(inputs),
            description=order.description,
            external_id=order.external_id,
            requested_completion_date=changes.requested_completion_date or order.requested_completion_date,
            requested_start_date=changes.requested_start_date or order.requested_start_date,
            price_adjustments=adjustments,
            price_list=order.price_list,
        )
        return data, numbers, set(wanted)

    # -- write -------------------------------------------------------------------------------------

    def _lock(self, uow: UnitOfWork, actor: Actor, prepared: RevisionPlan, expected_version: int | None = None) -> Order:
        order = lock_for_write(uow, actor, prepared.order_id, expected_version)
        if order.change_seq != prepared.change_seq + 1:
            raise _Stale
        return order

    def _write_new(
        self,
        actor: Actor,
        prepared: RevisionPlan,
        changes: RevisionInput,
        reason: str,
        expected_version: int | None,
        acknowledge_ponr: bool,
    ) -> OrderRevision:
        try:
            with self._uow() as uow:
                order = self._lock(uow, actor, prepared, expected_version)
                versions.ensure_first(uow, order, load_lines(uow.session, order))
                revision = OrderRevision(
                    order_id=order.id,
                    state=REVISION.initial,
                    base_version=order.order_version,
                    reason=reason,
                    requested_by=actor.label,
                    changes={
                        **changes.as_json(),
                        "requester": {"id": actor.id, "roles": sorted(actor.roles), "accountId": actor.account_id},
                    },
                    diff=[c.as_json() for c in prepared.changes],
                    ponr_acknowledged=acknowledge_ponr,
                    version=1,
                )
                uow.session.add(revision)
                uow.session.flush()  # its id (and the one-open-revision index)
                uow.record(
                    order,
                    ev.REVISION_STATE_CHANGE,
                    entity_kind="revision",
                    entity_id=revision.id,
                    actor=actor,
                    to_state=revision.state,
                    payload={"reason": reason, "baseVersion": revision.base_version, "diff": revision.diff},
                )
                if prepared.approval:
                    fire(uow, order, revision, "awaitApproval", SYSTEM_ACTOR, {"reasons": list(prepared.approval[0].reasons)})
                    # Its lines' work is not claimed meanwhile (fulfilment/holds.py withhold; released at approve/reject).
                    holds.withhold(revised_lines(load_lines(uow.session, order), prepared.changes), awaiting(revision))
                    if order.paused_at is None:  # the clock stops while the revision waits (like a hold)
                        order.paused_at = utcnow()
                        revision.compensation = {"pausedClock": True}
                    order.version += 1
                    return revision
                fire(uow, order, revision, "apply", SYSTEM_ACTOR, {"by": actor.label})
                self._apply(uow, actor, order, revision, prepared)
                return revision
        except IntegrityError as exc:
            if "order_revision" in str(exc.orig) or "ix_order_revision_open" in str(exc.orig):
                raise _in_progress(prepared.order_id) from exc
            raise

    def _end_pause(self, uow: UnitOfWork, order: Order, revision: OrderRevision) -> None:
        session = PlanSession.open(uow, self.orchestrator, order.id)
        assert session is not None
        with session:
            release(session, revision)
            if (revision.compensation or {}).get("pausedClock") and order.paused_at is not None:
                end_pause(session, order)

    def _apply(self, uow: UnitOfWork, actor: Actor, order: Order, revision: OrderRevision, prepared: RevisionPlan) -> None:
        """Apply a computed revision in the locked order's plan session (module docstring)."""
        comp = prepared.compensation
        assert comp is not None
        paused_by_revision = bool((revision.compensation or {}).get("pausedClock"))
        session = PlanSession.open(uow, self.orchestrator, order.id)
        assert session is not None
        with session:
            plan = session.plan
            release(session, revision)
            if paused_by_revision:
                end_pause(session, order)
            lines_by_number = {line.line_number: line for line in live_lines(plan.lines)}
            reason = f"revision {revision.id}: {revision.reason}"
            # 1. the work that stops: open tasks cancelled, completed ones undone (reverse dependency order)
            cancelled = compensation.cancel_open(session, [plan.tasks[i] for i in comp.cancel], reason=reason)
            undos = compensation.undo_tasks(session, [plan.tasks[i] for i in comp.undo], reason=reason, revision_id=revision.id)
            undo_of = {t.compensates_id: t for t in undos}
            # 2. the lines as revised (new ones get their ids and start), the header, version n + 1
            quantities = {number: line.quantity for number, line in lines_by_number.items()}
            new_lines = self._apply_lines(session, actor, prepared, lines_by_number)
            for number, line in lines_by_number.items():
                if number in prepared.numbers and line.quantity != quantities[number]:
                    align_placeholders(uow, order, line, self.registry, SYSTEM_ACTOR)  # units' products come and go
            line_id_of = {line.line_number: line.id for line in plan.lines}
            # A removed line is cancelled like a line cancellation: pending cancellation until its
            # compensation is over (the cancellation's settlement, change/cancellation.py, cancels it).
            for number in sorted(set(lines_by_number) - set(prepared.numbers)):
                line = lines_by_number[number]
                line.previous_state = line.state
                # The system's, for whoever applies it (an approver holds no order:cancel).
                session.fire(line, "requestCancellation", SYSTEM_ACTOR, {"revision": revision.id, "by": actor.label})
                session.fire(line, "acceptCancellation", SYSTEM_ACTOR, {"revision": revision.id})
            # 3. the new work: domain orders and tasks, redo tasks after their undo
            work = write_work(session, prepared.temp_ids, comp, revision.id, undo_of, line_id_of)
            written = work.tasks
            unparked = unpark(session, comp)  # after the new waits: a line still waiting stays pending
            revise_inputs(plan, comp, undos)
            for domain_order_id in comp.reopen:
                domain_order = plan.domain_order(domain_order_id)
                if domain_order.state == DomainOrderStates.COMPLETED:
                    session.fire(domain_order, "reopen", SYSTEM_ACTOR, {"revision": revision.id})
            # Dropped domain orders: withdrawn now when their work is over (only cancelled), else
            # reopened while their undos run (so nothing above them completes on their old work).
            _withdraw_dropped(session, comp.dropped, revision.id)
            for domain_order_id in _not_over(plan, comp.dropped):
                domain_order = plan.domain_order(domain_order_id)
                if domain_order.state == DomainOrderStates.COMPLETED:
                    session.fire(domain_order, "reopen", SYSTEM_ACTOR, {"revision": revision.id})
            for line in new_lines:
                create_placeholders(uow, order, line, self.registry)
            charges: list[dict[str, Any]] = []
            if prepared.assessment is not None and prepared.assessment.soft:
                charges = change_charges.charge_ponr(
                    uow, order, plan.lines, prepared.assessment, reason, actor=actor, registry=self.registry
                )
            number = order.order_version + 1
            order.order_version = number
            order.version += 1
            versions.write_version(
                uow,
                order,
                number,
                created_by=actor.label,
                lines=live_lines(plan.lines),
                revision_id=revision.id,
                reason=revision.reason,
            )
            revision.new_version = number
            revision.charges = charges or None
            revision.compensation = plan_diff.summary(plan, cancelled, undos, written, comp.dropped, work.waits, unparked)
            uow.record(
                order,
                ev.ORDER_ATTRIBUTE_CHANGE,
                entity_kind="order",
                entity_id=order.id,
                actor=actor,
                payload={"revision": revision.id, "orderVersion": number, "changes": revision.diff},
            )
            if not undos and not written:
                session.fire(revision, "complete", SYSTEM_ACTOR)
                revision.completed_at = utcnow()
            session.schedule_dirty = True

    def _apply_lines(
        self, session: PlanSession, actor: Actor, prepared: RevisionPlan, by_number: dict[int, OrderLine]
    ) -> list[OrderLine]:
        """The revised values onto the stored lines and order; new lines created (submitted and
        started). Returns the new lines."""
        order, revised, uow = session.order, prepared.revised, session.uow
        new_lines: list[OrderLine] = []
        count = len(prepared.temp_ids)
        ids = reserve_many(uow.session, {OrderLine: count})[OrderLine] if count else []
        fresh = iter(ids)
        for line in revised.lines:
            stored = by_number.get(line.line_number)
            if stored is None:
                stored = OrderLine(
                    id=next(fresh),
                    order_id=order.id,
                    line_number=line.line_number,
                    action=line.action,
                    offering_key=line.offering_key,
                    spec_key=line.spec_key,
                    quantity=line.quantity,
                    characteristics=dict(line.characteristics),
                    product_id=line.product_id,
                    state=LINE.initial,
                    unit_one_time_price=line.unit_one_time_price,
                    unit_recurring_price=line.unit_recurring_price,
                    prices=line.prices,
                    price_adjustments=line.price_adjustments,
                    relationships=line.relationships,
                )
                uow.add_new([stored])
                session.plan.lines.append(stored)
                session.plan.__dict__.pop("_lines_by_id", None)
                fire(uow, order, stored, "submit", SYSTEM_ACTOR, {"by": actor.label})  # an approver holds no order:capture
                session.fire(stored, "start", SYSTEM_ACTOR)
                new_lines.append(stored)
                continue
            stored.characteristics = dict(line.characteristics)
            stored.quantity = line.quantity
            stored.relationships = line.relationships
            stored.price_adjustments = line.price_adjustments
        order.requested_completion_date = revised.requested_completion_date
        order.requested_start_date = revised.requested_start_date
        order.price_adjustments = revised.price_adjustments
        ordered = [
            by_number.get(line.line_number) or next(n for n in new_lines if n.line_number == line.line_number)
            for line in revised.lines
        ]
        held = change_charges.held_charges(order, session.plan.lines)  # what earlier changes charged survives the repricing
        apply_prices(order, ordered, Priced(revised))  # type: ignore[arg-type]
        change_charges.restore_charges(order, ordered, held, registry=self.registry)
        return new_lines


_KEEP = LineRevision(0)


def _requester(changes: Mapping[str, Any], fallback: Actor) -> Actor:
    found = changes.get("requester")
    if not found:
        return fallback
    return Actor(found["id"], frozenset(found["roles"]), account_id=found.get("accountId"))


def live_lines(lines: Iterable[OrderLine]) -> list[OrderLine]:
    """The order's lines less those removed (by a revision or a cancellation): what a version holds."""
    return [line for line in lines if line.state not in _REMOVED]


_REMOVED = frozenset({LineStates.CANCELLED, LineStates.PENDING_CANCELLATION})


def _renumbered(relationships: list[dict[str, Any]] | None, numbers: Sequence[int]) -> list[dict[str, Any]] | None:
    """Relationships validated by input position, back to the lines' stored numbers."""
    if not relationships:
        return relationships
    return stored_relationships([(numbers[int(r["lineNumber"]) - 1], str(r["relationshipType"])) for r in relationships])


# -- completion ----------------------------------------------------------------------------------


def end_pause(session: PlanSession, order: Order) -> None:
    """The order's clock runs again: due dates move by the time the revision waited."""
    holds.end_pause(session, order)


def _removed_units(plan: OrderPlan) -> list[DomainOrder]:
    """The domain orders of units a revision took off (a live line's unit index at or past its
    quantity), children first."""
    quantity = {line.id: line.quantity for line in live_lines(plan.lines)}
    found: list[DomainOrder] = []
    for domain_order in plan.domain_orders:
        root = domain_order
        while root.parent_id is not None:
            root = plan.domain_order(root.parent_id)
        if domain_order.line_id in quantity and root.unit_index >= quantity[domain_order.line_id]:
            found.append(domain_order)
    return sorted(found, key=lambda d: d.id, reverse=True)


def _withdraw_removed_units(session: PlanSession) -> None:
    """A removed unit's domain orders are withdrawn (cancelled) once their work is over (its
    undos finished), instead of rolling up completed."""
    plan = session.plan
    removed = _removed_units(plan)
    if not removed:
        return
    open_by_domain: dict[int, bool] = {}
    for task in plan.tasks.values():
        if task.state not in TASK.terminal:
            open_by_domain[task.domain_order_id] = True
    for domain_order in removed:
        if open_by_domain.get(domain_order.id):
            continue
        for event in ("withdraw", "cancel"):
            if DOMAIN_ORDER.can(domain_order.state, event):
                session.fire(domain_order, event, SYSTEM_ACTOR, {"reason": "a revision removed its unit"})
                break


def _not_over(plan: OrderPlan, domain_order_ids: Iterable[int]) -> set[int]:
    """Of ``domain_order_ids``, those whose work is not over: a task of theirs or of a domain order
    under them is still open, or an undo of it failed (its fallout decides what happens next)."""
    wanted = set(domain_order_ids)
    if not wanted:
        return set()
    blocked: set[int] = set()
    for task in plan.tasks.values():
        if task.state in TASK.terminal and not (task.mode == TaskModes.UNDO and task.state == TaskStates.FAILED):
            continue
        at: int | None = task.domain_order_id
        while at is not None and at not in blocked:
            blocked.add(at)
            at = plan.domain_order(at).parent_id
    return wanted & blocked


def _dropped(revision: OrderRevision) -> list[int]:
    """The domain orders a revision's new plan dropped (its ``compensation``, plan_diff.summary)."""
    return [int(row["id"]) for row in (revision.compensation or {}).get("dropped") or ()]


def _withdraw_dropped(session: PlanSession, domain_order_ids: Iterable[int], revision_id: int) -> None:
    """The domain orders a revision dropped (the new plan of their kept line does not produce them)
    are withdrawn, or cancelled when not started, once their work is over (:func:`_not_over`),
    children first, as a line cancellation's (change/cancellation.py ``_cancel_line``). One whose
    undo failed is not: the roll-up fails it, and its fallout is worked like any other."""
    plan = session.plan
    wanted = set(domain_order_ids)
    live = [d for d in plan.domain_orders if d.id in wanted and d.state not in DOMAIN_ORDER.terminal]
    if not live:
        return
    busy = _not_over(plan, [d.id for d in live])
    for domain_order in sorted(live, key=lambda d: d.id, reverse=True):
        if domain_order.id in busy:
            continue
        for event in ("withdraw", "cancel"):
            if DOMAIN_ORDER.can(domain_order.state, event):
                payload = {"reason": "the revised line no longer needs it", "revision": revision_id}
                session.fire(domain_order, event, SYSTEM_ACTOR, payload)
                break


def on_plan_close(session: PlanSession) -> None:
    """A revision in progress completes when every task it planned (undo, redo, new) is finished:
    run by each plan session's close (fulfilment/session.py ``CLOSE_HOOKS``), before the roll-up.
    A unit a revision removed has its domain orders withdrawn once their undos are over; so have
    the domain orders it dropped (``compensation.dropped``: what the new plan of a kept line no
    longer produces), unless an undo of theirs failed."""
    _withdraw_removed_units(session)
    planned: dict[int, list[Task]] = {}
    for task in session.plan.tasks.values():
        if task.revision_id is not None:
            planned.setdefault(task.revision_id, []).append(task)
    for revision_id, tasks in planned.items():
        finished = all(task.state in TASK.terminal for task in tasks)
        # Dropped work is over only once an undo of this revision has finished (the rest was cancelled at once).
        if not finished and not any(t.mode == TaskModes.UNDO and t.state in TASK.terminal for t in tasks):
            continue
        revision = session.uow.session.get(OrderRevision, revision_id)
        if revision is None or revision.state != RevisionStates.IN_PROGRESS:
            continue
        _withdraw_dropped(session, _dropped(revision), revision_id)
        if not finished:
            continue
        failed = [task for task in tasks if task.state == TaskStates.FAILED]
        if failed:  # its compensation could not run to its end: the line fails with it (roll-up)
            revision.error = {"failedTasks": [{"id": t.id, "key": t.key, "mode": t.mode} for t in failed]}
            session.fire(revision, "fail", SYSTEM_ACTOR, {"failedTasks": [t.id for t in failed]})
        else:
            session.fire(revision, "complete", SYSTEM_ACTOR)
        revision.completed_at = utcnow()
