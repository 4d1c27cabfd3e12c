"""Decomposition rules: SSO integration and rack-mount kits only when ordered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.api import DecompositionRule
from om_graph_tpsm.catalog_hardware import APPLIANCE_PRODUCT, RACK_KIT
from om_graph_tpsm.catalog_saas import SAAS_PRODUCT, SSO


def sso_requested(characteristics: Mapping[str, Any]) -> bool:
    return characteristics.get("ssoRequired") is True


def rack_mount_requested(characteristics: Mapping[str, Any]) -> bool:
    return characteristics.get("rackMount") is True


RULES = (
    DecompositionRule(
        key="tpsm.sso-on-request",
        source_spec=SAAS_PRODUCT,
        target_spec=SSO,
        include=sso_requested,
        description="The SSO integration (a manual configuration task) exists only when ssoRequired is true.",
    ),
    DecompositionRule(
        key="tpsm.rack-kit-on-request",
        source_spec=APPLIANCE_PRODUCT,
        target_spec=RACK_KIT,
        include=rack_mount_requested,
        description="A rack-mount kit is picked per appliance only when rackMount is true.",
    ),
)
