"""The TSM catalog contribution, assembled from the product-line modules."""

from __future__ import annotations

from om_graph.core.catalog_defs import CatalogContribution
from om_graph_tsm import PACK
from om_graph_tsm.catalog_fibre import fibre_offerings, fibre_specifications
from om_graph_tsm.catalog_mobile import mobile_offerings, mobile_specifications
from om_graph_tsm.catalog_sdwan import sdwan_offerings, sdwan_specifications


def build_catalog() -> CatalogContribution:
    return CatalogContribution(
        pack=PACK,
        specifications=fibre_specifications + sdwan_specifications + mobile_specifications,
        offerings=fibre_offerings + sdwan_offerings + mobile_offerings,
    )
