"""Enrichment: tenant domain from the company name, appliance model and warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.api import EnrichmentStep, LineView
from om_graph_tpsm.catalog_hardware import (
    APPLIANCE_PRODUCT,
    MODEL_BY_OFFERING,
    WAREHOUSE_BY_COUNTRY,
)
from om_graph_tpsm.catalog_saas import REGIONS, SAAS_PRODUCT, TENANT_DOMAIN_SUFFIX
from om_graph_tpsm.southbound import slug

_LEGAL_FORMS = ("inc", "ltd", "llc", "gmbh", "bv", "b-v", "nv", "n-v", "sa", "ag", "plc", "corp", "co")


def tenant_label(company_name: str, region: str) -> str:
    """'ACME Widgets B.V.' in eu -> 'acme-widgets-eu' (a trailing legal form is dropped)."""
    base = slug(company_name, 63)
    for form in _LEGAL_FORMS:
        if base.endswith("-" + form):
            base = base[: -len(form) - 1]
            break
    base = base[: 63 - len(region) - 1].strip("-")
    return f"{base}-{region}" if base else ""


def enrich_tenant_domain(line: LineView) -> Mapping[str, Any]:
    company = line.characteristics.get("companyName")
    region = line.characteristics.get("region") or "eu"
    if not isinstance(company, str) or region not in REGIONS:
        return {}
    label = tenant_label(company, region)
    return {"tenantDomain": f"{label}.{TENANT_DOMAIN_SUFFIX}"} if label else {}


def enrich_appliance(line: LineView) -> Mapping[str, Any]:
    values: dict[str, Any] = {}
    model = MODEL_BY_OFFERING.get(line.offering_key)
    if model:
        values["applianceModel"] = model
    country = line.characteristics.get("country")
    if isinstance(country, str) and country.upper() in WAREHOUSE_BY_COUNTRY:
        values["warehouse"] = WAREHOUSE_BY_COUNTRY[country.upper()]
    return values


ENRICHMENT_STEPS = (
    EnrichmentStep(
        key="tpsm.tenant-domain",
        enrich=enrich_tenant_domain,
        order=100,
        spec_keys=(SAAS_PRODUCT,),
        description="Derives tenantDomain: <company slug>-<region>." + TENANT_DOMAIN_SUFFIX,
    ),
    EnrichmentStep(
        key="tpsm.appliance-fulfilment",
        enrich=enrich_appliance,
        order=100,
        spec_keys=(APPLIANCE_PRODUCT,),
        description="Sets the appliance model from the offering and the serving warehouse from the country.",
    ),
)
