"""Decision tables: the process admin's mutations (merged into ``Mutation`` by
``schema.build``). Thin: decode the input into a definition, one core call, the table read back.
Errors name the rule by index and the column by name (``rules.3.when.bandwidth``,
``outputs.1.type``); nothing is changed on failure."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from om_graph.core.decisions.codec import decode_value
from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule
from om_graph.core.decisions.error_codes import DecisionsErrorCode
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.mutations import UserError, _mutation
from om_graph.schema.types.decisions import (
    DecisionColumnType,
    DecisionConditionOp,
    DecisionHitPolicy,
    DecisionTable,
    DecisionTestResult,
)


@prepared_input
@strawberry.input(description="An input column.")
class DecisionInputColumnInput:
    name: str
    type: DecisionColumnType
    description: str = ""


@prepared_input
@strawberry.input(description="An output column; ``default`` is what a rule that does not give it yields.")
class DecisionOutputColumnInput:
    name: str
    type: DecisionColumnType
    default: JSON | None = None
    description: str = ""


@prepared_input
@strawberry.input(description="One condition of a rule: EQUALS value, IN values, RANGE minimum..maximum, ANY.")
class DecisionConditionInput:
    column: str
    op: DecisionConditionOp
    value: JSON | None = None
    values: list[JSON] | None = None
    minimum: JSON | None = None
    maximum: JSON | None = None
    minimum_inclusive: bool = True
    maximum_inclusive: bool = True


@prepared_input
@strawberry.input(description="One output value of a rule.")
class DecisionOutputValueInput:
    column: str
    value: JSON | None = None


@prepared_input
@strawberry.input(description="A rule: a condition per input column it tests, a value per output column it gives.")
class DecisionRuleInput:
    when: list[DecisionConditionInput] = strawberry.field(default_factory=list)
    then: list[DecisionOutputValueInput] = strawberry.field(default_factory=list)
    priority: int = 0
    description: str = ""


@prepared_input
@strawberry.input
class DecisionTableCreateInput:
    name: str = strawberry.field(description="Dot-separated words (approval.policy, acme.fibrePrice).")
    hit_policy: DecisionHitPolicy
    inputs: list[DecisionInputColumnInput]
    outputs: list[DecisionOutputColumnInput]
    rules: list[DecisionRuleInput]
    description: str = ""
    comment: str = strawberry.field(default="", description="Why: kept with the version and in the audit trail.")


@prepared_input
@strawberry.input
class DecisionTableDraftUpdateInput:
    name: str = strawberry.field(description="The table; its draft is replaced, or opened as the next version.")
    hit_policy: DecisionHitPolicy
    inputs: list[DecisionInputColumnInput]
    outputs: list[DecisionOutputColumnInput]
    rules: list[DecisionRuleInput]
    description: str = ""
    comment: str = ""
    expected_draft: int | None = strawberry.field(
        default=None, description="The draft number you edited: refused (STALE_DRAFT) if the draft is another by now."
    )


@prepared_input
@strawberry.input
class DecisionTableTestInput:
    name: str
    samples: list[JSON] = strawberry.field(description="Input rows: objects of column name to value (at most 100).")
    version: int | None = strawberry.field(default=None, description="Default: the draft, else the active version.")


@prepared_input
@strawberry.input
class DecisionTableActivateInput:
    name: str
    version: int = strawberry.field(description="The draft's number.")
    reason: str = strawberry.field(description="Kept in the audit trail (required).")


@prepared_input
@strawberry.input
class DecisionTableDraftDiscardInput:
    name: str
    version: int = strawberry.field(description="The draft's number (a stale number is refused).")
    reason: str = strawberry.field(description="Kept in the audit trail (required).")


@strawberry.type
class DecisionTableDraftDiscardPayload:
    table: DecisionTable | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@prepared_input
@strawberry.input
class DecisionTableRollbackInput:
    name: str
    version: int = strawberry.field(description="An earlier (retired) version to make active again.")
    reason: str = strawberry.field(description="Kept in the audit trail (required).")


@strawberry.type
class DecisionTableCreatePayload:
    table: DecisionTable | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecisionTableDraftUpdatePayload:
    table: DecisionTable | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecisionTableTestPayload:
    results: list[DecisionTestResult] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecisionTableActivatePayload:
    table: DecisionTable | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DecisionTableRollbackPayload:
    table: DecisionTable | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def to_definition(data: DecisionTableCreateInput | DecisionTableDraftUpdateInput) -> DecisionTableDef:
    """The definition an input describes; values decoded by their column's type (a number
    column's "12.50" is a Decimal). Two conditions or outputs for one column are refused."""
    in_types = {c.name: c.type.value for c in data.inputs}
    out_types = {c.name: c.type.value for c in data.outputs}
    errors: list[FieldError] = []
    rules = []
    for r, rule in enumerate(data.rules):
        when: dict[str, Condition] = {}
        for cond in rule.when:
            if cond.column in when:
                errors.append(
                    FieldError(f"rules.{r}.when.{cond.column}", "one condition per column", DecisionsErrorCode.DUPLICATE_COLUMN)
                )
                continue
            column_type = in_types.get(cond.column)

            def v(x: Any, column_type: str | None = column_type) -> Any:
                return decode_value(column_type, x)

            when[cond.column] = Condition(
                cond.op.value,
                value=v(cond.value),
                values=tuple(v(x) for x in cond.values or ()),
                minimum=v(cond.minimum),
                maximum=v(cond.maximum),
                minimum_inclusive=cond.minimum_inclusive,
                maximum_inclusive=cond.maximum_inclusive,
            )
        then: dict[str, Any] = {}
        for out in rule.then:
            if out.column in then:
                errors.append(
                    FieldError(f"rules.{r}.then.{out.column}", "one value per column", DecisionsErrorCode.DUPLICATE_COLUMN)
                )
                continue
            then[out.column] = decode_value(out_types.get(out.column), out.value)
        rules.append(Rule(when=when, then=then, priority=rule.priority, description=rule.description))
    if errors:
        raise ValidationFailed(errors)
    return DecisionTableDef(
        name=data.name,
        description=data.description,
        hit_policy=data.hit_policy.value,
        inputs=tuple(InputColumn(c.name, c.type.value, c.description) for c in data.inputs),
        outputs=tuple(
            OutputColumn(c.name, c.type.value, decode_value(c.type.value, c.default), c.description) for c in data.outputs
        ),
        rules=tuple(rules),
    )


def _samples(samples: list[Any]) -> list[dict[str, Any]]:
    errors = [
        FieldError(f"samples.{i}", "a sample is an object of column name to value", CommonErrorCode.INVALID_TYPE)
        for i, s in enumerate(samples)
        if not isinstance(s, dict)
    ]
    if errors:
        raise ValidationFailed(errors)
    return [dict(s) for s in samples]


@strawberry.type
class DecisionMutations:
    @_mutation("Create a decision table with its first version as a draft (activate it to use it). Process admins.")
    async def decision_table_create(self, info: Info, input: DecisionTableCreateInput) -> DecisionTableCreatePayload:
        ctx = info.context

        def call():
            return ctx.services.decisions.create_table(ctx.acting, to_definition(input), comment=input.comment)

        return DecisionTableCreatePayload(table=DecisionTable.from_view(await ctx.call(call)))

    @_mutation("Replace a table's draft, or open one (the next version number). Process admins.")
    async def decision_table_draft_update(
        self, info: Info, input: DecisionTableDraftUpdateInput
    ) -> DecisionTableDraftUpdatePayload:
        ctx = info.context

        def call():
            return ctx.services.decisions.update_draft(
                ctx.acting, to_definition(input), comment=input.comment, expected_draft=input.expected_draft
            )

        return DecisionTableDraftUpdatePayload(table=DecisionTable.from_view(await ctx.call(call)))

    @_mutation("Evaluate a version (default: the draft, else the active one) against sample inputs; writes nothing.")
    async def decision_table_test(self, info: Info, input: DecisionTableTestInput) -> DecisionTableTestPayload:
        ctx = info.context

        def call():
            return ctx.services.decisions.test(ctx.acting, input.name, _samples(input.samples), version=input.version)

        results = await ctx.call(call)
        return DecisionTableTestPayload(results=[DecisionTestResult.from_result(i, r) for i, r in enumerate(results)])

    @_mutation("Activate a draft: the next decision uses it; the active version is retired. Audited. Process admins.")
    async def decision_table_activate(self, info: Info, input: DecisionTableActivateInput) -> DecisionTableActivatePayload:
        ctx = info.context
        view = await ctx.call(ctx.services.decisions.activate, ctx.acting, input.name, input.version, reason=input.reason)
        return DecisionTableActivatePayload(table=DecisionTable.from_view(view))

    @_mutation(
        "Give up a draft: it is kept as a retired version, never active; the next edit opens a new draft. Audited. Process admins."
    )
    async def decision_table_draft_discard(
        self, info: Info, input: DecisionTableDraftDiscardInput
    ) -> DecisionTableDraftDiscardPayload:
        ctx = info.context
        view = await ctx.call(ctx.services.decisions.discard_draft, ctx.acting, input.name, input.version, reason=input.reason)
        return DecisionTableDraftDiscardPayload(table=DecisionTable.from_view(view))

    @_mutation("Make an earlier (retired) version active again; the active version is retired. Audited. Process admins.")
    async def decision_table_rollback(self, info: Info, input: DecisionTableRollbackInput) -> DecisionTableRollbackPayload:
        ctx = info.context
        view = await ctx.call(ctx.services.decisions.rollback, ctx.acting, input.name, input.version, reason=input.reason)
        return DecisionTableRollbackPayload(table=DecisionTable.from_view(view))
