"""Per-request context: the runtime's services, the bus and the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from strawberry.types import Info as StrawberryInfo

from om_graph.core.services import Services
from om_graph.core.states import (
    APPROVER,
    FALLOUT_AGENT,
    FALLOUT_MANAGER,
    FULFILLMENT_AGENT,
    FULFILLMENT_MANAGER,
    ORDER_AGENT,
    ORDER_MANAGER,
    PROCESS_ADMIN,
)
from om_graph.core.uow import Actor

# Until authentication lands (issue 3) every request acts as this staff user.
STAFF_ACTOR = Actor(
    "staff",
    frozenset({ORDER_AGENT, FULFILLMENT_AGENT, ORDER_MANAGER, APPROVER, FULFILLMENT_MANAGER, FALLOUT_AGENT, FALLOUT_MANAGER, PROCESS_ADMIN}),
)


@dataclass
class Context:
    services: Services
    bus: Any
    actor: Actor
    request: Any = None
    response: Any = None

    async def run(self, fn, *args, **kwargs):
        """Core services are synchronous (SQLAlchemy sessions); run them off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)


Info = StrawberryInfo[Context, Any]
