"""Abuse limits: query depth, aliases and tokens (static), introspection (per deployment)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FieldNode, GraphQLError, visit
from graphql.language import Visitor
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000


class _IntrospectionFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_):
        if node.name.value in ("__schema", "__type"):
            self.found = True


class IntrospectionGate(SchemaExtension):
    """Refuses introspection unless the request's context allows it (off in production).
    Listed after ValidationCache (whose cached result it must not be overwritten by) and acts
    before validation completes, so a cached validation result cannot bypass it."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        allowed = getattr(ctx.context, "allow_introspection", True)
        if not allowed and ctx.graphql_document is not None:
            finder = _IntrospectionFinder()
            visit(ctx.graphql_document, finder)
            if finder.found:
                ctx.pre_execution_errors = [
                    *(ctx.pre_execution_errors or []),
                    GraphQLError("introspection is disabled on this server", extensions={"code": "INTROSPECTION_DISABLED"}),
                ]
        yield


# The limiters build their validation rule classes when constructed. Building them once keeps
# the rules identical across requests, which the validation cache needs to hit (a fresh rule
# class per request would make every request re-validate its document).
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


def limit_extensions() -> list:
    return [
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
