"""GraphQL enums: TMF values, upper-snake-cased names (IN_PROGRESS = "inProgress")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

from om_graph.core.catalog.definitions import ALL_ACTIONS
from om_graph.core.fulfilment.rules import RELEASED_BY
from om_graph.core.fulfilment.states import DOMAIN_ORDER, TASK, TaskKinds, TaskModes
from om_graph.core.inventory.states import PRODUCT
from om_graph.core.lifecycle.stages import STAGES
from om_graph.core.ordering.states import LINE, ORDER, OrderStates


def _enum(name: str, values: Iterable[str], description: str | None = None) -> type[Enum]:
    members = {re.sub(r"(?<!^)(?=[A-Z])", "_", v).upper(): v for v in sorted(values)}
    enum: type[Enum] = Enum(name, members)  # type: ignore[misc]  # members known only at run time
    return strawberry.enum(enum, description=description)


def members_by_value(enum: type[Enum]) -> dict[object, Any]:
    """Value -> member, for the mappers: a dict lookup costs a fraction of ``Enum(value)``, and an
    unknown value fails as loudly (KeyError instead of ValueError)."""
    return dict(enum._value2member_map_)


if TYPE_CHECKING:
    # The members are built at run time, so mypy sees enums without members: code reaches a
    # member by its value (``OrderState(row.state)``), never by name.
    class OrderState(Enum): ...

    class OrderLineState(Enum): ...

    class DomainOrderState(Enum): ...

    class TaskState(Enum): ...

    class ProductStatus(Enum): ...

    class LineAction(Enum): ...

    class DependencyType(Enum): ...

    class OrderStage(Enum): ...

else:
    # Each state enum is exactly its machine's states (tests/test_state_machines.py checks it).
    OrderState = _enum("OrderState", ORDER.states, "TMF622 product order state.")
    OrderLineState = _enum("OrderLineState", LINE.states, "TMF622 product order item state.")
    DomainOrderState = _enum("DomainOrderState", DOMAIN_ORDER.states, "Product, service or resource order state (TMF641/652).")
    TaskState = _enum("TaskState", TASK.states, "Orchestration task state.")
    ProductStatus = _enum(
        "ProductStatus", PRODUCT.states, "TMF637 product status (aborted without the published trailing space)."
    )
    OrderStage = _enum("OrderStage", STAGES.states, "The stage a submitted order is in before and during fulfilment.")
    LineAction = _enum("LineAction", ALL_ACTIONS, "TMF622 item action.")
    DependencyType = _enum("DependencyType", RELEASED_BY)


@strawberry.enum(description="The level of a domain order: what it fulfils.")
class DomainOrderKind(Enum):
    PRODUCT = "PRODUCT"
    SERVICE = "SERVICE"
    RESOURCE = "RESOURCE"


@strawberry.enum(description="Automatic tasks run in workers; manual tasks wait for a person.")
class TaskKind(Enum):
    AUTOMATIC = TaskKinds.AUTOMATIC
    MANUAL = TaskKinds.MANUAL


@strawberry.enum(description="A task's work: its own, the undo of a completed task, or a completed task's again.")
class TaskMode(Enum):
    DO = TaskModes.DO
    UNDO = TaskModes.UNDO
    REDO = TaskModes.REDO


@strawberry.enum(description="Jeopardy level from SLA consumption.")
class JeopardyLevel(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@strawberry.enum(description="TMF622 requestedInitialState of a new order.")
class OrderInitialState(Enum):
    DRAFT = OrderStates.DRAFT
    ACKNOWLEDGED = OrderStates.ACKNOWLEDGED
