"""Running the orchestration plan: release, claim, finish, fail and cascade.

Work is advanced per order, in waves: one transaction claims every runnable automatic task of
the order (ready → inProgress, attempt + 1, a lease), the handlers run with no transaction open
(concurrently when a wave has several), and one transaction records the results (only for
attempts that still own their task), releases successors, rolls up and claims the next wave. A
chain of tasks costs one transaction per wave, and no lock is held while a handler talks to the
outside. Every transaction is a :class:`PlanSession`: it loads the order's plan once and works in
memory; releases, the roll-up and the advance job happen once, when it closes.

A worker killed mid-task leaves an expired lease; the reconciler re-dispatches the order, the
next attempt runs with the same idempotency key, and a late answer from the lost attempt is
discarded by the attempt check. So each task's recorded effect is applied exactly once, and
handlers see a stable key to pass to external systems.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.catalog.extensions import (
    FalloutClassification,
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
)
from om_graph.core.catalog.registry import Registry
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.fallout import classify, open_for_task, policy_of, resolve_retried
from om_graph.core.fulfilment.holds import not_held, refuse_held, task_held
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.propagation import propagate
from om_graph.core.fulfilment.queues import TablesSource, assign_default_groups, completed_by
from om_graph.core.fulfilment.rules import RUNNABLE, Gates
from om_graph.core.fulfilment.session import PlanSession
from om_graph.core.fulfilment.states import TASK, TaskKinds, TaskModes, TaskStates, cancel_event
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import InvalidTransition, NotFound, ValidationFailed, refuse_pack_code_under_lock
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, Job
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.validation import check_characteristics

log = logging.getLogger(__name__)

Result = TaskOutcome | TaskHandlerError


@dataclass(frozen=True)
class Claim:
    context: TaskContext
    attempt: int
    handler: str | None  # the stored Task.handler: what runs the attempt
    max_attempts: int = 1  # the task's: a failure of the last attempt is classified (fallout) in the handler phase


def _all(tasks: list[Task], plan: OrderPlan) -> list[Task]:
    return tasks


def _compensation_context(plan: OrderPlan, task: Task) -> dict[str, Any]:
    """An undo or redo task's context (core/change/compensation.py): its mode, the original's
    idempotency key in ``compensates`` (the undo task has its own key, stable across its
    attempts) and the original's recorded outcome. Empty for ordinary work."""
    if task.mode in (None, TaskModes.DO):  # None: a task inserted this session (the column default is "do")
        return {}
    original = plan.tasks.get(task.compensates_id) if task.compensates_id is not None else None
    return {
        "mode": task.mode,
        "compensates": original.idempotency_key if original is not None else None,
        "outcome": dict(original.outcome) if original is not None and original.outcome else None,
    }


class Orchestrator:
    WAVE_LIMIT = 100
    # The active decision tables (services.py sets it): work-queue groups of released manual tasks.
    tables: TablesSource | None = None
    # Called when a task's work starts (claimed for its first attempt, a manual task taken or
    # completed): services.py sets core/change/ponr.reach (a later context: a hook, not an import).
    on_task_start: Callable[[PlanSession, Task, Actor | None], None] | None = None

    # Run by every plan session as it closes, before its gates open (services.py registers
    # change management's: core/change/cancellation_settlement.py ``settle``).
    close_hooks: tuple[Callable[[PlanSession], None], ...] = ()
    # Run after a held order or line resumes (fulfilment/holds.py ``resume``): services.py registers
    # core/change/revision_waiting.py ``on_resume`` (a waiting revision withholds its lines again).
    resume_hooks: tuple[Callable[[PlanSession], None], ...] = ()
    # Run by every plan session as it closes, after the roll-up (the order's state is final for
    # this transaction): services.py registers core/change/revision_waiting.py ``on_rolled_up`` and
    # cancellation_settlement.py ``on_rolled_up``.
    rolled_up_hooks: tuple[Callable[[PlanSession], None], ...] = ()

    def __init__(
        self, registry: Registry, *, lease_seconds: float = 60.0, retry_backoff_ms: int = 1000, handler_threads: int = 8
    ):
        self.registry = registry
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_ms = retry_backoff_ms
        self._pool = ThreadPoolExecutor(max_workers=handler_threads, thread_name_prefix="om-handler")

    # -- sessions ------------------------------------------------------------------------------

    def open(
        self, uow: UnitOfWork, order_id: int, previous: OrderPlan | None = None, *, advancing: bool = False
    ) -> PlanSession | None:
        """The plan session of one writing transaction on ``order_id`` (see :class:`PlanSession`)."""
        return PlanSession.open(uow, self, order_id, previous, advancing=advancing)

    def session(self, uow: UnitOfWork, plan: OrderPlan, *, advancing: bool = False) -> PlanSession:
        """A session over a plan the caller built under the order's lock (a fresh decomposition)."""
        return PlanSession(uow, plan, self, advancing=advancing)

    def _open_for_task(self, uow: UnitOfWork, task_id: int) -> PlanSession | None:
        order_id = uow.session.scalar(select(Task.order_id).where(Task.id == task_id))
        return self.open(uow, order_id) if order_id is not None else None

    def task_started(self, session: PlanSession, task: Task, actor: Actor | None = None) -> None:
        """A task's work started (``on_task_start``: the point of no return, when set)."""
        if self.on_task_start is not None:
            self.on_task_start(session, task, actor)

    # -- release (run by the session when it closes) -------------------------------------------

    def advance_gates(
        self, session: PlanSession, now: datetime, keep: Callable[[list[Task], OrderPlan], list[Task]] = _all
    ) -> None:
        """Open what the dependencies now let go (run by the session when it closes): complete the
        finish-blocked tasks whose finish gate opened, release the pending tasks whose start gate
        opened, and (advancing) claim them, until nothing moves: a claim can open a start-to-start
        gate, a completion any other. Gates that open later (a lag still running) get their time
        in ``release_at`` and a delayed advance job (the reconciler re-sends it if it is lost).
        ``keep`` filters the tasks that may move (not those of a held order or line).
        The close hooks run first (change management: a cancellation's settlement, which may
        plan undo tasks these gates then release)."""
        for hook in self.close_hooks:
            hook(session)
        while True:
            finished, finish_later = self._complete_unblocked(session, now, keep)
            due, start_later = session.plan.release_gates(now)
            due = keep(due, session.plan)
            self.release(session, due)
            claimed = self.claim_wave(session) if session.advancing and len(session.claims) < self.WAVE_LIMIT else []
            session.claims.extend(claimed)
            if not (finished or due or claimed):
                break
        self._await_gates(session, [*start_later, *finish_later], now)

    def _await_gates(self, session: PlanSession, waits: list[tuple[Task, datetime]], now: datetime) -> None:
        delays: set[int] = set()
        for task, at in waits:
            if task.release_at != at:  # a new wait: its own job (one per distinct moment)
                task.release_at = at
                task.dispatched_at = now  # the reconciler's clock for a lost job
                delays.add(max(0, int((at - now).total_seconds() * 1000)) + 1)
        for delay_ms in sorted(delays):
            session.uow.enqueue(Job(ADVANCE_ORDER, {"order_id": session.order.id}, delay_ms))

    def _complete_unblocked(
        self, session: PlanSession, now: datetime, keep: Callable[[list[Task], OrderPlan], list[Task]]
    ) -> tuple[list[Task], list[tuple[Task, datetime]]]:
        """Complete the finish-blocked tasks whose finish gate is open now (finished then, with the
        outcome their handler or agent gave); returns them and the ones still waiting on a time."""
        finished: list[Task] = []
        later: list[tuple[Task, datetime]] = []
        blocked = [t for t in session.plan.tasks.values() if t.finish_blocked and t.state == TaskStates.IN_PROGRESS]
        for task in keep(blocked, session.plan) if blocked else ():
            opens = session.plan.gate(task.id, Gates.FINISH)
            if opens is None:
                continue
            if opens > now:
                later.append((task, opens))
                continue
            kept = task.outcome or {}
            self.record_completion(
                session, task, kept.get("characteristics") or {}, SYSTEM_ACTOR, kept.get("message", ""), task.completed_by
            )
            finished.append(task)
        return finished, later

    def release(self, session: PlanSession, tasks: list[Task]) -> None:
        """Make tasks ready; the session notes when automatic work became ready."""
        now = utcnow()
        for task in tasks:
            session.fire(task, "release")
            task.release_at = None
            if task.planned_seconds:  # from the jeopardy policies, at decomposition: its clock starts now
                task.due_at = now + timedelta(seconds=task.planned_seconds)
            if task.kind == TaskKinds.AUTOMATIC:
                task.dispatched_at = now
                session.automatic_work_ready = True
        assign_default_groups(session, tasks, self.tables)  # manual tasks with no group (core/fulfilment/queues.py)

    def cancel_successors(self, session: PlanSession, task: Task) -> None:
        for successor in session.plan.transitive_successors(task.id):
            self.cancel_collateral(session, successor, f"predecessor task {task.id} failed")

    @staticmethod
    def cancel_collateral(session: PlanSession, task: Task, reason: str) -> bool:
        """Cancel work a failure dooms (pending, ready, on hold, or finish-blocked: its kept
        outcome is dropped). Returns whether it was cancelled."""
        event = cancel_event(task)
        if event is None:
            return False
        session.fire(task, event, SYSTEM_ACTOR, {"reason": reason})
        task.finish_blocked = False
        task.release_at = None
        return True

    # -- automatic tasks -----------------------------------------------------------------------

    def advance_wave(
        self,
        uow: UnitOfWork,
        order_id: int,
        previous: OrderPlan | None = None,
        results: Sequence[tuple[Claim, Result]] = (),
    ) -> tuple[list[Claim], OrderPlan | None]:
        """One transaction of the advance loop: record a wave's results (if any), then claim
        what is runnable. Returns the claims and the plan (to re-attach next time)."""
        session = self.open(uow, order_id, previous, advancing=True)
        if session is None:
            return [], None
        with session:
            for claim, result in results:
                self._finish(session, claim.context.task_id, claim.attempt, result)
        return session.claims, session.plan

    def claim_wave(self, session: PlanSession) -> list[Claim]:
        """Claim every runnable automatic task of the session's (locked) order."""
        now = utcnow()
        # Work of a held order or line waits (core/fulfilment/holds.py): resuming it sends the job.
        open_work = not_held(session.plan.tasks.values(), session.plan)
        tasks = [t for t in open_work if RUNNABLE.matches(t, now)][: self.WAVE_LIMIT]
        return [c for c in (self._claim(session, task, now) for task in tasks) if c is not None]

    def claim(self, uow: UnitOfWork, task_id: int) -> Claim | None:
        """Claim one task (for a caller that drives a single task)."""
        session = self._open_for_task(uow, task_id)
        if session is None:
            return None
        with session:
            task = session.plan.tasks[task_id]
            return None if task_held(session.plan, task) else self._claim(session, task, utcnow())

    def _claim(self, session: PlanSession, task: Task, now: datetime) -> Claim | None:
        if not RUNNABLE.matches(task, now):
            return None  # a duplicate message, or the task moved on: nothing to do
        plan = session.plan
        order = plan.order
        if task.state == TaskStates.IN_PROGRESS:
            # The worker holding the lease is gone: this attempt is over.
            if task.attempts >= task.max_attempts:
                self._give_out(session, task, FulfilmentErrorCode.WORKER_LOST, "the worker running this task stopped responding")
                return None
            session.fire(task, "retry", SYSTEM_ACTOR, {"reason": "lease expired"})
        task.attempts += 1
        task.lease_until = now + self.lease
        task.retry_at = None
        task.started_at = task.started_at or now
        session.fire(task, "start", SYSTEM_ACTOR, {"attempt": task.attempts})
        if task.attempts == 1:
            self.task_started(session, task)  # the point of no return (core/change/ponr.py)
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
            **_compensation_context(plan, task),
        )
        return Claim(context, task.attempts, task.handler, task.max_attempts)

    def run_wave(self, claims: list[Claim]) -> list[tuple[Claim, Result]]:
        if len(claims) == 1:
            return [(claims[0], self.run_handler(claims[0]))]
        return list(zip(claims, self._pool.map(self.run_handler, claims)))

    def run_handler(self, claim: Claim) -> Result:
        """Run the claim's handler (no transaction open). A failure its retry policy will not
        retry is classified here, for its fallout record (pack code runs outside the lock)."""
        result = self._run_handler(claim)
        if isinstance(result, TaskHandlerError) and result.fallout is None:
            policy = policy_of(self.registry, claim.handler)
            if policy.fallout and not (policy.retries(result.code, result.retryable) and claim.attempt < claim.max_attempts):
                result.fallout = classify(self.registry, claim, result.code, str(result), result.response)
        return result

    def _run_handler(self, claim: Claim) -> Result:
        handler = self.registry.handlers.get(claim.handler) if claim.handler else None
        if handler is None:
            return TaskHandlerError(
                f"task {claim.context.task_key!r} names handler {claim.handler!r}, which no loaded pack provides",
                code=FulfilmentErrorCode.UNKNOWN_HANDLER,
            )
        refuse_pack_code_under_lock(f"task handler {claim.handler!r}")
        try:
            if claim.context.mode == TaskModes.UNDO:
                if handler.undo is None:
                    return TaskHandlerError(
                        f"handler {claim.handler!r} cannot undo task {claim.context.task_key!r}",
                        code=FulfilmentErrorCode.HANDLER_ERROR,
                        retryable=False,
                    )
                undone = handler.undo(claim.context)  # returns nothing, or what to record (an outcome)
                return undone if isinstance(undone, TaskOutcome) else TaskOutcome()
            run = handler.redo or handler.do if claim.context.mode == TaskModes.REDO else handler.do
            outcome = run(claim.context)
            return outcome if outcome is not None else TaskOutcome()
        except TaskHandlerError as exc:
            return exc
        except Exception as exc:  # a handler bug: the task fails visibly, the order never silently completes
            log.exception("task handler %s for %s raised", claim.handler, claim.context.task_key)
            return TaskHandlerError(f"{type(exc).__name__}: {exc}", code=FulfilmentErrorCode.HANDLER_ERROR)

    def finish(self, uow: UnitOfWork, task_id: int, attempt: int, result: Result) -> bool:
        """Record one handler result if ``attempt`` still owns the task. Returns False when a
        later attempt took over (the result is discarded)."""
        session = self._open_for_task(uow, task_id)
        if session is None:
            return False
        with session:
            return self._finish(session, task_id, attempt, result)

    def _finish(self, session: PlanSession, task_id: int, attempt: int, result: Result) -> bool:
        task = session.plan.tasks[task_id]
        if task.state != TaskStates.IN_PROGRESS or task.attempts != attempt:
            log.info("discarding stale result of task %s attempt %s", task_id, attempt)
            return False
        task.lease_until = None
        if isinstance(result, TaskHandlerError):
            policy = policy_of(self.registry, task.handler)
            if policy.retries(result.code, result.retryable) and task.attempts < task.max_attempts:
                delay_ms = policy.delay_ms(task.attempts, self.retry_backoff_ms)
                task.error_code, task.error_message = result.code, str(result)[:2000]
                task.retry_at = utcnow() + timedelta(milliseconds=delay_ms)
                task.dispatched_at = utcnow()
                session.fire(task, "retry", SYSTEM_ACTOR, {"code": result.code, "message": str(result), "retryInMs": delay_ms})
                session.uow.enqueue(Job(ADVANCE_ORDER, {"order_id": session.order.id}, delay_ms))
            else:
                self._give_out(session, task, result.code, str(result), result.response, result.fallout)
        else:
            if task.error_code is not None:  # an earlier attempt failed: a fallout retry succeeded?
                resolve_retried(session, task)
            self._complete(session, task, result.characteristics, SYSTEM_ACTOR, result.message)
        return True

    def _give_out(
        self,
        session: PlanSession,
        task: Task,
        code: str,
        message: str,
        response: Mapping[str, Any] | None = None,
        classification: FalloutClassification | None = None,
    ) -> None:
        """The retry policy is spent: a fallout record holds the task (core/fulfilment/fallout.py),
        or, for a policy without fallout, the task fails and its successors are cancelled."""
        policy = policy_of(self.registry, task.handler)
        if policy.fallout:
            open_for_task(session, task, code, message, response=response, classification=classification, policy=policy)
        else:
            self._fail(session, task, code, message)

    def _complete(
        self, session: PlanSession, task: Task, characteristics: Mapping[str, Any], actor: Actor, message: str = ""
    ) -> None:
        # Callers checked the machine (TASK.enter ... "complete"): only live, not yet blocked work.
        assert task.state in (TaskStates.READY, TaskStates.IN_PROGRESS) and not task.finish_blocked, task.state
        opens = session.plan.gate(task.id, Gates.FINISH)
        if opens is None or opens > utcnow():
            # A finish-to-finish or start-to-finish dependency holds the completion: the outcome is
            # kept, the task stays in progress (no lease: nothing runs it), and the session that
            # opens the gate completes it (PlanSession.close → advance_gates).
            if task.state == TaskStates.READY:
                session.fire(task, "start", actor)
            self.block_completion(task, characteristics, message, actor.label)
            return
        self.record_completion(session, task, characteristics, actor, message, actor.label)

    @staticmethod
    def block_completion(task: Task, characteristics: Mapping[str, Any], message: str, completed_by: str | None) -> None:
        """Keep an in-progress task's outcome until its finish gate opens (advance_gates completes it)."""
        task.lease_until = None
        task.started_at = task.started_at or utcnow()
        task.finish_blocked = True
        task.completed_by = completed_by
        task.outcome = {"characteristics": dict(characteristics), "message": message}
        task.error_code = task.error_message = None

    def record_completion(
        self,
        session: PlanSession,
        task: Task,
        characteristics: Mapping[str, Any],
        actor: Actor,
        message: str,
        completed_by: str | None,
        *,
        event: str = "complete",
        details: Mapping[str, Any] | None = None,
        outcome: Mapping[str, Any] | None = None,
    ) -> None:
        """The one way a task completes (by a worker, an agent, a finish gate that opened, or by hand
        in fallout: ``event`` skip / closeByHand): the machine, the stamps, the outputs merged into
        the domain order and propagated along the catalog's attribute mappings."""
        now = utcnow()
        session.fire(task, event, actor, dict(details) if details else None)
        task.lease_until = None
        task.started_at = task.started_at or now
        task.finished_at = now
        task.completed_by = completed_by
        task.finish_blocked = False
        task.release_at = None
        task.outcome = {"characteristics": dict(characteristics), "message": message, **(outcome or {})}
        task.error_code = task.error_message = None
        # An undo's outputs stay on its own outcome: what it released is not data of the domain order.
        if characteristics and task.mode != TaskModes.UNDO:
            domain_order = session.plan.domain_order(task.domain_order_id)
            domain_order.characteristics = {**domain_order.characteristics, **characteristics}
            propagate(session, self.registry, domain_order, characteristics)  # the catalog's attribute mappings

    def _fail(self, session: PlanSession, task: Task, code: str, message: str) -> None:
        task.finished_at = utcnow()
        task.lease_until = None
        task.error_code, task.error_message = code, message[:2000]
        session.fire(task, "fail", SYSTEM_ACTOR, {"code": code, "message": message})
        session.uow.record(
            session.order,
            ev.ERROR_MESSAGE,
            entity_kind="task",
            entity_id=task.id,
            actor=SYSTEM_ACTOR,
            payload={"code": code, "reason": "taskFailed", "message": message, "taskKey": task.key},
        )
        self.cancel_successors(session, task)

    # -- manual tasks --------------------------------------------------------------------------

    def complete_manual(self, uow: UnitOfWork, task_id: int, actor: Actor, characteristics: dict[str, Any]) -> Task:
        session = self._open_for_task(uow, task_id)
        if session is None or (actor.account_id is not None and actor.account_id != session.order.customer_id):
            raise NotFound("no such task", field="id")
        with session:
            task = session.plan.tasks[task_id]
            refuse_held(session.plan, task)
            # The machine's roles and guards (manual tasks only, its assignee or a manager) answer
            # first, with or without values, and before a finish gate may hold the completion.
            TASK.enter(task, task.state, "complete", actor)
            if task.finish_blocked:
                raise InvalidTransition(
                    "the task is completed already: a finish-to-finish or start-to-finish dependency holds it",
                    field="state",
                )
            if characteristics:
                spec = self.registry.specifications[session.plan.domain_order(task.domain_order_id).spec_key]
                _, errors = check_characteristics(spec, characteristics, "characteristics", apply_defaults=False)
                errors = [e for e in errors if e.code != CommonErrorCode.REQUIRED]
                if errors:
                    raise ValidationFailed(errors)
            if task.started_at is None:
                task.started_at = utcnow()
            self.task_started(session, task, actor)  # the point of no return (core/change/ponr.py)
            self._complete(session, task, characteristics, actor)
            completed_by(task, actor)  # an unassigned task completed is its completer's (queues.py)
        return task
