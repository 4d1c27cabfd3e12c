"""The TSM pack as one plugin object (entry point ``om_graph: tsm = "om_graph_tsm.plugin:pack"``).

The content lives in the modules named below; this file is the pack's table of contents.
"""

from __future__ import annotations

from om_graph.api import Pack
from om_graph_tsm import PACK, enrichment, events, jeopardy, pricing, rules, validators
from om_graph_tsm.catalog_fibre import fibre_offerings, fibre_specifications
from om_graph_tsm.catalog_mobile import mobile_offerings, mobile_specifications
from om_graph_tsm.catalog_sdwan import sdwan_offerings, sdwan_specifications
from om_graph_tsm.handlers_common import COMMON_HANDLERS
from om_graph_tsm.handlers_fibre import FIBRE_HANDLERS
from om_graph_tsm.handlers_mobile import MOBILE_HANDLERS
from om_graph_tsm.handlers_sdwan import SDWAN_HANDLERS

pack = Pack(
    name=PACK,
    specifications=fibre_specifications + sdwan_specifications + mobile_specifications,
    offerings=fibre_offerings + sdwan_offerings + mobile_offerings,
    task_handlers=(*COMMON_HANDLERS, *FIBRE_HANDLERS, *SDWAN_HANDLERS, *MOBILE_HANDLERS),
    decomposition_rules=rules.RULES,
    dependency_rules=rules.DEPENDENCY_RULES,
    enrichment_steps=enrichment.ENRICHMENT_STEPS,
    business_validators=validators.VALIDATORS,
    jeopardy_policies=jeopardy.POLICIES,
    on_order_event=events.on_order_event,
    decision_tables=(*pricing.DECISION_TABLES, *enrichment.DECISION_TABLES),
    price_lists=pricing.PRICE_LISTS,
    adjustment_tables=pricing.ADJUSTMENT_TABLES,
)
