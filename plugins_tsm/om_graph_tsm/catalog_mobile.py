"""Mobile postpaid plans: subscription, SIM (physical or eSIM), MSISDN and optional port-in."""

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

MOBILE_PRODUCT = "tsm.mobile-plan"
MOBILE_CFS = "tsm.mobile-service-cfs"
SIM_CARD = "tsm.sim-card"
MSISDN = "tsm.msisdn"
NUMBER_PORT = "tsm.number-port"

NETWORK_PROFILES = {
    "mobile-plan-unlimited": "5G-UNLIMITED",
    "mobile-plan-20gb": "5G-20GB",
    "mobile-plan-data-only-50gb": "5G-DATA-50GB",
}
"""HLR/HSS subscriber profile per offering (enrichment sets ``networkProfile``)."""

_port_in = CharacteristicDef("portIn", "boolean", default=False, description="Keep the number from another operator")
PHONE_NUMBER = r"\+?[0-9][0-9 \-]{6,18}"
"""A phone number as people type it: an optional +, digits, spaces and dashes."""

_port_in_number = CharacteristicDef(
    "portInNumber", "string", max_length=16, pattern=PHONE_NUMBER, description="Number to port, E.164"
)
_donor = CharacteristicDef("donorOperator", "string", description="Operator the number is ported from")
_sim_type = CharacteristicDef("simType", "string", default="physical", allowed_values=("physical", "esim"))
_profile = CharacteristicDef("networkProfile", "string", description="Subscriber profile; set by enrichment")

mobile_product = SpecificationDef(
    key=MOBILE_PRODUCT,
    kind="product",
    name="Mobile Plan",
    description="Postpaid mobile subscription with SIM or eSIM.",
    characteristics=(
        _port_in,
        _port_in_number,
        _donor,
        _sim_type,
        CharacteristicDef("roaming", "boolean", default=True, description="EU roam-like-at-home"),
        _profile,
    ),
    relationships=(SpecRelationshipDef(MOBILE_CFS, "realizedAs"),),
    tasks=(BILLING_TASK,),
    constraints=(
        DependentConstraint(
            when=(When("portIn", (True,)),),
            then=CharacteristicConstraint("portInNumber", required=True),
            description="A port-in names the number to port.",
        ),
        DependentConstraint(
            when=(When("portIn", (True,)),),
            then=CharacteristicConstraint("donorOperator", required=True),
            description="A port-in names the operator the number comes from.",
        ),
    ),
)

mobile_cfs = SpecificationDef(
    key=MOBILE_CFS,
    kind="service",
    name="Mobile Subscription CFS",
    characteristics=(_profile, CharacteristicDef("roaming", "boolean"), CharacteristicDef("subscriberId", "string")),
    relationships=(
        SpecRelationshipDef(SIM_CARD, "requires"),
        SpecRelationshipDef(MSISDN, "requires"),
        SpecRelationshipDef(NUMBER_PORT, "requires"),  # only for portIn (rule tsm.number-port-on-port-in)
    ),
    tasks=(
        TaskTemplate(
            "tsm.activate-mobile-subscription",
            "Provision subscriber in HLR/HSS and PCRF",
            handler="tsm.activate-mobile-subscription",
            actions=ADD_MODIFY,
        ),
        TaskTemplate(
            "tsm.deactivate-mobile-subscription",
            "Remove subscriber from HLR/HSS",
            handler="tsm.deactivate-mobile-subscription",
            actions=DELETE,
        ),
    ),
)

sim_card = SpecificationDef(
    key=SIM_CARD,
    kind="resource",
    name="SIM Card",
    characteristics=(
        _sim_type,
        CharacteristicDef("iccid", "string"),
        CharacteristicDef("imsi", "string"),
        CharacteristicDef("esimActivationCode", "string"),
    ),
    tasks=(
        TaskTemplate("tsm.assign-sim", "Assign ICCID/IMSI (or download eSIM profile)", handler="tsm.assign-sim", actions=ADD),
        TaskTemplate(
            "tsm.activate-sim",
            "Activate SIM on the network",
            handler="tsm.activate-sim",
            depends_on=("tsm.assign-sim",),
            actions=ADD,
        ),
        TaskTemplate("tsm.deactivate-sim", "Block SIM and release IMSI", handler="tsm.deactivate-sim", actions=DELETE),
        # Post-fulfilment: a suspend bars the SIM on the network (the IMSI is kept), a resume lifts it.
        TaskTemplate("tsm.bar-sim", "Bar the SIM (outgoing and data)", handler="tsm.bar-sim", actions=("suspend",)),
        TaskTemplate("tsm.unbar-sim", "Lift the SIM's bar", handler="tsm.unbar-sim", actions=("resume",)),
    ),
)

msisdn = SpecificationDef(
    key=MSISDN,
    kind="resource",
    name="MSISDN",
    characteristics=(_port_in, _port_in_number, CharacteristicDef("msisdn", "string")),
    tasks=(
        TaskTemplate(
            "tsm.allocate-msisdn",
            "Allocate number from the range (or take the ported number)",
            handler="tsm.allocate-msisdn",
            actions=ADD,
        ),
        TaskTemplate(
            "tsm.quarantine-msisdn",
            "Return number to the range after quarantine",
            handler="tsm.quarantine-msisdn",
            actions=DELETE,
        ),
    ),
)

number_port = SpecificationDef(
    key=NUMBER_PORT,
    kind="resource",
    name="Number Port-In",
    description="Porting a number from a donor operator through the national number portability database.",
    characteristics=(_port_in_number, _donor, CharacteristicDef("portingReference", "string")),
    tasks=(
        TaskTemplate(
            "tsm.submit-port-request",
            "Submit port-in request to the number portability database",
            handler="tsm.submit-port-request",
            actions=ADD,
            ponr="hard",  # the donor operator has the port request: it cannot be withdrawn from here
        ),
        TaskTemplate(
            "tsm.confirm-port-in",
            "Confirm porting window with the donor operator and the customer",
            kind="manual",
            depends_on=("tsm.submit-port-request",),
            actions=ADD,
        ),
        TaskTemplate(
            "tsm.return-ported-number",
            "Return the ported number to its range holder",
            handler="tsm.return-ported-number",
            actions=DELETE,
        ),
    ),
)

_roaming = EntitlementDef("eu-roaming", unit="zone", quantity=1)

mobile_offerings = (
    OfferingDef(
        key="mobile-plan-unlimited",
        name="Mobile Unlimited 5G",
        product_spec=MOBILE_PRODUCT,
        one_time_price=Decimal("0.00"),
        recurring_price=Decimal("35.00"),
        max_quantity=10,
        contract_term_months=24,
        entitlements=(_roaming, EntitlementDef("unlimited-data", unit="plan", quantity=1)),
        description="Unlimited calls, texts and 5G data.",
    ),
    OfferingDef(
        key="mobile-plan-20gb",
        name="Mobile 20 GB",
        product_spec=MOBILE_PRODUCT,
        recurring_price=Decimal("15.00"),
        max_quantity=10,
        contract_term_months=12,
        entitlements=(_roaming, EntitlementDef("data-allowance", unit="GB", quantity=20)),
        description="Unlimited calls and texts, 20 GB 5G data per month.",
    ),
    OfferingDef(
        key="mobile-plan-data-only-50gb",
        name="Mobile Data-Only 50 GB",
        product_spec=MOBILE_PRODUCT,
        recurring_price=Decimal("20.00"),
        max_quantity=10,
        contract_term_months=12,
        entitlements=(EntitlementDef("data-allowance", unit="GB", quantity=50),),
        description="50 GB 5G data for tablets and routers; no voice.",
    ),
)

mobile_specifications = (mobile_product, mobile_cfs, sim_card, msisdn, number_port)
