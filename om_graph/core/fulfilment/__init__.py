"""Fulfilment: decomposition of an accepted order into product, service and resource orders,
the orchestration plan of tasks, its execution in waves, the roll-up of states and the
reconciler that keeps the queue in step with the database."""

from om_graph.core.fulfilment import states as _states  # noqa: F401  (binds the context's models to their machines)
