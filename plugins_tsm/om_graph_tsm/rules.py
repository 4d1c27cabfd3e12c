"""Decomposition rules (optional resources that only some lines need) and dependency rules
(ordering between tasks of different specifications)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.api import DecompositionRule, TaskDependencyRule
from om_graph_tsm.catalog_fibre import HOME_ROUTER, INTERNET_CFS, ONT, STATIC_IP
from om_graph_tsm.catalog_mobile import MOBILE_CFS, NUMBER_PORT
from om_graph_tsm.catalog_sdwan import EDGE_SECONDARY, SDWAN_CFS


def _flag(name: str):
    """Include when the line's boolean characteristic ``name`` is exactly True (missing = False)."""

    def include(characteristics: Mapping[str, Any]) -> bool:
        return characteristics.get(name) is True

    include.__name__ = f"include_when_{name}"
    return include


static_ip_on_request = DecompositionRule(
    key="tsm.static-ip-on-request",
    source_spec=INTERNET_CFS,
    target_spec=STATIC_IP,
    include=_flag("staticIp"),
    description="A static IPv4 address is only allocated when the customer ordered one (staticIp).",
)

sdwan_ha_secondary_edge = DecompositionRule(
    key="tsm.sdwan-ha-secondary-edge",
    source_spec=SDWAN_CFS,
    target_spec=EDGE_SECONDARY,
    include=_flag("haPair"),
    description="A second edge device is shipped and onboarded only for high-availability sites (haPair).",
)

number_port_on_port_in = DecompositionRule(
    key="tsm.number-port-on-port-in",
    source_spec=MOBILE_CFS,
    target_spec=NUMBER_PORT,
    include=_flag("portIn"),
    description="Number porting runs only when the customer keeps a number from another operator (portIn).",
)

RULES = (static_ip_on_request, sdwan_ha_secondary_edge, number_port_on_port_in)

router_after_ont = TaskDependencyRule(
    key="tsm.router-config-after-ont",
    task_spec=HOME_ROUTER,
    task="tsm.push-router-config",
    on_spec=ONT,
    on="tsm.configure-ont",
    scope="unit",
    description="The router's ACS profile carries the ONT's serial and bandwidth profile: bind it once the ONT is registered.",
)

DEPENDENCY_RULES = (router_after_ont,)
