"""om-graph technology-provider pack (TPSM): SaaS subscriptions and edge appliances shipped to sites.

The entry point ``om_graph: tpsm`` loads ``om_graph_tpsm.plugin.pack``, which implements every hook.
"""

PACK = "tpsm"
__version__ = "0.1.0"
