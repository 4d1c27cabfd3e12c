"""Writing an order: its row lock, which also bumps its change_seq (what cached reads compare).

Every writer of an order locks it first; concurrent writers of one order serialise on its row
(a row lock on PostgreSQL; SQLite's single writer). The bump is the database's (the triggers of
migrations/change_seq.py, once per transaction); the lock statement takes part in it so that it
can return the transaction's number, which the plan re-attach compares.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.orm.attributes import set_committed_value

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.errors import Conflict, NotFound
from om_graph.core.kernel.models import utcnow, write_xact
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.ordering.models import Order

_ORDERS = Order.__table__
_MARK = write_xact()
# As the triggers do: bump unless this transaction bumped already, and mark the order as bumped.
_BUMP = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        change_seq=case((_ORDERS.c.change_xact == _MARK, _ORDERS.c.change_seq), else_=_ORDERS.c.change_seq + 1),
        change_xact=_MARK,
        updated_at=bindparam("now"),
    )
)
_BUMP_AND_LOAD = select(Order).from_statement(_BUMP.returning(*_ORDERS.c))
_BUMP_CHANGE_SEQ = _BUMP.returning(_ORDERS.c.change_seq)
_LOAD = select(Order).where(Order.id == bindparam("order_id"))


def lock_order(uow: UnitOfWork, order_id: int, *, known: Order | None = None) -> Order | None:
    """Load an order for writing, serialising concurrent writers of the same order (the
    row is locked on PostgreSQL; SQLite already holds the database write lock), and bump
    its change_seq: one ``UPDATE … RETURNING`` does all three.

    ``known`` is the same order as the caller's previous transaction left it (detached,
    with its loaded children): when the change_seq shows nobody wrote the order since (each
    transaction bumps it by exactly one), that object is re-attached instead of loaded again."""
    if order_id in uow.locked:
        locked = uow.locked[order_id]
        assert isinstance(locked, Order)  # the kernel keeps it untyped: it knows no context's models
        return locked
    params = {"order_id": order_id, "now": utcnow()}
    order = None
    if known is not None:
        change_seq = uow.session.connection().scalar(_BUMP_CHANGE_SEQ, params)  # Core: no ORM layer needed
        if change_seq is None:
            return None
        if change_seq == known.change_seq + 1:
            uow.session.add(known)
            set_committed_value(known, "change_seq", change_seq)
            order = known
    if order is None:
        statement = _BUMP_AND_LOAD if known is None else _LOAD  # (the bump already happened)
        order = uow.session.scalars(statement, params, execution_options={"populate_existing": True}).first()
    if order is not None:
        uow.locked[order.id] = order
    return order


def lock_for_write(uow: UnitOfWork, actor: Actor, order_id: int, expected_version: int | None = None) -> Order:
    """Lock an order a person or integration is about to change: missing and other accounts'
    orders are ``NOT_FOUND``; a stale ``expected_version`` (the client's optimistic lock) is a
    ``CONFLICT``."""
    order = lock_order(uow, order_id)
    if order is None or (actor.account_id is not None and order.customer_id != actor.account_id):
        raise NotFound("no such order", field="id")
    if expected_version is not None and order.version != expected_version:
        raise Conflict(f"the order changed (version {order.version}, you sent {expected_version}); reload it", field="version")
    return order
