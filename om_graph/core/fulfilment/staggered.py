"""Staggered decomposition: a line's parts that need a characteristic not known yet wait for it.

A specification relationship may declare ``needs`` (characteristics of the line the target's
decomposition depends on). When the line lacks one, decomposition builds what it can (the rest
of the line's domain orders run) and *parks* the relationship's part: a ``DecompositionWait``
row per missing characteristic (line, parent domain order, target specification, unit), and the
line goes ``pending`` (holds.await_information: the TMF622 InformationRequired event with the
field paths ``lines.<lineNumber>.characteristics.<name>``). While a part waits, the domain orders
above it neither start (a line that builds, builds bottom-up) nor finish (``OrderPlan.parked``),
and the pending line cannot complete.

*Resuming*: when the value arrives (an agent's ``orderLineCharacteristicsSupply``:
:meth:`LineSupply.supply`) the parts whose needs are all known are built under their parent,
the read → compute → fenced write way of the stage pass: one short read, the decomposition
rules and jeopardy policies (pack code) with no transaction open, then one write that locks the
order, checks nobody wrote it since the read (else computes again), inserts the part's domain
orders, tasks and dependencies (the parent's first tasks wait for the part's last ones, or the
part's first ones for the parent's last when tearing down), marks the waits released and, when
none remain, lets the line go (holds.information_provided). A line's decomposition completes
once; nothing re-triggers it after.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.decomposition import RELEASED, WAITING, Decomposer, Decomposition, PlanTables, subtree_ends
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.holds import LineRef, await_information, find_line, information_provided
from om_graph.core.fulfilment.models import DecompositionWait, DomainOrder, TaskDependency
from om_graph.core.fulfilment.orchestration import Orchestrator
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.propagation import propagate
from om_graph.core.fulfilment.rules import DependencyTypes
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import Conflict, FieldError, InvalidTransition, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import LINE, LineStates, OrderStates
from om_graph.core.ordering.validation import check_characteristics

log = logging.getLogger(__name__)
UowFactory = Callable[..., UnitOfWork]
TablesSource = Callable[[Any], PlanTables]
_STALE_RETRIES = 3
_IN_FLIGHT = frozenset({OrderStates.IN_PROGRESS, OrderStates.HELD, OrderStates.PENDING})

_ORDER = select(Order).where(Order.id == bindparam("order_id"))
_LINES = select(OrderLine).where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.line_number)
_WAITS = select(DecompositionWait).where(DecompositionWait.line_id == bindparam("line_id"), DecompositionWait.state == WAITING)
_PARENTS = select(DomainOrder).where(DomainOrder.id.in_(bindparam("ids", expanding=True)))


def field_path(line: OrderLine, name: str) -> str:
    """The InformationRequired field path of a line's missing characteristic."""
    return f"lines.{line.line_number}.characteristics.{name}"


def requested(line: OrderLine, waits: Iterable[DecompositionWait]) -> set[str]:
    """The characteristics an in-flight line asks for: what its parked parts wait on and the
    field paths of its informationRequired (``lines.<n>.characteristics.<name>``)."""
    prefix = field_path(line, "")
    asked = {w.characteristic for w in waits}
    asked |= {p[len(prefix) :] for p in line.information_required or [] if isinstance(p, str) and p.startswith(prefix)}
    return asked


def park(session: PlanSession, waits: Iterable[DecompositionWait]) -> None:
    """Register parked parts in the session's plan and make their lines pending (new field
    paths are added to a line already pending). Call it inside the plan session that writes them."""
    waits = list(waits)
    if not waits:
        return
    session.plan.waits.extend(waits)
    by_line: dict[int, list[DecompositionWait]] = defaultdict(list)
    for wait in waits:
        by_line[wait.line_id].append(wait)
    for line in session.plan.lines:
        parked = by_line.get(line.id)
        if not parked:
            continue
        names = list(dict.fromkeys(w.characteristic for w in parked))
        specs = ", ".join(sorted({w.spec_key for w in parked}))
        reason = f"decomposing {specs} needs {', '.join(names)}"[:500]
        await_information(session, line, [field_path(line, n) for n in names], reason)


def waits_of(plan: OrderPlan, line: OrderLine) -> list[DecompositionWait]:
    return [w for w in plan.waits if w.line_id == line.id and w.state == WAITING]


def ready_parts(waits: Iterable[DecompositionWait], characteristics: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The parked parts, as (parent domain order id, target specification), whose every
    missing characteristic is now known."""
    needs: dict[tuple[int, str], set[str]] = defaultdict(set)
    for wait in waits:
        if wait.parent_id is not None:
            needs[(wait.parent_id, wait.spec_key)].add(wait.characteristic)
    return [part for part, names in needs.items() if all(characteristics.get(n) is not None for n in names)]


def build_parts(session: PlanSession, decomposer: Decomposer, line: OrderLine, part: Decomposition) -> list[Any]:
    """Add a planned part (:meth:`Decomposer.plan_parts`) to the session's plan under its
    existing parents, with the dependencies towards their tasks, and register what parks again.
    Returns the new rows: the caller inserts them (``uow.add_new``) once the session closed."""
    plan = session.plan
    written = decomposer.write(session.uow.session, part)
    plan.extend(written.domain_orders, written.tasks)
    links: list[TaskDependency] = []
    teardown = line.action == "delete"
    for root in part.roots:
        parent_id = root.domain_order.parent_id
        if parent_id is None:
            continue
        first, last = subtree_ends([root])
        first_ids = [written.task_of[id(t)].id for t in first]
        last_ids = [written.task_of[id(t)].id for t in last]
        anchor_first, anchor_last = _anchor(plan, parent_id)
        pairs = [(t, p) for t in first_ids for p in anchor_last] if teardown else [(t, p) for t in anchor_first for p in last_ids]
        links.extend(
            TaskDependency(task_id=t, predecessor_id=p, dependency_type=DependencyTypes.FINISH_TO_START, lag_seconds=0)
            for t, p in pairs
        )
    plan.extend(dependencies=[*written.dependencies, *links])
    park(session, written.waits)
    return [*written.domain_orders, *written.tasks, *written.dependencies, *links, *written.waits]


def _anchor(plan: OrderPlan, domain_order_id: int) -> tuple[list[int], list[int]]:
    """The first and last tasks of the nearest domain order at or above ``domain_order_id`` that
    has tasks (what a part built under it is linked to)."""
    by_id = {d.id: d for d in plan.domain_orders}
    at: int | None = domain_order_id
    while at is not None:
        own = [t.id for t in plan.tasks.values() if t.domain_order_id == at]
        if own:
            inside = set(own)
            has_predecessor = {t for t in own if any(p in inside for p, _ in plan.predecessors.get(t, ()))}
            has_successor = {p for t in own for p, _ in plan.predecessors.get(t, ()) if p in inside}
            return [t for t in own if t not in has_predecessor], [t for t in own if t not in has_successor]
        parent = by_id.get(at)
        at = parent.parent_id if parent is not None else None
    return [], []


@dataclass
class _Read:
    order: Order
    line: OrderLine
    waits: list[DecompositionWait]
    parents: dict[int, DomainOrder]
    tables: PlanTables | None


class _Stale(Exception):
    pass


class LineSupply:
    """``orderLineCharacteristicsSupply``: an agent (or the customer) supplies characteristics
    an in-flight line lacks; parked parts they complete are built (module docstring)."""

    def __init__(
        self,
        uow: UowFactory,
        registry: Registry,
        orchestrator: Orchestrator,
        decomposer: Decomposer,
        tables: TablesSource | None = None,
    ):
        self._uow = uow
        self.registry = registry
        self.orchestrator = orchestrator
        self.decomposer = decomposer
        self._tables = tables

    def supply(
        self,
        actor: Actor,
        order_id: int,
        ref: LineRef,
        characteristics: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Order:
        """Supply values of characteristics the line does not have yet (ORDER_CAPTURE; a
        customer only on their own orders). Each is checked against the line's offering
        (field errors ``characteristics.<name>``); a value the line already holds is refused
        (``ALREADY_SET``: this supplies missing information, a change is a modify order), and so
        is one the line does not ask for (``NOT_REQUESTED``: see :func:`requested`).
        The order must be in flight and the line not finished."""
        require(actor, Permission.ORDER_CAPTURE)
        if not characteristics:
            raise ValidationFailed.single("characteristics", "supply at least one characteristic", CommonErrorCode.REQUIRED)
        for _ in range(_STALE_RETRIES):
            read = self._read(actor, order_id, ref)
            checked = self._check(read.line, characteristics, requested(read.line, read.waits))
            merged = {**read.line.characteristics, **checked}
            ready = ready_parts(read.waits, merged)
            parts = [(read.parents[parent_id], spec) for parent_id, spec in ready if parent_id in read.parents]
            # Pack code (decomposition rules, jeopardy policies): no transaction open.
            part = self.decomposer.plan_parts(read.order, read.line, parts, merged, read.tables) if parts else None
            try:
                return self._write(actor, read, ref, checked, merged, ready, part, expected_version)
            except _Stale:
                log.info("order %s changed while its parked parts were planned; planning again", order_id)
        raise Conflict(f"order {order_id} kept changing while its parked parts were planned: try again", field="orderId")

    def resume_ready(self, order_id: int) -> int:
        """Build the parked parts whose needs the lines now hold (a value propagated from a
        task's outcome, an enrichment): the advance loop calls it once a session left such a
        line. Returns how many lines it resumed."""
        resumed = 0
        with self._uow(read_only=True) as uow:
            lines = list(uow.session.scalars(_LINES, {"order_id": order_id}))
            pending = [(line.line_number, dict(line.characteristics)) for line in lines if line.information_required]
            waits = {
                line.line_number: list(uow.session.scalars(_WAITS, {"line_id": line.id}))
                for line in lines
                if line.information_required
            }
        for number, characteristics in pending:
            if not ready_parts(waits.get(number, ()), characteristics):
                continue
            for _ in range(_STALE_RETRIES):
                read = self._read(SYSTEM_ACTOR, order_id, LineRef(line_number=number))
                merged = dict(read.line.characteristics)
                ready = ready_parts(read.waits, merged)
                parts = [(read.parents[pid], spec) for pid, spec in ready if pid in read.parents]
                part = self.decomposer.plan_parts(read.order, read.line, parts, merged, read.tables) if parts else None
                try:
                    self._write(SYSTEM_ACTOR, read, LineRef(line_number=number), {}, merged, ready, part, None)
                    resumed += 1
                    break
                except _Stale:
                    continue
        return resumed

    def line_waits(self, actor: Actor, line_ids: list[int]) -> dict[int, list[Any]]:
        return line_waits(self._uow, actor, line_ids)

    def _read(self, actor: Actor, order_id: int, ref: LineRef) -> _Read:
        with self._uow(read_only=True) as uow:
            session = uow.session
            order = session.scalars(_ORDER, {"order_id": order_id}).first()
            if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
                raise NotFound("no such order", field="orderId")
            lines = list(session.scalars(_LINES, {"order_id": order_id}))
            line = find_line(OrderPlan(order, lines, [], {}), ref)
            if order.state not in _IN_FLIGHT or line.state in LINE.terminal:
                raise InvalidTransition(
                    f"line {line.line_number} of order {order_id} is not in flight (order {order.state}, line {line.state})",
                    field="lineNumber",
                    code=CommonErrorCode.INVALID_STATE,
                )
            waits = list(session.scalars(_WAITS, {"line_id": line.id}))
            ids = sorted({w.parent_id for w in waits if w.parent_id is not None})
            parents = {d.id: d for d in session.scalars(_PARENTS, {"ids": ids})} if ids else {}
            tables = self._tables(session) if self._tables is not None else None
            session.expunge_all()
        return _Read(order, line, waits, parents, tables)

    def _check(self, line: OrderLine, given: Mapping[str, Any], asked: set[str]) -> dict[str, Any]:
        errors = []
        for name, value in given.items():
            held = line.characteristics.get(name)
            if held is not None and held != value:
                errors.append(
                    FieldError(
                        f"characteristics.{name}",
                        "the line already has a value: change it with a modify order",
                        FulfilmentErrorCode.ALREADY_SET,
                    )
                )
            elif held is None and name not in asked:
                errors.append(
                    FieldError(
                        f"characteristics.{name}",
                        "the line does not ask for it (its waits and informationRequired name what it needs): "
                        "add it with a modify order",
                        FulfilmentErrorCode.NOT_REQUESTED,
                    )
                )
        rules = self.registry.rules_for(line.offering_key, line.spec_key)
        checked, found = check_characteristics(
            rules, dict(given), "characteristics", apply_defaults=False, context=line.characteristics
        )
        errors += [e for e in found if e.code != CommonErrorCode.REQUIRED]
        if errors:
            raise ValidationFailed(errors)
        return checked

    def _write(
        self,
        actor: Actor,
        read: _Read,
        ref: LineRef,
        checked: dict[str, Any],
        merged: dict[str, Any],
        ready: list[tuple[int, str]],
        part: Decomposition | None,
        expected_version: int | None,
    ) -> Order:
        rows: list[Any] = []
        with self._uow() as uow:
            order = lock_for_write(uow, actor, read.order.id, expected_version)
            if order.change_seq != read.order.change_seq + 1:
                raise _Stale  # rolls back (the lock's bump with it)
            session = self.orchestrator.open(uow, order.id)
            assert session is not None  # locked just now
            with session:
                line = find_line(session.plan, ref)
                if checked:
                    line.characteristics = merged
                    order.version += 1
                    uow.record(
                        order,
                        ev.ORDER_ATTRIBUTE_CHANGE,
                        entity_kind="line",
                        entity_id=line.id,
                        actor=actor,
                        payload={"lineNumber": line.line_number, "characteristics": checked, "supplied": True},
                    )
                    propagate(session, self.registry, line, checked)  # to the line's domain orders
                now = utcnow()
                done = set(ready)
                for wait in waits_of(session.plan, line):
                    if (wait.parent_id, wait.spec_key) in done:
                        wait.state, wait.released_at = RELEASED, now
                if part is not None:
                    rows = build_parts(session, self.decomposer, line, part)
                remaining = waits_of(session.plan, line)
                if remaining:
                    line.information_required = [field_path(line, n) for n in dict.fromkeys(w.characteristic for w in remaining)]
                elif line.state == LineStates.PENDING:
                    information_provided(session, line, actor)
                else:  # held while it waited: nothing is missing any more (its resume continues it)
                    line.information_required = None
            uow.add_new(rows)  # released and rolled up in memory: inserted once, as they now are
        return order


_LINE_WAITS = (
    select(
        DecompositionWait.id,
        DecompositionWait.line_id,
        DecompositionWait.parent_id,
        DecompositionWait.spec_key,
        DecompositionWait.unit_index,
        DecompositionWait.characteristic,
        DecompositionWait.created_at,
    )
    .where(DecompositionWait.line_id.in_(bindparam("ids", expanding=True)), DecompositionWait.state == WAITING)
    .order_by(DecompositionWait.id)
)


def line_waits(uow_factory: UowFactory, actor: Actor, line_ids: list[int]) -> dict[int, list[Any]]:
    """The parts each line's decomposition still parks (ORDER_READ; a customer's own orders
    only), oldest first, by line id."""
    require(actor, Permission.ORDER_READ)
    ids = sorted(set(line_ids))
    if not ids:
        return {}
    statement = _LINE_WAITS
    if actor.account_id is not None:
        statement = statement.join(Order, Order.id == DecompositionWait.order_id).where(Order.customer_id == actor.account_id)
    found: dict[int, list[Any]] = {}
    with uow_factory(read_only=True) as uow:
        for row in uow.session.execute(statement, {"ids": ids}):
            found.setdefault(row.line_id, []).append(row)
    return found
