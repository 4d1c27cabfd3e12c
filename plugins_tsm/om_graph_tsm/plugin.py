"""The TSM pack's hook implementations (entry point ``om_graph: tsm``).

Every hook in :mod:`om_graph.plugins.hookspecs` is implemented; the content lives in the modules
named below so this file stays a table of contents.
"""

from __future__ import annotations

from om_graph.core.catalog.definitions import CatalogContribution
from om_graph.core.catalog.extensions import (
    BusinessValidator,
    DecompositionRule,
    EnrichmentStep,
    JeopardyPolicy,
    TaskHandler,
)
from om_graph.core.kernel.events import OrderEvent
from om_graph.plugins import hookimpl
from om_graph_tsm import PACK, enrichment, events, jeopardy, rules, validators
from om_graph_tsm.catalog_fibre import fibre_offerings, fibre_specifications
from om_graph_tsm.catalog_mobile import mobile_offerings, mobile_specifications
from om_graph_tsm.catalog_sdwan import sdwan_offerings, sdwan_specifications
from om_graph_tsm.handlers_common import COMMON_HANDLERS
from om_graph_tsm.handlers_fibre import FIBRE_HANDLERS
from om_graph_tsm.handlers_mobile import MOBILE_HANDLERS
from om_graph_tsm.handlers_sdwan import SDWAN_HANDLERS


@hookimpl
def om_register_catalog() -> CatalogContribution:
    return CatalogContribution(
        pack=PACK,
        specifications=fibre_specifications + sdwan_specifications + mobile_specifications,
        offerings=fibre_offerings + sdwan_offerings + mobile_offerings,
    )


@hookimpl
def om_register_decomposition_rules() -> list[DecompositionRule]:
    return list(rules.RULES)


@hookimpl
def om_register_enrichment_steps() -> list[EnrichmentStep]:
    return list(enrichment.ENRICHMENT_STEPS)


@hookimpl
def om_register_business_validators() -> list[BusinessValidator]:
    return list(validators.VALIDATORS)


@hookimpl
def om_register_jeopardy_policies() -> list[JeopardyPolicy]:
    return list(jeopardy.POLICIES)


@hookimpl
def om_register_task_handlers() -> list[TaskHandler]:
    return [*COMMON_HANDLERS, *FIBRE_HANDLERS, *SDWAN_HANDLERS, *MOBILE_HANDLERS]


@hookimpl
def om_handle_order_event(event: OrderEvent) -> None:
    events.on_order_event(event)
