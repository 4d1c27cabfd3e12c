"""Handlers for SD-WAN sites: orchestrator site, edge devices (primary and HA secondary), WAN links."""

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
from om_graph_tsm.catalog_sdwan import EDGE_SECONDARY
from om_graph_tsm.southbound import ELEMENT_MANAGER, LOGISTICS, NETWORK_INVENTORY

TRANSIT_POOL = "100.127.0.0/16"
"""Provider-internal space for /30 transit subnets between edge and underlay CPE."""

UNDERLAY_TYPES = ("internet", "mpls", "lte")
"""Link n of a site (in creation order) gets a distinct underlay type where possible."""


def _role(ctx: TaskContext) -> str:
    return "secondary" if ctx.spec_key == EDGE_SECONDARY else "primary"


def provision_sdwan_site(ctx: TaskContext) -> TaskOutcome:
    site_name = require(ctx, "siteName")
    bandwidth = require(ctx, "bandwidth")
    site_id = keep_or(
        ctx, "overlaySiteId", lambda: f"site-{slug(site_name, 20)}-{ids.token(ctx.idempotency_key, 'overlay', 6).lower()}"
    )
    policy = "HA-" if ctx.characteristics.get("haPair") else ""
    policy += f"BW{bandwidth}-{ctx.characteristics.get('siteRole', 'branch').upper()}"
    return recorded_outcome(
        ELEMENT_MANAGER, ctx, {"overlaySiteId": site_id, "sdwanPolicy": policy}, f"site {site_id} in overlay ({policy})"
    )


def remove_sdwan_site(ctx: TaskContext) -> TaskOutcome:
    site_id = ctx.characteristics.get("overlaySiteId", "unknown")
    return recorded_outcome(ELEMENT_MANAGER, ctx, {"overlayStatus": "removed"}, f"site {site_id} removed", overlaySiteId=site_id)


def onboard_edge_device(ctx: TaskContext) -> TaskOutcome:
    role = _role(ctx)
    token = keep_or(ctx, "ztpToken", lambda: "ZTP-" + ids.token(ctx.idempotency_key, "ztp", 16))
    return recorded_outcome(
        ELEMENT_MANAGER, ctx, {"ztpToken": token, "edgeRole": role}, f"{role} edge pre-staged for zero-touch activation"
    )


def reserve_edge_device(ctx: TaskContext) -> TaskOutcome:
    model = ctx.characteristics.get("edgeModel") or "SD-WAN Edge 610"
    serial = keep_or(ctx, "edgeSerial", lambda: "VC" + ids.hex_token(ctx.idempotency_key, "edge-serial", 10))
    return recorded_outcome(
        NETWORK_INVENTORY, ctx, {"edgeSerial": serial, "edgeModel": model}, f"{model} {serial} reserved ({_role(ctx)})"
    )


def ship_edge_device(ctx: TaskContext) -> TaskOutcome:
    address = require(ctx, "siteAddress")
    tracking = "1Z" + ids.token(ctx.idempotency_key, "edge-shipment", 16)
    return recorded_outcome(
        LOGISTICS,
        ctx,
        {"edgeShipmentTracking": tracking},
        f"edge shipped to {address}",
        edgeSerial=ctx.characteristics.get("edgeSerial"),
    )


def decommission_edge_device(ctx: TaskContext) -> TaskOutcome:
    label = "RET-" + ids.token(ctx.idempotency_key, "edge-return", 10)
    return recorded_outcome(
        LOGISTICS,
        ctx,
        {"edgeStatus": "decommissioned", "returnLabel": label},
        f"{_role(ctx)} edge decommissioned",
        edgeSerial=ctx.characteristics.get("edgeSerial"),
    )


def configure_wan_link(ctx: TaskContext) -> TaskOutcome:
    link_id = keep_or(ctx, "wanLinkId", lambda: "WL-" + ids.token(ctx.idempotency_key, "wan-link", 10))
    subnet = keep_or(ctx, "transitSubnet", lambda: ids.subnet_in_pool(ctx.idempotency_key, "transit", TRANSIT_POOL, 30))
    underlay = ids.pick(ctx.idempotency_key, "underlay", UNDERLAY_TYPES)
    return recorded_outcome(
        NETWORK_INVENTORY,
        ctx,
        {"wanLinkId": link_id, "transitSubnet": subnet, "underlayType": underlay},
        f"WAN link {link_id} ({underlay}) on {subnet}",
    )


def release_wan_link(ctx: TaskContext) -> TaskOutcome:
    link_id = ctx.characteristics.get("wanLinkId", "unknown")
    return recorded_outcome(NETWORK_INVENTORY, ctx, {"wanLinkStatus": "ceased"}, f"WAN link {link_id} ceased", wanLinkId=link_id)


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def delete_sdwan_site(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"site {original(ctx, 'overlaySiteId')} deleted from the overlay")


def restore_sdwan_site(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"site {original(ctx, 'overlaySiteId')} back in the overlay")


def revoke_ztp_token(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(ELEMENT_MANAGER, ctx, f"zero-touch key {original(ctx, 'ztpToken')} revoked")


def return_edge_to_stock(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"edge {original(ctx, 'edgeSerial')} back in stock")


def cancel_edge_shipment(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(LOGISTICS, ctx, f"edge shipment {original(ctx, 'edgeShipmentTracking')} cancelled")


def recommission_edge_device(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(LOGISTICS, ctx, f"return {original(ctx, 'returnLabel')} voided, edge kept in service")


def release_wan_link_allocation(ctx: TaskContext) -> TaskOutcome:
    link, subnet = original(ctx, "wanLinkId"), original(ctx, "transitSubnet")
    return released_outcome(NETWORK_INVENTORY, ctx, f"WAN link {link} and {subnet} released")


def restore_wan_link(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(NETWORK_INVENTORY, ctx, f"WAN link {original(ctx, 'wanLinkId')} back in service")


SDWAN_HANDLERS = (
    simulated_handler(
        "tsm.provision-sdwan-site",
        provision_sdwan_site,
        ELEMENT_MANAGER,
        "Creates the site in the orchestrator.",
        undo=delete_sdwan_site,
    ),
    simulated_handler(
        "tsm.remove-sdwan-site", remove_sdwan_site, ELEMENT_MANAGER, "Removes the site from the overlay.", undo=restore_sdwan_site
    ),
    simulated_handler(
        "tsm.onboard-edge-device",
        onboard_edge_device,
        ELEMENT_MANAGER,
        "Issues the zero-touch activation key.",
        undo=revoke_ztp_token,
    ),
    simulated_handler(
        "tsm.reserve-edge-device",
        reserve_edge_device,
        NETWORK_INVENTORY,
        "Reserves an edge appliance from stock.",
        undo=return_edge_to_stock,
    ),
    simulated_handler("tsm.ship-edge-device", ship_edge_device, LOGISTICS, "Books the edge shipment.", undo=cancel_edge_shipment),
    simulated_handler(
        "tsm.decommission-edge-device",
        decommission_edge_device,
        LOGISTICS,
        "Deactivates and recovers the edge.",
        undo=recommission_edge_device,
    ),
    simulated_handler(
        "tsm.configure-wan-link",
        configure_wan_link,
        NETWORK_INVENTORY,
        "Assigns link ID and /30 transit subnet.",
        undo=release_wan_link_allocation,
    ),
    simulated_handler(
        "tsm.release-wan-link", release_wan_link, NETWORK_INVENTORY, "Releases the transit subnet.", undo=restore_wan_link
    ),
)
