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
  :func:`charges` lists the soft charges (one per line and template) and :func:`apply_charges`
  writes them as one-time price alterations on the lines' ``itemTotalPrice`` and the order's
  ``orderTotalPrice`` (and its ``one_time_total``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.fulfilment.states import TaskKinds, TaskModes
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.kernel.models import money, utcnow
from om_graph.core.ordering.relationships import bundles
from om_graph.core.pricing.money import ZERO, round_money, text
from om_graph.core.pricing.request import ONE_TIME, RECURRING, SURCHARGE

if TYPE_CHECKING:
    from om_graph.core.access.actor import Actor
    from om_graph.core.catalog.definitions import TaskTemplate
    from om_graph.core.catalog.prices import PriceListDef
    from om_graph.core.catalog.registry import Registry
    from om_graph.core.fulfilment.models import Task
    from om_graph.core.fulfilment.plan import OrderPlan
    from om_graph.core.fulfilment.session import PlanSession
    from om_graph.core.kernel.uow import Acting, UnitOfWork
    from om_graph.core.ordering.models import Order, OrderLine

HARD = "hard"
SOFT = "soft"
PONR_KINDS = (HARD, SOFT)
_RANK = {None: 0, SOFT: 1, HARD: 2}
CHARGE_NAME = "Point of no return charge: {task}"
CHARGE_SOURCE = "pointOfNoReturn"  # the price alteration's source kind

# The registry assess and apply_charges read templates and price lists from when the caller gives
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


def apply_charges(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    hits: PonrAssessment | Sequence[PonrHit],
    reason: str,
    *,
    actor: Acting = SYSTEM_ACTOR,
    registry: Registry | None = None,
) -> list[dict[str, Any]]:
    """Write the soft PONR charges of ``hits`` (:func:`charges`) as one-time surcharges (TMF
    priceAlteration, name "Point of no return charge: <task name>") on the lines' itemTotalPrice
    and the order's orderTotalPrice, in the order's price list's basis and tax, and record a
    ``ProductOrderAttributeValueChangeEvent``. Returns the charges written (with the currency)."""
    plist = _price_list(order, registry)
    charged = {(line.id, task_id) for line in lines for task_id in _charged_tasks(line)}
    # A soft PONR is charged once: a later change of the same line past the same task is not.
    written = [c for c in charges(hits) if (int(c["lineId"]), c["taskId"]) not in charged]
    if not written:
        return []
    by_id = {line.id: line for line in lines}
    base = {"kind": CHARGE_SOURCE, "reason": reason[:500], "actor": getattr(actor, "label", None) or "system"}
    total = ZERO
    applied = []
    for charge in written:
        line = by_id.get(int(charge["lineId"]))
        if line is None:
            continue
        source = {**base, "taskId": charge["taskId"]}
        amount = round_money(Decimal(charge["amount"]), order.currency)
        prices = dict(line.prices or {})
        prices["itemTotalPrice"] = _add_one_time(
            list(prices.get("itemTotalPrice") or []),
            amount,
            order.currency,
            plist,
            str(charge["name"]),
            source,
            "One-time charges",
        )
        line.prices = prices
        total += amount
        charge = {**charge, "currency": order.currency, "amount": text(amount)}
        applied.append(charge)
    if not applied:
        return []
    order.total_prices = _add_one_time(
        list(order.total_prices or []),
        total,
        order.currency,
        plist,
        "Point of no return charges",
        base,
        "Total one-time charges",
    )
    order.one_time_total = money(order.one_time_total + total)
    uow.record(
        order,
        ev.ORDER_ATTRIBUTE_CHANGE,
        entity_kind="order",
        entity_id=order.id,
        actor=actor,
        payload={"action": "pointOfNoReturnCharge", "reason": reason, "charges": applied},
    )
    return applied


def _price_list(order: Order, registry: Registry | None) -> PriceListDef | None:
    registry = registry if registry is not None else _registry
    return registry.price_lists.get(order.price_list) if registry is not None and order.price_list else None


def _charged_tasks(line: OrderLine) -> set[Any]:
    return {
        alteration["source"].get("taskId")
        for entry in (line.prices or {}).get("itemTotalPrice") or ()
        for alteration in entry.get("priceAlteration") or ()
        if (alteration.get("source") or {}).get("kind") == CHARGE_SOURCE
    }


@dataclass(frozen=True)
class HeldCharges:
    """The one-time charges changes added to an order after it was priced (soft PONR charges):
    a repricing (a revision) recomputes the prices from the catalog and adds them back."""

    lines: dict[int, list[dict[str, Any]]]  # line id -> its charge alterations
    order: list[dict[str, Any]]  # the order total's


def _charge_alterations(entries: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        dict(alteration)
        for entry in entries or ()
        if entry.get("priceType") == ONE_TIME
        for alteration in entry.get("priceAlteration") or ()
        if (alteration.get("source") or {}).get("kind") == CHARGE_SOURCE
    ]


def held_charges(order: Order, lines: Iterable[OrderLine]) -> HeldCharges:
    return HeldCharges(
        {line.id: found for line in lines if (found := _charge_alterations((line.prices or {}).get("itemTotalPrice")))},
        _charge_alterations(order.total_prices),
    )


def restore_charges(order: Order, lines: Iterable[OrderLine], held: HeldCharges, *, registry: Registry | None = None) -> None:
    """Add the ``held`` charges back onto the repriced order and lines (no event: each was recorded
    when it was charged). A removed line's charge stays on the order's total."""
    plist = _price_list(order, registry)

    def add(entries: list[dict[str, Any]] | None, alteration: Mapping[str, Any], charge_name: str) -> list[dict[str, Any]]:
        amount = next(Decimal(str(v["value"])) for v in (alteration.get("price") or {}).values())
        source = alteration.get("source") or {}
        return _add_one_time(list(entries or []), amount, order.currency, plist, str(alteration["name"]), source, charge_name)

    for line in lines:
        for alteration in held.lines.get(line.id, ()):
            prices = dict(line.prices or {})
            prices["itemTotalPrice"] = add(prices.get("itemTotalPrice"), alteration, "One-time charges")
            line.prices = prices
    for alteration in held.order:
        order.total_prices = add(order.total_prices, alteration, "Total one-time charges")
        order.one_time_total = money(order.one_time_total + next(Decimal(str(v["value"])) for v in alteration["price"].values()))


def _add_one_time(
    entries: list[dict[str, Any]],
    amount: Decimal,
    currency: str,
    plist: PriceListDef | None,
    name: str,
    source: Mapping[str, Any],
    charge_name: str,
) -> list[dict[str, Any]]:
    """``entries`` (itemTotalPrice or orderTotalPrice) with ``amount`` added to the one-time price
    (created if there is none) as a surcharge alteration; both amounts of the price move (tax)."""
    tax_included = plist.tax_included if plist is not None else False
    rate = plist.rate_for(ONE_TIME) if plist is not None else None
    basis = "taxIncludedAmount" if tax_included else "dutyFreeAmount"
    at = next((i for i, e in enumerate(entries) if e.get("priceType") == ONE_TIME), None)
    if at is None:
        zero = {"unit": currency, "value": text(round_money(ZERO, currency))}
        entry: dict[str, Any] = {
            "name": charge_name,
            "priceType": ONE_TIME,
            "price": {"dutyFreeAmount": dict(zero), "taxIncludedAmount": dict(zero), "taxRate": text(rate or ZERO)},
        }
        entries.append(entry)
    else:
        entry = entries[at] = {**entries[at], "price": dict(entries[at].get("price") or {})}
    price = entry["price"]
    if rate is None:
        rate = Decimal(str(price.get("taxRate") or "0"))
    factor = 1 + rate / 100
    other = round_money(amount / factor if tax_included else amount * factor, currency)
    other_basis = "dutyFreeAmount" if tax_included else "taxIncludedAmount"
    for key, delta in ((basis, amount), (other_basis, other)):
        current = Decimal(str((price.get(key) or {}).get("value", "0")))
        price[key] = {"unit": currency, "value": text(round_money(current + delta, currency))}
    alterations = list(entry.get("priceAlteration") or [])
    alterations.append(
        {
            "name": name,
            "priceType": SURCHARGE,
            "priority": len(alterations) + 1,
            "price": {basis: {"unit": currency, "value": text(amount)}},
            "source": dict(source),
        }
    )
    entry["priceAlteration"] = alterations
    assert entry["priceType"] != RECURRING
    return entries


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
