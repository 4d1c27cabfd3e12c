"""Ordering: the customer order from capture to acceptance (validation against the catalog,
draft edits, submission, idempotent creation); later pricing and approval."""

from om_graph.core.ordering import states as _states  # noqa: F401  (binds the context's models to their machines)
