"""The GraphQL API (strawberry): thin resolvers over core services."""

from om_graph.schema.build import build_schema

__all__ = ["build_schema"]
