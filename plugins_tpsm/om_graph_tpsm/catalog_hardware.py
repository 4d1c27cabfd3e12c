"""Edge appliances shipped to customer sites, with an optional rack-mount kit."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    CharacteristicDef,
    EntitlementDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskTemplate,
)
from om_graph_tpsm.catalog_saas import BILLING_TASK

APPLIANCE_PRODUCT = "tpsm.edge-appliance"
APPLIANCE = "tpsm.appliance"
RACK_KIT = "tpsm.rack-mount-kit"

WAREHOUSE_BY_COUNTRY = {
    **dict.fromkeys(("NL", "BE", "LU", "DE", "FR", "IE", "ES", "IT", "AT", "DK", "SE", "PL"), "AMS-DC1"),
    "GB": "LHR-DC1",
    **dict.fromkeys(("US", "CA"), "DFW-DC1"),
    **dict.fromkeys(("SG", "AU", "JP"), "SIN-DC1"),
}
"""ISO 3166-1 alpha-2 countries we ship to, and the warehouse serving each."""
SHIPPING_COUNTRIES = frozenset(WAREHOUSE_BY_COUNTRY)
FREIGHT_THRESHOLD = 5
"""More appliances than this travel on a pallet: the carrier books a delivery slot by phone."""

MODEL_BY_OFFERING = {"edge-appliance": "EA-2400", "edge-appliance-rugged": "EA-2400R"}

appliance_product = SpecificationDef(
    key=APPLIANCE_PRODUCT,
    kind="product",
    name="Edge Appliance",
    description="An on-premises analytics edge appliance, shipped and accepted at the customer's site.",
    characteristics=(
        CharacteristicDef(
            "shippingAddress",
            "string",
            required=True,
            max_length=500,
            pattern=r"[\s\S]*[0-9][\s\S]*",
            description="Street, number and postcode",
        ),
        CharacteristicDef(
            "country",
            "string",
            required=True,
            allowed_values=tuple(sorted(SHIPPING_COUNTRIES)),
            description="ISO 3166-1 alpha-2 code of a country we ship to",
        ),
        CharacteristicDef("siteContactName", "string", required=True, max_length=200),
        CharacteristicDef("siteContactPhone", "string", max_length=32),
        CharacteristicDef("rackMount", "boolean", default=False, description="19-inch rack-mount kit"),
        CharacteristicDef("applianceModel", "string", description="Set by enrichment from the offering"),
        CharacteristicDef("warehouse", "string", description="Set by enrichment from the country"),
    ),
    relationships=(
        SpecRelationshipDef(APPLIANCE, "realizedAs"),
        SpecRelationshipDef(RACK_KIT, "requires"),  # only with rackMount (rule tpsm.rack-kit-on-request)
    ),
    tasks=(BILLING_TASK,),
)

appliance = SpecificationDef(
    key=APPLIANCE,
    kind="resource",
    name="Appliance Unit",
    characteristics=(
        CharacteristicDef("applianceModel", "string"),
        CharacteristicDef("warehouse", "string"),
        CharacteristicDef("applianceSerial", "string"),
    ),
    tasks=(
        TaskTemplate(
            "tpsm.reserve-stock", "Reserve a unit in the serving warehouse", handler="tpsm.reserve-stock", actions=("add",)
        ),
        TaskTemplate(
            "tpsm.ship-to-site",
            "Pick, pack and ship the unit to the site",
            kind="manual",
            depends_on=("tpsm.reserve-stock",),
            actions=("add",),
            ponr="soft",  # picked and shipped: a change pays return freight and restocking
            ponr_charge=Decimal("150.00"),
        ),
        TaskTemplate(
            "tpsm.site-acceptance",
            "Site acceptance: customer confirms delivery and power-on test",
            kind="manual",
            depends_on=("tpsm.ship-to-site",),
            actions=("add",),
        ),
        TaskTemplate(
            "tpsm.register-warranty",
            "Register serial for warranty and support",
            handler="tpsm.register-warranty",
            depends_on=("tpsm.site-acceptance",),
            actions=("add",),
        ),
        TaskTemplate(
            "tpsm.update-asset-record",
            "Update site contact and address on the asset",
            handler="tpsm.update-asset-record",
            actions=("modify",),
        ),
        TaskTemplate(
            "tpsm.issue-rma", "Issue return authorisation and collection", handler="tpsm.issue-rma", actions=("delete",)
        ),
        TaskTemplate(
            "tpsm.receive-return",
            "Receive and inspect the returned unit",
            kind="manual",
            depends_on=("tpsm.issue-rma",),
            actions=("delete",),
        ),
    ),
)

rack_kit = SpecificationDef(
    key=RACK_KIT,
    kind="resource",
    name="Rack-Mount Kit",
    tasks=(
        TaskTemplate(
            "tpsm.pick-rack-kit", "Pick rails and brackets into the consignment", handler="tpsm.pick-rack-kit", actions=("add",)
        ),
    ),
)

_hardware_entitlements = (
    EntitlementDef("hardware-warranty", unit="year", quantity=3),
    EntitlementDef("next-business-day-replacement", unit="plan", quantity=1),
)

hardware_offerings = (
    OfferingDef(
        key="edge-appliance",
        name="Edge Appliance EA-2400",
        product_spec=APPLIANCE_PRODUCT,
        one_time_price=Decimal("1890.00"),
        recurring_price=Decimal("45.00"),
        min_quantity=1,
        max_quantity=20,
        contract_term_months=36,
        entitlements=_hardware_entitlements,
        description="1U edge appliance, 8 cores, 64 GB RAM, 4 TB NVMe; support and NBD replacement.",
    ),
    OfferingDef(
        key="edge-appliance-rugged",
        name="Edge Appliance EA-2400R (rugged)",
        product_spec=APPLIANCE_PRODUCT,
        one_time_price=Decimal("2650.00"),
        recurring_price=Decimal("55.00"),
        min_quantity=1,
        max_quantity=20,
        contract_term_months=36,
        entitlements=_hardware_entitlements,
        description="Fanless IP67 variant for factory floors and outdoor cabinets.",
    ),
)

hardware_specifications = (appliance_product, appliance, rack_kit)
