"""Inventory: what customers have (TMF637 products), their contracts (agreements) and entitlements."""

from om_graph.core.inventory import states as _states  # noqa: F401  (binds the context's models to their machines)
