"""Manual enrichment tasks: which ones an order gets (the enrichment policy table), completing
one (its values written to the line, checked as capture checks them), and the work queue.

The enrichment stage (``pipeline.StageWork``) runs the packs' automatic steps first, then asks
:func:`enrichment_tasks_for`; the stage write creates the tasks not created yet and the order waits
(``enrichmentWaiting``) until every one of them is completed. Completing the last open task of an
order continues it (the stage machine's ``tasksCompleted``) and queues ``orders.process``, whose
pass finds every task completed and goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.catalog.definitions import SpecificationDef
from om_graph.core.catalog.registry import Registry
from om_graph.core.decisions.errors import DecisionInputInvalid
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, InvalidTransition, NotFound, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import PROCESS_ORDER, Job
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.lifecycle.error_codes import LifecycleErrorCode
from om_graph.core.lifecycle.models import EnrichmentTask
from om_graph.core.lifecycle.stages import TASKS_COMPLETED, Stages, move_stage, record_stage
from om_graph.core.lifecycle.states import ENRICHMENT_TASK, EnrichmentTaskStates
from om_graph.core.lifecycle.tables import ENRICHMENT_POLICY
from om_graph.core.ordering.locking import lock_order
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import OrderStates
from om_graph.core.ordering.validation import check_characteristics

log = logging.getLogger(__name__)
UowFactory = Callable[..., UnitOfWork]

MAX_QUEUE = 100
MAX_ROLE_LENGTH = 64  # enrichment_task.role


class Tables(Protocol):
    """What the lifecycle needs of the decision service's active tables (``ActiveTables``)."""

    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    @property
    def names(self) -> list[str]: ...


def policy_hits(tables: Tables, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hits of a policy: the core's table ``name`` first, then every pack's table named
    ``<namespace>.<name>`` (``tsm.enrichment.policy``), in name order. Packs cannot ship a second
    version of the core's table (the decision service refuses a name shipped twice), so each
    ships its rules in a table of its own with the core table's columns."""
    hits = _fitting(tables, name, inputs)
    suffix = f".{name}"
    for other in tables.names:
        if other.endswith(suffix):
            hits += _fitting(tables, other, inputs)
    return hits


def _fitting(tables: Tables, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``tables.evaluate`` with the values that do not fit their column's type left out (a line's
    characteristic of another specification: ``bandwidth`` ``"1G"`` against a pack's integer
    column), so they match only that column's ``any`` instead of rejecting a valid order. The
    policy's own columns always fit (the decision service keeps every ``<namespace>.<policy>``
    table to the core table's types)."""
    given = dict(inputs)
    while True:
        try:
            return list(tables.evaluate(name, given))
        except DecisionInputInvalid as exc:
            misfits = {e.field.removeprefix("inputs.") for e in exc.errors} & given.keys()
            if not misfits:
                raise
            for column in misfits:
                given.pop(column)


class LineLike(Protocol):
    line_number: int
    offering_key: str
    spec_key: str
    action: str
    quantity: int


@dataclass(frozen=True)
class EnrichmentTaskSpec:
    """A manual enrichment task the policy gives one line (``line_id`` None for an unsaved line)."""

    line_number: int
    line_id: int | None
    key: str
    name: str
    capture: tuple[str, ...]
    role: str


def _capture_names(value: Any) -> list[str]:
    return [name.strip() for name in str(value or "").split(",") if name.strip()]


def may_give_tasks(tables: Tables) -> bool:
    """Whether any enrichment policy table has a rule (the stage pass's read loads the order's
    tasks only then)."""
    suffix = f".{ENRICHMENT_POLICY}"
    names = [n for n in tables.names if n == ENRICHMENT_POLICY or n.endswith(suffix)]
    return any(_has_rules(tables, name) for name in names)


def _has_rules(tables: Tables, name: str) -> bool:
    table = getattr(tables, "table", None)
    if table is None:  # an ActiveTables-like object without compiled tables: assume it may
        return True
    return bool(table(name).rules)


def enrichment_tasks_for(
    order: Any,
    lines: Iterable[LineLike],
    tables: Tables,
    *,
    specifications: Mapping[str, SpecificationDef] | None = None,
) -> list[EnrichmentTaskSpec]:
    """The manual enrichment tasks the enrichment policy gives the order's lines, in line order
    then rule order (pure: the stage and ``orderPreview`` both call it). A rule sees the policy's
    columns and the line's characteristics (a pack's table may add an input column named after one). A rule naming a
    characteristic the line's specification does not declare captures only the declared ones (the
    others are logged); two rules giving one line the same task key make one task; a task whose
    characteristics the line already has values for all of is not given (the work is done: a
    corrected order resubmitted with the values, or an agent who had them at capture). The policy is
    the core's table and every pack's ``<namespace>.enrichment.policy`` (:func:`policy_hits`)."""
    found: list[EnrichmentTaskSpec] = []
    for line in lines:
        # The line's characteristics too (scalars), for a pack's rule on one (``siteRole`` is
        # ``hub``); the policy's own columns come first.
        characteristics = getattr(line, "characteristics", None) or {}
        inputs: dict[str, Any] = {k: v for k, v in characteristics.items() if isinstance(v, (str, int, float))}
        inputs |= {
            "offering": line.offering_key,
            "specification": line.spec_key,
            "action": line.action,
            "channel": getattr(order, "channel", None),
            "segment": getattr(order, "segment", None),
            "customerId": getattr(order, "customer_id", None),
            "quantity": line.quantity,
        }
        seen: set[str] = set()
        declared = None
        if specifications is not None and line.spec_key in specifications:
            declared = {c.name for c in specifications[line.spec_key].characteristics}
        for hit in policy_hits(tables, ENRICHMENT_POLICY, inputs):
            key = str(hit.get("task") or "").strip()[:120]  # as stored: unique per line
            if not key or key in seen:
                continue
            seen.add(key)
            capture = _capture_names(hit.get("characteristics"))
            if declared is not None:
                unknown = [c for c in capture if c not in declared]
                if unknown:
                    log.warning(
                        "enrichment task %r names characteristics %s that %s does not declare", key, unknown, line.spec_key
                    )
                capture = [c for c in capture if c in declared]
            if capture and all(characteristics.get(c) is not None for c in capture):
                continue  # the line carries what the task would capture (a resubmitted, corrected order)
            found.append(
                EnrichmentTaskSpec(
                    line_number=line.line_number,
                    line_id=getattr(line, "id", None),
                    key=key,
                    name=str(hit.get("name") or key)[:200],
                    capture=tuple(capture),
                    role=str(hit.get("role") or "")[:64],
                )
            )
    return found


def new_tasks(order: Order, specs: Sequence[EnrichmentTaskSpec], existing: Sequence[EnrichmentTask]) -> list[EnrichmentTask]:
    """The task rows to create: the specs no existing task of the same line and key answers."""
    have = {(t.line_id, t.key) for t in existing}
    return [
        EnrichmentTask(
            order_id=order.id,
            line_id=s.line_id,
            line_number=s.line_number,
            key=s.key,
            name=s.name,
            role=s.role,
            state=ENRICHMENT_TASK.initial,
            capture=list(s.capture),
            captured={},
        )
        for s in specs
        if (s.line_id, s.key) not in have
    ]


def describe_open(tasks: Iterable[EnrichmentTask | EnrichmentTaskSpec]) -> str:
    """What an order waiting for its tasks waits for (``Order.waitingFor``)."""
    names = [f"{t.name} (line {t.line_number})" for t in tasks]
    return f"enrichment tasks: {', '.join(names)}"[:200]


def record_created(uow: UnitOfWork, order: Order, tasks: Sequence[EnrichmentTask]) -> None:
    for task in tasks:
        uow.record(
            order,
            ev.ORDER_ATTRIBUTE_CHANGE,
            entity_kind="enrichmentTask",
            entity=task,
            actor=SYSTEM_ACTOR,
            to_state=task.state,
            payload={"enrichmentTask": task.key, "name": task.name, "lineNumber": task.line_number, "capture": task.capture},
        )


_OPEN = EnrichmentTaskStates.OPEN


class EnrichmentTasks:
    """Completing manual enrichment tasks, and reading them (work queue, an order's)."""

    def __init__(self, uow: UowFactory, registry: Registry):
        self._uow = uow
        self.registry = registry

    def complete(self, actor: Actor, task_id: int, characteristics: Mapping[str, Any]) -> EnrichmentTask:
        """Record the values a person captured for an open task: checked against what the line's
        offering accepts (the checks of capture), written to the line, with an event naming the
        actor. The last open task of a waiting order continues it (its enrichment stage runs again)."""
        require(actor, Permission.TASK_COMPLETE)
        with self._uow() as uow:
            found = uow.session.get(EnrichmentTask, task_id)
            if found is None:
                raise NotFound("no such enrichment task", field="id")
            order = lock_order(uow, found.order_id)
            if order is None:
                raise NotFound("no such enrichment task", field="id")
            task = uow.session.get(EnrichmentTask, task_id, populate_existing=True)  # as it is under the lock
            if task is None:
                raise NotFound("no such enrichment task", field="id")
            if task.state != _OPEN:
                raise InvalidTransition(
                    f"the task is {task.state}; only an open task can be completed",
                    field="id",
                    code=LifecycleErrorCode.TASK_NOT_OPEN,
                )
            line = uow.session.get(OrderLine, task.line_id) if task.line_id is not None else None
            if line is None or order.state != OrderStates.ACKNOWLEDGED:
                raise InvalidTransition(
                    "the task's order line is no longer being processed", field="id", code=CommonErrorCode.INVALID_STATE
                )
            values = self._checked(task, line, dict(characteristics))
            fire(uow, order, task, "complete", actor, {"characteristics": values, "lineNumber": task.line_number})
            task.captured = values
            task.completed_at = utcnow()
            task.completed_by = actor.label
            if values:
                line.characteristics = {**line.characteristics, **values}
                uow.record(
                    order,
                    ev.ORDER_ATTRIBUTE_CHANGE,
                    entity_kind="line",
                    entity_id=line.id,
                    actor=actor,
                    payload={"enrichmentTask": task.key, "characteristics": values},
                )
            uow.session.flush()
            still_open = uow.session.scalar(
                select(EnrichmentTask.id).where(EnrichmentTask.order_id == order.id, EnrichmentTask.state == _OPEN).limit(1)
            )
            if still_open is None and order.stage == Stages.ENRICHMENT_WAITING:
                self._continue(uow, order, actor)
            elif still_open is not None and order.stage == Stages.ENRICHMENT_WAITING:
                remaining = uow.session.scalars(
                    select(EnrichmentTask)
                    .where(EnrichmentTask.order_id == order.id, EnrichmentTask.state == _OPEN)
                    .order_by(EnrichmentTask.line_number, EnrichmentTask.id)
                ).all()
                order.stage_waiting_for = describe_open(remaining)
            return task

    def _checked(self, task: EnrichmentTask, line: OrderLine, given: dict[str, Any]) -> dict[str, Any]:
        """The values, as capture would accept them on this line: only the task's
        characteristics, each of them given, valid for the line's offering (with the line's other
        values as the context dependent constraints read)."""
        errors: list[FieldError] = []
        for name in given:
            if name not in task.capture:
                errors.append(
                    FieldError(
                        f"characteristics.{name}",
                        f"this task captures {', '.join(task.capture) or 'no characteristics'}",
                        CommonErrorCode.INVALID,
                    )
                )
        for name in task.capture:
            if given.get(name) is None:
                errors.append(FieldError(f"characteristics.{name}", "is required", CommonErrorCode.REQUIRED))
        if errors:
            raise ValidationFailed(errors)
        rules = self.registry.rules_for(line.offering_key, line.spec_key)
        context = {**line.characteristics, **given}
        checked, problems = check_characteristics(rules, given, "characteristics", apply_defaults=False, context=context)
        problems = [
            p for p in problems if p.code != CommonErrorCode.REQUIRED or p.field in {f"characteristics.{n}" for n in given}
        ]
        if problems:
            raise ValidationFailed(problems)
        return checked

    @staticmethod
    def _continue(uow: UnitOfWork, order: Order, actor: Actor) -> None:
        previous = order.stage
        move_stage(order, [TASKS_COMPLETED], actor)
        order.stage_waiting_for = None
        order.processing_dispatched_at = utcnow()
        record_stage(uow, order, previous, [TASKS_COMPLETED], actor)
        uow.enqueue(Job(PROCESS_ORDER, {"order_id": order.id}))
        log.info("order %s: its last enrichment task is completed; enrichment runs again", order.id)

    # -- reads ---------------------------------------------------------------------------------

    def queue(
        self, actor: Actor, *, state: str | None = None, role: str | None = None, first: int = 50, after: int | None = None
    ) -> list[EnrichmentTask]:
        """A work queue: tasks oldest first (by id), optionally of one state and one role."""
        require(actor, Permission.FULFILMENT_READ)
        if not 1 <= first <= MAX_QUEUE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_QUEUE}", CommonErrorCode.OUT_OF_RANGE)
        if role is not None and len(role) > MAX_ROLE_LENGTH:
            raise ValidationFailed.single("role", f"at most {MAX_ROLE_LENGTH} characters", CommonErrorCode.TOO_LONG)
        statement = select(EnrichmentTask).order_by(EnrichmentTask.id).limit(first)
        if state is not None:
            statement = statement.where(EnrichmentTask.state == state)
        if role is not None:
            statement = statement.where(EnrichmentTask.role == role)
        if after is not None:
            statement = statement.where(EnrichmentTask.id > after)
        if actor.account_id is not None:
            statement = statement.join(Order, Order.id == EnrichmentTask.order_id).where(Order.customer_id == actor.account_id)
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(statement))

    def of_orders(self, actor: Actor, order_ids: Sequence[int]) -> dict[int, list[EnrichmentTask]]:
        """The manual enrichment tasks of each order, by line (one statement for a page of orders)."""
        require(actor, Permission.FULFILMENT_READ)
        statement = select(EnrichmentTask).where(EnrichmentTask.order_id.in_(order_ids))
        if actor.account_id is not None:
            statement = statement.join(Order, Order.id == EnrichmentTask.order_id).where(Order.customer_id == actor.account_id)
        found: dict[int, list[EnrichmentTask]] = {}
        with self._uow(read_only=True) as uow:
            for task in uow.session.scalars(statement.order_by(EnrichmentTask.line_number, EnrichmentTask.id)):
                found.setdefault(task.order_id, []).append(task)
        return found

    def get(self, actor: Actor, task_id: int) -> EnrichmentTask | None:
        require(actor, Permission.FULFILMENT_READ)
        with self._uow(read_only=True) as uow:
            task = uow.session.get(EnrichmentTask, task_id)
            if task is not None and actor.account_id is not None:
                order = uow.session.get(Order, task.order_id)
                if order is None or order.customer_id != actor.account_id:
                    return None
            return task
