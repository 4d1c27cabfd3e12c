"""The TPSM pack's hook implementations (entry point ``om_graph: tpsm``); every hook is implemented."""

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
from om_graph_tpsm import PACK, enrichment, events, jeopardy, rules, validators
from om_graph_tpsm.catalog_hardware import hardware_offerings, hardware_specifications
from om_graph_tpsm.catalog_saas import saas_offerings, saas_specifications
from om_graph_tpsm.handlers_common import COMMON_HANDLERS
from om_graph_tpsm.handlers_hardware import HARDWARE_HANDLERS
from om_graph_tpsm.handlers_saas import SAAS_HANDLERS


@hookimpl
def om_register_catalog() -> CatalogContribution:
    return CatalogContribution(
        pack=PACK,
        specifications=saas_specifications + hardware_specifications,
        offerings=saas_offerings + hardware_offerings,
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
    return [*COMMON_HANDLERS, *SAAS_HANDLERS, *HARDWARE_HANDLERS]


@hookimpl
def om_handle_order_event(event: OrderEvent) -> None:
    events.on_order_event(event)
