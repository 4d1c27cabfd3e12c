"""The plan session: one writing transaction on one order's fulfilment plan.

It locks the order (``lock_order``), loads its plan or re-attaches the one this caller's previous
transaction left, and lets the caller mutate it (fire transitions through it). When it closes it
runs, once: dependency releases (by dependency type), the claim of the next wave when the session
*is* the advance loop, the roll-up, and the advance job when automatic work became ready and
nobody in this transaction claims it. The unit of work then writes the events and sends the
jobs after commit. Callers only mutate.

It is the one way fulfilment writes a plan: the orchestrator's claims, results, manual
completions and cascades all open one (``Orchestrator.open``/``session``), and nothing else runs
the roll-up (tests/test_layering.py). The lifecycle's rejection and resume and the reconciler's
bookkeeping still lock and fire directly (they change the order, not its plan).

``advancing`` is a mode of the session, fixed when it opens, not an argument of ``close``: it
says who runs the work that becomes runnable in this transaction. The advance loop's session
claims it itself (the next wave) and so must send no advance job for it; any other session
(a manual completion, a decomposition) leaves it to an advance job. Deciding that at open keeps
the two from both happening, or neither, for one transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.fulfilment.holds import not_held
from om_graph.core.fulfilment.models import DomainOrder, Task
from om_graph.core.fulfilment.plan import OrderPlan
from om_graph.core.fulfilment.rollup import rollup
from om_graph.core.fulfilment.schedule import reschedule
from om_graph.core.fulfilment.states import TaskStates
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import ADVANCE_ORDER, Job
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import Acting, UnitOfWork
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine

if TYPE_CHECKING:
    from om_graph.core.fulfilment.orchestration import Claim, Orchestrator

_SCHEDULED = (Task, DomainOrder, OrderLine, Order)  # entities whose state moves the schedule


class PlanSession:
    def __init__(self, uow: UnitOfWork, plan: OrderPlan, orchestrator: Orchestrator, *, advancing: bool = False):
        self.uow = uow
        self.plan = plan
        self.orchestrator = orchestrator
        self.advancing = advancing  # the session's mode (module docstring): it claims, or it sends the job
        self.claims: list[Claim] = []
        self.automatic_work_ready = False
        # Whether the schedule may have moved: a task, domain order, line or order changed state
        # (started, finished, paused, resumed) in the session, or callers say so. A session that
        # only claims a queue task or works a fallout record skips the CPM at close.
        self.schedule_dirty = False
        self.closed = False

    @classmethod
    def open(
        cls,
        uow: UnitOfWork,
        orchestrator: Orchestrator,
        order_id: int,
        previous: OrderPlan | None = None,
        *,
        advancing: bool = False,
    ) -> PlanSession | None:
        """Lock the order and load its plan. With the plan this caller's previous transaction
        committed, and nobody having written the order since, that plan is re-attached instead
        of read again. None if there is no such order."""
        order = lock_order(uow, order_id, known=previous.order if previous is not None else None)
        if order is None:
            return None
        if previous is not None and order is previous.order:
            previous.attach(uow.session)
            plan = previous
        else:
            plan = OrderPlan.load(uow.session, order)
        return cls(uow, plan, orchestrator, advancing=advancing)

    @property
    def order(self) -> Order:
        return self.plan.order

    def fire(self, entity: Any, event: str, actor: Acting = SYSTEM_ACTOR, payload: dict[str, Any] | None = None) -> str:
        if isinstance(entity, _SCHEDULED):
            self.schedule_dirty = True
        return fire(self.uow, self.plan.order, entity, event, actor, payload)

    def _schedule_moved(self) -> bool:
        return self.schedule_dirty or any(
            t.planned_start_at is None and t.state != TaskStates.CANCELLED for t in self.plan.tasks.values()
        )  # new work (a fresh plan, a parked part built) is planned

    def close(self) -> list[Claim]:
        """Release, claim (when advancing), roll up and announce; returns the claims."""
        if self.closed:
            raise RuntimeError("plan session closed twice")
        self.closed = True
        # Finish gates, releases and (advancing) claims, by dependency type and lag. Nothing of a
        # held order or line is released or completed (core/fulfilment/holds.py).
        now = utcnow()
        self.orchestrator.advance_gates(self, now, keep=not_held)
        rollup(self.uow, self.plan, self.orchestrator.registry)
        for hook in self.orchestrator.rolled_up_hooks:
            hook(self)
        if self._schedule_moved():
            reschedule(self.uow, self.plan, now)  # planned (once), estimated dates, expected completion
        if self.automatic_work_ready and not self.advancing:
            self.uow.enqueue(Job(ADVANCE_ORDER, {"order_id": self.plan.order.id}))
        return self.claims

    def __enter__(self) -> PlanSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
