"""Handlers for mobile plans: MSISDN, SIM/eSIM, number porting and HLR/HSS subscription."""

from __future__ import annotations

import re

from om_graph.api import (
    TaskContext,
    TaskHandlerError,
    TaskOutcome,
    keep_or,
    original,
    recorded_outcome,
    released_outcome,
    require,
    simulated_handler,
)
from om_graph_tsm import southbound as ids
from om_graph_tsm.southbound import ELEMENT_MANAGER, NETWORK_INVENTORY

MSISDN_RANGE = "3161"
"""Country code 31 + mobile prefix 6 + block 1: allocated numbers are 3161 followed by 7 digits."""
MCC_MNC = "20408"
ICCID_ISSUER = "893108"
SMDP_ADDRESS = "smdp.tsm.example"


def normalise_msisdn(number: str) -> str:
    """E.164 digits without '+' or spaces; a national 06... number becomes 316..."""
    digits = re.sub(r"[\s\-().]", "", number).removeprefix("+").removeprefix("00")
    if digits.startswith("06"):
        digits = "31" + digits[1:]
    return digits


def allocate_msisdn(ctx: TaskContext) -> TaskOutcome:
    if ctx.characteristics.get("portIn"):
        number = normalise_msisdn(require(ctx, "portInNumber"))
        if not number.isdigit() or not 8 <= len(number) <= 15:
            raise TaskHandlerError(f"port-in number {number!r} is not an E.164 number", code="INVALID_NUMBER")
        return recorded_outcome(NETWORK_INVENTORY, ctx, {"msisdn": number, "msisdnSource": "port-in"}, f"ported number {number}")
    number = keep_or(ctx, "msisdn", lambda: MSISDN_RANGE + ids.digits(ctx.idempotency_key, "msisdn", 7))
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"msisdn": number, "msisdnSource": "range"}, f"MSISDN {number} allocated")


def quarantine_msisdn(ctx: TaskContext) -> TaskOutcome:
    number = ctx.characteristics.get("msisdn", "unknown")
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"msisdnStatus": "quarantined"}, f"{number} quarantined", msisdn=number)


def assign_sim(ctx: TaskContext) -> TaskOutcome:
    sim_type = ctx.characteristics.get("simType", "physical")
    body = ICCID_ISSUER + ids.digits(ctx.idempotency_key, "iccid", 12)
    iccid = keep_or(ctx, "iccid", lambda: body + ids.luhn_check_digit(body))
    imsi = keep_or(ctx, "imsi", lambda: MCC_MNC + ids.digits(ctx.idempotency_key, "imsi", 10))
    outputs = {"iccid": iccid, "imsi": imsi}
    if sim_type == "esim":
        matching_id = ids.token(ctx.idempotency_key, "esim-matching-id", 20)
        outputs["esimActivationCode"] = f"LPA:1${SMDP_ADDRESS}${matching_id}"
    return recorded_outcome(NETWORK_INVENTORY, ctx, outputs, f"{sim_type} SIM {iccid} assigned")


def activate_sim(ctx: TaskContext) -> TaskOutcome:
    iccid = require(ctx, "iccid", retryable=True)
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"simStatus": "active"}, f"SIM {iccid} active", iccid=iccid)


def deactivate_sim(ctx: TaskContext) -> TaskOutcome:
    iccid = ctx.characteristics.get("iccid", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"simStatus": "blocked"}, f"SIM {iccid} blocked", iccid=iccid)


def submit_port_request(ctx: TaskContext) -> TaskOutcome:
    number = normalise_msisdn(require(ctx, "portInNumber"))
    donor = require(ctx, "donorOperator")
    reference = "NP-" + ids.token(ctx.idempotency_key, "port-request", 12)
    return recorded_outcome(
        NETWORK_INVENTORY,
        ctx,
        {"portingReference": reference},
        f"port-in of {number} from {donor} requested",
        portInNumber=number,
        donorOperator=donor,
    )


def return_ported_number(ctx: TaskContext) -> TaskOutcome:
    number = normalise_msisdn(str(ctx.characteristics.get("portInNumber") or "unknown"))
    reference = "NR-" + ids.token(ctx.idempotency_key, "number-return", 12)
    return recorded_outcome(
        NETWORK_INVENTORY, ctx, {"numberReturnReference": reference}, f"{number} returned to its range holder"
    )


def activate_mobile_subscription(ctx: TaskContext) -> TaskOutcome:
    profile = ctx.characteristics.get("networkProfile") or "5G-DEFAULT"
    subscriber = keep_or(ctx, "subscriberId", lambda: "SUB-" + ids.token(ctx.idempotency_key, "subscriber", 10))
    roaming = bool(ctx.characteristics.get("roaming", True))
    return recorded_outcome(
        ELEMENT_MANAGER,
        ctx,
        {"subscriberId": subscriber, "hssProfile": profile + ("" if roaming else "-NOROAM")},
        f"subscriber {subscriber} provisioned with {profile}",
    )


def deactivate_mobile_subscription(ctx: TaskContext) -> TaskOutcome:
    subscriber = ctx.characteristics.get("subscriberId", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"subscriptionStatus": "terminated"}, f"subscriber {subscriber} removed")


def bar_sim(ctx: TaskContext) -> TaskOutcome:
    iccid = ctx.characteristics.get("iccid", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {}, f"SIM {iccid} barred (outgoing and data)", bar="on")


def unbar_sim(ctx: TaskContext) -> TaskOutcome:
    iccid = ctx.characteristics.get("iccid", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {}, f"SIM {iccid} unbarred", bar="off")


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def release_msisdn(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"MSISDN {original(ctx, 'msisdn')} back in its range")


def end_msisdn_quarantine(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"{original(ctx, 'msisdn')} out of quarantine")


def release_sim(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"SIM {original(ctx, 'iccid')} back in stock")


def suspend_sim_activation(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"SIM {original(ctx, 'iccid')} deactivated")


def unblock_sim(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"SIM {original(ctx, 'iccid')} unblocked")


def withdraw_port_request(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"port-in request {original(ctx, 'portingReference')} withdrawn")


def withdraw_number_return(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"number return {original(ctx, 'numberReturnReference')} withdrawn")


def remove_mobile_subscription(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'subscriberId')} removed from the HLR/HSS")


def restore_mobile_subscription(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'subscriberId')} provisioned again")


def lift_sim_bar(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"SIM {original(ctx, 'iccid', 'unknown')} bar lifted")


def restore_sim_bar(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"SIM {original(ctx, 'iccid', 'unknown')} barred again")


MOBILE_HANDLERS = (
    simulated_handler(
        "tsm.allocate-msisdn",
        allocate_msisdn,
        NETWORK_INVENTORY,
        "Allocates an MSISDN or takes the ported one.",
        undo=release_msisdn,
    ),
    simulated_handler(
        "tsm.quarantine-msisdn",
        quarantine_msisdn,
        NETWORK_INVENTORY,
        "Quarantines the MSISDN before reuse.",
        undo=end_msisdn_quarantine,
    ),
    simulated_handler(
        "tsm.assign-sim", assign_sim, NETWORK_INVENTORY, "Assigns ICCID and IMSI, or an eSIM activation code.", undo=release_sim
    ),
    simulated_handler(
        "tsm.activate-sim", activate_sim, ELEMENT_MANAGER, "Activates the SIM on the network.", undo=suspend_sim_activation
    ),
    simulated_handler("tsm.deactivate-sim", deactivate_sim, ELEMENT_MANAGER, "Blocks the SIM.", undo=unblock_sim),
    simulated_handler("tsm.bar-sim", bar_sim, ELEMENT_MANAGER, "Suspend: bars the SIM.", undo=lift_sim_bar),
    simulated_handler("tsm.unbar-sim", unbar_sim, ELEMENT_MANAGER, "Resume: lifts the SIM's bar.", undo=restore_sim_bar),
    simulated_handler(
        "tsm.submit-port-request",
        submit_port_request,
        NETWORK_INVENTORY,
        "Files the port-in request.",
        undo=withdraw_port_request,
    ),
    simulated_handler(
        "tsm.return-ported-number",
        return_ported_number,
        NETWORK_INVENTORY,
        "Number return on disconnect.",
        undo=withdraw_number_return,
    ),
    simulated_handler(
        "tsm.activate-mobile-subscription",
        activate_mobile_subscription,
        ELEMENT_MANAGER,
        "HLR/HSS provisioning.",
        undo=remove_mobile_subscription,
    ),
    simulated_handler(
        "tsm.deactivate-mobile-subscription",
        deactivate_mobile_subscription,
        ELEMENT_MANAGER,
        "HLR/HSS removal.",
        undo=restore_mobile_subscription,
    ),
)
