"""The point of no return a line passed (core/change/ponr.py), on the order line; the order's
strongest (core/change/ponr_order.py), on the order."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from om_graph.core.change.ponr_order import order_point_of_no_return
from om_graph.schema.context import Info
from om_graph.schema.types.common import gid
from om_graph.schema.types.fulfilment import Task


@strawberry.enum(
    description="A point of no return: HARD refuses changes of the line, SOFT allows them acknowledged (and charged)."
)
class PointOfNoReturnKind(Enum):
    HARD = "hard"
    SOFT = "soft"


@strawberry.type(
    description=(
        "The point of no return a line passed: the first task of its strongest kind (hard beats soft) that started, "
        "on the line or on a member of its bundle (bundles are atomic)."
    )
)
class PointOfNoReturn:
    kind: PointOfNoReturnKind
    reached_at: datetime = strawberry.field(description="When that task started.")
    task_id: relay.GlobalID = strawberry.field(description="The task (of this line, or of a bundle member's).")
    task_row: strawberry.Private[int]

    @strawberry.field(description="The task whose start passed it (null: not visible to you).")
    async def task(self, info: Info) -> Task | None:
        from om_graph.schema.loaders import load_nodes  # loaders import the types

        [node] = await load_nodes(info, [self.task_id], frozenset())
        return node if isinstance(node, Task) else None


def line_point_of_no_return(row) -> PointOfNoReturn | None:
    if not row.ponr or row.ponr_task_id is None:
        return None
    return PointOfNoReturn(
        kind=PointOfNoReturnKind(row.ponr),
        reached_at=row.ponr_at,
        task_id=gid("Task", row.ponr_task_id),
        task_row=row.ponr_task_id,
    )


@strawberry.type(
    description=(
        "The strongest point of no return (hard beats soft) any of the order's live lines (not cancelled or rejected) "
        "passed: the earliest reached of that kind, with its line and task."
    )
)
class OrderPointOfNoReturn(PointOfNoReturn):
    line_id: relay.GlobalID = strawberry.field(description="The line that passed it.")


def order_point_of_no_return_of(lines) -> OrderPointOfNoReturn | None:
    found = order_point_of_no_return(lines)
    if found is None:
        return None
    return OrderPointOfNoReturn(
        kind=PointOfNoReturnKind(found.kind),
        reached_at=found.reached_at,
        task_id=gid("Task", found.task_id),
        task_row=found.task_id,
        line_id=gid("OrderLine", found.line_id),
    )
