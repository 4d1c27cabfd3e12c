"""Change management: in-flight revision of a running order (versions, diff, the compensation
plan), cancellation (TMF622 ``CancelProductOrder``), the point of no return, and changes to what
was sold (suspend, resume, tier and quantity changes)."""

from om_graph.core.change import states as _states  # noqa: F401  (binds the context's models to their machines)
