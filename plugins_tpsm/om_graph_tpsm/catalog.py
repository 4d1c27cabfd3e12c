"""The TPSM catalog contribution."""

from __future__ import annotations

from om_graph.core.catalog_defs import CatalogContribution
from om_graph_tpsm import PACK
from om_graph_tpsm.catalog_hardware import hardware_offerings, hardware_specifications
from om_graph_tpsm.catalog_saas import saas_offerings, saas_specifications


def build_catalog() -> CatalogContribution:
    return CatalogContribution(
        pack=PACK,
        specifications=saas_specifications + hardware_specifications,
        offerings=saas_offerings + hardware_offerings,
    )
