"""Decision tables as the admin API shows them: tables, versions with their columns and rules as
typed objects, the audit trail, test results. Values that are genuinely dynamic (a condition's
value, an output's value: their type is the column's) are JSON scalars: numbers of ``NUMBER``
columns as strings (a Decimal keeps its digits), dates as ``YYYY-MM-DD``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from om_graph.core.decisions.codec import encode_value
from om_graph.core.decisions.definitions import COLUMN_TYPES, HIT_POLICIES, Condition, DecisionTableDef
from om_graph.core.decisions.states import VERSION
from om_graph.core.decisions.views import AuditView, TableView, TestResult, VersionView
from om_graph.schema.enums import _enum

if TYPE_CHECKING:

    class DecisionColumnType(Enum): ...

    class DecisionHitPolicy(Enum): ...

    class DecisionConditionOp(Enum): ...

    class DecisionTableVersionStatus(Enum): ...

else:
    DecisionColumnType = _enum("DecisionColumnType", COLUMN_TYPES, "The type of a decision table column's values.")
    DecisionHitPolicy = _enum(
        "DecisionHitPolicy",
        HIT_POLICIES,
        "FIRST: the first matching rule; UNIQUE: at most one rule can match (checked when saved); "
        "PRIORITY: the matching rule of highest priority; COLLECT: every matching rule, in order.",
    )
    DecisionConditionOp = _enum("DecisionConditionOp", ("any", "equals", "in", "range"), "How a rule tests an input column.")
    DecisionTableVersionStatus = _enum("DecisionTableVersionStatus", VERSION.states, "A decision table version's state.")


@strawberry.type(description="An input column: rules test it.")
class DecisionInputColumn:
    name: str
    type: DecisionColumnType
    description: str


@strawberry.type(description="An output column: rules give it; a rule that does not takes the default.")
class DecisionOutputColumn:
    name: str
    type: DecisionColumnType
    default: JSON | None
    description: str


@strawberry.type(description="A rule's test of one input column (a column a rule does not name matches anything).")
class DecisionCondition:
    column: str
    op: DecisionConditionOp
    value: JSON | None = strawberry.field(description="EQUALS: the value.")
    values: list[JSON] | None = strawberry.field(description="IN: the values.")
    minimum: JSON | None = strawberry.field(description="RANGE: the lower bound (null: open).")
    maximum: JSON | None = strawberry.field(description="RANGE: the upper bound (null: open).")
    minimum_inclusive: bool
    maximum_inclusive: bool


@strawberry.type(description="One output column's value.")
class DecisionOutputValue:
    column: str
    value: JSON | None


@strawberry.type(description="A rule: its conditions and outputs.")
class DecisionRule:
    index: int = strawberry.field(description="0-based: errors and test results name rules by it (rules.3.when.bandwidth).")
    when: list[DecisionCondition]
    then: list[DecisionOutputValue]
    priority: int = strawberry.field(description="PRIORITY hit policy only: the highest matching wins.")
    description: str


def condition(column: str, cond: Condition) -> DecisionCondition:
    return DecisionCondition(
        column=column,
        op=DecisionConditionOp(cond.op),
        value=encode_value(cond.value) if cond.op == "equals" else None,
        values=[encode_value(v) for v in cond.values] if cond.op == "in" else None,
        minimum=encode_value(cond.minimum) if cond.op == "range" else None,
        maximum=encode_value(cond.maximum) if cond.op == "range" else None,
        minimum_inclusive=cond.minimum_inclusive,
        maximum_inclusive=cond.maximum_inclusive,
    )


def output_values(values: dict[str, Any]) -> list[DecisionOutputValue]:
    return [DecisionOutputValue(column=k, value=encode_value(v)) for k, v in values.items()]


@strawberry.type(description="A numbered version of a table: its definition and where it is in its life.")
class DecisionTableVersion:
    number: int
    status: DecisionTableVersionStatus
    source: str = strawberry.field(description='"core", "pack:<name>" (a shipped default) or "admin:<user>".')
    comment: str
    hit_policy: DecisionHitPolicy
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    _definition: strawberry.Private[DecisionTableDef]

    @strawberry.field
    def inputs(self) -> list[DecisionInputColumn]:
        return [
            DecisionInputColumn(name=c.name, type=DecisionColumnType(c.type), description=c.description)
            for c in self._definition.inputs
        ]

    @strawberry.field
    def outputs(self) -> list[DecisionOutputColumn]:
        return [
            DecisionOutputColumn(
                name=c.name, type=DecisionColumnType(c.type), default=encode_value(c.default), description=c.description
            )
            for c in self._definition.outputs
        ]

    @strawberry.field(description="In evaluation order (rule index order).")
    def rules(self) -> list[DecisionRule]:
        return [
            DecisionRule(
                index=i,
                when=[condition(column, cond) for column, cond in rule.when.items()],
                then=output_values(dict(rule.then)),
                priority=rule.priority,
                description=rule.description,
            )
            for i, rule in enumerate(self._definition.rules)
        ]

    @classmethod
    def from_view(cls, v: VersionView) -> DecisionTableVersion:
        return cls(
            number=v.number,
            status=DecisionTableVersionStatus(v.status),
            source=v.source,
            comment=v.comment,
            hit_policy=DecisionHitPolicy(v.definition.hit_policy),
            description=v.definition.description,
            created_by=v.created_by,
            created_at=v.created_at,
            updated_at=v.updated_at,
            activated_by=v.activated_by,
            activated_at=v.activated_at,
            _definition=v.definition,
        )


@strawberry.type(
    description="One change of a table: creation, a draft edit, an activation, a rollback, a shipped default stored."
)
class DecisionTableAuditEntry:
    action: str = strawberry.field(description="created, draftUpdated, activated, rolledBack, defaultStored or defaultActivated.")
    from_version: int | None = strawberry.field(description="The version active before (activation, rollback).")
    to_version: int | None
    actor: str
    reason: str
    at: datetime

    @classmethod
    def from_view(cls, a: AuditView) -> DecisionTableAuditEntry:
        return cls(action=a.action, from_version=a.from_version, to_version=a.to_version, actor=a.actor, reason=a.reason, at=a.at)


@strawberry.type(description="A named, versioned decision table (DMN-like).")
class DecisionTable:
    name: str
    description: str
    default_source: str | None = strawberry.field(
        description='Where its default version comes from ("core", "pack:<name>"); null for a table an admin created.'
    )
    created_by: str
    created_at: datetime
    updated_at: datetime
    _view: strawberry.Private[TableView]

    @strawberry.field(description="The version orders are decided by now (null: none activated yet).")
    def active_version(self) -> DecisionTableVersion | None:
        v = self._view.active
        return DecisionTableVersion.from_view(v) if v else None

    @strawberry.field(description="The version being edited (at most one).")
    def draft(self) -> DecisionTableVersion | None:
        v = self._view.draft
        return DecisionTableVersion.from_view(v) if v else None

    @strawberry.field(description="Every version, newest first; or only the one numbered.")
    def versions(self, number: int | None = None) -> list[DecisionTableVersion]:
        return [DecisionTableVersion.from_view(v) for v in self._view.versions if number is None or v.number == number]

    @strawberry.field(description="Newest first (at most 100 unless asked for more).")
    def audit(self, first: int = 100) -> list[DecisionTableAuditEntry]:
        return [DecisionTableAuditEntry.from_view(a) for a in self._view.audit[: max(0, min(first, 1000))]]

    @classmethod
    def from_view(cls, t: TableView) -> DecisionTable:
        return cls(
            name=t.name,
            description=t.description,
            default_source=t.default_source,
            created_by=t.created_by,
            created_at=t.created_at,
            updated_at=t.updated_at,
            _view=t,
        )


@strawberry.type(description="A rule that a sample input hit, and what it gives.")
class DecisionTestHit:
    rule: int
    outputs: list[DecisionOutputValue]


@strawberry.type(description="What the tested version gives for one sample input.")
class DecisionTestResult:
    sample: int = strawberry.field(description="The sample's index.")
    hits: list[DecisionTestHit] = strawberry.field(description="As the hit policy returns them; empty when no rule hits.")

    @classmethod
    def from_result(cls, index: int, result: TestResult) -> DecisionTestResult:
        return cls(
            sample=index,
            hits=[
                DecisionTestHit(rule=r, outputs=output_values(o))
                for r, o in zip(result.matched_rules, result.outputs, strict=True)
            ],
        )
