"""The point of no return (PONR): where a line's work can no longer be taken back for free.

A task template may be a PONR (``TaskTemplate.ponr``, copied onto ``Task.ponr`` at decomposition):
``hard`` (the line can no longer be revised or cancelled) or ``soft`` (it can, with an
acknowledgement and the template's ``ponr_charge``, a one-time charge in the order's currency).

- **Reaching it** (:func:`reach`): a line passes a task's PONR when the task *starts*: an automatic
  task claimed for its first attempt (``Orchestrator._claim``), a manual one claimed from its work
  queue, assigned to someone or completed (``WorkQueues.claim``/``assign``,
  ``Orchestrator.complete_manual``). The fulfilment context calls it through the orchestrator's
  ``on_task_start`` hook (services.py wires it: fulfilment may not import change). Undo and redo tasks
  (``Task.mode`` other than ``do``) never reach one. The line records the first task of its
  strongest kind (``ponr``: hard beats soft; ``ponr_at``; ``ponr_task_id``) and a
  ``ProductOrderPointOfNoReturnEvent`` is recorded each time a line's kind is raised (once per line
  and kind; a soft PONR after a hard one changes nothing).
- **Bundles are atomic** (TMF622 ``bundles``/``bundledBy`` line relationships,
  ordering/relationships.py): the lines connected by them form one bundle, and a member past a
  PONR holds every member. Propagation is stored on reach (every member's ``ponr`` fields are
  marked, naming the member's task, so reads need no joins) *and* derived again by :func:`assess`
  from the plan's tasks, which is the source of truth for refusals and charges.
- **Assessing a change** (:func:`assess`): the hits (:class:`PonrHit`) of the lines a revision or a
  cancellation touches, hard and soft; :func:`refuse_past_ponr` refuses a hard hit
  (``PONR_PASSED``) or an unacknowledged soft one (``PONR_ACKNOWLEDGEMENT_REQUIRED``);
  :func:`charges` lists the soft charges (one per line and template); change/charges.py writes
  them (the one path for charges a change adds to a priced order) and holds them across a repricing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.fulfilment.states import TaskKinds, TaskModes
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.relationships import bundles
from om_graph.core.pricing.money import ZERO, text

if TYPE_CHECKING:
    from om_graph.core.access.actor import Actor
    from om_graph.core.catalog.definitions import TaskTemplate
    from om_graph.core.catalog.registry import Registry
    from om_graph.core.fulfilment.models import Task
    from om_graph.core.fulfilment.plan import OrderPlan
    from om_graph.core.fulfilment.session import PlanSession

HARD = "hard"
SOFT = "soft"
PONR_KINDS = (HARD, SOFT)
_RANK = {None: 0, SOFT: 1, HARD: 2}
CHARGE_NAME = "Point of no return charge: {task}"
CHARGE_SOURCE = "pointOfNoReturn"  # the price alteration's source kind

# The registry assess reads templates from when the caller gives
# none (services.py configures it; callers holding a PlanSession pass session.orchestrator.registry).
_registry: Registry | None = None


def configure(registry: Registry) -> None:
    global _registry
    _registry = registry


@dataclass(frozen=True)
class PonrHit:
    """A line of the assessment past a task's PONR. ``line_id``/``line_number``: the assessed line;
    ``source_line_id``/``source_line_number``: the line whose task it is (another bundle member's
    when the hit spread across the bundle; the same line otherwise). ``charge``: the template's
    ``ponr_charge`` (soft only)."""

    line_id: int
    line_number: int
    task_id: int
    task_key: str
    task_name: str
    kind: str
    charge: Decimal | None = None
    source_line_id: int | None = None
    source_line_number: int | None = None

    @property
    def via_bundle(self) -> bool:
        return self.source_line_id is not None and self.source_line_id != self.line_id

    def describe(self) -> str:
        where = f"line {self.line_number}"
        if self.via_bundle:
            where += f" (bundled with line {self.source_line_number})"
        return f"{where} is past the {self.kind} point of no return of task {self.task_key!r} ({self.task_name})"

    def as_json(self) -> dict[str, Any]:
        return {
            "lineId": self.line_id,
            "lineNumber": self.line_number,
            "taskId": self.task_id,
            "taskKey": self.task_key,
            "taskName": self.task_name,
            "kind": self.kind,
            "charge": text(self.charge) if self.charge is not None else None,
            "sourceLineNumber": self.source_line_number,
        }


@dataclass
class PonrAssessment:
    hard: list[PonrHit] = field(default_factory=list)
    soft: list[PonrHit] = field(default_factory=list)
    currency: str = "EUR"

    @property
    def passed(self) -> bool:
        return bool(self.hard or self.soft)

    def as_json(self) -> dict[str, Any]:
        return {"hard": [h.as_json() for h in self.hard], "soft": [h.as_json() for h in self.soft]}


# -- which tasks passed -------------------------------------------------------------------------


def counts(task: Task) -> bool:
    """Whether the task may be a PONR at all: a template's (``ponr``) and doing work (no undo/redo)."""
    return task.ponr in PONR_KINDS and (task.mode or TaskModes.DO) == TaskModes.DO


def started(task: Task) -> bool:
    """Whether its work started: claimed by a worker (started_at), or a manual task someone has
    (claimed or assigned; released back to its queue, only the line's record keeps it)."""
    return task.started_at is not None or (task.kind == TaskKinds.MANUAL and task.assignee is not None)


def _template(registry: Registry | None, spec_key: str, task_key: str) -> TaskTemplate | None:
    spec = registry.specifications.get(spec_key) if registry is not None else None
    return next((t for t in spec.tasks if t.key == task_key), None) if spec is not None else None


def passed_tasks(plan: OrderPlan) -> dict[int, list[Task]]:
    """Per line id: the tasks past their PONR, in id order (the plan's own tasks, plus the one each
    line recorded on reach)."""
    recorded = {line.ponr_task_id for line in plan.lines if line.ponr_task_id is not None}
    found: dict[int, list[Task]] = {}
    for task_id, task in sorted(plan.tasks.items()):
        if counts(task) and (started(task) or task_id in recorded):
            found.setdefault(plan.domain_order(task.domain_order_id).line_id, []).append(task)
    return found


# -- the contract: assess, refuse, charges --------------------------------------------------------


def assess(plan: OrderPlan, line_ids: Collection[int], *, registry: Registry | None = None) -> PonrAssessment:
    """The PONR hits of ``line_ids`` (lines of ``plan``): every task past its PONR on the line or on
    a member of its bundle, one hit per (assessed line, source line, template), hard and soft
    apart. A line past a hard PONR also lists its soft ones (a caller refusing on hard ignores them)."""
    registry = registry if registry is not None else _registry
    lines = {line.id: line for line in plan.lines}
    by_number = {line.line_number: line for line in plan.lines}
    members = bundles([(line.line_number, line.relationships) for line in plan.lines])
    passed = passed_tasks(plan)
    result = PonrAssessment(currency=plan.order.currency)
    for line_id in sorted(line_ids, key=lambda i: lines[i].line_number if i in lines else i):
        line = lines.get(line_id)
        if line is None:
            continue
        seen: set[tuple[int, str]] = set()
        for number in sorted(members.get(line.line_number, {line.line_number})):
            source = by_number[number]
            for task in passed.get(source.id, ()):
                if (source.id, task.key) in seen:
                    continue  # a template's tasks of several units: one hit
                seen.add((source.id, task.key))
                spec_key = plan.domain_order(task.domain_order_id).spec_key
                template = _template(registry, spec_key, task.key)
                charge = template.ponr_charge if template is not None and task.ponr == SOFT else None
                hit = PonrHit(
                    line_id=line.id,
                    line_number=line.line_number,
                    task_id=task.id,
                    task_key=task.key,
                    task_name=task.name,
                    kind=str(task.ponr),
                    charge=charge,
                    source_line_id=source.id,
                    source_line_number=source.line_number,
                )
                (result.hard if task.ponr == HARD else result.soft).append(hit)
    return result


def refuse_past_ponr(assessment: PonrAssessment, *, acknowledged: bool, field_name: str = "lines") -> None:
    """Refuse a change of lines past a hard PONR (``PONR_PASSED``), or past a soft one without the
    acknowledgement (``PONR_ACKNOWLEDGEMENT_REQUIRED``; the message names the charges)."""
    if assessment.hard:
        raise ValidationFailed(
            [
                FieldError(field_name, hit.describe() + ": it can no longer be changed", ChangeErrorCode.PONR_PASSED)
                for hit in _one_per_line(assessment.hard)
            ]
        )
    if assessment.soft and not acknowledged:
        errors = []
        for hit in _one_per_line(assessment.soft):
            cost = f" (charge {text(hit.charge)} {assessment.currency})" if hit.charge else ""
            errors.append(
                FieldError(
                    field_name,
                    hit.describe() + f"{cost}: acknowledge the point of no return to go on",
                    ChangeErrorCode.PONR_ACKNOWLEDGEMENT_REQUIRED,
                )
            )
        raise ValidationFailed(errors)


def _one_per_line(hits: Iterable[PonrHit]) -> list[PonrHit]:
    """Every hit, but each (line, task key) once (its first)."""
    seen: set[tuple[int, str]] = set()
    kept = []
    for hit in hits:
        if (hit.line_id, hit.task_key) not in seen:
            seen.add((hit.line_id, hit.task_key))
            kept.append(hit)
    return kept


def charges(assessment: PonrAssessment | Sequence[PonrHit]) -> list[dict[str, Any]]:
    """The soft PONR charges (JSON, as stored on a revision or cancel request): one per source
    line and template with a ``ponr_charge``, on the line whose task it is when that line is
    assessed too, else on the first assessed line it spread to (a bundle member changed alone)."""
    hits = assessment.soft if isinstance(assessment, PonrAssessment) else [h for h in assessment if h.kind == SOFT]
    currency = assessment.currency if isinstance(assessment, PonrAssessment) else None
    assessed = {h.line_id for h in hits}
    chosen: dict[tuple[int, str], PonrHit] = {}
    for hit in hits:
        if not hit.charge:
            continue
        key = (hit.source_line_id if hit.source_line_id is not None else hit.line_id, hit.task_key)
        own = hit.source_line_id in assessed and hit.line_id == hit.source_line_id
        if key not in chosen or (own and chosen[key].via_bundle):
            chosen[key] = hit
    out = []
    for hit in chosen.values():
        line_id, line_number = hit.line_id, hit.line_number
        if hit.source_line_id in assessed:
            line_id, line_number = hit.source_line_id, hit.source_line_number or hit.line_number
        entry = {
            "lineId": line_id,
            "lineNumber": line_number,
            "taskId": hit.task_id,
            "taskKey": hit.task_key,
            "taskName": hit.task_name,
            "name": CHARGE_NAME.format(task=hit.task_name),
            "amount": text(hit.charge or ZERO),
        }
        if currency is not None:
            entry["currency"] = currency
        out.append(entry)
    return sorted(out, key=lambda c: (c["lineNumber"], c["taskKey"]))


# -- reaching it ----------------------------------------------------------------------------------


def reach(session: PlanSession, task: Task, actor: Actor | None = None) -> None:
    """The task started: if it is a PONR (and does work: mode do), its line, and every member of
    the line's bundle, pass it (module docstring). Idempotent: a later start changes nothing."""
    if not counts(task):
        return
    plan = session.plan
    line = plan.line(plan.domain_order(task.domain_order_id).line_id)
    members = bundles([(other.line_number, other.relationships) for other in plan.lines]).get(
        line.line_number, {line.line_number}
    )
    now = utcnow()
    for other in sorted((o for o in plan.lines if o.line_number in members), key=lambda o: o.line_number):
        if _RANK[task.ponr] <= _RANK.get(other.ponr, 0):
            continue
        other.ponr, other.ponr_at, other.ponr_task_id = task.ponr, now, task.id
        payload: dict[str, Any] = {
            "kind": task.ponr,
            "taskId": task.id,
            "taskKey": task.key,
            "taskName": task.name,
            "lineNumber": other.line_number,
        }
        if other is not line:
            payload["viaLineNumber"] = line.line_number  # a bundle member's task
        session.uow.record(
            plan.order,
            ev.PONR_REACHED,
            entity_kind="line",
            entity_id=other.id,
            actor=actor or SYSTEM_ACTOR,
            payload=payload,
        )
