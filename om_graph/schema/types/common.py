"""Value types shared by every context's output types."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.scalars import JSON


def gid(type_name: str, value: int) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(value))


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class Characteristic:
    name: str
    value: JSON


def characteristics(values: dict) -> list[Characteristic]:
    return [Characteristic(name=k, value=v) for k, v in sorted(values.items())]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
