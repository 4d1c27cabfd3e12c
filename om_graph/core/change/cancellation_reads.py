"""Reads of cancellation requests (TMF622 CancelProductOrder), scoped to the actor's account."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.change.models import CancelRequest
from om_graph.core.kernel.criteria import Criterion, where
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order

# The fields a list of requests may be filtered on (core/kernel/criteria.py).
CANCEL_REQUEST_FIELDS = {
    "id": CancelRequest.id,
    "state": CancelRequest.state,
    "order_id": CancelRequest.order_id,
    "result": CancelRequest.result,
    "requested_cancellation_date": CancelRequest.requested_cancellation_date,
    "effective_cancellation_date": CancelRequest.effective_cancellation_date,
    "created_at": CancelRequest.created_at,
}


@dataclass
class CancelRequestSlice:
    items: list[CancelRequest]
    total: int


class CancelRequestReads:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def slice(self, actor: Actor, *, offset: int, limit: int, criteria: Sequence[Criterion] = ()) -> CancelRequestSlice:
        """Requests matching ``criteria``, newest first, from ``offset`` (ORDER_READ; a customer's
        own orders' requests only)."""
        require(actor, Permission.ORDER_READ)
        filters = where(CANCEL_REQUEST_FIELDS, criteria)
        statement = select(CancelRequest)
        count = select(func.count()).select_from(CancelRequest)
        if actor.account_id is not None:
            statement = statement.join(Order, Order.id == CancelRequest.order_id)
            count = count.join(Order, Order.id == CancelRequest.order_id)
            filters.append(Order.customer_id == actor.account_id)
        with self._uow(read_only=True) as uow:
            found = list(
                uow.session.scalars(statement.where(*filters).order_by(CancelRequest.id.desc()).offset(offset).limit(limit))
            )
            total = uow.session.scalar(count.where(*filters)) or 0
            uow.session.expunge_all()
        return CancelRequestSlice(found, total)
