"""The pack SDK: the one module an industry pack imports from om-graph.

Everything a pack needs is here: the hook marker, the catalog definitions, the extension point
objects with their context and outcome types, the order event a listener receives, the errors a
pack raises or sees, the settings base class, the :class:`Pack` plugin object and the helpers for
packs that simulate their southbound systems. A test checks that the shipped packs import nothing
else of om_graph, and that every public name of the catalog definitions and extension modules is
exported here. Test fixtures for packs live in :mod:`om_graph.testing` (a pytest plugin).
"""

from __future__ import annotations

from om_graph.core.catalog.definitions import (
    ALL_ACTIONS,
    DEFAULT_STRING_MAX_LENGTH,
    INTEGER_RANGE,
    STRING_MAX_LENGTH_CEILING,
    CatalogContribution,
    CharacteristicDef,
    EntitlementDef,
    LineAction,
    OfferingDef,
    SpecificationDef,
    SpecKind,
    SpecRelationshipDef,
    TaskKind,
    TaskTemplate,
    ValueType,
)
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentPending,
    EnrichmentStep,
    JeopardyPolicy,
    LineIssue,
    LineView,
    TaskContext,
    TaskHandler,
    TaskHandlerError,
    TaskOutcome,
    TaskTiming,
)
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.core.kernel.events import (
    AGREEMENT_STATE_CHANGE,
    DOMAIN_ORDER_STATE_CHANGE,
    ENTITLEMENT_STATE_CHANGE,
    ERROR_MESSAGE,
    ITEM_STATE_CHANGE,
    JEOPARDY_ALERT,
    ORDER_ATTRIBUTE_CHANGE,
    ORDER_CREATE,
    ORDER_STATE_CHANGE,
    PRODUCT_STATE_CHANGE,
    TASK_STATE_CHANGE,
    OrderEvent,
)
from om_graph.plugins import hookimpl
from om_graph.plugins.pack import Pack
from om_graph.plugins.simulated import (
    SimulatedSystem,
    as_int,
    digest,
    digits,
    keep_or,
    recorded_outcome,
    release_in,
    require,
    simulated_handler,
    slug,
    token,
)
from om_graph.settings import PackSettings, PackSettingsError

__all__ = [
    "ALL_ACTIONS",
    "DEFAULT_STRING_MAX_LENGTH",
    "AGREEMENT_STATE_CHANGE",
    "DOMAIN_ORDER_STATE_CHANGE",
    "ENTITLEMENT_STATE_CHANGE",
    "ERROR_MESSAGE",
    "INTEGER_RANGE",
    "ITEM_STATE_CHANGE",
    "JEOPARDY_ALERT",
    "ORDER_ATTRIBUTE_CHANGE",
    "ORDER_CREATE",
    "ORDER_STATE_CHANGE",
    "PRODUCT_STATE_CHANGE",
    "STRING_MAX_LENGTH_CEILING",
    "TASK_STATE_CHANGE",
    "BusinessValidator",
    "CatalogContribution",
    "CharacteristicDef",
    "DecompositionRule",
    "EnrichmentPending",
    "EnrichmentStep",
    "EntitlementDef",
    "JeopardyPolicy",
    "LineAction",
    "LineIssue",
    "LineView",
    "OfferingDef",
    "OrderEvent",
    "Pack",
    "PackSettings",
    "PackSettingsError",
    "PluginConfigurationError",
    "SimulatedSystem",
    "SpecKind",
    "SpecRelationshipDef",
    "SpecificationDef",
    "TaskContext",
    "TaskHandler",
    "TaskHandlerError",
    "TaskKind",
    "TaskOutcome",
    "TaskTemplate",
    "TaskTiming",
    "ValueType",
    "as_int",
    "digest",
    "digits",
    "hookimpl",
    "keep_or",
    "recorded_outcome",
    "release_in",
    "require",
    "simulated_handler",
    "slug",
    "token",
]
