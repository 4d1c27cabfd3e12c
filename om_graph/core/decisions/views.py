"""What the decision service answers: the active tables of a unit of work (``ActiveTables``) and
the views of tables, versions and their audit that the admin API shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.decisions.codec import from_json
from om_graph.core.decisions.compiled import CompiledTable
from om_graph.core.decisions.definitions import DecisionTableDef
from om_graph.core.decisions.errors import UnknownDecisionTable
from om_graph.core.decisions.models import DecisionTable, DecisionTableAudit, DecisionTableVersion
from om_graph.core.decisions.states import VersionStates

# --- reading -----------------------------------------------------------------------------------


class ActiveTables:
    """The active version of every table, compiled, as one unit of work saw them."""

    def __init__(self, tables: Mapping[str, CompiledTable], versions: Mapping[str, int]):
        self._tables = tables
        self._versions = versions

    def table(self, name: str) -> CompiledTable:
        try:
            return self._tables[name]
        except KeyError:
            raise UnknownDecisionTable(name) from None

    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.table(name).evaluate(inputs)

    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.table(name).first(inputs)

    def version(self, name: str) -> int:
        """The active version's number (0: the code's default, not stored yet)."""
        self.table(name)
        return self._versions.get(name, 0)

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    @property
    def names(self) -> list[str]:
        return sorted(self._tables)


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionView:
    id: int
    number: int
    status: str
    source: str
    comment: str
    definition: DecisionTableDef
    created_by: str
    created_at: datetime
    updated_at: datetime
    activated_by: str | None
    activated_at: datetime | None


@dataclass(frozen=True)
class AuditView:
    id: int
    action: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TableView:
    id: int
    name: str
    description: str
    default_source: str | None
    versions: tuple[VersionView, ...]  # newest first
    audit: tuple[AuditView, ...]  # newest first
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> VersionView | None:
        return next((v for v in self.versions if v.status == VersionStates.ACTIVE), None)

    @property
    def draft(self) -> VersionView | None:
        return next((v for v in self.versions if v.status == VersionStates.DRAFT), None)

    def version(self, number: int) -> VersionView | None:
        return next((v for v in self.versions if v.number == number), None)


@dataclass(frozen=True)
class TestResult:
    matched_rules: list[int]  # rule indexes (0-based), as the hit policy returns them
    outputs: list[dict[str, Any]]


def table_views(session: Session, tables: Sequence[DecisionTable]) -> list[TableView]:
    """The tables with their versions (newest first) and audit, in two statements."""
    ids = [t.id for t in tables]
    versions: dict[int, list[VersionView]] = {i: [] for i in ids}
    audits: dict[int, list[AuditView]] = {i: [] for i in ids}
    if ids:
        for v in session.scalars(
            select(DecisionTableVersion)
            .where(DecisionTableVersion.table_id.in_(ids))
            .order_by(DecisionTableVersion.table_id, DecisionTableVersion.number.desc())
        ):
            versions[v.table_id].append(
                VersionView(
                    v.id,
                    v.number,
                    v.status,
                    v.source,
                    v.comment,
                    from_json(v.definition),
                    v.created_by,
                    v.created_at,
                    v.updated_at,
                    v.activated_by,
                    v.activated_at,
                )
            )
        for a in session.scalars(
            select(DecisionTableAudit)
            .where(DecisionTableAudit.table_id.in_(ids))
            .order_by(DecisionTableAudit.table_id, DecisionTableAudit.id.desc())
        ):
            audits[a.table_id].append(AuditView(a.id, a.action, a.from_version, a.to_version, a.actor, a.reason, a.at))
    return [
        TableView(
            t.id,
            t.name,
            t.description,
            t.default_source,
            tuple(versions[t.id]),
            tuple(audits[t.id]),
            t.created_by,
            t.created_at,
            t.updated_at,
        )
        for t in tables
    ]
