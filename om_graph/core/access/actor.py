"""Who acts: a user, an integration or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from om_graph.core.access.permissions import Permission, permissions_of


@dataclass(frozen=True)
class Actor:
    """Who acts: a user or integration (with roles and, for customers, their account) or the
    system itself (workers, the reconciler). ``account_id`` set means every read and write is
    confined to that account."""

    id: str
    roles: frozenset[str]
    account_id: str | None = None
    permissions: frozenset[Permission] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        if not self.permissions:
            object.__setattr__(self, "permissions", permissions_of(self.roles))

    @property
    def label(self) -> str:
        return self.id

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


SYSTEM_ACTOR = Actor("system", frozenset({"system"}))
