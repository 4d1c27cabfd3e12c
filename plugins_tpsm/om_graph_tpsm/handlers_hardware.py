"""Handlers for edge appliances: stock reservation, warranty, asset updates, returns, rack kits."""

from __future__ import annotations

from om_graph.api import TaskContext, TaskOutcome, original, recorded_outcome, released_outcome, require, simulated_handler
from om_graph_tpsm import southbound as ids
from om_graph_tpsm.catalog_hardware import WAREHOUSE_BY_COUNTRY
from om_graph_tpsm.southbound import WAREHOUSE


def _warehouse(ctx: TaskContext) -> str:
    warehouse = ctx.characteristics.get("warehouse")
    if warehouse:
        return warehouse
    return WAREHOUSE_BY_COUNTRY.get(str(require(ctx, "country")).upper(), "AMS-DC1")


def reserve_stock(ctx: TaskContext) -> TaskOutcome:
    warehouse = _warehouse(ctx)
    model = ctx.characteristics.get("applianceModel") or "EA-2400"
    serial = ctx.characteristics.get("applianceSerial") or (
        model.replace("-", "") + "-" + ids.digits(ctx.idempotency_key, "appliance-serial", 9)
    )
    reservation = f"RSV-{warehouse}-" + ids.token(ctx.idempotency_key, "reservation", 8)
    return recorded_outcome(
        WAREHOUSE,
        ctx,
        {"applianceSerial": serial, "stockReservation": reservation, "warehouse": warehouse},
        f"{model} {serial} reserved in {warehouse}",
    )


def register_warranty(ctx: TaskContext) -> TaskOutcome:
    serial = require(ctx, "applianceSerial", retryable=True)
    warranty = "WTY-" + ids.token(ctx.idempotency_key, "warranty", 10)
    return recorded_outcome(WAREHOUSE, ctx, {"warrantyId": warranty}, f"warranty {warranty} for {serial}", applianceSerial=serial)


def update_asset_record(ctx: TaskContext) -> TaskOutcome:
    address = require(ctx, "shippingAddress")
    contact = ctx.characteristics.get("siteContactName", "")
    return recorded_outcome(
        WAREHOUSE,
        ctx,
        {"assetRecordVersion": ids.token(ctx.idempotency_key, "asset-version", 6)},
        f"asset record updated ({contact}, {address})",
    )


def issue_rma(ctx: TaskContext) -> TaskOutcome:
    rma = "RMA-" + ids.digits(ctx.idempotency_key, "rma", 8)
    return recorded_outcome(
        WAREHOUSE,
        ctx,
        {"rmaNumber": rma, "returnWarehouse": _warehouse(ctx)},
        f"return {rma} authorised",
        applianceSerial=ctx.characteristics.get("applianceSerial"),
    )


def pick_rack_kit(ctx: TaskContext) -> TaskOutcome:
    pick = "PCK-" + ids.token(ctx.idempotency_key, "rack-kit", 8)
    return recorded_outcome(WAREHOUSE, ctx, {"rackKitPickList": pick}, f"rack kit picked ({pick}) at {_warehouse(ctx)}")


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def cancel_stock_reservation(ctx: TaskContext) -> TaskOutcome:
    serial, reservation = original(ctx, "applianceSerial"), original(ctx, "stockReservation")
    return released_outcome(WAREHOUSE, ctx, f"reservation {reservation} cancelled, {serial} back in stock")


def void_warranty(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(WAREHOUSE, ctx, f"warranty {original(ctx, 'warrantyId')} voided")


def revert_asset_record(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(WAREHOUSE, ctx, f"asset record version {original(ctx, 'assetRecordVersion')} reverted")


def cancel_rma(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(WAREHOUSE, ctx, f"return {original(ctx, 'rmaNumber')} cancelled")


def restock_rack_kit(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(WAREHOUSE, ctx, f"rack kit of pick list {original(ctx, 'rackKitPickList')} restocked")


HARDWARE_HANDLERS = (
    simulated_handler(
        "tpsm.reserve-stock", reserve_stock, WAREHOUSE, "Reserves a unit in the serving warehouse.", undo=cancel_stock_reservation
    ),
    simulated_handler(
        "tpsm.register-warranty", register_warranty, WAREHOUSE, "Registers the serial for warranty.", undo=void_warranty
    ),
    simulated_handler(
        "tpsm.update-asset-record", update_asset_record, WAREHOUSE, "Updates the installed-base record.", undo=revert_asset_record
    ),
    simulated_handler("tpsm.issue-rma", issue_rma, WAREHOUSE, "Authorises the return of the unit.", undo=cancel_rma),
    simulated_handler("tpsm.pick-rack-kit", pick_rack_kit, WAREHOUSE, "Picks the rack-mount kit.", undo=restock_rack_kit),
)
