"""A product's history (TMF637): its status changes and modifications, oldest first.

Written by :func:`om_graph.core.inventory.settlement.fire_product` (and the placeholders'
creation) in the transaction that changed the product; read here per product, for the API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.inventory.models import Product, ProductStatusChange
from om_graph.core.kernel.uow import UnitOfWork

_HISTORY = (
    select(ProductStatusChange)
    .where(ProductStatusChange.product_id.in_(bindparam("ids", expanding=True)))
    .order_by(ProductStatusChange.product_id, ProductStatusChange.id)
)


class ProductHistory:
    def __init__(self, uow: Callable[..., UnitOfWork]):
        self._uow = uow

    def of_products(self, actor: Actor, product_ids: Sequence[int]) -> dict[int, list[Any]]:
        """Each product's history rows by product id (INVENTORY_READ; a customer's own products
        only), oldest first."""
        require(actor, Permission.INVENTORY_READ)
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        statement = _HISTORY
        if actor.account_id is not None:
            statement = statement.join(Product, Product.id == ProductStatusChange.product_id).where(
                Product.customer_id == actor.account_id
            )
        found: dict[int, list[Any]] = {}
        with self._uow(read_only=True) as uow:
            rows = list(uow.session.scalars(statement, {"ids": ids}))
            uow.session.expunge_all()
        for row in rows:
            found.setdefault(row.product_id, []).append(row)
        return found
