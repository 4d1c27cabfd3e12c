"""Business validation of TPSM lines at submission: only what the catalog's characteristic
constraints cannot say.

An edition's seat range and single sign-on, the shipping address's number, and the countries we
ship to are constraints in the catalog (checked at capture, shown by ``productOfferings``); one
tenant per line is the offerings' ``maxQuantity``. What is left: a company name from which no
tenant domain can be derived (the pack's own slug rule), and the site contact phone that pallet
deliveries need (it depends on the quantity).
"""

from __future__ import annotations

from om_graph.api import BusinessValidator, LineIssue, LineView
from om_graph_tpsm.catalog_hardware import APPLIANCE_PRODUCT, FREIGHT_THRESHOLD
from om_graph_tpsm.catalog_saas import SAAS_PRODUCT
from om_graph_tpsm.southbound import slug


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_saas(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    company = line.characteristics.get("companyName")
    if isinstance(company, str) and company.strip() and not slug(company):
        return [
            LineIssue(
                "characteristics.companyName",
                "needs at least one latin letter or digit to derive the tenant domain",
                "COMPANY_NAME_UNUSABLE",
            )
        ]
    return []


def validate_shipping(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    if line.quantity > FREIGHT_THRESHOLD and _blank(line.characteristics.get("siteContactPhone")):
        return [
            LineIssue(
                "characteristics.siteContactPhone",
                f"pallet deliveries (more than {FREIGHT_THRESHOLD} units) need a site contact phone for the delivery slot",
                "CONTACT_PHONE_REQUIRED",
            )
        ]
    return []


VALIDATORS = (
    BusinessValidator(
        "tpsm.saas-edition-limits",
        validate_saas,
        spec_keys=(SAAS_PRODUCT,),
        description="A company name a tenant domain can be derived from.",
    ),
    BusinessValidator(
        "tpsm.appliance-shipping",
        validate_shipping,
        spec_keys=(APPLIANCE_PRODUCT,),
        description="A site contact phone for pallet deliveries.",
    ),
)
