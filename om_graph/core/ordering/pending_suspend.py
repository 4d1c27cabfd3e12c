"""A resume of a product whose suspend has not happened yet (another open order's ``suspend``
line, e.g. one waiting for its requested start date).

The resume voids that suspend: capture accepts the resume line (the product is active), and
when the resume's order is submitted change management cancels the suspend line in the submit's
transaction (``change/suspend_void.py``, a TMF622 line cancellation), so the product never gets
suspended and the resume has nothing to do (the decomposition leaves it out:
``lifecycle/pipeline.py``). Only a resume meant to take effect before the suspend voids it: one
dated at or after the suspend's date ends the suspension instead, and waits for it
(:func:`dated_after`). Ordering knows nothing of tasks or cancellations: whether a suspend
may still be voided is the ``SuspendRefusal`` that change management registers
(``services.py``); without one every pending suspend is refused, as ``SUSPEND_PENDING``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.inventory.error_codes import InventoryErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.states import OPEN_ORDER_STATES


@dataclass(frozen=True)
class PendingSuspend:
    """Another open order's suspend line of a product."""

    product_id: int
    order_id: int
    line_id: int
    line_number: int
    order_state: str
    line_state: str
    requested_start_date: datetime | None

    def describe(self) -> str:
        when = f" (requested start {self.requested_start_date.isoformat()})" if self.requested_start_date else ""
        return f"order {self.order_id} line {self.line_number} suspends it{when}"


# Why a pending suspend can no longer be voided by a resume (its work started, ...), or None.
SuspendRefusal = Callable[[Session, PendingSuspend], str | None]


def dated_after(pending: PendingSuspend, resume_start: datetime | None) -> str | None:
    """A resume dated in the future at or after the suspend's own date ends that suspension: it
    does not void it (it is placed once the product is suspended). An undated resume, one dated
    in the past, or one dated before a future-dated suspend voids it. None when it voids."""
    now = utcnow()
    if resume_start is None or resume_start <= now:
        return None
    suspend_at = pending.requested_start_date
    if suspend_at is not None and resume_start < suspend_at:
        return None
    return f"the resume is dated {resume_start.isoformat()}, after the suspend: place it once the product is suspended"


def pending_suspends(session: Session, product_ids: Iterable[int], *, excluding: int | None = None) -> dict[int, PendingSuspend]:
    """The open suspend line of each product, by product id (at most one: a second suspend is
    PRODUCT_BUSY), in orders other than ``excluding``."""
    ids = set(product_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(
            OrderLine.product_id,
            OrderLine.order_id,
            OrderLine.id,
            OrderLine.line_number,
            Order.state,
            OrderLine.state,
            Order.requested_start_date,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.product_id.in_(ids),
            OrderLine.action == "suspend",
            Order.state.in_(OPEN_ORDER_STATES),
            Order.id != (excluding or 0),
        )
        .order_by(OrderLine.id)
    ).all()
    found: dict[int, PendingSuspend] = {}
    for product_id, order_id, line_id, number, order_state, line_state, start in rows:
        if product_id is not None:
            found[product_id] = PendingSuspend(product_id, order_id, line_id, number, order_state, line_state, start)
    return found


def suspend_pending_error(field_path: str, pending: PendingSuspend, why: str | None) -> FieldError:
    """SUSPEND_PENDING: the resume cannot void the suspend (``why``: its work started, ...)."""
    return FieldError(
        field_path,
        f"the product is not suspended yet: {pending.describe()}, and {why or 'it cannot be voided by a resume'}; "
        "wait for the suspend to complete and resume then, or cancel that line (orderLineCancel)",
        InventoryErrorCode.SUSPEND_PENDING,
    )
