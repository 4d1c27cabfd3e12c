"""Running the orchestration plan: release, claim, finish, fail and cascade.

Automatic tasks run in three steps so no lock is held while a handler talks to the outside:
``claim`` (short transaction: ready → inProgress, attempt + 1, a lease), the handler call with no
transaction open, and ``finish`` (short transaction: the outcome is written only if this worker's
attempt still owns the task). A worker killed mid-task leaves an expired lease; the reconciler
re-dispatches the task, the next attempt runs with the same idempotency key, and a late answer
from the lost attempt is discarded by the attempt check. So each task's recorded effect is applied
exactly once, and handlers see a stable key to pass to external systems.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from om_graph.core import events as ev
from om_graph.core.errors import NotFound, ValidationFailed
from om_graph.core.extension_points import TaskContext, TaskHandlerError, TaskOutcome, TaskTiming
from om_graph.core.models import DomainOrder, Order, OrderLine, Task, TaskDependency, utcnow
from om_graph.core.ports import EXECUTE_TASK, Job
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
    def __init__(self, registry: Registry, *, lease_seconds: float = 60.0, retry_backoff_ms: int = 1000):
        self.registry = registry
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_ms = retry_backoff_ms

    # -- release -------------------------------------------------------------------------------

    def release(self, uow: UnitOfWork, order: Order, tasks: Iterable[Task], actor: Actor = SYSTEM_ACTOR) -> None:
        now = utcnow()
        for task in tasks:
            fire(uow, order, task, "release", actor)
            self._start_sla(task, now)
            if task.kind == "automatic":
                self.dispatch(uow, task, now)

    def dispatch(self, uow: UnitOfWork, task: Task, now, delay_ms: int = 0) -> None:
        task.dispatched_at = now
        uow.enqueue(Job(EXECUTE_TASK, {"task_id": task.id}, delay_ms))

    def _start_sla(self, task: Task, now) -> None:
        found = self.registry.policy_for(TaskTiming(task.key, task.kind, task.domain_order.spec_key, now))
        if found is not None:
            _, duration = found
            task.planned_seconds = int(duration.total_seconds())
            task.due_at = now + duration

    def release_successors(self, uow: UnitOfWork, order: Order, task: Task) -> None:
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
            self.release(uow, order, tasks)

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

    def claim(self, uow: UnitOfWork, task_id: int) -> Claim | None:
        session = uow.session
        order_id = session.scalar(select(Task.order_id).where(Task.id == task_id))
        if order_id is None:
            return None
        order = uow.lock_order(order_id)
        task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).one()
        now = utcnow()
        if task.kind != "automatic":
            return None
        if task.state == "inProgress" and task.lease_until is not None and task.lease_until < now:
            # The worker holding the lease is gone: this attempt is over.
            if task.attempts >= task.max_attempts:
                self._fail(uow, order, task, "WORKER_LOST", "the worker running this task stopped responding")
                rollup(uow, order, self.registry)
                return None
            fire(uow, order, task, "retry", SYSTEM_ACTOR, {"reason": "lease expired"})
        if task.state != "ready":
            return None  # a duplicate message, or the task moved on: nothing to do
        task.attempts += 1
        task.lease_until = now + self.lease
        task.started_at = task.started_at or now
        fire(uow, order, task, "start", SYSTEM_ACTOR, {"attempt": task.attempts})
        domain_order = session.get(DomainOrder, task.domain_order_id)
        line = session.get(OrderLine, domain_order.line_id)
        rollup(uow, order, self.registry)
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

    def finish(self, uow: UnitOfWork, task_id: int, attempt: int, result: TaskOutcome | TaskHandlerError) -> bool:
        """Record the handler's result if ``attempt`` still owns the task. Returns False when a
        later attempt took over (the result is discarded)."""
        session = uow.session
        order_id = session.scalar(select(Task.order_id).where(Task.id == task_id))
        order = uow.lock_order(order_id)
        task = session.scalars(select(Task).where(Task.id == task_id).with_for_update()).one()
        if task.state != "inProgress" or task.attempts != attempt:
            log.info("discarding stale result of task %s attempt %s", task_id, attempt)
            return False
        task.lease_until = None
        if isinstance(result, TaskHandlerError):
            if result.retryable and task.attempts < task.max_attempts:
                task.error_code, task.error_message = result.code, str(result)[:2000]
                fire(uow, order, task, "retry", SYSTEM_ACTOR, {"code": result.code, "message": str(result)})
                self.dispatch(uow, task, utcnow(), delay_ms=self.retry_backoff_ms * 2 ** (task.attempts - 1))
            else:
                self._fail(uow, order, task, result.code, str(result))
        else:
            self._complete(uow, order, task, result.characteristics, SYSTEM_ACTOR, result.message)
        rollup(uow, order, self.registry)
        return True

    def _complete(self, uow: UnitOfWork, order: Order, task: Task, characteristics, actor: Actor, message: str = "") -> None:
        task.finished_at = utcnow()
        task.completed_by = actor.label
        task.outcome = {"characteristics": dict(characteristics), "message": message}
        task.error_code = task.error_message = None
        if characteristics:
            domain_order = uow.session.get(DomainOrder, task.domain_order_id)
            domain_order.characteristics = {**domain_order.characteristics, **characteristics}
        fire(uow, order, task, "complete", actor)
        self.release_successors(uow, order, task)

    def _fail(self, uow: UnitOfWork, order: Order, task: Task, code: str, message: str) -> None:
        task.finished_at = utcnow()
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
