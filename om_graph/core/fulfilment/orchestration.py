"""Running the orchestration plan: release, claim, finish, fail and cascade.

Work is advanced per order, in waves: one transaction claims every runnable automatic task of
the order (ready → inProgress, attempt + 1, a lease), the handlers run with no transaction open
(concurrently when a wave has several), and one transaction records the results (only for
attempts that still own their task), releases successors, rolls up and claims the next wave. A
chain of tasks costs one transaction per wave, and no lock is held while a handler talks to the
outside. Every transaction loads the order's plan once (:class:`OrderPlan`) and works in memory.

A worker killed mid-task leaves an expired lease; the reconciler re-dispatches the order, the
next attempt runs with the same idempotency key, and a late answer from the lost attempt is
discarded by the attempt check. So each task's recorded effect is applied exactly once, and
handlers see a stable key to pass to external systems.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.catalog.extensions import (
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
    TaskTiming,
)
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rollup import rollup
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, Job
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.validation import check_characteristics

log = logging.getLogger(__name__)

Result = TaskOutcome | TaskHandlerError


@dataclass(frozen=True)
class Claim:
    context: TaskContext
    attempt: int


def runnable_sql(now: datetime):
    """Automatic tasks a worker may claim now: ready and past any retry back-off, or in progress
    under a lease that expired (its worker is gone). Same rule as :func:`is_runnable`."""
    return and_(
        Task.kind == "automatic",
        or_(
            and_(Task.state == "ready", or_(Task.retry_at.is_(None), Task.retry_at <= now)),
            and_(Task.state == "inProgress", Task.lease_until < now),
        ),
    )


def is_runnable(task: Task, now: datetime) -> bool:
    if task.kind != "automatic":
        return False
    if task.state == "ready":
        return task.retry_at is None or task.retry_at <= now
    return task.state == "inProgress" and task.lease_until is not None and task.lease_until < now


class Orchestrator:
    WAVE_LIMIT = 100

    def __init__(
        self, registry: Registry, *, lease_seconds: float = 60.0, retry_backoff_ms: int = 1000, handler_threads: int = 8
    ):
        self.registry = registry
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_ms = retry_backoff_ms
        self._pool = ThreadPoolExecutor(max_workers=handler_threads, thread_name_prefix="om-handler")

    def load(self, uow: UnitOfWork, order_id: int, previous: OrderPlan | None = None) -> OrderPlan | None:
        """Lock the order and load its plan (the start of every writing transaction). With the
        plan this caller's previous transaction committed, and nobody having written the order
        since, that plan is re-attached instead of read again."""
        order = lock_order(uow, order_id, known=previous.order if previous is not None else None)
        if order is None:
            return None
        if previous is not None and order is previous.order:
            previous.attach(uow.session)
            return previous
        return OrderPlan.load(uow.session, order)

    # -- release -------------------------------------------------------------------------------

    def release(
        self, uow: UnitOfWork, plan: OrderPlan, tasks: Iterable[Task], actor: Actor = SYSTEM_ACTOR, *, enqueue: bool = True
    ) -> None:
        """Make tasks ready. Automatic ones get an advance message for their order, unless the
        caller is an advance loop that claims them next anyway (``enqueue=False``)."""
        now = utcnow()
        automatic = False
        for task in tasks:
            fire(uow, plan.order, task, "release", actor)
            self._start_sla(task, plan.domain_order(task.domain_order_id).spec_key, now)
            if task.kind == "automatic":
                task.dispatched_at = now
                automatic = True
        if automatic and enqueue:
            uow.enqueue(Job(ADVANCE_ORDER, {"order_id": plan.order.id}))

    def _start_sla(self, task: Task, spec_key: str, now) -> None:
        found = self.registry.policy_for(TaskTiming(task.key, task.kind, spec_key, now))
        if found is not None:
            _, duration = found
            task.planned_seconds = int(duration.total_seconds())
            task.due_at = now + duration

    def cancel_successors(self, uow: UnitOfWork, plan: OrderPlan, task: Task) -> None:
        for successor in plan.transitive_successors(task.id):
            if successor.state in ("pending", "ready"):
                fire(uow, plan.order, successor, "cancel", SYSTEM_ACTOR, {"reason": f"predecessor task {task.id} failed"})

    # -- automatic tasks -----------------------------------------------------------------------

    def claim_wave(self, uow: UnitOfWork, plan: OrderPlan, *, roll_up: bool = True) -> list[Claim]:
        """Claim every runnable automatic task of the plan's (locked) order."""
        now = utcnow()
        tasks = [t for t in plan.tasks.values() if is_runnable(t, now)][: self.WAVE_LIMIT]
        claims = [c for c in (self._claim(uow, plan, task, now) for task in tasks) if c is not None]
        if tasks and roll_up:
            rollup(uow, plan, self.registry)
        return claims

    def claim(self, uow: UnitOfWork, task_id: int) -> Claim | None:
        """Claim one task (for a caller that drives a single task)."""
        plan = self._plan_of_task(uow, task_id)
        if plan is None:
            return None
        claim = self._claim(uow, plan, plan.tasks[task_id], utcnow())
        rollup(uow, plan, self.registry)
        return claim

    def _plan_of_task(self, uow: UnitOfWork, task_id: int) -> OrderPlan | None:
        order_id = uow.session.scalar(select(Task.order_id).where(Task.id == task_id))
        return self.load(uow, order_id) if order_id is not None else None

    def _claim(self, uow: UnitOfWork, plan: OrderPlan, task: Task, now) -> Claim | None:
        if not is_runnable(task, now):
            return None  # a duplicate message, or the task moved on: nothing to do
        order = plan.order
        if task.state == "inProgress":
            # The worker holding the lease is gone: this attempt is over.
            if task.attempts >= task.max_attempts:
                self._fail(uow, plan, task, "WORKER_LOST", "the worker running this task stopped responding")
                return None
            fire(uow, order, task, "retry", SYSTEM_ACTOR, {"reason": "lease expired"})
        task.attempts += 1
        task.lease_until = now + self.lease
        task.retry_at = None
        task.started_at = task.started_at or now
        fire(uow, order, task, "start", SYSTEM_ACTOR, {"attempt": task.attempts})
        domain_order = plan.domain_order(task.domain_order_id)
        line = plan.line(domain_order.line_id)
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

    def run_wave(self, claims: list[Claim]) -> list[tuple[Claim, Result]]:
        if len(claims) == 1:
            return [(claims[0], self.run_handler(claims[0]))]
        return list(zip(claims, self._pool.map(self.run_handler, claims)))

    def run_handler(self, claim: Claim) -> Result:
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

    def finish_wave_and_claim_next(self, uow: UnitOfWork, plan: OrderPlan, results: list[tuple[Claim, Result]]) -> list[Claim]:
        """Record a wave's results, then claim what they made runnable; one roll-up for both."""
        for claim, result in results:
            self._finish(uow, plan, claim.context.task_id, claim.attempt, result, enqueue=False)
        claims = self.claim_wave(uow, plan, roll_up=False)
        rollup(uow, plan, self.registry)
        return claims

    def finish(self, uow: UnitOfWork, task_id: int, attempt: int, result: Result) -> bool:
        """Record one handler result if ``attempt`` still owns the task. Returns False when a
        later attempt took over (the result is discarded)."""
        plan = self._plan_of_task(uow, task_id)
        recorded = self._finish(uow, plan, task_id, attempt, result)
        rollup(uow, plan, self.registry)
        return recorded

    def _finish(
        self, uow: UnitOfWork, plan: OrderPlan, task_id: int, attempt: int, result: Result, *, enqueue: bool = True
    ) -> bool:
        task = plan.tasks[task_id]
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
                fire(
                    uow,
                    plan.order,
                    task,
                    "retry",
                    SYSTEM_ACTOR,
                    {"code": result.code, "message": str(result), "retryInMs": delay_ms},
                )
                uow.enqueue(Job(ADVANCE_ORDER, {"order_id": plan.order.id}, delay_ms))
            else:
                self._fail(uow, plan, task, result.code, str(result))
        else:
            self._complete(uow, plan, task, result.characteristics, SYSTEM_ACTOR, result.message, enqueue=enqueue)
        return True

    def _complete(
        self,
        uow: UnitOfWork,
        plan: OrderPlan,
        task: Task,
        characteristics,
        actor: Actor,
        message: str = "",
        *,
        enqueue: bool = True,
    ) -> None:
        task.finished_at = utcnow()
        task.completed_by = actor.label
        task.outcome = {"characteristics": dict(characteristics), "message": message}
        task.error_code = task.error_message = None
        if characteristics:
            domain_order = plan.domain_order(task.domain_order_id)
            domain_order.characteristics = {**domain_order.characteristics, **characteristics}
        fire(uow, plan.order, task, "complete", actor)
        self.release(uow, plan, plan.ready_to_release(task.id), enqueue=enqueue)

    def _fail(self, uow: UnitOfWork, plan: OrderPlan, task: Task, code: str, message: str) -> None:
        task.finished_at = utcnow()
        task.lease_until = None
        task.error_code, task.error_message = code, message[:2000]
        fire(uow, plan.order, task, "fail", SYSTEM_ACTOR, {"code": code, "message": message})
        uow.record(
            plan.order,
            ev.ERROR_MESSAGE,
            entity_kind="task",
            entity_id=task.id,
            actor=SYSTEM_ACTOR,
            payload={"code": code, "reason": "taskFailed", "message": message, "taskKey": task.key},
        )
        self.cancel_successors(uow, plan, task)

    # -- manual tasks --------------------------------------------------------------------------

    def complete_manual(self, uow: UnitOfWork, task_id: int, actor: Actor, characteristics: dict) -> Task:
        plan = self._plan_of_task(uow, task_id)
        if plan is None or (actor.account_id is not None and actor.account_id != plan.order.customer_id):
            raise NotFound("no such task", field="id")
        task = plan.tasks[task_id]
        if task.kind != "manual":
            raise ValidationFailed.single("id", "automatic tasks are completed by workers", "NOT_MANUAL")
        spec = self.registry.specifications[plan.domain_order(task.domain_order_id).spec_key]
        if characteristics:
            _, errors = check_characteristics(spec, characteristics, "characteristics", apply_defaults=False)
            errors = [e for e in errors if e.code != "REQUIRED"]
            if errors:
                raise ValidationFailed(errors)
        if task.started_at is None:
            task.started_at = utcnow()
        self._complete(uow, plan, task, characteristics, actor)
        rollup(uow, plan, self.registry)
        return task
