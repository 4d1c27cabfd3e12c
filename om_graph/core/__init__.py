"""The domain: catalog, orders, decomposition, orchestration, inventory.

Nothing in this package imports strawberry, starlette or dramatiq; the GraphQL and worker layers
call into it through services and provide the ports in :mod:`om_graph.core.ports`.
"""
