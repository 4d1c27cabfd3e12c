"""Reads of cancellation requests (TMF622 CancelProductOrder), scoped to the actor's account: by
id, by order, the order of a line, and filtered lists (the TMF facade)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.change.models import CancelRequest
from om_graph.core.kernel.criteria import Criterion, where
from om_graph.core.kernel.errors import NotFound
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order, OrderLine

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

    def get(self, actor: Actor, request_id: int) -> CancelRequest:
        """One request (ORDER_READ; a customer's own orders only): NOT_FOUND otherwise."""
        require(actor, Permission.ORDER_READ)
        with self._uow(read_only=True) as uow:
            found = uow.session.get(CancelRequest, request_id)
            if found is not None and actor.account_id is not None:
                owner = uow.session.scalar(select(Order.customer_id).where(Order.id == found.order_id))
                if owner != actor.account_id:
                    found = None
            if found is None:
                raise NotFound("no such cancel request", field="id")
            uow.session.expunge(found)
        return found

    def by_ids(self, actor: Actor, request_ids: Iterable[int]) -> dict[int, CancelRequest]:
        """The requests of ``request_ids`` the actor may see (node(id)), by id."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(request_ids))
        if not ids:
            return {}
        with self._uow(read_only=True) as uow:
            statement = select(CancelRequest).where(CancelRequest.id.in_(ids))
            if actor.account_id is not None:
                statement = statement.join(Order, Order.id == CancelRequest.order_id).where(Order.customer_id == actor.account_id)
            found = {request.id: request for request in uow.session.scalars(statement)}
            uow.session.expunge_all()
        return found

    def of_orders(self, actor: Actor, order_ids: Iterable[int]) -> dict[int, list[CancelRequest]]:
        """The requests of each order, oldest first (callers have read the orders already)."""
        require(actor, Permission.ORDER_READ)
        ids = sorted(set(order_ids))
        found: dict[int, list[CancelRequest]] = {i: [] for i in ids}
        if not ids:
            return found
        with self._uow(read_only=True) as uow:
            statement = select(CancelRequest).where(CancelRequest.order_id.in_(ids)).order_by(CancelRequest.id)
            if actor.account_id is not None:
                statement = statement.join(Order, Order.id == CancelRequest.order_id).where(Order.customer_id == actor.account_id)
            for request in uow.session.scalars(statement):
                found[request.order_id].append(request)
            uow.session.expunge_all()
        return found

    def order_of_line(self, actor: Actor, line_id: int) -> int:
        """The order a line belongs to (NOT_FOUND for another account's)."""
        with self._uow(read_only=True) as uow:
            row = uow.session.execute(
                select(OrderLine.order_id, Order.customer_id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLine.id == line_id)
            ).first()
        if row is None or (actor.account_id is not None and row.customer_id != actor.account_id):
            raise NotFound("no such line", field="lineId")
        return int(row.order_id)
