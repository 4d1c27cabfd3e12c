"""Work queues: who works a manual task (a work order), and how they take it.

A manual task belongs to an *assignment group* and, once someone takes it, to an *assignee*.
Groups are roles: an actor's roles are its groups (``order_fulfillment_agent``, a pack's
``field_engineer`` granted by the identity provider), so "my groups' tasks" needs no directory.

- The group comes from the task template's ``role`` (decomposition). A manual task released with
  none gets one from the ``fulfilment.task.assignment`` decision table (inputs ``taskKey``,
  ``specKey``, ``offering``, ``segment``, ``priority``; output ``group``), whose default, with no
  rule matching, is ``order_fulfillment_agent``.
- ``claim``: a person with ``task:complete`` takes an unassigned open task of one of their groups
  (``NOT_IN_GROUP`` otherwise; ``CONFLICT`` when someone else has it). Claiming a task one
  already has changes nothing.
- ``assign``: a manager (``task:assign``) gives a task to someone (and may move it to a group).
- ``release``: the assignee, or a manager for someone else's, puts it back in its group's queue.
- Completing a manual task (``taskComplete``) needs its assignee or a manager: the TASK machine's
  ``assigneeOrManager`` guard (``NOT_ASSIGNEE``). An unassigned task may be completed by anyone
  who may complete tasks; it is then recorded as theirs (an implicit claim, no group check: the
  group scopes the queues, the assignee scopes completion).

Every change goes through a :class:`PlanSession` (the order is locked, so two people claiming one
task are serialised: the second gets ``CONFLICT``) and records a
``ProductOrderAttributeValueChangeEvent`` on the task with the new assignee and group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, Role, require
from om_graph.core.decisions.definitions import DecisionTableDef, InputColumn, OutputColumn
from om_graph.core.decisions.errors import UnknownDecisionTable
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.fulfilment.holds import refuse_held
from om_graph.core.fulfilment.models import Task
from om_graph.core.fulfilment.states import TaskKinds, TaskStates
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork

if TYPE_CHECKING:
    from om_graph.core.fulfilment.orchestration import Orchestrator
    from om_graph.core.fulfilment.session import PlanSession

ASSIGNMENT_TABLE = "fulfilment.task.assignment"
DEFAULT_GROUP = Role.FULFILLMENT_AGENT.value
LABEL_MAX = 120  # order_task.assignee
GROUP_MAX = 64  # order_task.assignment_group
# Tasks that are (or will be) work for someone: what can be claimed, assigned and released.
QUEUED_STATES = frozenset({TaskStates.PENDING, TaskStates.READY, TaskStates.IN_PROGRESS, TaskStates.ON_HOLD})

ASSIGNMENT_TABLE_DEF = DecisionTableDef(
    name=ASSIGNMENT_TABLE,
    description=(
        "The assignment group (a role) of a manual task released without one (its template names no role). "
        "First matching rule; no match: order_fulfillment_agent."
    ),
    inputs=(
        InputColumn("taskKey", "string", "the task template's key"),
        InputColumn("specKey", "string", "the specification of the task's domain order"),
        InputColumn("offering", "string", "the line's offering key"),
        InputColumn("segment", "string", "the customer segment the order was priced for"),
        InputColumn("priority", "string", "the order's priority, 0 (highest) .. 4"),
    ),
    outputs=(OutputColumn("group", "string", default=DEFAULT_GROUP, description="the role whose members work the task"),),
    hit_policy="first",
)


class AssignmentTables(Protocol):
    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]: ...


TablesSource = Callable[[Session], AssignmentTables]


def assignment_inputs(session: PlanSession, task: Task) -> dict[str, Any]:
    plan = session.plan
    domain_order = plan.domain_order(task.domain_order_id)
    line = plan.line(domain_order.line_id)
    return {
        "taskKey": task.key,
        "specKey": domain_order.spec_key,
        "offering": line.offering_key,
        "segment": plan.order.segment,
        "priority": plan.order.priority,
    }


def assign_default_groups(session: PlanSession, tasks: list[Task], tables: TablesSource | None) -> None:
    """Give each released manual task with no group one (the decision table; else the default).
    Decision tables are data: evaluating one inside the writing transaction is allowed."""
    todo = [t for t in tasks if t.kind == TaskKinds.MANUAL and not t.assignment_group]
    if not todo:
        return
    active = tables(session.uow.session) if tables is not None else None
    for task in todo:
        group = None
        if active is not None:
            try:
                hits = active.evaluate(ASSIGNMENT_TABLE, assignment_inputs(session, task))
                group = hits[0].get("group") if hits else None
            except (KeyError, UnknownDecisionTable):  # tables without it (a unit test's)
                group = None
        task.assignment_group = str(group)[:GROUP_MAX] if group else DEFAULT_GROUP


def in_group(actor: Actor, group: str | None) -> bool:
    return group is None or group in actor.roles


def completed_by(task: Task, actor: Actor, now: datetime | None = None) -> None:
    """An unassigned manual task completed by someone is theirs (the implicit claim)."""
    if task.kind == TaskKinds.MANUAL and task.assignee is None:
        task.assignee = actor.label[:LABEL_MAX]
        task.assigned_at = now or utcnow()


class WorkQueues:
    """Claim, assign and release manual tasks (the queue read is ``core/reads/work_queue.py``)."""

    def __init__(self, uow: Callable[..., UnitOfWork], orchestrator: Orchestrator):
        self._uow = uow
        self.orchestrator = orchestrator

    def _session(self, uow: UnitOfWork, actor: Actor, task_id: int) -> tuple[PlanSession, Task]:
        order_id = uow.session.scalar(select(Task.order_id).where(Task.id == task_id))
        session = self.orchestrator.open(uow, order_id) if order_id is not None else None
        if session is None or (actor.account_id is not None and actor.account_id != session.order.customer_id):
            raise NotFound("no such task", field="id")
        task = session.plan.tasks[task_id]
        if task.kind != TaskKinds.MANUAL or task.state not in QUEUED_STATES:
            raise InvalidTransition(
                f"task {task_id} is not open manual work (it is {task.kind}, {task.state})",
                field="id",
                code=FulfilmentErrorCode.NOT_QUEUED,
            )
        return session, task

    def claim(self, actor: Actor, task_id: int) -> Task:
        require(actor, Permission.TASK_COMPLETE)
        with self._uow() as uow:
            session, task = self._session(uow, actor, task_id)
            with session:
                refuse_held(session.plan, task)  # a held (or withheld) order or line: resume it first
                if task.assignee == actor.label:
                    return task
                if task.assignee is not None:
                    raise Conflict(f"task {task_id} is already assigned to {task.assignee}", field="id")
                if not in_group(actor, task.assignment_group) and not actor.can(Permission.TASK_ASSIGN):
                    raise ValidationFailed.single(
                        "id",
                        f"the task is queued for {task.assignment_group}, not one of your groups",
                        FulfilmentErrorCode.NOT_IN_GROUP,
                    )
                self._set(session, task, actor, actor.label, task.assignment_group, "claim")
                self.orchestrator.task_started(session, task, actor)  # taken: its point of no return
        return task

    def assign(
        self, actor: Actor, task_id: int, assignee: str | None, group: str | None = None, *, keep_assignee: bool = False
    ) -> Task:
        """Give the task to ``assignee`` (None: nobody; ``keep_assignee``: whoever has it) and, with
        ``group``, move it to that group, one of :func:`known_groups` (``NOT_IN_GROUP`` otherwise)."""
        require(actor, Permission.TASK_ASSIGN)
        if keep_assignee and group is None:
            raise ValidationFailed.single(
                "assignee", "give an assignee (null: nobody) or an assignmentGroup", CommonErrorCode.REQUIRED
            )
        assignee = _label(assignee, "assignee", LABEL_MAX) if assignee is not None and not keep_assignee else None
        group = _label(group, "assignmentGroup", GROUP_MAX) if group is not None else None
        with self._uow() as uow:
            session, task = self._session(uow, actor, task_id)
            with session:
                if group is not None and group != task.assignment_group and group not in self.known_groups(session):
                    raise ValidationFailed.single(
                        "assignmentGroup",
                        f"{group!r} is no assignment group (a role, a task template's role or a fulfilment.task.assignment output)",
                        FulfilmentErrorCode.NOT_IN_GROUP,
                    )
                who = task.assignee if keep_assignee else assignee
                self._set(session, task, actor, who, group or task.assignment_group, "assign")
                if who is not None:
                    self.orchestrator.task_started(session, task, actor)  # given to someone: its point of no return
        return task

    def known_groups(self, session: PlanSession) -> set[str]:
        """The assignment groups a task may be moved to: the roles, the task templates' roles and the
        groups the active ``fulfilment.task.assignment`` table assigns (rules and default)."""
        groups = {r.value for r in Role} | {
            t.role for spec in self.orchestrator.registry.specifications.values() for t in spec.tasks if t.role
        }
        tables = self.orchestrator.tables
        if tables is not None:
            try:
                lookup = getattr(tables(session.uow.session), "table", None)  # ActiveTables: a CompiledTable by name
                table = lookup(ASSIGNMENT_TABLE) if lookup is not None else None
            except (KeyError, UnknownDecisionTable, AttributeError):
                table = None
            if table is not None:
                groups |= {str(r.outputs["group"]) for r in table.rules if r.outputs.get("group")}
                groups |= {str(c.default) for c in table.definition.outputs if c.name == "group" and c.default}
        return groups

    def release(self, actor: Actor, task_id: int) -> Task:
        require(actor, Permission.TASK_COMPLETE)
        with self._uow() as uow:
            session, task = self._session(uow, actor, task_id)
            with session:
                if task.assignee is None:
                    return task
                if task.assignee != actor.label and not actor.can(Permission.TASK_ASSIGN):
                    raise ValidationFailed.single(
                        "id", f"the task is {task.assignee}'s: they or a manager release it", FulfilmentErrorCode.NOT_ASSIGNEE
                    )
                self._set(session, task, actor, None, task.assignment_group, "release")
        return task

    @staticmethod
    def _set(session: PlanSession, task: Task, actor: Actor, assignee: str | None, group: str | None, action: str) -> None:
        previous = {"assignee": task.assignee, "assignmentGroup": task.assignment_group}
        task.assignee, task.assignment_group = assignee, group
        task.assigned_at = utcnow() if assignee is not None else None
        session.uow.record(
            session.order,
            ev.ORDER_ATTRIBUTE_CHANGE,
            entity_kind="task",
            entity_id=task.id,
            actor=actor,
            payload={"action": action, "assignee": assignee, "assignmentGroup": group, "previous": previous},
        )


def _label(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed.single(field, "must not be empty", CommonErrorCode.REQUIRED)
    if len(value) > limit:
        raise ValidationFailed.single(field, f"at most {limit} characters", CommonErrorCode.TOO_LONG)
    return value
