"""Running the orchestration plan: release, claim, finish, fail and cascade.

Work is advanced per order, in waves: one transaction claims every runnable automatic task of
the order (ready → inProgress, attempt + 1, a lease), the handlers run with no transaction open
(concurrently when a wave has several), and one transaction records the results (only for
attempts that still own their task), releases successors and rolls up; the next wave follows
until nothing automatic is runnable. So a chain of tasks costs one transaction per wave, not two
per task, and no lock is held while a handler talks to the outside. A worker killed mid-task leaves an expired lease; the reconciler
re-dispatches the task, the next attempt runs with the same idempotency key, and a late answer
from the lost attempt is discarded by the attempt check. So each task's recorded effect is applied
exactly once, and handlers see a stable key to pass to external systems.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from om_graph.core import events as ev
from om_graph.core.errors import NotFound, ValidationFailed
from om_graph.core.extension_points import TaskContext, TaskHandlerError, TaskOutcome, TaskTiming
from om_graph.core.models import DomainOrder, Order, OrderLine, Task, TaskDependency, utcnow
from om_graph.core.ports import ADVANCE_ORDER, Job
from om_graph.core.registry import Registry
from om_graph.core.rollup import rollup
from om_graph.core.transitions import fire
from om_graph.core.uow import SYSTEM_ACTOR, Actor, UnitOfWork
from om_graph.core.validation import check_characteristics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    context: TaskContext
    attempt: int


class Orchestrator:
    WAVE_LIMIT = 100

    def __init__(self, registry: Registry, *, lease_seconds: float = 60.0, retry_backoff_ms: int = 1000, handler_threads: int = 8):
        self.registry = registry
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_ms = retry_backoff_ms
        self._pool = ThreadPoolExecutor(max_workers=handler_threads, thread_name_prefix="om-handler")

    # -- release -------------------------------------------------------------------------------

    def release(
        self, uow: UnitOfWork, order: Order, tasks: Iterable[Task], actor: Actor = SYSTEM_ACTOR, *, enqueue: bool = True
    ) -> None:
        """Make tasks ready. Automatic ones get an advance message for their order, unless the
        caller is an advance loop that claims them next anyway (``enqueue=False``)."""
        now = utcnow()
        automatic = False
        for task in tasks:
            fire(uow, order, task, "release", actor)
            self._start_sla(task, now)
            if task.kind == "automatic":
                task.dispatched_at = now
                automatic = True
        if automatic and enqueue:
            uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order.id}))

    def _start_sla(self, task: Task, now) -> None:
        found = self.registry.policy_for(TaskTiming(task.key, task.kind, task.domain_order.spec_key, now))
        if found is not None:
            _, duration = found
            task.planned_seconds = int(duration.total_seconds())
            task.due_at = now + duration

    def release_successors(self, uow: UnitOfWork, order: Order, task: Task, *, enqueue: bool = True) -> None:
        session = uow.session
        successor_ids = session.scalars(select(TaskDependency.task_id).where(TaskDependency.predecessor_id == task.id)).all()
        if not successor_ids:
            return
        rows = session.execute(
            select(TaskDependency.task_id, Task.state)
            .join(Task, Task.id == TaskDependency.predecessor_id)
            .where(TaskDependency.task_id.in_(successor_ids))
        ).all()
        blocked = {tid for tid, state in rows if state != "completed"}
        ready = [tid for tid in successor_ids if tid not in blocked]
        if ready:
            tasks = session.scalars(select(Task).where(Task.id.in_(ready), Task.state == "pending").order_by(Task.id)).all()
            self.release(uow, order, tasks, enqueue=enqueue)

    def cancel_successors(self, uow: UnitOfWork, order: Order, task: Task) -> None:
        session = uow.session
        frontier = [task.id]
        seen: set[int] = set()
        while frontier:
            ids = session.scalars(select(TaskDependency.task_id).where(TaskDependency.predecessor_id.in_(frontier))).all()
            frontier = [i for i in ids if i not in seen]
            seen.update(frontier)
        if seen:
            for successor in session.scalars(select(Task).where(Task.id.in_(seen), Task.state.in_(("pending", "ready")))):
                fire(uow, order, successor, "cancel", SYSTEM_ACTOR, {"reason": f"predecessor task {task.id} failed"})

    # -- automatic tasks -----------------------------------------------------------------------

    def runnable(self, now):
        """Automatic tasks a worker may claim now: ready (and past any retry back-off), or
        in progress under a lease that expired (the worker holding it is gone)."""
        return and_(
            Task.kind == "automatic",
            or_(
                and_(Task.state == "ready", or_(Task.retry_at.is_(None), Task.retry_at <= now)),
                and_(Task.state == "inProgress", Task.lease_until < now),
            ),
        )

    def claim_wave(self, uow: UnitOfWork, order: Order, *, roll_up: bool = True) -> list[Claim]:
        """Claim every runnable automatic task of ``order`` (locked by the caller)."""
        now = utcnow()
        tasks = uow.session.scalars(
            select(Task)
            .where(Task.order_id == order.id, self.runnable(now))
            .options(joinedload(Task.domain_order).joinedload(DomainOrder.line))
            .order_by(Task.id)
            .limit(self.WAVE_LIMIT)
        ).all()
        claims = [c for c in (self._claim(uow, order, task, now) for task in tasks) if c is not None]
        if tasks and roll_up:
            rollup(uow, order, self.registry)
        return claims

    def claim(self, uow: UnitOfWork, task_id: int) -> Claim | None:
        """Claim one task (for a caller that drives a single task)."""
        session = uow.session
        order_id = session.scalar(select(Task.order_id).where(Task.id == task_id))
        if order_id is None:
            return None
        order = uow.lock_order(order_id)
        task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).one()
        claim = self._claim(uow, order, task, utcnow())
        rollup(uow, order, self.registry)
        return claim

    def _claim(self, uow: UnitOfWork, order: Order, task: Task, now) -> Claim | None:
        if task.kind != "automatic":
            return None
        if task.state == "inProgress" and task.lease_until is not None and task.lease_until < now:
            # The worker holding the lease is gone: this attempt is over.
            if task.attempts >= task.max_attempts:
                self._fail(uow, order, task, "WORKER_LOST", "the worker running this task stopped responding")
                return None
            fire(uow, order, task, "retry", SYSTEM_ACTOR, {"reason": "lease expired"})
        if task.state != "ready" or (task.retry_at is not None and task.retry_at > now):
            return None  # a duplicate message, or the task moved on: nothing to do
        task.attempts += 1
        task.lease_until = now + self.lease
        task.retry_at = None
        task.started_at = task.started_at or now
        fire(uow, order, task, "start", SYSTEM_ACTOR, {"attempt": task.attempts})
        domain_order = task.domain_order
        line = domain_order.line
        context = TaskContext(
            task_id=task.id,
            task_key=task.key,
            idempotency_key=task.idempotency_key,
            attempt=task.attempts,
            order_id=order.id,
            customer_id=order.customer_id,
            line_id=line.id,
            action=line.action,
            spec_key=domain_order.spec_key,
            domain_kind=domain_order.kind,
            characteristics=dict(domain_order.characteristics),
        )
        return Claim(context, task.attempts)

    def run_wave(self, claims: list[Claim]) -> list[tuple[Claim, TaskOutcome | TaskHandlerError]]:
        if len(claims) == 1:
            return [(claims[0], self.run_handler(claims[0]))]
        return list(zip(claims, self._pool.map(self.run_handler, claims)))

    def run_handler(self, claim: Claim) -> TaskOutcome | TaskHandlerError:
        task_key = claim.context.task_key
        handler_key = None
        try:
            handler_key = self._handler_key(claim)
            outcome = self.registry.handlers[handler_key].do(claim.context)
            return outcome if outcome is not None else TaskOutcome()
        except TaskHandlerError as exc:
            return exc
        except Exception as exc:  # a handler bug: the task fails visibly, the order never silently completes
            log.exception("task handler %s for %s raised", handler_key, task_key)
            return TaskHandlerError(f"{type(exc).__name__}: {exc}", code="HANDLER_ERROR")

    def _handler_key(self, claim: Claim) -> str:
        spec = self.registry.specifications[claim.context.spec_key]
        for template in spec.tasks:
            if template.key == claim.context.task_key:
                return template.handler
        raise TaskHandlerError(f"no task template {claim.context.task_key!r}", code="UNKNOWN_TASK")

    def finish_wave_and_claim_next(
        self, uow: UnitOfWork, order: Order, results: list[tuple[Claim, TaskOutcome | TaskHandlerError]]
    ) -> list[Claim]:
        """Record a wave's results, then claim what they made runnable; one roll-up for both."""
        for claim, result in results:
            self._finish(uow, order, claim.context.task_id, claim.attempt, result, enqueue=False)
        claims = self.claim_wave(uow, order, roll_up=False)
        rollup(uow, order, self.registry)
        return claims

    def finish(self, uow: UnitOfWork, task_id: int, attempt: int, result: TaskOutcome | TaskHandlerError) -> bool:
        """Record one handler result if ``attempt`` still owns the task. Returns False when a
        later attempt took over (the result is discarded)."""
        order_id = uow.session.scalar(select(Task.order_id).where(Task.id == task_id))
        order = uow.lock_order(order_id)
        recorded = self._finish(uow, order, task_id, attempt, result)
        rollup(uow, order, self.registry)
        return recorded

    def _finish(self, uow: UnitOfWork, order: Order, task_id: int, attempt: int, result, *, enqueue: bool = True) -> bool:
        task = uow.session.scalars(select(Task).where(Task.id == task_id).with_for_update()).one()
        if task.state != "inProgress" or task.attempts != attempt:
            log.info("discarding stale result of task %s attempt %s", task_id, attempt)
            return False
        task.lease_until = None
        if isinstance(result, TaskHandlerError):
            if result.retryable and task.attempts < task.max_attempts:
                delay_ms = self.retry_backoff_ms * 2 ** (task.attempts - 1)
                task.error_code, task.error_message = result.code, str(result)[:2000]
                task.retry_at = utcnow() + timedelta(milliseconds=delay_ms)
                task.dispatched_at = utcnow()
                fire(uow, order, task, "retry", SYSTEM_ACTOR, {"code": result.code, "message": str(result), "retryInMs": delay_ms})
                uow.enqueue(Job(ADVANCE_ORDER, {"order_id": order.id}, delay_ms))
            else:
                self._fail(uow, order, task, result.code, str(result))
        else:
            self._complete(uow, order, task, result.characteristics, SYSTEM_ACTOR, result.message, enqueue=enqueue)
        return True

    def _complete(
        self, uow: UnitOfWork, order: Order, task: Task, characteristics, actor: Actor, message: str = "", *, enqueue: bool = True
    ) -> None:
        task.finished_at = utcnow()
        task.completed_by = actor.label
        task.outcome = {"characteristics": dict(characteristics), "message": message}
        task.error_code = task.error_message = None
        if characteristics:
            domain_order = task.domain_order
            domain_order.characteristics = {**domain_order.characteristics, **characteristics}
        fire(uow, order, task, "complete", actor)
        self.release_successors(uow, order, task, enqueue=enqueue)

    def _fail(self, uow: UnitOfWork, order: Order, task: Task, code: str, message: str) -> None:
        task.finished_at = utcnow()
        task.lease_until = None
        task.error_code, task.error_message = code, message[:2000]
        fire(uow, order, task, "fail", SYSTEM_ACTOR, {"code": code, "message": message})
        uow.record(
            order,
            ev.ERROR_MESSAGE,
            entity_kind="task",
            entity_id=task.id,
            actor=SYSTEM_ACTOR,
            payload={"code": code, "reason": "taskFailed", "message": message, "taskKey": task.key},
        )
        self.cancel_successors(uow, order, task)

    # -- manual tasks --------------------------------------------------------------------------

    def complete_manual(self, uow: UnitOfWork, task_id: int, actor: Actor, characteristics: dict) -> Task:
        session = uow.session
        order_id = session.scalar(select(Task.order_id).where(Task.id == task_id))
        if order_id is None:
            raise NotFound("no such task", field="id")
        order = uow.lock_order(order_id)
        if actor.account_id is not None and actor.account_id != order.customer_id:
            raise NotFound("no such task", field="id")
        task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).one()
        if task.kind != "manual":
            raise ValidationFailed.single("id", "automatic tasks are completed by workers", "NOT_MANUAL")
        domain_order = session.get(DomainOrder, task.domain_order_id)
        spec = self.registry.specifications[domain_order.spec_key]
        if characteristics:
            _, errors = check_characteristics(spec, characteristics, "characteristics", apply_defaults=False)
            errors = [e for e in errors if e.code != "REQUIRED"]
            if errors:
                raise ValidationFailed(errors)
        if task.started_at is None:
            task.started_at = utcnow()
        self._complete(uow, order, task, characteristics, actor)
        rollup(uow, order, self.registry)
        return task
