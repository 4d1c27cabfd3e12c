"""Handlers for SD-WAN sites: orchestrator site, edge devices (primary and HA secondary), WAN links."""

from __future__ import annotations

from om_graph.core.catalog.extensions import TaskContext, TaskHandler, TaskOutcome
from om_graph_tsm import southbound as ids
from om_graph_tsm.catalog_sdwan import EDGE_SECONDARY
from om_graph_tsm.handlers_common import keep_or, outcome, release_in, require, slug
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
    return outcome(
        ELEMENT_MANAGER, ctx, {"overlaySiteId": site_id, "sdwanPolicy": policy}, f"site {site_id} in overlay ({policy})"
    )


def remove_sdwan_site(ctx: TaskContext) -> TaskOutcome:
    site_id = ctx.characteristics.get("overlaySiteId", "unknown")
    return outcome(ELEMENT_MANAGER, ctx, {"overlayStatus": "removed"}, f"site {site_id} removed", overlaySiteId=site_id)


def onboard_edge_device(ctx: TaskContext) -> TaskOutcome:
    role = _role(ctx)
    token = keep_or(ctx, "ztpToken", lambda: "ZTP-" + ids.token(ctx.idempotency_key, "ztp", 16))
    return outcome(
        ELEMENT_MANAGER, ctx, {"ztpToken": token, "edgeRole": role}, f"{role} edge pre-staged for zero-touch activation"
    )


def reserve_edge_device(ctx: TaskContext) -> TaskOutcome:
    model = ctx.characteristics.get("edgeModel") or "SD-WAN Edge 610"
    serial = keep_or(ctx, "edgeSerial", lambda: "VC" + ids.hex_token(ctx.idempotency_key, "edge-serial", 10))
    return outcome(
        NETWORK_INVENTORY, ctx, {"edgeSerial": serial, "edgeModel": model}, f"{model} {serial} reserved ({_role(ctx)})"
    )


def ship_edge_device(ctx: TaskContext) -> TaskOutcome:
    address = require(ctx, "siteAddress")
    tracking = "1Z" + ids.token(ctx.idempotency_key, "edge-shipment", 16)
    return outcome(
        LOGISTICS,
        ctx,
        {"edgeShipmentTracking": tracking},
        f"edge shipped to {address}",
        edgeSerial=ctx.characteristics.get("edgeSerial"),
    )


def decommission_edge_device(ctx: TaskContext) -> TaskOutcome:
    label = "RET-" + ids.token(ctx.idempotency_key, "edge-return", 10)
    return outcome(
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
    return outcome(
        NETWORK_INVENTORY,
        ctx,
        {"wanLinkId": link_id, "transitSubnet": subnet, "underlayType": underlay},
        f"WAN link {link_id} ({underlay}) on {subnet}",
    )


def release_wan_link(ctx: TaskContext) -> TaskOutcome:
    link_id = ctx.characteristics.get("wanLinkId", "unknown")
    return outcome(NETWORK_INVENTORY, ctx, {"wanLinkStatus": "ceased"}, f"WAN link {link_id} ceased", wanLinkId=link_id)


def _h(key: str, do, system, description: str) -> TaskHandler:
    return TaskHandler(key=key, do=do, undo=release_in(system), description=description)


SDWAN_HANDLERS = (
    _h("tsm.provision-sdwan-site", provision_sdwan_site, ELEMENT_MANAGER, "Creates the site in the orchestrator."),
    _h("tsm.remove-sdwan-site", remove_sdwan_site, ELEMENT_MANAGER, "Removes the site from the overlay."),
    _h("tsm.onboard-edge-device", onboard_edge_device, ELEMENT_MANAGER, "Issues the zero-touch activation key."),
    _h("tsm.reserve-edge-device", reserve_edge_device, NETWORK_INVENTORY, "Reserves an edge appliance from stock."),
    _h("tsm.ship-edge-device", ship_edge_device, LOGISTICS, "Books the edge shipment."),
    _h("tsm.decommission-edge-device", decommission_edge_device, LOGISTICS, "Deactivates and recovers the edge."),
    _h("tsm.configure-wan-link", configure_wan_link, NETWORK_INVENTORY, "Assigns link ID and /30 transit subnet."),
    _h("tsm.release-wan-link", release_wan_link, NETWORK_INVENTORY, "Releases the transit subnet."),
)
