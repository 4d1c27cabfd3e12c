"""Business validation of TPSM lines at submission."""

from __future__ import annotations

import re

from om_graph.api import BusinessValidator, LineIssue, LineView
from om_graph_tpsm.catalog_hardware import (
    APPLIANCE_PRODUCT,
    FREIGHT_THRESHOLD,
    SHIPPING_COUNTRIES,
)
from om_graph_tpsm.catalog_saas import EDITION_SEATS, SAAS_PRODUCT, SSO_EDITIONS
from om_graph_tpsm.southbound import slug


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_saas(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    chars = line.characteristics
    issues = []
    seats = chars.get("seats")
    low, high = EDITION_SEATS.get(line.offering_key, (1, 10000))
    if isinstance(seats, int) and not low <= seats <= high:
        issues.append(
            LineIssue("characteristics.seats", f"{line.offering_key} is sold for {low} to {high} seats", "SEATS_OUT_OF_EDITION")
        )
    if chars.get("ssoRequired") is True and line.offering_key not in SSO_EDITIONS:
        issues.append(
            LineIssue("characteristics.ssoRequired", "single sign-on needs the Pro or Enterprise edition", "SSO_NOT_IN_EDITION")
        )
    company = chars.get("companyName")
    if isinstance(company, str) and company.strip() and not slug(company):
        issues.append(
            LineIssue(
                "characteristics.companyName",
                "needs at least one latin letter or digit to derive the tenant domain",
                "COMPANY_NAME_UNUSABLE",
            )
        )
    if line.quantity != 1:
        issues.append(LineIssue("quantity", "one subscription (tenant) per line; use seats for users", "ONE_TENANT_PER_LINE"))
    return issues


def validate_shipping(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    chars = line.characteristics
    issues = []
    address = chars.get("shippingAddress")
    if _blank(address):
        issues.append(LineIssue("characteristics.shippingAddress", "is required to ship the appliance", "ADDRESS_REQUIRED"))
    elif not re.search(r"\d", address):
        issues.append(LineIssue("characteristics.shippingAddress", "needs a street number and postcode", "ADDRESS_INCOMPLETE"))
    country = chars.get("country")
    if _blank(country):
        issues.append(LineIssue("characteristics.country", "is required to ship the appliance", "COUNTRY_REQUIRED"))
    elif country.strip().upper() not in SHIPPING_COUNTRIES:
        issues.append(
            LineIssue(
                "characteristics.country",
                f"we do not ship to {country!r} (allowed: {', '.join(sorted(SHIPPING_COUNTRIES))})",
                "COUNTRY_NOT_SHIPPABLE",
            )
        )
    if line.quantity > FREIGHT_THRESHOLD and _blank(chars.get("siteContactPhone")):
        issues.append(
            LineIssue(
                "characteristics.siteContactPhone",
                f"pallet deliveries (more than {FREIGHT_THRESHOLD} units) need a site contact phone for the delivery slot",
                "CONTACT_PHONE_REQUIRED",
            )
        )
    return issues


VALIDATORS = (
    BusinessValidator(
        "tpsm.saas-edition-limits",
        validate_saas,
        spec_keys=(SAAS_PRODUCT,),
        description="Seats within the edition's range; SSO only on Pro/Enterprise; one tenant per line.",
    ),
    BusinessValidator(
        "tpsm.appliance-shipping",
        validate_shipping,
        spec_keys=(APPLIANCE_PRODUCT,),
        description="Shipping address and a country we ship to; phone for pallet deliveries.",
    ),
)
