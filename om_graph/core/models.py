"""Every context's tables in one place, for migrations and tests (Alembic autogenerate, fixtures).

Application code imports a context's own ``models`` module; this aggregate imports all of them so
that ``Base.metadata`` is complete and string-named relationships across contexts resolve."""

from om_graph.core.access.models import ApiToken
from om_graph.core.catalog.models import Offering, Specification
from om_graph.core.change.models import CancelRequest, OrderRevision, OrderVersion
from om_graph.core.decisions.models import DecisionTable, DecisionTableAudit, DecisionTableVersion
from om_graph.core.fulfilment.models import (
    CompletionEstimate,
    DecompositionWait,
    DomainOrder,
    Fallout,
    Task,
    TaskDependency,
    new_task_key,
)
from om_graph.core.inventory.models import Agreement, Entitlement, Product, ProductStatusChange
from om_graph.core.kernel.models import (
    MONEY_SCALE,
    NAMING,
    Base,
    EventRecord,
    EventSequence,
    Id,
    Money,
    money,
    utcnow,
)
from om_graph.core.lifecycle.models import ApprovalStep, EnrichmentTask
from om_graph.core.notification.models import HubDelivery, HubListener
from om_graph.core.ordering.models import Order, OrderLine

__all__ = [
    "Agreement",
    "ApiToken",
    "ApprovalStep",
    "Base",
    "CancelRequest",
    "CompletionEstimate",
    "DecisionTable",
    "DecisionTableAudit",
    "DecisionTableVersion",
    "DecompositionWait",
    "DomainOrder",
    "EnrichmentTask",
    "Entitlement",
    "EventRecord",
    "EventSequence",
    "Fallout",
    "HubDelivery",
    "HubListener",
    "Id",
    "MONEY_SCALE",
    "Money",
    "NAMING",
    "Offering",
    "Order",
    "OrderLine",
    "OrderRevision",
    "OrderVersion",
    "Product",
    "ProductStatusChange",
    "Specification",
    "Task",
    "TaskDependency",
    "money",
    "new_task_key",
    "utcnow",
]
