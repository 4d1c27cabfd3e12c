"""The schema: root types plus the extensions that keep it fast and safe."""

from __future__ import annotations

from functools import cache

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from om_graph.core.errors import DomainError
from om_graph.schema import permissions, types
from om_graph.schema.execution import PerEventMemoExecutionContext
from om_graph.schema.limits import IntrospectionGate, limit_extensions
from om_graph.schema.mutations import Mutation
from om_graph.schema.queries import Query
from om_graph.schema.subscriptions import Subscription


def _should_mask(error: GraphQLError) -> bool:
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, (DomainError, GraphQLError))


@cache
def build_schema() -> strawberry.Schema:
    permissions.apply([Query, Mutation, Subscription, *types.OBJECT_TYPES])
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=PerEventMemoExecutionContext,
        extensions=[
            *limit_extensions(),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            IntrospectionGate,
            lambda: MaskErrors(should_mask_error=_should_mask, error_message="Unexpected error."),
        ],
    )

