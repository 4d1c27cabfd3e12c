"""Handlers for SaaS subscriptions: tenant lifecycle, licences, SSO removal, welcome invitation.

The tenant ID is derived from the tenant domain (the platform's natural key: creating a tenant
for a domain that exists returns it), so a modify or delete finds the tenant its add created even
when the order carries only the line's characteristics. Request and licence-pool references are
derived from the idempotency key.
"""

from __future__ import annotations

from om_graph.api import TaskContext, TaskOutcome, original, recorded_outcome, released_outcome, require, simulated_handler
from om_graph_tpsm import southbound as ids
from om_graph_tpsm.southbound import LICENSING, TENANT_PLATFORM

PLATFORM_BY_REGION = {"eu": "eu-west-1.platform", "us": "us-east-1.platform", "apac": "ap-southeast-1.platform"}
RETENTION_DAYS = 30


def tenant_id_for(domain: str) -> str:
    return "tn-" + ids.token(domain.lower(), "tenant", 12).lower()


def create_tenant(ctx: TaskContext) -> TaskOutcome:
    domain = require(ctx, "tenantDomain")
    region = require(ctx, "region")
    tenant_id = ctx.characteristics.get("tenantId") or tenant_id_for(domain)
    request = "REQ-" + ids.token(ctx.idempotency_key, "tenant-request", 10)
    return recorded_outcome(
        TENANT_PLATFORM,
        ctx,
        {"tenantId": tenant_id, "tenantUrl": f"https://{domain}", "platformCell": PLATFORM_BY_REGION[region]},
        f"tenant {tenant_id} ready at {domain}",
        requestId=request,
        company=ctx.characteristics.get("companyName"),
    )


def provision_licences(ctx: TaskContext) -> TaskOutcome:
    seats = require(ctx, "seats")
    domain = require(ctx, "tenantDomain")
    tenant_id = ctx.characteristics.get("tenantId") or tenant_id_for(domain)
    pool = "LP-" + ids.token(ctx.idempotency_key, "licence-pool", 10)
    return recorded_outcome(
        LICENSING,
        ctx,
        {"licencePoolId": pool, "licensedSeats": seats},
        f"{seats} seats licensed to {tenant_id}",
        tenantId=tenant_id,
    )


def revoke_licences(ctx: TaskContext) -> TaskOutcome:
    tenant_id = ctx.characteristics.get("tenantId") or tenant_id_for(require(ctx, "tenantDomain"))
    return recorded_outcome(LICENSING, ctx, {"licensedSeats": 0}, f"licences of {tenant_id} revoked", tenantId=tenant_id)


def archive_tenant(ctx: TaskContext) -> TaskOutcome:
    tenant_id = ctx.characteristics.get("tenantId") or tenant_id_for(require(ctx, "tenantDomain"))
    return recorded_outcome(
        TENANT_PLATFORM,
        ctx,
        {"tenantStatus": "archived", "retentionDays": RETENTION_DAYS},
        f"tenant {tenant_id} archived; data deleted after {RETENTION_DAYS} days",
        tenantId=tenant_id,
    )


def remove_sso_connection(ctx: TaskContext) -> TaskOutcome:
    domain = ctx.characteristics.get("tenantDomain", "unknown")
    return recorded_outcome(TENANT_PLATFORM, ctx, {"ssoStatus": "removed"}, f"IdP connection of {domain} removed")


def send_welcome(ctx: TaskContext) -> TaskOutcome:
    domain = require(ctx, "tenantDomain")
    invite = "INV-" + ids.token(ctx.idempotency_key, "invite", 12)
    recipient = ctx.characteristics.get("adminEmail") or f"admin@{domain}"
    return recorded_outcome(
        TENANT_PLATFORM, ctx, {"adminInviteId": invite}, f"invitation {invite} queued for {recipient}", recipient=recipient
    )


def lock_tenant(ctx: TaskContext) -> TaskOutcome:
    tenant = ctx.characteristics.get("tenantId", "unknown")
    return recorded_outcome(TENANT_PLATFORM, ctx, {}, f"tenant {tenant} locked: sign-in refused, data kept", lock="on")


def unlock_tenant(ctx: TaskContext) -> TaskOutcome:
    tenant = ctx.characteristics.get("tenantId", "unknown")
    return recorded_outcome(TENANT_PLATFORM, ctx, {}, f"tenant {tenant} unlocked", lock="off")


# --- undo: the reverse operations (docs/plugins.md, "The handler contract") ---------------------


def delete_tenant(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"tenant {original(ctx, 'tenantId')} deleted")


def release_licences(ctx: TaskContext) -> TaskOutcome:
    pool, seats = original(ctx, "licencePoolId"), original(ctx, "licensedSeats")
    return released_outcome(LICENSING, ctx, f"{seats} seats of pool {pool} released")


def reinstate_licences(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(LICENSING, ctx, f"licences of {original(ctx, 'tenantId')} reinstated")


def unarchive_tenant(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"tenant {original(ctx, 'tenantId')} restored from the archive")


def restore_sso_connection(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"IdP connection of {original(ctx, 'tenantDomain')} restored")


def revoke_welcome(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"invitation {original(ctx, 'adminInviteId')} revoked")


def relock_tenant(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"tenant {original(ctx, 'tenantId', 'unknown')} locked again")


def release_tenant_lock(ctx: TaskContext) -> TaskOutcome:
    return released_outcome(TENANT_PLATFORM, ctx, f"tenant {original(ctx, 'tenantId', 'unknown')} unlocked")


SAAS_HANDLERS = (
    simulated_handler(
        "tpsm.create-tenant", create_tenant, TENANT_PLATFORM, "Creates or locates the tenant by its domain.", undo=delete_tenant
    ),
    simulated_handler(
        "tpsm.provision-licences", provision_licences, LICENSING, "Provisions the seat licences.", undo=release_licences
    ),
    simulated_handler("tpsm.revoke-licences", revoke_licences, LICENSING, "Revokes the seat licences.", undo=reinstate_licences),
    simulated_handler(
        "tpsm.archive-tenant",
        archive_tenant,
        TENANT_PLATFORM,
        "Archives the tenant with 30-day retention.",
        undo=unarchive_tenant,
    ),
    simulated_handler(
        "tpsm.remove-sso-connection",
        remove_sso_connection,
        TENANT_PLATFORM,
        "Removes the IdP connection.",
        undo=restore_sso_connection,
    ),
    simulated_handler(
        "tpsm.send-welcome", send_welcome, TENANT_PLATFORM, "Invites the first administrator.", undo=revoke_welcome
    ),
    simulated_handler("tpsm.lock-tenant", lock_tenant, TENANT_PLATFORM, "Suspend: locks the tenant.", undo=release_tenant_lock),
    simulated_handler("tpsm.unlock-tenant", unlock_tenant, TENANT_PLATFORM, "Resume: unlocks the tenant.", undo=relock_tenant),
)
