"""The approval policy and the approval of an order: levels, rounds, approve, send back, queues.

The approval stage (``pipeline.StageWork``) asks :func:`approval_steps_for` (the approval policy
table, plus a pack's approval gate if one is installed) the first time it runs in a round. When
the policy asks for approval, the stage write stores the round's steps (``order_approval``: one
row per level, ``pending``) and the order waits (``approvalWaiting``, ``waitingFor`` "approval level
k of n: <reasons>"). Each level is decided by one person holding its role, in level order:
:meth:`Approvals.approve` records the level (the order's ``approve`` transition: its approval
event, a version bump); the last level continues the order (the stage machine's ``approved``), and
the stage pass that follows finds the round approved and goes on. :meth:`Approvals.reject` sends the
order back: it and its lines are drafts again (``sendBack``), the stage is ``validation``, the
rest of the round is cancelled; the agent edits it (``orderUpdate``) and submits it again, which
starts the next round. The submitter (or creator) of an order never decides its approval, and one
person decides at most one level of a round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, Role, require, roles_with
from om_graph.core.inventory.models import Product
from om_graph.core.inventory.states import ProductStatuses
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, InvalidTransition, ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.ports import PROCESS_ORDER, Job
from om_graph.core.kernel.transitions import fire
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.lifecycle.enrichment import Tables, policy_hits
from om_graph.core.lifecycle.error_codes import LifecycleErrorCode
from om_graph.core.lifecycle.models import ApprovalStep
from om_graph.core.lifecycle.stages import APPROVED, SENT_BACK, Stages, move_stage, record_stage
from om_graph.core.lifecycle.states import APPROVAL_STEP, ApprovalStates
from om_graph.core.lifecycle.tables import APPROVAL_POLICY
from om_graph.core.ordering.lines import load_lines
from om_graph.core.ordering.locking import lock_for_write
from om_graph.core.ordering.models import Order
from om_graph.core.ordering.states import OrderStates

log = logging.getLogger(__name__)
UowFactory = Callable[..., UnitOfWork]

MAX_COMMENT = 2000
MAX_QUEUE = 100
MAX_LEVELS = 5  # a policy asking for more is capped (and logged)
APPROVER_ROLES = roles_with(Permission.ORDER_APPROVE) - {Role.SYSTEM.value}
# Who approves a level when the policy names no role (or one that may not approve).
DEFAULT_ROLES = (Role.APPROVER.value, Role.FULFILLMENT_MANAGER.value)
_PENDING = ApprovalStates.PENDING
_APPROVED = ApprovalStates.APPROVED


class _NoTables:
    """No decision tables (a pass that has none): no rule matches."""

    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return []

    @property
    def names(self) -> list[str]:
        return []


NO_TABLES = _NoTables()


@dataclass(frozen=True)
class ApprovalStepSpec:
    """One level an order must be approved at, by whom, and why."""

    level: int
    levels: int
    role: str
    reasons: tuple[str, ...]


def approval_inputs(order: Any, lines: Sequence[Any], *, new_customer: bool) -> dict[str, Any]:
    """The approval policy's inputs for an order (a stored one, or ``orderPreview``'s)."""
    return {
        "oneTimeTotal": Decimal(order.one_time_total or 0),
        "recurringTotal": Decimal(order.recurring_total or 0),
        "currency": order.currency,
        "manualDiscountPercent": Decimal(getattr(order, "manual_discount_percent", None) or 0),
        "discountOverLimit": bool(getattr(order, "discount_over_limit", False)),
        "newCustomer": new_customer,
        "segment": getattr(order, "segment", None),
        "channel": getattr(order, "channel", None),
        "lineCount": len(lines),
    }


def _role(roles: Sequence[str], level: int) -> str:
    wanted = roles[min(level, len(roles)) - 1] if roles else DEFAULT_ROLES[min(level, len(DEFAULT_ROLES)) - 1]
    if wanted in APPROVER_ROLES:
        return wanted
    fallback = DEFAULT_ROLES[min(level, len(DEFAULT_ROLES)) - 1]
    log.warning("the approval policy names role %r for level %d, which may not approve; %s approves it", wanted, level, fallback)
    return fallback


def approval_steps_for(
    order: Any, lines: Sequence[Any], tables: Tables, *, new_customer: bool, extra_reasons: Iterable[str] = ()
) -> list[ApprovalStepSpec]:
    """The levels the approval policy asks of the order (pure: the stage and ``orderPreview``
    both call it). Every matching rule adds its reason; the order needs as many levels as the
    most demanding rule, and the roles of that rule (the first such) approve them. ``extra_reasons``
    (a pack's approval gate) ask for one level at least. [] when no approval is needed. The
    policy is the core's table and every pack's ``<namespace>.approval.policy``."""
    hits = policy_hits(tables, APPROVAL_POLICY, approval_inputs(order, lines, new_customer=new_customer))
    reasons = [str(h.get("reason") or "").strip() for h in hits]
    reasons = [r for r in reasons if r] + [r for r in extra_reasons if r]
    levels = max([int(h.get("levels") or 0) for h in hits] + [1 if any(extra_reasons) else 0])
    if levels <= 0:
        return []
    if levels > MAX_LEVELS:
        log.warning("the approval policy asks for %d levels; capped at %d", levels, MAX_LEVELS)
        levels = MAX_LEVELS
    deciding = next((h for h in hits if int(h.get("levels") or 0) >= levels), None)
    roles = [r.strip() for r in str((deciding or {}).get("roles") or "").split(",") if r.strip()]
    unique_reasons = tuple(dict.fromkeys(reasons)) or ("the approval policy",)
    return [ApprovalStepSpec(level, levels, _role(roles, level), unique_reasons) for level in range(1, levels + 1)]


def new_customer_matters(order: Any, lines: Sequence[Any], tables: Tables) -> bool:
    """Whether ``newCustomer`` changes what the policy asks of this order (most orders: no, so the
    stage pass's read skips the lookup): the policy evaluated both ways (pure, microseconds)."""
    inputs = approval_inputs(order, lines, new_customer=False)
    return policy_hits(tables, APPROVAL_POLICY, inputs) != policy_hits(tables, APPROVAL_POLICY, {**inputs, "newCustomer": True})


def describe_wait(step: ApprovalStep | ApprovalStepSpec) -> str:
    reasons = step.reasons if isinstance(step.reasons, str) else "; ".join(step.reasons)
    return f"approval level {step.level} of {step.levels}: {reasons}"[:200]


def new_steps(order: Order, specs: Sequence[ApprovalStepSpec]) -> list[ApprovalStep]:
    return [
        ApprovalStep(
            order_id=order.id,
            round=order.approval_round,
            level=s.level,
            levels=s.levels,
            role=s.role,
            reasons="; ".join(s.reasons)[:1000],
            state=APPROVAL_STEP.initial,
        )
        for s in specs
    ]


_ORDERS, _PRODUCTS = Order.__table__, Product.__table__
# Prebuilt (one compiled form): the customer has a completed order other than this one, or an active product.
_NOT_NEW = select(
    or_(
        exists().where(
            _ORDERS.c.customer_id == bindparam("customer_id"),
            _ORDERS.c.state.in_((OrderStates.COMPLETED, OrderStates.PARTIAL)),
            _ORDERS.c.id != bindparam("order_id"),
        ),
        exists().where(_PRODUCTS.c.customer_id == bindparam("customer_id"), _PRODUCTS.c.status == ProductStatuses.ACTIVE),
    )
)


def is_new_customer(session: Session, customer_id: str, *, order_id: int | None = None) -> bool:
    """No completed (or partly completed) order and no active product: the policy's ``newCustomer``
    (``order_id``: the order asking, which does not count)."""
    found = session.connection().scalar(_NOT_NEW, {"customer_id": customer_id, "order_id": order_id or 0})
    return not found


def round_steps(session: Session, order: Order) -> list[ApprovalStep]:
    return list(
        session.scalars(
            select(ApprovalStep)
            .where(ApprovalStep.order_id == order.id, ApprovalStep.round == order.approval_round)
            .order_by(ApprovalStep.level)
        )
    )


def _text(value: str | None, field: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed.single(field, "is required", CommonErrorCode.REQUIRED)
    if len(text) > MAX_COMMENT:
        raise ValidationFailed.single(field, f"at most {MAX_COMMENT} characters", CommonErrorCode.TOO_LONG)
    return text or None


class Approvals:
    """Deciding an order's approval, and the approval reads (queues, an order's rounds)."""

    def __init__(self, uow: UowFactory):
        self._uow = uow

    def approve(self, actor: Actor, order_id: int, expected_version: int | None, comment: str | None = None) -> Order:
        require(actor, Permission.ORDER_APPROVE)
        text = _text(comment, "comment", required=False)
        with self._uow() as uow:
            order, step, steps = self._deciding(uow, actor, order_id, expected_version)
            self._decide(step, "approve", actor, text)
            fire(
                uow,
                order,
                order,
                "approve",
                actor,
                {"round": step.round, "level": step.level, "levels": step.levels, "comment": text, "reasons": step.reasons},
            )
            remaining = [s for s in steps if s.state == _PENDING]
            if remaining:
                order.stage_waiting_for = describe_wait(remaining[0])
            else:
                previous = order.stage
                move_stage(order, [APPROVED], actor)
                order.stage_waiting_for = None
                order.processing_dispatched_at = utcnow()
                record_stage(uow, order, previous, [APPROVED], actor)
                uow.enqueue(Job(PROCESS_ORDER, {"order_id": order.id}))
            return order

    def reject(self, actor: Actor, order_id: int, expected_version: int | None, reason: str | None) -> Order:
        """Send the order back to its agent with a reason: it and its lines are drafts again."""
        require(actor, Permission.ORDER_APPROVE)
        text = _text(reason, "reason", required=True)
        with self._uow() as uow:
            order, step, steps = self._deciding(uow, actor, order_id, expected_version)
            self._decide(step, "reject", actor, text)
            for other in steps:
                if other.state == _PENDING:
                    self._decide(other, "cancel", actor, None)
            payload = {"round": step.round, "level": step.level, "levels": step.levels, "reason": text}
            for line in load_lines(uow.session, order):
                fire(uow, order, line, "sendBack", actor, payload)
            fire(uow, order, order, "sendBack", actor, payload)
            previous = order.stage
            order.stage_waiting_for = None
            move_stage(order, [SENT_BACK], actor)
            order.processing_dispatched_at = None
            record_stage(uow, order, previous, [SENT_BACK], actor)
            log.info("order %s sent back by %s at approval level %d: %s", order.id, actor.label, step.level, text)
            return order

    def _deciding(
        self, uow: UnitOfWork, actor: Actor, order_id: int, expected_version: int | None
    ) -> tuple[Order, ApprovalStep, list[ApprovalStep]]:
        """The order (locked), the level to decide and its round's steps, once the actor may decide it."""
        order = lock_for_write(uow, actor, order_id, expected_version)
        steps = round_steps(uow.session, order) if order.stage == Stages.APPROVAL_WAITING else []
        step = next((s for s in steps if s.state == _PENDING), None)
        if order.state != OrderStates.ACKNOWLEDGED or step is None:
            raise InvalidTransition(
                f"order {order_id} is not waiting for approval (stage {order.stage})",
                field="id",
                code=LifecycleErrorCode.NOT_WAITING_FOR_APPROVAL,
            )
        if actor.label in {order.submitted_by, order.created_by}:
            raise InvalidTransition(
                "you submitted (or created) this order: someone else must decide its approval",
                field="id",
                code=LifecycleErrorCode.SELF_APPROVAL,
            )
        if any(s.actor == actor.label for s in steps if s.state == _APPROVED):
            raise InvalidTransition(
                "you approved another level of this round: a different person decides each level",
                field="id",
                code=LifecycleErrorCode.APPROVER_ALREADY_DECIDED,
            )
        if step.role not in actor.roles and Role.SYSTEM.value not in actor.roles:
            raise InvalidTransition(
                f"approval level {step.level} of {step.levels} is decided by the role {step.role}",
                field="id",
                code=LifecycleErrorCode.NOT_THE_LEVELS_APPROVER,
            )
        return order, step, steps

    @staticmethod
    def _decide(step: ApprovalStep, event: str, actor: Actor, comment: str | None) -> None:
        transition = APPROVAL_STEP.enter(step, step.state, event, actor)
        step.state = transition.target
        step.actor = actor.label
        step.comment = comment
        step.decided_at = utcnow()

    # -- reads ---------------------------------------------------------------------------------

    def queue(self, actor: Actor, role: str, *, first: int = 50) -> list[int]:
        """Orders waiting at a level that ``role`` approves, longest waiting first (their ids)."""
        require(actor, Permission.ORDER_APPROVE)
        if role not in APPROVER_ROLES:
            raise ValidationFailed.single(
                "role", f"not a role that approves orders (one of {', '.join(sorted(APPROVER_ROLES))})", CommonErrorCode.INVALID
            )
        return self._waiting(actor, [role], first=first)

    def awaiting(self, actor: Actor, *, first: int = 50) -> list[int]:
        """Orders waiting at a level one of the actor's roles approves, that the actor did not
        submit or create and at no level of whose current round the actor approved."""
        require(actor, Permission.ORDER_APPROVE)
        roles = sorted(set(actor.roles) & APPROVER_ROLES)
        return self._waiting(actor, roles, first=first, mine=False) if roles else []

    def _waiting(self, actor: Actor, roles: list[str], *, first: int, mine: bool = True) -> list[int]:
        if not 1 <= first <= MAX_QUEUE:
            raise ValidationFailed([FieldError("first", f"must be between 1 and {MAX_QUEUE}", CommonErrorCode.OUT_OF_RANGE)])
        step, lower = ApprovalStep, aliased(ApprovalStep)
        statement = (
            select(step.order_id)
            .join(Order, and_(Order.id == step.order_id, Order.approval_round == step.round))
            .where(
                step.state == _PENDING,
                step.role.in_(roles),
                Order.stage == Stages.APPROVAL_WAITING,
                ~exists().where(
                    lower.order_id == step.order_id,
                    lower.round == step.round,
                    lower.state == _PENDING,
                    lower.level < step.level,
                ),
            )
            .order_by(step.created_at, step.id)
            .limit(first)
        )
        if not mine:
            decided = aliased(ApprovalStep)
            statement = statement.where(
                or_(Order.submitted_by.is_(None), Order.submitted_by != actor.label),
                Order.created_by != actor.label,
                ~exists().where(
                    decided.order_id == step.order_id,
                    decided.round == step.round,
                    decided.state == _APPROVED,
                    decided.actor == actor.label,
                ),
            )
        if actor.account_id is not None:
            statement = statement.where(Order.customer_id == actor.account_id)
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(statement))

    def of_orders(self, actor: Actor, order_ids: Sequence[int]) -> dict[int, list[ApprovalStep]]:
        """Every round's steps of each order, oldest round first (one statement for a page of orders)."""
        require(actor, Permission.AUDIT_READ)
        statement = select(ApprovalStep).where(ApprovalStep.order_id.in_(order_ids))
        if actor.account_id is not None:
            statement = statement.join(Order, Order.id == ApprovalStep.order_id).where(Order.customer_id == actor.account_id)
        found: dict[int, list[ApprovalStep]] = {}
        with self._uow(read_only=True) as uow:
            for step in uow.session.scalars(statement.order_by(ApprovalStep.round, ApprovalStep.level)):
                found.setdefault(step.order_id, []).append(step)
        return found
