"""Who may do what: one table of role → permissions, checked by the API and again by services.

Roles are the seed's users plus a read-only viewer and a service account for integrations.
Customers belong to an account and only ever reach that account's rows (row scoping lives in
the query and command services); staff (no account) see every account.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import DomainError

if TYPE_CHECKING:
    from om_graph.core.access.actor import Actor


class Role(str, Enum):
    CUSTOMER = "customer"
    ORDER_AGENT = "order_agent"
    FULFILLMENT_AGENT = "order_fulfillment_agent"
    ORDER_MANAGER = "order_manager"
    APPROVER = "order_approver"
    FULFILLMENT_MANAGER = "order_fulfillment_manager"
    FALLOUT_AGENT = "order_fallout_agent"
    FALLOUT_MANAGER = "order_fallout_manager"
    PROCESS_ADMIN = "process_admin"
    VIEWER = "viewer"
    SERVICE_ACCOUNT = "service_account"
    SYSTEM = "system"


class Permission(str, Enum):
    CATALOG_READ = "catalog:read"
    ORDER_READ = "order:read"
    ORDER_CAPTURE = "order:capture"  # create, edit drafts, submit
    TASK_COMPLETE = "task:complete"
    ORDER_RESUME = "order:resume"  # continue an order waiting in a stage (approval, missing data, fallout)
    INVENTORY_READ = "inventory:read"
    EVENTS_SUBSCRIBE = "events:subscribe"
    PRICE_READ = "price:read"  # prices and totals
    FULFILMENT_READ = "fulfilment:read"  # technical details: task internals, domain order data
    AUDIT_READ = "audit:read"  # who did what
    PRICE_ADJUST = "price:adjust"  # manual discounts and surcharges, within the role's limit
    ORDER_APPROVE = "order:approve"  # approve or reject an order waiting for approval
    DECISION_READ = "decision:read"  # decision tables, their versions and audit
    DECISION_MANAGE = "decision:manage"  # create, edit, test, activate and roll back decision tables
    ORDER_HOLD = "order:hold"  # hold an in-flight order or line, and resume it
    TASK_ASSIGN = "task:assign"  # assign work-queue tasks to others, release others' tasks
    FALLOUT_WORK = "fallout:work"  # work fallout records: take, retry, skip, resolve, hold
    FALLOUT_MANAGE = "fallout:manage"  # reassign fallout, give up (fail the line)
    ORDER_REVISE = "order:revise"  # revise a submitted, running order (core/change)
    ORDER_CANCEL = "order:cancel"  # request the cancellation of a submitted order or line (core/change)
    HUB_MANAGE = "hub:manage"  # the event hub's listeners and deliveries: retry or skip a dead delivery (core/notification)


_READ = {Permission.CATALOG_READ, Permission.ORDER_READ, Permission.INVENTORY_READ, Permission.EVENTS_SUBSCRIBE}
_STAFF_READ = _READ | {Permission.FULFILMENT_READ, Permission.AUDIT_READ, Permission.DECISION_READ}
_CAPTURE = {Permission.ORDER_CAPTURE, Permission.PRICE_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # A customer may cancel their own orders (TMF622 CancelProductOrder); revising is the agents'.
    Role.CUSTOMER: frozenset(_READ | _CAPTURE | {Permission.ORDER_CANCEL}),
    Role.ORDER_AGENT: frozenset(
        _STAFF_READ | _CAPTURE | {Permission.PRICE_ADJUST, Permission.ORDER_REVISE, Permission.ORDER_CANCEL}
    ),
    Role.ORDER_MANAGER: frozenset(
        _STAFF_READ
        | _CAPTURE
        | {
            Permission.TASK_COMPLETE,
            Permission.ORDER_RESUME,
            Permission.PRICE_ADJUST,
            Permission.ORDER_HOLD,
            Permission.ORDER_REVISE,
            Permission.ORDER_CANCEL,
        }
    ),
    Role.FULFILLMENT_AGENT: frozenset(_STAFF_READ | {Permission.TASK_COMPLETE}),
    Role.FULFILLMENT_MANAGER: frozenset(
        _STAFF_READ
        | {
            Permission.TASK_COMPLETE,
            Permission.PRICE_READ,
            Permission.ORDER_APPROVE,
            Permission.ORDER_HOLD,
            Permission.ORDER_RESUME,  # orderResume also resumes what they held (core/fulfilment/holds.py)
            Permission.TASK_ASSIGN,
        }
    ),
    Role.APPROVER: frozenset(_STAFF_READ | {Permission.PRICE_READ, Permission.ORDER_RESUME, Permission.ORDER_APPROVE}),
    Role.FALLOUT_AGENT: frozenset(_STAFF_READ | {Permission.TASK_COMPLETE, Permission.FALLOUT_WORK}),
    Role.FALLOUT_MANAGER: frozenset(
        _STAFF_READ
        | {
            Permission.TASK_COMPLETE,
            Permission.PRICE_READ,
            Permission.ORDER_RESUME,
            Permission.ORDER_HOLD,
            Permission.TASK_ASSIGN,
            Permission.FALLOUT_WORK,
            Permission.FALLOUT_MANAGE,
        }
    ),
    Role.PROCESS_ADMIN: frozenset(
        _STAFF_READ | {Permission.PRICE_READ, Permission.ORDER_RESUME, Permission.DECISION_MANAGE, Permission.HUB_MANAGE}
    ),
    Role.VIEWER: frozenset(_STAFF_READ | {Permission.PRICE_READ}),
    Role.SERVICE_ACCOUNT: frozenset(
        _STAFF_READ | _CAPTURE | {Permission.TASK_COMPLETE, Permission.ORDER_REVISE, Permission.ORDER_CANCEL}
    ),
    Role.SYSTEM: frozenset(Permission),
}

STAFF_ROLES = frozenset(r.value for r in Role if r not in (Role.CUSTOMER, Role.SYSTEM))
ALL_ROLES = frozenset(r.value for r in Role if r is not Role.SYSTEM)


class Forbidden(DomainError):
    code = CommonErrorCode.FORBIDDEN


def permissions_of(roles: frozenset[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        try:
            granted |= ROLE_PERMISSIONS[Role(role)]
        except ValueError:
            continue  # an identity provider's role we do not know grants nothing
    return frozenset(granted)


def require(actor: Actor, permission: Permission) -> None:
    if permission not in actor.permissions:
        raise Forbidden(f"{actor.label} may not {permission.value}")


def roles_with(permission: Permission) -> frozenset[str]:
    """The roles granted ``permission``: state machine transitions name their roles this way, so
    the permission table and the machines cannot disagree."""
    return frozenset(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
