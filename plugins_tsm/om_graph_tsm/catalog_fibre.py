"""Fibre-to-the-home broadband: product, CFS and the resources that realise it."""

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
from om_graph_tsm.catalog_common import ADD, ADD_MODIFY, BILLING_TASK, DELETE

FIBRE_PRODUCT = "tsm.fibre-broadband"
INTERNET_CFS = "tsm.internet-access-cfs"
ACCESS_LINE = "tsm.access-line"
ONT = "tsm.ont"
HOME_ROUTER = "tsm.home-router"
STATIC_IP = "tsm.static-ip"

BANDWIDTHS = (500, 1000)
"""Downstream Mbit/s of the sold tiers (GPON; symmetrical tiers would need XGS-PON)."""

OFFERING_BANDWIDTH = {"fibre-broadband-500": 500, "fibre-broadband-1000": 1000}

_bandwidth = CharacteristicDef("bandwidth", "integer", required=True, allowed_values=BANDWIDTHS, description="Downstream Mbit/s")
HAS_HOUSE_NUMBER = r"[\s\S]*[0-9][\s\S]*"
"""An address with a house number (and postcode) somewhere in it."""

_address = CharacteristicDef(
    "installationAddress",
    "string",
    required=True,
    max_length=500,
    pattern=HAS_HOUSE_NUMBER,
    description="Premises where the fibre is terminated, with house number and postcode",
)
_static_ip = CharacteristicDef("staticIp", "boolean", default=False, description="A fixed public IPv4 address")

fibre_product = SpecificationDef(
    key=FIBRE_PRODUCT,
    kind="product",
    name="Fibre Broadband",
    description="FTTH internet access with a managed home router.",
    characteristics=(
        _bandwidth,
        _address,
        CharacteristicDef("routerModel", "string", description="CPE model; chosen by enrichment from the bandwidth"),
        _static_ip,
        CharacteristicDef(
            "contractTermMonths",
            "integer",
            allowed_values=(12, 24, 36),
            default=24,
            description="Minimum contract term; the monthly price depends on it (tsm.fibreMonthlyPrice)",
        ),
    ),
    relationships=(SpecRelationshipDef(INTERNET_CFS, "realizedAs"),),
    tasks=(BILLING_TASK,),
)

internet_cfs = SpecificationDef(
    key=INTERNET_CFS,
    kind="service",
    name="Internet Access CFS",
    description="Customer-facing internet service: subscriber session, speed profile, addressing.",
    characteristics=(
        _bandwidth,
        _static_ip,
        CharacteristicDef("pppoeUsername", "string", description="Set by service activation"),
        CharacteristicDef("serviceProfile", "string", description="BNG/RADIUS speed profile"),
    ),
    relationships=(
        SpecRelationshipDef(ACCESS_LINE, "requires"),
        SpecRelationshipDef(ONT, "requires"),
        SpecRelationshipDef(HOME_ROUTER, "requires"),
        SpecRelationshipDef(STATIC_IP, "requires"),  # excluded unless staticIp (rule tsm.static-ip-on-request)
    ),
    tasks=(
        TaskTemplate(
            "tsm.activate-internet-service",
            "Activate subscriber session and speed profile",
            handler="tsm.activate-internet-service",
            actions=ADD_MODIFY,
            ponr="hard",  # the subscriber is live on the network: a change is a new order
        ),
        TaskTemplate(
            "tsm.deactivate-internet-service",
            "Deactivate subscriber session",
            handler="tsm.deactivate-internet-service",
            actions=DELETE,
        ),
        # Post-fulfilment: a suspend bars the subscriber session (the line and ONT stay), a resume
        # lifts the bar (docs/architecture.md, "Changes to what was sold").
        TaskTemplate(
            "tsm.bar-subscriber-session",
            "Bar the subscriber session (walled garden)",
            handler="tsm.bar-subscriber-session",
            actions=("suspend",),
        ),
        TaskTemplate(
            "tsm.unbar-subscriber-session",
            "Lift the subscriber session's bar",
            handler="tsm.unbar-subscriber-session",
            actions=("resume",),
        ),
    ),
)

access_line = SpecificationDef(
    key=ACCESS_LINE,
    kind="resource",
    name="Fibre Access Line",
    description="The drop from the distribution point to the premises, patched to a GPON port on an OLT.",
    characteristics=(
        _address,
        CharacteristicDef("accessLineId", "string", description="Set by allocation"),
        CharacteristicDef("oltPort", "string", description="OLT/shelf/slot/port, set by port reservation"),
    ),
    tasks=(
        TaskTemplate(
            "tsm.allocate-access-line", "Allocate access line at the address", handler="tsm.allocate-access-line", actions=ADD
        ),
        TaskTemplate(
            "tsm.reserve-olt-port",
            "Reserve GPON port on the OLT",
            handler="tsm.reserve-olt-port",
            depends_on=("tsm.allocate-access-line",),
            actions=ADD,
        ),
        TaskTemplate(
            "tsm.onsite-installation",
            "On-site installation: fibre drop, wall outlet, ONT mounting",
            kind="manual",
            depends_on=("tsm.reserve-olt-port",),
            actions=ADD,
            ponr="soft",  # a technician visit is booked: changing the line now costs the call-out
            ponr_charge=Decimal("89.00"),
        ),
        TaskTemplate(
            "tsm.release-access-line", "Release OLT port and access line", handler="tsm.release-access-line", actions=DELETE
        ),
    ),
)

ont = SpecificationDef(
    key=ONT,
    kind="resource",
    name="Optical Network Terminal",
    characteristics=(_bandwidth, CharacteristicDef("ontSerial", "string", description="GPON serial, set by configuration")),
    tasks=(
        TaskTemplate(
            "tsm.configure-ont",
            "Register ONT serial and apply bandwidth profile",
            handler="tsm.configure-ont",
            actions=ADD_MODIFY,
        ),
        TaskTemplate("tsm.deprovision-ont", "Remove ONT registration", handler="tsm.deprovision-ont", actions=DELETE),
    ),
)

home_router = SpecificationDef(
    key=HOME_ROUTER,
    kind="resource",
    name="Home Router (CPE)",
    characteristics=(
        CharacteristicDef("routerModel", "string"),
        CharacteristicDef("routerSerial", "string", description="Set when the ACS profile is bound"),
        CharacteristicDef("shipmentTracking", "string", description="Set when shipped"),
    ),
    tasks=(
        TaskTemplate(
            "tsm.push-router-config",
            "Bind zero-touch configuration profile in the ACS (TR-069)",
            handler="tsm.push-router-config",
            actions=ADD_MODIFY,
        ),
        TaskTemplate(
            "tsm.ship-router",
            "Ship router to the customer",
            handler="tsm.ship-router",
            depends_on=("tsm.push-router-config",),
            actions=ADD,
        ),
        TaskTemplate("tsm.recover-router", "Send returns label for the router", handler="tsm.recover-router", actions=DELETE),
    ),
)

static_ip = SpecificationDef(
    key=STATIC_IP,
    kind="resource",
    name="Static Public IPv4 Address",
    characteristics=(_static_ip, CharacteristicDef("staticIpAddress", "string", description="Set by allocation")),
    tasks=(
        TaskTemplate(
            "tsm.allocate-static-ip",
            "Allocate a public IPv4 address from the static pool",
            handler="tsm.allocate-static-ip",
            actions=ADD_MODIFY,
        ),
        TaskTemplate(
            "tsm.release-static-ip",
            "Return the address to the pool (after quarantine)",
            handler="tsm.release-static-ip",
            actions=DELETE,
        ),
    ),
)

_fibre_entitlements = (EntitlementDef("public-ipv6-prefix", unit="/56 prefix", quantity=1),)

fibre_offerings = (
    OfferingDef(
        key="fibre-broadband-500",
        name="Fibre Broadband 500",
        product_spec=FIBRE_PRODUCT,
        one_time_price=Decimal("49.00"),
        suspension_fee=Decimal("9.95"),
        recurring_price=Decimal("39.95"),
        contract_term_months=24,
        entitlements=_fibre_entitlements,
        description="500 Mbit/s down / 100 Mbit/s up fibre, Wi-Fi 6 router included.",
        characteristics=(CharacteristicConstraint("bandwidth", allowed_values=(500,), default=500),),
        family="fibre-broadband",  # the speed tiers: a modify line naming the other is a tier change
    ),
    OfferingDef(
        key="fibre-broadband-1000",
        name="Fibre Broadband 1000",
        product_spec=FIBRE_PRODUCT,
        one_time_price=Decimal("49.00"),
        suspension_fee=Decimal("9.95"),
        recurring_price=Decimal("54.95"),
        contract_term_months=24,
        entitlements=_fibre_entitlements,
        description="1 Gbit/s down / 200 Mbit/s up fibre, Wi-Fi 6E router included.",
        characteristics=(CharacteristicConstraint("bandwidth", allowed_values=(1000,), default=1000),),
        family="fibre-broadband",  # the speed tiers: a modify line naming the other is a tier change
    ),
)

fibre_specifications = (fibre_product, internet_cfs, access_line, ont, home_router, static_ip)
