"""Managed SD-WAN: one product per site, edge device(s) and 1-3 WAN underlay links per site."""

from __future__ import annotations

from decimal import Decimal

from om_graph.api import (
    CharacteristicConstraint,
    CharacteristicDef,
    DependentConstraint,
    EntitlementDef,
    OfferingDef,
    SpecificationDef,
    SpecRelationshipDef,
    TaskTemplate,
    When,
)
from om_graph_tsm.catalog_common import ADD, ADD_MODIFY, BILLING_TASK, DELETE

SDWAN_PRODUCT = "tsm.sdwan-site"
SDWAN_CFS = "tsm.sdwan-cfs"
EDGE = "tsm.sdwan-edge"
EDGE_SECONDARY = "tsm.sdwan-edge-secondary"
WAN_LINK = "tsm.wan-link"

SDWAN_BANDWIDTHS = (50, 100, 200, 500, 1000)
"""Licensed aggregate throughput per site in Mbit/s."""

MAX_SITES_PER_LINE = {50: 10, 100: 20, 200: 50, 500: 50, 1000: 50}
"""How many sites one order line may roll out per bandwidth tier: the small tiers are sold for
branch bundles whose orchestrator capacity (tunnels per hub) is capped."""

_site_name = CharacteristicDef("siteName", "string", required=True, max_length=200, description="Customer's name for the site")
_bandwidth = CharacteristicDef("bandwidth", "integer", required=True, allowed_values=SDWAN_BANDWIDTHS)
_wan_links = CharacteristicDef(
    "wanLinks", "integer", default=1, min_value=1, max_value=3, description="Underlay links per site (1-3)"
)
_ha_pair = CharacteristicDef("haPair", "boolean", default=False, description="Second edge device in an HA pair")
_edge_model = CharacteristicDef("edgeModel", "string", description="Chosen by enrichment from bandwidth and links")

sdwan_product = SpecificationDef(
    key=SDWAN_PRODUCT,
    kind="product",
    name="SD-WAN Site",
    description="A site connected to the customer's managed SD-WAN overlay.",
    characteristics=(
        _site_name,
        CharacteristicDef("siteAddress", "string", required=True, max_length=500),
        _bandwidth,
        _wan_links,
        _ha_pair,
        CharacteristicDef("siteRole", "string", default="branch", allowed_values=("branch", "hub", "datacenter")),
        _edge_model,
        CharacteristicDef(
            "siteSurveyReference",
            "string",
            max_length=40,
            description="The site survey's report (hub and datacenter sites: a manual enrichment task records it)",
        ),
    ),
    relationships=(SpecRelationshipDef(SDWAN_CFS, "realizedAs"),),
    tasks=(BILLING_TASK,),
    constraints=(
        DependentConstraint(
            when=(When("haPair", (True,)),),
            then=CharacteristicConstraint("wanLinks", min_value=2),
            description="An HA pair needs at least 2 WAN links (one per edge device).",
        ),
        DependentConstraint(
            when=(When("siteRole", ("hub", "datacenter")),),
            then=CharacteristicConstraint("haPair", allowed_values=(True,)),
            description="Hub and data-centre sites are deployed as an HA pair.",
        ),
    ),
)

sdwan_cfs = SpecificationDef(
    key=SDWAN_CFS,
    kind="service",
    name="SD-WAN Site CFS",
    description="The site in the SD-WAN orchestrator: overlay membership, application policies.",
    characteristics=(_site_name, _bandwidth, _ha_pair, CharacteristicDef("overlaySiteId", "string")),
    relationships=(
        SpecRelationshipDef(EDGE, "requires"),
        SpecRelationshipDef(EDGE_SECONDARY, "requires"),  # only for haPair (rule tsm.sdwan-ha-secondary-edge)
        SpecRelationshipDef(WAN_LINK, "requires", min_cardinality=1, max_cardinality=3, count_from="wanLinks"),
    ),
    tasks=(
        TaskTemplate(
            "tsm.provision-sdwan-site",
            "Create site in orchestrator and apply policies",
            handler="tsm.provision-sdwan-site",
            actions=ADD_MODIFY,
        ),
        TaskTemplate("tsm.remove-sdwan-site", "Remove site from the overlay", handler="tsm.remove-sdwan-site", actions=DELETE),
    ),
)


def _edge_spec(key: str, name: str, role: str) -> SpecificationDef:
    return SpecificationDef(
        key=key,
        kind="resource",
        name=name,
        description=f"SD-WAN edge appliance ({role}), onboarded by zero-touch provisioning.",
        characteristics=(_edge_model, CharacteristicDef("edgeSerial", "string"), CharacteristicDef("ztpToken", "string")),
        tasks=(
            TaskTemplate(
                "tsm.onboard-edge-device",
                "Pre-stage edge in the orchestrator (zero-touch activation key)",
                handler="tsm.onboard-edge-device",
                actions=ADD_MODIFY,
            ),
            TaskTemplate(
                "tsm.reserve-edge-device", "Reserve edge appliance from stock", handler="tsm.reserve-edge-device", actions=ADD
            ),
            TaskTemplate(
                "tsm.ship-edge-device",
                "Ship edge appliance to the site",
                handler="tsm.ship-edge-device",
                depends_on=("tsm.reserve-edge-device", "tsm.onboard-edge-device"),
                actions=ADD,
                ponr="soft",  # the appliance is on its way: a change pays the return shipment
                ponr_charge=Decimal("45.00"),
            ),
            TaskTemplate(
                "tsm.decommission-edge-device",
                "Deactivate edge and send returns label",
                handler="tsm.decommission-edge-device",
                actions=DELETE,
            ),
        ),
    )


edge = _edge_spec(EDGE, "SD-WAN Edge Device", "primary")
edge_secondary = _edge_spec(EDGE_SECONDARY, "SD-WAN Edge Device (HA secondary)", "secondary")

wan_link = SpecificationDef(
    key=WAN_LINK,
    kind="resource",
    name="WAN Underlay Link",
    description="An internet, MPLS or LTE underlay circuit terminating on the site's edge.",
    characteristics=(CharacteristicDef("wanLinkId", "string"), CharacteristicDef("transitSubnet", "string")),
    tasks=(
        TaskTemplate(
            "tsm.order-underlay-circuit", "Order underlay circuit from the access provider (off-net)", kind="manual", actions=ADD
        ),
        TaskTemplate(
            "tsm.configure-wan-link",
            "Assign link ID and transit subnet, configure edge interface",
            handler="tsm.configure-wan-link",
            depends_on=("tsm.order-underlay-circuit",),
            actions=ADD,
        ),
        TaskTemplate(
            "tsm.release-wan-link",
            "Release transit subnet and cease underlay circuit",
            handler="tsm.release-wan-link",
            actions=DELETE,
        ),
    ),
)

sdwan_offerings = (
    OfferingDef(
        key="sdwan-site",
        name="Managed SD-WAN Site",
        product_spec=SDWAN_PRODUCT,
        one_time_price=Decimal("350.00"),
        recurring_price=Decimal("189.00"),
        min_quantity=1,
        max_quantity=50,
        contract_term_months=36,
        entitlements=(
            EntitlementDef("noc-monitoring", unit="site", quantity=1),
            EntitlementDef("wan-link", unit="link", quantity_from="wanLinks"),
        ),
        description="Edge appliance, orchestrator licence and 24x7 NOC per site; 1-3 underlay links.",
    ),
)

sdwan_specifications = (sdwan_product, sdwan_cfs, edge, edge_secondary, wan_link)
