"""The schema: root types plus the extensions that keep it fast and safe."""

from __future__ import annotations

from functools import cache

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types

from om_graph.schema import errors as errors_module
from om_graph.schema import input_conversion, permissions, types
from om_graph.schema.approval_mutations import ApprovalMutations
from om_graph.schema.approval_queries import ApprovalQueries
from om_graph.schema.change_cancel import CancelMutations, CancelQueries
from om_graph.schema.change_revision import RevisionMutations, RevisionQueries
from om_graph.schema.decisions_mutations import DecisionMutations
from om_graph.schema.decisions_queries import DecisionQueries
from om_graph.schema.decomposition_mutations import DecompositionMutations
from om_graph.schema.execution import PerEventMemoExecutionContext
from om_graph.schema.fallout_mutations import FalloutMutations
from om_graph.schema.fallout_queries import FalloutQueries
from om_graph.schema.fallout_subscriptions import FalloutSubscriptions
from om_graph.schema.holds_mutations import HoldMutations
from om_graph.schema.hub_admin import HubMutations, HubQueries
from om_graph.schema.mutations import Mutation as CoreMutation
from om_graph.schema.pipeline import ExtensionsRunner, RequestPipeline
from om_graph.schema.preview import PreviewQueries
from om_graph.schema.queries import Query as CoreQuery
from om_graph.schema.subscriptions import Subscription
from om_graph.schema.viewer_queries import ViewerQueries
from om_graph.schema.work_queue_mutations import WorkQueueMutations
from om_graph.schema.work_queue_queries import WorkQueueQueries


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # Runs before MaskErrors, so unexpected errors are logged with their real cause.
        errors_module.process_errors(errors)

    def create_extensions_runner(self, execution_context, extensions):
        return ExtensionsRunner(execution_context=execution_context, extensions=extensions)


# The root types: the core's, and each feature module's fields merged in.
Query = merge_types("Query", (CoreQuery, ApprovalQueries, DecisionQueries, PreviewQueries, WorkQueueQueries))
Mutation = merge_types("Mutation", (CoreMutation, ApprovalMutations, DecisionMutations, HoldMutations, WorkQueueMutations))

# core/fulfilment/fallout.py: the fallout queue, its actions and live updates.
Query = merge_types("Query", (Query, FalloutQueries))
Mutation = merge_types("Mutation", (Mutation, FalloutMutations))
RootSubscription = merge_types("Subscription", (Subscription, FalloutSubscriptions))
# core/fulfilment/staggered.py: characteristics supplied to a line whose decomposition waits for them.
Mutation = merge_types("Mutation", (Mutation, DecompositionMutations))
# core/change/cancellation.py: TMF622 CancelProductOrder.
Query = merge_types("Query", (Query, CancelQueries))
Mutation = merge_types("Mutation", (Mutation, CancelMutations))
# core/change/revision.py: in-flight revision, order versions and their diff.
Query = merge_types("Query", (Query, RevisionQueries))
Mutation = merge_types("Mutation", (Mutation, RevisionMutations))
# core/notification/hub.py: TMF622's event hub, its listeners and deliveries (process admins).
Query = merge_types("Query", (Query, HubQueries))
Mutation = merge_types("Mutation", (Mutation, HubMutations))
# om_graph/web: who the caller is (the screens and actions their roles allow), and the packs installed.
Query = merge_types("Query", (Query, ViewerQueries))


@cache
def build_schema() -> strawberry.Schema:
    permissions.apply([Query, Mutation, RootSubscription, *types.OBJECT_TYPES])
    schema = _Schema(
        query=Query,
        mutation=Mutation,
        subscription=RootSubscription,
        types=[errors_module.ErrorCode],  # referenced by no field (codes are strings): listed for clients
        execution_context_class=PerEventMemoExecutionContext,
        extensions=[RequestPipeline],  # document cache, limits, introspection gate, error masking
    )
    input_conversion.install(schema)  # the marked input types' prepared from_input
    return schema
