"""The TPSM pack as one plugin object (entry point ``om_graph: tpsm = "om_graph_tpsm.plugin:pack"``)."""

from __future__ import annotations

from om_graph.api import Pack
from om_graph_tpsm import PACK, enrichment, events, jeopardy, pricing, rules, validators
from om_graph_tpsm.catalog_hardware import hardware_offerings, hardware_specifications
from om_graph_tpsm.catalog_saas import saas_offerings, saas_specifications
from om_graph_tpsm.handlers_common import COMMON_HANDLERS
from om_graph_tpsm.handlers_hardware import HARDWARE_HANDLERS
from om_graph_tpsm.handlers_saas import SAAS_HANDLERS

pack = Pack(
    name=PACK,
    specifications=saas_specifications + hardware_specifications,
    offerings=saas_offerings + hardware_offerings,
    task_handlers=(*COMMON_HANDLERS, *SAAS_HANDLERS, *HARDWARE_HANDLERS),
    decomposition_rules=rules.RULES,
    enrichment_steps=enrichment.ENRICHMENT_STEPS,
    business_validators=validators.VALIDATORS,
    jeopardy_policies=jeopardy.POLICIES,
    on_order_event=events.on_order_event,
    decision_tables=pricing.DECISION_TABLES,
    price_lists=pricing.PRICE_LISTS,
    adjustment_tables=pricing.ADJUSTMENT_TABLES,
)
