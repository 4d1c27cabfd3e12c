"""The base paths of the TMF APIs the facade serves, and hrefs across them (a product's
``productOffering`` points into TMF620, its ``productOrderItem`` into TMF622)."""

from __future__ import annotations

from urllib.parse import quote

from om_graph.tmf.http import Call

PRODUCT_ORDERING = "/tmf-api/productOrderingManagement/v4"  # TMF622
PRODUCT_INVENTORY = "/tmf-api/productInventory/v4"  # TMF637
PRODUCT_CATALOG = "/tmf-api/productCatalogManagement/v4"  # TMF620


def api_href(call: Call, base: str, resource: str, resource_id: object = None) -> str:
    """``{server}{base}/{resource}[/{id}]``; the id quoted as a path segment (``:`` kept)."""
    root = f"{str(call.request.base_url).rstrip('/')}{base}/{resource}"
    return root if resource_id is None else f"{root}/{quote(str(resource_id), safe=':')}"
