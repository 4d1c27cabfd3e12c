"""SaaS analytics subscriptions: one tenant per subscription, seats licensed, optional SSO."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    CharacteristicConstraint,
    CharacteristicDef,
    EntitlementDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskTemplate,
)

SAAS_PRODUCT = "tpsm.saas-subscription"
TENANT = "tpsm.tenant"
SSO = "tpsm.sso-integration"

REGIONS = ("eu", "us", "apac")
TENANT_DOMAIN_SUFFIX = "analytics.tpsm.example"

EDITION_SEATS = {
    "saas-analytics-starter": (1, 25),
    "saas-analytics-pro": (5, 1000),
    "saas-analytics-enterprise": (100, 10000),
}
"""Seat range per edition (the characteristic itself allows 1..10000)."""
SSO_EDITIONS = frozenset({"saas-analytics-pro", "saas-analytics-enterprise"})

BILLING_TASK = TaskTemplate("tpsm.billing-sync", "Synchronise subscription billing", handler="tpsm.billing-sync")

_company = CharacteristicDef("companyName", "string", required=True, max_length=200, description="Legal name of the customer")
_seats = CharacteristicDef("seats", "integer", required=True, min_value=1, max_value=10000, description="Named users")
_region = CharacteristicDef("region", "string", default="eu", allowed_values=REGIONS, description="Data residency")
_domain = CharacteristicDef("tenantDomain", "string", description="Derived by enrichment: <company-slug>-<region>")
_sso = CharacteristicDef("ssoRequired", "boolean", default=False, description="SAML/OIDC single sign-on")

saas_product = SpecificationDef(
    key=SAAS_PRODUCT,
    kind="product",
    name="Analytics SaaS Subscription",
    characteristics=(
        _company,
        _seats,
        _region,
        _domain,
        _sso,
        CharacteristicDef("adminEmail", "string", max_length=254, description="First administrator to invite"),
    ),
    relationships=(
        SpecRelationshipDef(TENANT, "realizedAs"),
        SpecRelationshipDef(SSO, "requires"),  # only with ssoRequired (rule tpsm.sso-on-request)
    ),
    tasks=(
        BILLING_TASK,
        TaskTemplate(
            "tpsm.send-welcome",
            "Invite the first administrator",
            handler="tpsm.send-welcome",
            depends_on=("tpsm.billing-sync",),
            actions=("add",),
        ),
    ),
)

tenant = SpecificationDef(
    key=TENANT,
    kind="service",
    name="Analytics Tenant",
    description="An isolated tenant on the regional analytics platform.",
    characteristics=(_company, _seats, _region, _domain, CharacteristicDef("tenantId", "string")),
    tasks=(
        TaskTemplate(
            "tpsm.create-tenant",
            "Create (or locate) the tenant in the regional platform",
            handler="tpsm.create-tenant",
            actions=("add", "modify"),
            ponr="hard",  # the tenant exists in its region: data residency and domain are fixed
        ),
        TaskTemplate(
            "tpsm.provision-licences",
            "Provision the seat licences",
            handler="tpsm.provision-licences",
            depends_on=("tpsm.create-tenant",),
            actions=("add", "modify"),
        ),
        TaskTemplate("tpsm.revoke-licences", "Revoke all seat licences", handler="tpsm.revoke-licences", actions=("delete",)),
        TaskTemplate(
            "tpsm.archive-tenant",
            "Archive the tenant (30-day retention before deletion)",
            handler="tpsm.archive-tenant",
            depends_on=("tpsm.revoke-licences",),
            actions=("delete",),
        ),
        # Post-fulfilment: a suspend locks the tenant (sign-in refused, data kept), a resume unlocks it.
        TaskTemplate(
            "tpsm.lock-tenant", "Lock the tenant (sign-in refused, data kept)", handler="tpsm.lock-tenant", actions=("suspend",)
        ),
        TaskTemplate("tpsm.unlock-tenant", "Unlock the tenant", handler="tpsm.unlock-tenant", actions=("resume",)),
    ),
)

sso = SpecificationDef(
    key=SSO,
    kind="service",
    name="Single Sign-On Integration",
    description="SAML 2.0 / OIDC federation with the customer's identity provider.",
    characteristics=(_sso, _domain),
    tasks=(
        TaskTemplate(
            "tpsm.configure-sso",
            "Exchange IdP metadata with the customer and test sign-in",
            kind="manual",
            actions=("add", "modify"),
        ),
        TaskTemplate(
            "tpsm.remove-sso-connection", "Remove the IdP connection", handler="tpsm.remove-sso-connection", actions=("delete",)
        ),
    ),
)


def _constraints(key: str) -> tuple[CharacteristicConstraint, ...]:
    """The edition's seat range; single sign-on only where the edition has it."""
    low, high = EDITION_SEATS[key]
    seats = CharacteristicConstraint("seats", min_value=low, max_value=high, description=f"Named users ({low}-{high})")
    if key in SSO_EDITIONS:
        return (seats,)
    return (seats, CharacteristicConstraint("ssoRequired", allowed_values=(False,), description="Pro and Enterprise only"))


def _offering(key: str, name: str, monthly: str, setup: str, extra: tuple[EntitlementDef, ...], text: str) -> OfferingDef:
    return OfferingDef(
        key=key,
        name=name,
        product_spec=SAAS_PRODUCT,
        one_time_price=Decimal(setup),
        recurring_price=Decimal(monthly),
        contract_term_months=12,
        entitlements=(EntitlementDef("licence-seats", unit="seat", quantity_from="seats"), *extra),
        description=text,
        characteristics=_constraints(key),
        family="saas-analytics",  # the editions: a modify line naming another is a tier change
    )


saas_offerings = (
    _offering(
        "saas-analytics-starter",
        "Analytics Starter",
        "99.00",
        "0.00",
        (EntitlementDef("support-standard", unit="plan", quantity=1), EntitlementDef("storage", unit="GB", quantity=50)),
        "Dashboards for small teams, up to 25 seats, business-hours support.",
    ),
    _offering(
        "saas-analytics-pro",
        "Analytics Pro",
        "499.00",
        "250.00",
        (EntitlementDef("support-priority", unit="plan", quantity=1), EntitlementDef("storage", unit="GB", quantity=500)),
        "5-1000 seats, SSO, priority support.",
    ),
    _offering(
        "saas-analytics-enterprise",
        "Analytics Enterprise",
        "2490.00",
        "1500.00",
        (
            EntitlementDef("support-premium", unit="plan", quantity=1),
            EntitlementDef("customer-success-hours", unit="hour", quantity=40),
            EntitlementDef("storage", unit="GB", quantity=5000),
        ),
        "100-10000 seats, SSO, 24x7 premium support, named customer success manager.",
    ),
)

saas_specifications = (saas_product, tenant, sso)
