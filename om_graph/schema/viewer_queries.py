"""Who is asking and what this server runs (merged into ``Query`` by ``schema.build``): the
workspace and portal (om_graph/web) read ``viewer`` to show only the screens and actions the
caller's roles allow (the API enforces them again), and process admins read ``installedPacks``."""

from __future__ import annotations

import strawberry

from om_graph.schema.context import Info


@strawberry.type(description="The authenticated caller: roles, the account a customer is confined to, and what the roles permit.")
class Viewer:
    id: str
    roles: list[str]
    account_id: str | None = strawberry.field(description="Set for customers: every read and write stays in this account.")
    permissions: list[str] = strawberry.field(description="The permissions the roles grant (core/access/permissions.py).")


@strawberry.type(description="A plugin (industry pack or built-in) registered with the plugin manager.")
class InstalledPack:
    name: str
    distribution: str = strawberry.field(description='"<project> <version>" for an installed distribution, else "built-in".')
    hooks: list[str] = strawberry.field(description="The hooks it implements (docs/plugins.md).")


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="The caller: who they are and what they may do.")
    def viewer(self, info: Info) -> Viewer:
        actor = info.context.acting
        return Viewer(
            id=actor.id,
            roles=sorted(actor.roles),
            account_id=actor.account_id,
            permissions=sorted(p.value for p in actor.permissions),
        )

    @strawberry.field(description="The plugins this server runs, with the hooks each implements.")
    def installed_packs(self, info: Info) -> list[InstalledPack]:
        packs = info.context.services.registry.installed_packs
        return [InstalledPack(name=p.name, distribution=p.distribution, hooks=list(p.hooks)) for p in packs]
