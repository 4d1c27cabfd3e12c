"""Handlers for fibre broadband: access line, OLT port, ONT, router, static IP, service activation."""

from __future__ import annotations

from om_graph.api import (
    TaskContext,
    TaskOutcome,
    keep_or,
    original,
    recorded_outcome,
    released_outcome,
    require,
    simulated_handler,
    slug,
)
from om_graph_tsm import southbound as ids
from om_graph_tsm.southbound import ELEMENT_MANAGER, LOGISTICS, NETWORK_INVENTORY

OLT_SITES = ("AMS-CO01", "AMS-CO02", "RTM-CO01", "UTR-CO01", "EIN-CO01", "GRQ-CO01")
STATIC_IP_POOLS = ("198.51.100.0/24", "203.0.113.0/24")
DEFAULT_ROUTER = "FRITZ!Box 5530 Fiber"


def allocate_access_line(ctx: TaskContext) -> TaskOutcome:
    address = require(ctx, "installationAddress")
    line_id = keep_or(ctx, "accessLineId", lambda: "AL-" + ids.token(ctx.idempotency_key, "access-line", 10))
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"accessLineId": line_id}, f"access line {line_id}", address=address)


def reserve_olt_port(ctx: TaskContext) -> TaskOutcome:
    # Allocation of the line completes in the same domain order first; if the inventory read is
    # stale the line is not visible yet, which is worth a retry.
    line_id = require(ctx, "accessLineId", retryable=True)
    address = require(ctx, "installationAddress")

    def make() -> str:
        site = ids.pick(address.strip().lower(), "olt-site", OLT_SITES)  # the address decides the serving CO
        shelf, slot = ids.as_int(ctx.idempotency_key, "olt") % 4 + 1, ids.as_int(ctx.idempotency_key, "slot") % 16 + 1
        pon, onu = ids.as_int(ctx.idempotency_key, "pon") % 16, ids.as_int(ctx.idempotency_key, "onu") % 128
        return f"{site}-OLT{shelf:02d} 0/{slot}/{pon}:{onu}"

    port = keep_or(ctx, "oltPort", make)
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"oltPort": port}, f"GPON port {port} reserved", accessLineId=line_id)


def release_access_line(ctx: TaskContext) -> TaskOutcome:
    line_id = ctx.characteristics.get("accessLineId", "unknown")
    return recorded_outcome(
        NETWORK_INVENTORY,
        ctx,
        {"accessLineStatus": "released"},
        f"access line {line_id} released",
        accessLineId=line_id,
        oltPort=ctx.characteristics.get("oltPort"),
    )


def configure_ont(ctx: TaskContext) -> TaskOutcome:
    bandwidth = require(ctx, "bandwidth")
    serial = keep_or(ctx, "ontSerial", lambda: "HWTC" + ids.hex_token(ctx.idempotency_key, "ont-serial", 8))
    profile = f"GPON-{bandwidth}M"
    return recorded_outcome(
        ELEMENT_MANAGER, ctx, {"ontSerial": serial, "ontProfile": profile}, f"ONT {serial} configured ({profile})"
    )


def deprovision_ont(ctx: TaskContext) -> TaskOutcome:
    serial = ctx.characteristics.get("ontSerial", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"ontStatus": "deprovisioned"}, f"ONT {serial} removed", ontSerial=serial)


def push_router_config(ctx: TaskContext) -> TaskOutcome:
    model = ctx.characteristics.get("routerModel") or DEFAULT_ROUTER
    serial = keep_or(ctx, "routerSerial", lambda: "CPE" + ids.digits(ctx.idempotency_key, "router-serial", 12))
    profile = "ACS-" + slug(model, 32).upper() + ("-STATIC" if ctx.characteristics.get("staticIp") else "")
    return recorded_outcome(
        ELEMENT_MANAGER, ctx, {"routerSerial": serial, "acsProfile": profile}, f"{model} {serial} bound to {profile}"
    )


def ship_router(ctx: TaskContext) -> TaskOutcome:
    address = require(ctx, "installationAddress")
    tracking = "3S" + ids.token(ctx.idempotency_key, "router-shipment", 11)
    return recorded_outcome(
        LOGISTICS,
        ctx,
        {"shipmentTracking": tracking},
        f"router shipped, tracking {tracking}",
        address=address,
        routerSerial=ctx.characteristics.get("routerSerial"),
    )


def recover_router(ctx: TaskContext) -> TaskOutcome:
    label = "RET-" + ids.token(ctx.idempotency_key, "router-return", 10)
    return recorded_outcome(LOGISTICS, ctx, {"returnLabel": label}, f"returns label {label} sent")


def allocate_static_ip(ctx: TaskContext) -> TaskOutcome:
    address = keep_or(ctx, "staticIpAddress", lambda: ids.host_in_pools(ctx.idempotency_key, "static-ip", STATIC_IP_POOLS))
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"staticIpAddress": address}, f"static IPv4 {address} allocated")


def release_static_ip(ctx: TaskContext) -> TaskOutcome:
    address = ctx.characteristics.get("staticIpAddress", "unknown")
    return recorded_outcome(
        NETWORK_INVENTORY,
        ctx,
        {"staticIpStatus": "quarantined"},
        f"{address} quarantined before reuse",
        staticIpAddress=address,
    )


def activate_internet_service(ctx: TaskContext) -> TaskOutcome:
    bandwidth = require(ctx, "bandwidth")
    username = keep_or(
        ctx, "pppoeUsername", lambda: f"ftth-{ids.token(ctx.idempotency_key, 'pppoe', 8).lower()}@fibre.tsm.example"
    )
    profile = f"FTTH-{bandwidth}M" + ("-STATIC" if ctx.characteristics.get("staticIp") else "")
    return recorded_outcome(
        ELEMENT_MANAGER,
        ctx,
        {"pppoeUsername": username, "serviceProfile": profile},
        f"subscriber {username} active on {profile}",
    )


def deactivate_internet_service(ctx: TaskContext) -> TaskOutcome:
    username = ctx.characteristics.get("pppoeUsername", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"serviceStatus": "deactivated"}, f"subscriber {username} deactivated")


def bar_subscriber_session(ctx: TaskContext) -> TaskOutcome:
    username = ctx.characteristics.get("pppoeUsername", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {}, f"subscriber {username} barred (walled garden)", bar="on")


def unbar_subscriber_session(ctx: TaskContext) -> TaskOutcome:
    username = ctx.characteristics.get("pppoeUsername", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {}, f"subscriber {username} unbarred", bar="off")


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def return_access_line(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"access line {original(ctx, 'accessLineId')} returned to the pool")


def free_olt_port(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"GPON port {original(ctx, 'oltPort')} freed")


def reinstate_access_line(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"access line {original(ctx, 'accessLineId')} reinstated")


def deregister_ont(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"ONT {original(ctx, 'ontSerial')} deregistered")


def reregister_ont(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"ONT {original(ctx, 'ontSerial')} registered again")


def unbind_router_config(ctx: TaskContext) -> TaskOutcome:
    serial, profile = original(ctx, "routerSerial"), original(ctx, "acsProfile")
    return released_outcome(ELEMENT_MANAGER, ctx, f"router {serial} unbound from {profile}")


def cancel_router_shipment(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(LOGISTICS, ctx, f"router shipment {original(ctx, 'shipmentTracking')} cancelled")


def void_router_return_label(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(LOGISTICS, ctx, f"returns label {original(ctx, 'returnLabel')} voided")


def return_static_ip(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"static IPv4 {original(ctx, 'staticIpAddress')} returned to the pool")


def restore_static_ip(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"{original(ctx, 'staticIpAddress')} out of quarantine")


def deactivate_subscriber_session(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'pppoeUsername')} deactivated")


def reactivate_internet_service(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'pppoeUsername')} active again")


def lift_session_bar(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'pppoeUsername', 'unknown')} bar lifted")


def restore_session_bar(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"subscriber {original(ctx, 'pppoeUsername', 'unknown')} barred again")


FIBRE_HANDLERS = (
    simulated_handler(
        "tsm.allocate-access-line",
        allocate_access_line,
        NETWORK_INVENTORY,
        "Assigns the access line at the address.",
        undo=return_access_line,
    ),
    simulated_handler(
        "tsm.reserve-olt-port",
        reserve_olt_port,
        NETWORK_INVENTORY,
        "Reserves a GPON port on the serving OLT.",
        undo=free_olt_port,
    ),
    simulated_handler(
        "tsm.release-access-line",
        release_access_line,
        NETWORK_INVENTORY,
        "Frees the OLT port and access line.",
        undo=reinstate_access_line,
    ),
    simulated_handler(
        "tsm.configure-ont",
        configure_ont,
        ELEMENT_MANAGER,
        "Registers the ONT serial with its bandwidth profile.",
        undo=deregister_ont,
    ),
    simulated_handler(
        "tsm.deprovision-ont", deprovision_ont, ELEMENT_MANAGER, "Removes the ONT registration.", undo=reregister_ont
    ),
    simulated_handler(
        "tsm.push-router-config",
        push_router_config,
        ELEMENT_MANAGER,
        "Binds the router to its ACS profile.",
        undo=unbind_router_config,
    ),
    simulated_handler(
        "tsm.ship-router",
        ship_router,
        LOGISTICS,
        "Books the router shipment with the logistics provider.",
        undo=cancel_router_shipment,
    ),
    simulated_handler(
        "tsm.recover-router", recover_router, LOGISTICS, "Sends a returns label for the router.", undo=void_router_return_label
    ),
    simulated_handler(
        "tsm.allocate-static-ip", allocate_static_ip, NETWORK_INVENTORY, "Allocates a public IPv4 address.", undo=return_static_ip
    ),
    simulated_handler(
        "tsm.release-static-ip", release_static_ip, NETWORK_INVENTORY, "Quarantines the static address.", undo=restore_static_ip
    ),
    simulated_handler(
        "tsm.activate-internet-service",
        activate_internet_service,
        ELEMENT_MANAGER,
        "RADIUS/BNG activation.",
        undo=deactivate_subscriber_session,
    ),
    simulated_handler(
        "tsm.deactivate-internet-service",
        deactivate_internet_service,
        ELEMENT_MANAGER,
        "RADIUS/BNG deactivation.",
        undo=reactivate_internet_service,
    ),
    simulated_handler(
        "tsm.bar-subscriber-session",
        bar_subscriber_session,
        ELEMENT_MANAGER,
        "Suspend: bars the RADIUS/BNG session.",
        undo=lift_session_bar,
    ),
    simulated_handler(
        "tsm.unbar-subscriber-session",
        unbar_subscriber_session,
        ELEMENT_MANAGER,
        "Resume: lifts the session bar.",
        undo=restore_session_bar,
    ),
)
