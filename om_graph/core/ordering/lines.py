"""An order's lines, read for writing."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from om_graph.core.ordering.models import Order, OrderLine

_LINES = select(OrderLine).where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.line_number)


def load_lines(session: Session, order: Order) -> list[OrderLine]:
    """The order's lines, read with one prebuilt statement and set as ``order.lines``: touching
    the relationship would lazy-load it, which costs SQLAlchemy several times the query. Once
    loaded (or changed) in this session, the relationship itself is the truth."""
    if "lines" in order.__dict__:
        return list(order.lines)
    lines = session.scalars(_LINES, {"order_id": order.id}).all()
    set_committed_value(order, "lines", lines)
    return list(lines)
