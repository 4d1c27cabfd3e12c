"""Enrichment: characteristics the customer does not choose, derived before decomposition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.api import (
    ENRICHMENT_INPUTS,
    ENRICHMENT_OUTPUTS,
    Condition,
    DecisionTableDef,
    EnrichmentStep,
    InputColumn,
    LineView,
    Rule,
)
from om_graph_tsm.catalog_fibre import FIBRE_PRODUCT
from om_graph_tsm.catalog_mobile import MOBILE_PRODUCT, NETWORK_PROFILES
from om_graph_tsm.catalog_sdwan import SDWAN_PRODUCT

ROUTER_BY_BANDWIDTH = {500: "FRITZ!Box 5530 Fiber", 1000: "FRITZ!Box 5590 Fiber"}
BUSINESS_ROUTER = "FRITZ!Box 5690 Pro"
"""Static-IP customers get the business model (DMZ, port forwarding on a fixed address)."""


def router_model_for(bandwidth: int | None, static_ip: bool) -> str | None:
    if bandwidth not in ROUTER_BY_BANDWIDTH:
        return None
    return BUSINESS_ROUTER if static_ip else ROUTER_BY_BANDWIDTH[bandwidth]


def enrich_router_model(line: LineView) -> Mapping[str, Any]:
    model = router_model_for(line.characteristics.get("bandwidth"), bool(line.characteristics.get("staticIp")))
    return {"routerModel": model} if model else {}


def edge_model_for(bandwidth: int | None, wan_links: int) -> str | None:
    """Sized on throughput, with the 3-link sites needing the model with enough WAN ports."""
    if bandwidth is None:
        return None
    if bandwidth <= 100:
        model = "SD-WAN Edge 610"
    elif bandwidth <= 200:
        model = "SD-WAN Edge 620"
    elif bandwidth <= 500:
        model = "SD-WAN Edge 640"
    else:
        model = "SD-WAN Edge 680"
    if wan_links >= 3 and model == "SD-WAN Edge 610":
        model = "SD-WAN Edge 620"
    return model


def enrich_edge_model(line: LineView) -> Mapping[str, Any]:
    model = edge_model_for(line.characteristics.get("bandwidth"), int(line.characteristics.get("wanLinks") or 1))
    return {"edgeModel": model} if model else {}


def enrich_network_profile(line: LineView) -> Mapping[str, Any]:
    profile = NETWORK_PROFILES.get(line.offering_key)
    return {"networkProfile": profile} if profile else {}


ENRICHMENT_STEPS = (
    EnrichmentStep(
        key="tsm.router-model",
        enrich=enrich_router_model,
        order=100,
        spec_keys=(FIBRE_PRODUCT,),
        description="Chooses the fibre router model from the bandwidth tier and the static-IP option.",
    ),
    EnrichmentStep(
        key="tsm.sdwan-edge-model",
        enrich=enrich_edge_model,
        order=100,
        spec_keys=(SDWAN_PRODUCT,),
        description="Sizes the SD-WAN edge appliance from throughput and WAN link count.",
    ),
    EnrichmentStep(
        key="tsm.mobile-network-profile",
        enrich=enrich_network_profile,
        order=100,
        spec_keys=(MOBILE_PRODUCT,),
        description="Sets the HLR/HSS subscriber profile of the chosen plan.",
    ),
)

# Manual enrichment (the core's enrichment policy evaluates every "<namespace>.enrichment.policy"
# table beside its own): a hub or datacenter SD-WAN site gets a site survey before it is
# designed; a fulfilment agent records the survey's report on the line.
ENRICHMENT_POLICY = DecisionTableDef(
    "tsm.enrichment.policy",
    (*ENRICHMENT_INPUTS, InputColumn("siteRole", "string", "the SD-WAN site's role (a line characteristic)")),
    ENRICHMENT_OUTPUTS,
    rules=(
        Rule(
            when={
                "specification": Condition.equals(SDWAN_PRODUCT),
                "action": Condition.equals("add"),
                "siteRole": Condition.one_of("hub", "datacenter"),
            },
            then={"task": "siteSurvey", "name": "Site survey", "characteristics": "siteSurveyReference"},
            description="hub and datacenter sites are surveyed (rack space, power, cross-connects) before design",
        ),
    ),
    hit_policy="collect",
    description="TSM's manual enrichment tasks.",
)
DECISION_TABLES = (ENRICHMENT_POLICY,)
