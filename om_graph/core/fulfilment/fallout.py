"""Fallout: failures routed to people instead of failing the order (DOMAIN.md row 16).

An automatic task whose retry policy is spent (``RetryPolicy``: attempts, back-off, error
classes) does not fail: the orchestrator opens a fallout record in the same plan session and the
task goes ``onHold``. Its successors stay pending (nothing is cancelled) and its line stays in
progress: the roll-up cannot finish a domain order with a task on hold. The record carries a type
(provisioning, inventoryAllocation, billing or a pack's), a priority 1–5, an owner (a group,
``order_fallout_agent`` by default, or a person) and the error: code, message, handler, attempt
and the southbound response.

Classification is pack code (``om_classify_fallout``), so it runs in the handler phase with no
transaction open (``classify``, called by ``Orchestrator.run_handler``) and travels in the result
(``TaskHandlerError.fallout``); a failure recorded without one (a lost worker, detected under the
lock) gets the handler policy's default.

What agents and managers do (:class:`FalloutService`, each under the order's lock, in one plan
session, checked against the record's ``version``):

- **retry**: the task goes ``ready`` again (``retryFallout``) and its handler runs once more with
  the same idempotency key; attempts continue counting. The record is ``inProgress`` meanwhile:
  ``resolved`` (``retried``) when the attempt succeeds, reopened (``open``, the new attempt's
  error) when it fails: one record per failure, never a duplicate.
- **skip**: the agent enters the outputs the handler would have produced (checked against the
  domain order's specification, as for a manual task); the task completes (``skip``) and its
  successors are released. Resolution ``skipped``.
- **resolve**: the agent fixed it outside; the task completes without outputs. ``resolved``.
- **reassign** (manager): to a person and/or a group; the record goes back to ``open``.
- **give up** (manager): the task fails, its successors and the rest of its line's open work are
  cancelled (their records too), so the line fails and the order rolls up to partial or failed.
- **take / hold / requestInformation / close**: the record's own states.

Closing a domain order by hand (``domainOrderClose``, a fulfilment manager) completes its open
tasks and those of the domain orders under it without running them (``closeByHand``, outcome
``{"closedByHand": reason}``), so it rolls up to completed and its successors go on; it records a
``manualClose`` fallout record, resolved, for an agent to review and close (and resolves the
records of the tasks it closed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, TextClause, func, select, text

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, Role, require
from om_graph.core.catalog.extensions import (
    FalloutClassification,
    FalloutFailure,
    FalloutTypes,
    RetryPolicy,
)
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.fallout_states import ACTIVE, FALLOUT
from om_graph.core.fulfilment.holds import abandon_waits, refuse_held
from om_graph.core.fulfilment.models import ACTIVE_FALLOUT_STATES, DomainOrder, Fallout, Task
from om_graph.core.fulfilment.queues import completed_by
from om_graph.core.fulfilment.rules import Gates
from om_graph.core.fulfilment.states import DOMAIN_ORDER_DONE, TASK, TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed, refuse_pack_code_under_lock
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.validation import check_characteristics

if TYPE_CHECKING:
    from om_graph.core.fulfilment.orchestration import Claim, Orchestrator
    from om_graph.core.fulfilment.session import PlanSession

log = logging.getLogger(__name__)

_DEFAULT_POLICY = RetryPolicy()
DEFAULT_GROUP = Role.FALLOUT_AGENT.value  # who gets a record nobody classified otherwise
MAX_PAGE = 100
assert frozenset(ACTIVE) == frozenset(ACTIVE_FALLOUT_STATES)  # the queue's partial indexes cover ACTIVE


class Resolutions:
    RETRIED = "retried"
    SKIPPED = "skipped"
    RESOLVED = "resolved"
    GAVE_UP = "gaveUp"
    CANCELLED = "cancelled"
    DOMAIN_ORDER_CLOSED = "domainOrderClosed"


# -- classification (the handler phase: no transaction open) -----------------------------------


def policy_of(registry: Registry, handler_key: str | None) -> RetryPolicy:
    handler = registry.handlers.get(handler_key) if handler_key else None
    return handler.retry if handler is not None else _DEFAULT_POLICY


def default_classification(policy: RetryPolicy, code: str) -> FalloutClassification:
    """The handler policy's type, else one read from the error code."""
    fallout_type = policy.fallout_type
    if fallout_type is None:
        upper = code.upper()
        if "INVENTORY" in upper or "ALLOCAT" in upper:
            fallout_type = FalloutTypes.INVENTORY_ALLOCATION
        elif "BILLING" in upper:
            fallout_type = FalloutTypes.BILLING
        else:
            fallout_type = FalloutTypes.PROVISIONING
    return FalloutClassification(fallout_type, policy.priority)


def classify(
    registry: Registry, claim: Claim, code: str, message: str, response: Mapping[str, Any] | None
) -> FalloutClassification:
    """Ask the packs (``om_classify_fallout``), else the handler's policy. Pack code: never under a lock."""
    policy = policy_of(registry, claim.handler)
    if registry.classify_fallout is not None:
        refuse_pack_code_under_lock("om_classify_fallout")
        context = claim.context
        failure = FalloutFailure(
            task_key=context.task_key,
            handler=claim.handler,
            spec_key=context.spec_key,
            domain_kind=context.domain_kind,
            order_id=context.order_id,
            line_id=context.line_id,
            attempt=claim.attempt,
            code=code,
            message=message,
            response=response,
        )
        try:
            found = registry.classify_fallout(failure)
        except Exception:  # a classifier's bug must not lose the failure: the default takes it
            log.exception("om_classify_fallout raised for task %s", context.task_key)
            found = None
        if isinstance(found, FalloutClassification):
            return found
        if found is not None:
            log.error("om_classify_fallout returned %r for task %s, not a FalloutClassification", found, context.task_key)
    return default_classification(policy, code)


def _clean(classification: FalloutClassification) -> FalloutClassification:
    priority = classification.priority if isinstance(classification.priority, int) else 3
    return FalloutClassification(
        str(classification.fallout_type or FalloutTypes.PROVISIONING)[:64],
        min(5, max(1, priority)),
        (classification.assignment_group or DEFAULT_GROUP)[:64],
        classification.assignee[:120] if classification.assignee else None,
    )


def _json_safe(response: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if response is None:
        return None
    try:
        safe: dict[str, Any] = json.loads(json.dumps(dict(response), default=str))
        return safe
    except (TypeError, ValueError):
        return {"unreadable": repr(response)[:2000]}


# -- in a plan session (the orchestrator's results, the service's actions) ----------------------


def active_fallout(session: PlanSession, task_id: int) -> Fallout | None:
    return session.uow.session.scalars(
        select(Fallout).where(Fallout.task_id == task_id, Fallout.state.in_(ACTIVE)).order_by(Fallout.id.desc()).limit(1)
    ).first()


def _record_event(session: PlanSession, fallout: Fallout, event: str, actor: Any, payload: dict[str, Any]) -> None:
    session.uow.record(
        session.order,
        ev.FALLOUT_STATE_CHANGE,
        entity_kind="fallout",
        entity=fallout,
        actor=actor,
        to_state=fallout.state,
        payload={"event": event, **payload},
    )


def open_for_task(
    session: PlanSession,
    task: Task,
    code: str,
    message: str,
    *,
    response: Mapping[str, Any] | None = None,
    classification: FalloutClassification | None = None,
    policy: RetryPolicy = _DEFAULT_POLICY,
) -> Fallout:
    """The task's retry policy is spent: hold it and open (or reopen) its fallout record."""
    task.lease_until = None
    task.retry_at = None
    task.error_code, task.error_message = code, message[:2000]
    session.fire(task, "hold", SYSTEM_ACTOR, {"code": code, "message": message, "reason": "fallout"})
    details = {"code": code, "message": message[:2000], "attempt": task.attempts, "handler": task.handler}
    fallout = active_fallout(session, task.id)
    if fallout is not None:  # its retry failed again: the same record, the new attempt's error
        fallout.error_code, fallout.error_message = code, message[:2000]
        fallout.attempt, fallout.handler = task.attempts, task.handler
        fallout.southbound_response = _json_safe(response)
        fallout.resolution = None
        session.fire(fallout, "reopen", SYSTEM_ACTOR, details)
    else:
        found = _clean(classification or default_classification(policy, code))
        domain_order = session.plan.domain_order(task.domain_order_id)
        fallout = Fallout(
            order_id=session.order.id,
            line_id=domain_order.line_id,
            domain_order_id=domain_order.id,
            task_id=task.id,
            fallout_type=found.fallout_type,
            priority=found.priority,
            state=FALLOUT.initial,
            assignment_group=found.assignment_group,
            assignee=found.assignee,
            error_code=code,
            error_message=message[:2000],
            handler=task.handler,
            attempt=task.attempts,
            southbound_response=_json_safe(response),
            version=1,
        )
        session.uow.session.add(fallout)
        _record_event(
            session, fallout, "create", SYSTEM_ACTOR, {**details, "type": found.fallout_type, "priority": found.priority}
        )
    session.uow.record(
        session.order,
        ev.ERROR_MESSAGE,
        entity_kind="task",
        entity_id=task.id,
        actor=SYSTEM_ACTOR,
        payload={"code": code, "reason": "fallout", "message": message, "taskKey": task.key},
    )
    return fallout


def resolve_retried(session: PlanSession, task: Task) -> None:
    """The task's handler succeeded: a fallout record waiting on that retry is resolved."""
    fallout = active_fallout(session, task.id)
    if fallout is not None:
        fallout.resolution = Resolutions.RETRIED
        session.fire(fallout, "resolve", SYSTEM_ACTOR, {"resolution": Resolutions.RETRIED, "attempt": task.attempts})


def cancel_records(session: PlanSession, task_ids: Sequence[int], reason: str) -> None:
    """Cancel the active fallout records of tasks cancelled as collateral (a give-up, a
    cancellation, a revision): a record never stays open for a task that is over."""
    if not task_ids:
        return
    records = session.uow.session.scalars(
        select(Fallout).where(Fallout.task_id.in_(list(task_ids)), Fallout.state.in_(ACTIVE))
    ).all()
    for fallout in records:
        fallout.resolution = Resolutions.CANCELLED
        session.fire(fallout, "cancel", SYSTEM_ACTOR, {"reason": reason})


# -- the service --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FalloutFilter:
    states: tuple[str, ...] = ()  # empty: the open ones (ACTIVE)
    types: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    assignee: str | None = None
    assignment_group: str | None = None
    older_than: datetime | None = None  # created before
    newer_than: datetime | None = None  # created after


class WorkActions:
    """Fallout actions that move only the record (the task's own actions are methods)."""

    TAKE = "take"
    HOLD = "hold"
    REQUEST_INFORMATION = "requestInformation"
    CLOSE = "close"


_WORK_ACTIONS = frozenset({WorkActions.TAKE, WorkActions.HOLD, WorkActions.REQUEST_INFORMATION, WorkActions.CLOSE})


class FalloutService:
    def __init__(self, uow: Callable[..., UnitOfWork], orchestrator: Orchestrator):
        self._uow = uow
        self.orchestrator = orchestrator
        self.registry = orchestrator.registry

    # -- reads -------------------------------------------------------------------------------

    def get(self, actor: Actor, fallout_id: int) -> Fallout | None:
        if not actor.can(Permission.FULFILMENT_READ) or actor.account_id is not None:
            return None
        with self._uow(read_only=True) as uow:
            return uow.session.get(Fallout, fallout_id)

    def by_ids(self, actor: Actor, ids: Sequence[int]) -> dict[int, Fallout]:
        if not ids or not actor.can(Permission.FULFILMENT_READ) or actor.account_id is not None:
            return {}
        with self._uow(read_only=True) as uow:
            return {f.id: f for f in uow.session.scalars(select(Fallout).where(Fallout.id.in_(list(ids))))}

    def of_orders(self, actor: Actor, order_ids: Sequence[int]) -> dict[int, list[Fallout]]:
        """Every record of the orders, oldest first (staff only: customers never see fallout)."""
        found: dict[int, list[Fallout]] = {i: [] for i in order_ids}
        if not order_ids or not actor.can(Permission.FULFILMENT_READ) or actor.account_id is not None:
            return found
        with self._uow(read_only=True) as uow:
            for fallout in uow.session.scalars(select(Fallout).where(Fallout.order_id.in_(list(order_ids))).order_by(Fallout.id)):
                found[fallout.order_id].append(fallout)
        return found

    def queue(
        self, actor: Actor, where: FalloutFilter, *, first: int = 50, after: tuple[int, int] | None = None
    ) -> tuple[list[Fallout], bool]:
        """A page of the queue and whether more follow: highest priority (1) first, then oldest;
        ``after`` is the last record's (priority, id) of the previous page (keyset paging)."""
        require(actor, Permission.FULFILMENT_READ)
        if actor.account_id is not None:
            return [], False
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed.single("first", f"between 1 and {MAX_PAGE}", CommonErrorCode.OUT_OF_RANGE)
        base = select(Fallout).where(*_conditions(where))
        limit = first + 1
        with self._uow(read_only=True) as uow:
            if after is None:
                rows = list(uow.session.scalars(base.order_by(Fallout.priority, Fallout.id).limit(limit)))
            else:
                # Two index seeks, not one (priority, id) > (p, i) condition: neither an OR of the
                # two cases nor SQLite's row value seeks past the priority, so either would walk
                # the rest of the cursor's priority level from its start.
                priority, last_id = after
                same = base.where(Fallout.priority == priority, Fallout.id > last_id).order_by(Fallout.id).limit(limit)
                rows = list(uow.session.scalars(same))
                if len(rows) < limit:
                    later = base.where(Fallout.priority > priority).order_by(Fallout.priority, Fallout.id)
                    rows += uow.session.scalars(later.limit(limit - len(rows)))
        return rows[:first], len(rows) > first

    def counts(self, actor: Actor, where: FalloutFilter | None = None) -> list[tuple[str, str, int, int]]:
        """(state, type, priority, count) rows for a dashboard, of the records ``queue`` would list:
        the open ones unless ``where.states`` names others."""
        require(actor, Permission.FULFILMENT_READ)
        if actor.account_id is not None:
            return []
        conditions = _conditions(where)
        statement = (
            select(Fallout.state, Fallout.fallout_type, Fallout.priority, func.count())
            .where(*conditions)
            .group_by(Fallout.state, Fallout.fallout_type, Fallout.priority)
            .order_by(Fallout.state, Fallout.fallout_type, Fallout.priority)
        )
        with self._uow(read_only=True) as uow:
            return [(s, t, p, n) for s, t, p, n in uow.session.execute(statement)]

    # -- actions -----------------------------------------------------------------------------

    def work(self, actor: Actor, fallout_id: int, expected_version: int | None, action: str, note: str | None = None) -> Fallout:
        """Move the record itself: take it (also back from onHold/awaitingInformation), hold it,
        ask for information, close a resolved one."""
        if action not in _WORK_ACTIONS:
            raise ValidationFailed.single("action", f"one of {sorted(_WORK_ACTIONS)}", CommonErrorCode.INVALID)

        def act(session: PlanSession, fallout: Fallout) -> None:
            if action == WorkActions.TAKE:
                fallout.assignee = actor.label[:120]
            session.fire(fallout, action, actor, _note(note))

        return self._act(actor, fallout_id, expected_version, note, act)

    def reassign(
        self,
        actor: Actor,
        fallout_id: int,
        expected_version: int | None,
        assignee: str | None,
        assignment_group: str | None,
        note: str | None = None,
    ) -> Fallout:
        require(actor, Permission.FALLOUT_MANAGE)
        if not (assignee or assignment_group):
            raise ValidationFailed.single("assignee", "give an assignee, a group or both", CommonErrorCode.REQUIRED)
        errors = [
            FieldError(name, f"at most {size} characters", CommonErrorCode.TOO_LONG)
            for name, value, size in (("assignee", assignee, 120), ("assignmentGroup", assignment_group, 64))
            if value and len(value) > size
        ]
        if errors:
            raise ValidationFailed(errors)

        def act(session: PlanSession, fallout: Fallout) -> None:
            previous = {"assignee": fallout.assignee, "assignmentGroup": fallout.assignment_group}
            fallout.assignee = assignee or None
            if assignment_group:
                fallout.assignment_group = assignment_group
            session.fire(
                fallout,
                "reassign",
                actor,
                {"from": previous, "assignee": fallout.assignee, "assignmentGroup": fallout.assignment_group, **_note(note)},
            )

        return self._act(actor, fallout_id, expected_version, note, act)

    def retry(self, actor: Actor, fallout_id: int, expected_version: int | None, note: str | None = None) -> Fallout:
        def act(session: PlanSession, fallout: Fallout) -> None:
            task = self._held_task(session, fallout)
            if task.handler is None:
                raise ValidationFailed.single(
                    "id", "a task with no handler cannot be retried", FulfilmentErrorCode.FALLOUT_NO_TASK
                )
            session.fire(fallout, "retry", actor, {"attempt": task.attempts + 1, **_note(note)})
            session.fire(task, "retryFallout", actor, {"fallout": fallout.id})
            now = utcnow()
            task.retry_at = None
            task.dispatched_at = now
            session.automatic_work_ready = True  # the session sends the advance job: the handler runs

        return self._act(actor, fallout_id, expected_version, note, act)

    def skip(
        self,
        actor: Actor,
        fallout_id: int,
        expected_version: int | None,
        characteristics: Mapping[str, Any],
        note: str | None = None,
    ) -> Fallout:
        """Complete the task with the outputs entered by hand (checked against its specification)."""

        def act(session: PlanSession, fallout: Fallout) -> None:
            task = self._held_task(session, fallout)
            TASK.enter(task, task.state, "skip", actor)  # who may, before the values are checked
            domain_order = session.plan.domain_order(task.domain_order_id)
            if characteristics:
                spec = self.registry.specifications[domain_order.spec_key]
                _, errors = check_characteristics(spec, dict(characteristics), "characteristics", apply_defaults=False)
                errors = [e for e in errors if e.code != CommonErrorCode.REQUIRED]
                if errors:
                    raise ValidationFailed(errors)
            self._complete_by_hand(session, task, "skip", actor, dict(characteristics), note or "skipped in fallout")
            fallout.resolution = Resolutions.SKIPPED
            session.fire(fallout, "resolve", actor, {"resolution": Resolutions.SKIPPED, **_note(note)})

        return self._act(actor, fallout_id, expected_version, note, act)

    def resolve(self, actor: Actor, fallout_id: int, expected_version: int | None, note: str | None = None) -> Fallout:
        """The agent fixed it outside: the task completes without running its handler, no outputs."""

        def act(session: PlanSession, fallout: Fallout) -> None:
            task = self._held_task(session, fallout)
            self._complete_by_hand(session, task, "skip", actor, {}, note or "resolved in fallout")
            fallout.resolution = Resolutions.RESOLVED
            session.fire(fallout, "resolve", actor, {"resolution": Resolutions.RESOLVED, **_note(note)})

        return self._act(actor, fallout_id, expected_version, note, act)

    def give_up(self, actor: Actor, fallout_id: int, expected_version: int | None, note: str | None = None) -> Fallout:
        """The task fails; its successors and its line's other open work are cancelled (and their
        records), so the line fails and the order rolls up to partial or failed."""
        require(actor, Permission.FALLOUT_MANAGE)

        def act(session: PlanSession, fallout: Fallout) -> None:
            FALLOUT.enter(fallout, fallout.state, "giveUp", actor)  # who may, before anything moves
            task = self._held_task(session, fallout)
            plan = session.plan
            task.finished_at = utcnow()
            session.fire(task, "fail", SYSTEM_ACTOR, {"code": task.error_code, "reason": "fallout given up", "by": actor.label})
            fallout.resolution = Resolutions.GAVE_UP
            session.fire(fallout, "giveUp", actor, {"resolution": Resolutions.GAVE_UP, **_note(note)})
            line_id = plan.domain_order(task.domain_order_id).line_id
            line_domain_orders = {d.id for d in plan.domain_orders if d.line_id == line_id}
            doomed = {t.id: t for t in plan.transitive_successors(task.id)}
            doomed.update({t.id: t for t in plan.tasks.values() if t.domain_order_id in line_domain_orders})
            cancelled = []
            for other in (doomed[i] for i in sorted(doomed)):
                if other.id != task.id and self.orchestrator.cancel_collateral(session, other, f"fallout {fallout.id} given up"):
                    cancelled.append(other.id)
            cancel_records(session, cancelled, f"fallout {fallout.id} given up")
            abandon_waits(session, plan.line(line_id), None, f"fallout {fallout.id} given up")

        return self._act(actor, fallout_id, expected_version, note, act)

    def close_domain_order(self, actor: Actor, domain_order_id: int, reason: str, expected_version: int | None = None) -> Fallout:
        """Close a domain order by hand: its open tasks (and those of the domain orders under it)
        complete unperformed, and a resolved ``manualClose`` record is kept for review.
        ``expected_version``: the order's version the caller saw (``CONFLICT`` when it changed)."""
        require(actor, Permission.TASK_ASSIGN)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed.single("reason", "say why the domain order is closed by hand", CommonErrorCode.REQUIRED)
        if len(reason) > 2000:
            raise ValidationFailed.single("reason", "at most 2000 characters", CommonErrorCode.TOO_LONG)
        with self._uow() as uow:
            order_id = uow.session.scalar(select(DomainOrder.order_id).where(DomainOrder.id == domain_order_id))
            session = self.orchestrator.open(uow, order_id) if order_id is not None else None
            if session is None or actor.account_id is not None:
                raise NotFound("no such domain order", field="id")
            with session:
                if expected_version is not None and session.order.version != expected_version:
                    raise Conflict(
                        f"the order changed (version {session.order.version}, you sent {expected_version}); reload it",
                        field="version",
                    )
                plan = session.plan
                target = plan.domain_order(domain_order_id)
                if target.state in DOMAIN_ORDER_DONE:
                    raise ValidationFailed.single(
                        "id", f"the domain order is {target.state} already", CommonErrorCode.INVALID_STATE
                    )
                under = {domain_order_id}
                for d in sorted(plan.domain_orders, key=lambda d: d.id):
                    if d.parent_id in under:
                        under.add(d.id)
                closed = [
                    t
                    for t in sorted(plan.tasks.values(), key=lambda t: t.id)
                    if t.domain_order_id in under and TASK.can(t.state, "closeByHand")
                ]
                for task in closed:
                    refuse_held(plan, task)  # a held order or line: resume it first
                for task in closed:
                    self._complete_by_hand(session, task, "closeByHand", actor, {}, reason, closed_by_hand=True)
                abandon_waits(session, plan.line(target.line_id), under, f"domain order {target.id} closed by hand")
                records = session.uow.session.scalars(
                    select(Fallout).where(Fallout.task_id.in_([t.id for t in closed]), Fallout.state.in_(ACTIVE))
                ).all()
                for record in records:
                    record.resolution = Resolutions.DOMAIN_ORDER_CLOSED
                    session.fire(
                        record, "resolve", SYSTEM_ACTOR, {"resolution": Resolutions.DOMAIN_ORDER_CLOSED, "by": actor.label}
                    )
                fallout = Fallout(
                    order_id=plan.order.id,
                    line_id=target.line_id,
                    domain_order_id=target.id,
                    task_id=None,
                    fallout_type=FalloutTypes.MANUAL_CLOSE,
                    priority=3,
                    state=FALLOUT.initial,
                    assignment_group=DEFAULT_GROUP,
                    assignee=None,
                    error_code=None,
                    error_message=None,
                    handler=None,
                    attempt=None,
                    southbound_response=None,
                    resolution=Resolutions.DOMAIN_ORDER_CLOSED,
                    note=reason,
                    version=1,
                )
                uow.session.add(fallout)
                _record_event(
                    session,
                    fallout,
                    "create",
                    actor,
                    {"type": FalloutTypes.MANUAL_CLOSE, "reason": reason, "tasks": [t.id for t in closed]},
                )
                session.fire(fallout, "resolve", SYSTEM_ACTOR, {"resolution": Resolutions.DOMAIN_ORDER_CLOSED, "by": actor.label})
            uow.session.flush()
            return fallout

    # -- helpers -----------------------------------------------------------------------------

    def _act(
        self,
        actor: Actor,
        fallout_id: int,
        expected_version: int | None,
        note: str | None,
        act: Callable[[PlanSession, Fallout], None],
    ) -> Fallout:
        require(actor, Permission.FALLOUT_WORK)
        if note is not None and len(note) > 2000:
            raise ValidationFailed.single("note", "at most 2000 characters", CommonErrorCode.TOO_LONG)
        with self._uow() as uow:
            order_id = uow.session.scalar(select(Fallout.order_id).where(Fallout.id == fallout_id))
            session = self.orchestrator.open(uow, order_id) if order_id is not None else None
            if session is None or actor.account_id is not None:
                raise NotFound("no such fallout record", field="id")
            with session:
                fallout = uow.session.get(Fallout, fallout_id)
                if fallout is None:
                    raise NotFound("no such fallout record", field="id")
                if expected_version is not None and fallout.version != expected_version:
                    raise Conflict(
                        f"the fallout record changed (version {fallout.version}, you sent {expected_version}); reload it",
                        field="version",
                    )
                act(session, fallout)
                if note:
                    fallout.note = note
            uow.session.flush()
            return fallout

    @staticmethod
    def _held_task(session: PlanSession, fallout: Fallout) -> Task:
        task = session.plan.tasks.get(fallout.task_id) if fallout.task_id is not None else None
        if task is None:
            raise ValidationFailed.single("id", "this fallout record has no task to act on", FulfilmentErrorCode.FALLOUT_NO_TASK)
        if task.state != TaskStates.ON_HOLD:
            raise ValidationFailed.single("id", f"its task is {task.state}, not onHold", CommonErrorCode.INVALID_STATE)
        refuse_held(session.plan, task)  # a held order or line: resume it first
        return task

    def _complete_by_hand(
        self,
        session: PlanSession,
        task: Task,
        event: str,
        actor: Actor,
        characteristics: dict[str, Any],
        message: str,
        *,
        closed_by_hand: bool = False,
    ) -> None:
        """Complete the task by hand through the orchestrator's one completion (outputs propagated,
        finish gate cleared). A skip or resolve respects a shut finish-to-finish / start-to-finish
        gate: the task goes back in progress with the outcome kept, and completes when the gate
        opens; closing a domain order by hand closes its work regardless."""
        orchestrator = self.orchestrator
        if not closed_by_hand and task.state == TaskStates.ON_HOLD:
            opens = session.plan.gate(task.id, Gates.FINISH)
            if opens is None or opens > utcnow():
                session.fire(task, "retryFallout", actor, {"reason": message, "finishGate": "shut"})
                session.fire(task, "start", SYSTEM_ACTOR, {"reason": "completed by hand, its finish gate is shut"})
                orchestrator.block_completion(task, characteristics, message, actor.label)
                completed_by(task, actor)
                return
        orchestrator.record_completion(
            session,
            task,
            characteristics,
            actor,
            message,
            actor.label,
            event=event,
            details={"reason": message},
            outcome={"closedByHand": message} if closed_by_hand else None,
        )
        completed_by(task, actor)


def _note(note: str | None) -> dict[str, Any]:
    return {"note": note} if note else {}


_OPEN_RECORDS = text("fallout.state IN ('open', 'inProgress', 'onHold', 'awaitingInformation')")


def _conditions(where: FalloutFilter | None, *, default_active: bool = True) -> list[ColumnElement[bool] | TextClause]:
    where = where or FalloutFilter()
    conditions: list[ColumnElement[bool] | TextClause] = []
    states = where.states or (ACTIVE_FALLOUT_STATES if default_active else ())
    if states:
        if set(states) <= set(ACTIVE_FALLOUT_STATES):
            # The partial indexes' own predicate, word for word and with literal values (SQLite
            # uses a partial index only when its WHERE term appears in the query's, PostgreSQL
            # only when it can prove it from constants), then the narrower one.
            conditions.append(_OPEN_RECORDS)
        if set(states) != set(ACTIVE_FALLOUT_STATES):
            conditions.append(Fallout.state.in_(list(states)))
    if where.types:
        conditions.append(Fallout.fallout_type.in_(list(where.types)))
    if where.priorities:
        conditions.append(Fallout.priority.in_(list(where.priorities)))
    if where.assignee is not None:
        conditions.append(Fallout.assignee == where.assignee)
    if where.assignment_group is not None:
        conditions.append(Fallout.assignment_group == where.assignment_group)
    if where.older_than is not None:
        conditions.append(Fallout.created_at < where.older_than)
    if where.newer_than is not None:
        conditions.append(Fallout.created_at > where.newer_than)
    return conditions
