"""The life of a decision table version: a draft is edited until it is activated; activating
another version (or rolling back to an earlier one) retires the active one; rolling back
reactivates a retired one. A default a pack upgrade ships while an admin's version is active is
stored shelved (retired, never active) so that an admin can roll forward to it; a discarded draft
is kept the same way (the history shows every version an admin wrote)."""

from __future__ import annotations

from om_graph.core.access.permissions import Permission, roles_with
from om_graph.core.kernel.machine import StateMachine, States, t


class VersionStates(States):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


_MANAGE = roles_with(Permission.DECISION_MANAGE)  # process admins and the system

VERSION = StateMachine(
    "decision table version",
    VersionStates,
    initial=VersionStates.DRAFT,
    terminal=(),
    transitions=[
        t(VersionStates.DRAFT, "activate", VersionStates.ACTIVE, _MANAGE),
        t(VersionStates.DRAFT, "shelve", VersionStates.RETIRED, _MANAGE),
        t(VersionStates.DRAFT, "discard", VersionStates.RETIRED, _MANAGE),
        t(VersionStates.ACTIVE, "retire", VersionStates.RETIRED, _MANAGE),
        t(VersionStates.RETIRED, "reactivate", VersionStates.ACTIVE, _MANAGE),
    ],
)


# What the audit trail records (decision_table_audit.action).
class AuditActions:
    CREATED = "created"  # a table and its first version
    DRAFT_UPDATED = "draftUpdated"  # a draft created or replaced
    DRAFT_DISCARDED = "draftDiscarded"  # a draft given up: kept as a retired version, never active
    ACTIVATED = "activated"  # a draft became the active version
    ROLLED_BACK = "rolledBack"  # an earlier version became active again
    DEFAULT_STORED = "defaultStored"  # a pack/core default stored, not activated (an admin's version is active)
    DEFAULT_ACTIVATED = "defaultActivated"  # a pack/core default stored and activated
