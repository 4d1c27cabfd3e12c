"""The domain, one package per context, over a small shared kernel.

Contexts may import only the contexts before them in ``CONTEXTS`` (``tests/test_layering.py``
checks it): the kernel imports no context; ordering may use inventory (what a customer has, to
validate a change) but inventory knows orders only through the protocols it declares; fulfilment
writes inventory when lines complete; the lifecycle drives ordering and fulfilment; change
management revises and cancels running orders over all of them; the read side sees everything;
notification (TMF622's event hub) delivers the recorded events to registered listeners. ``services`` wires them; ``models`` collects every table for migrations and tests.

Nothing in this package imports strawberry, starlette or dramatiq; the GraphQL and worker layers
call into it through :mod:`om_graph.core.services` and provide the ports in
:mod:`om_graph.core.kernel.ports`.
"""

CONTEXTS = (
    "kernel",
    "access",
    "decisions",
    "catalog",
    "inventory",
    "pricing",
    "ordering",
    "fulfilment",
    "lifecycle",
    "change",
    "reads",
    "notification",
)
