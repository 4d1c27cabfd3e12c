"""om-graph telecom pack (TSM): fibre broadband, SD-WAN sites and mobile plans.

The entry point ``om_graph: tsm`` loads ``om_graph_tsm.plugin.pack``, which implements every hook.
"""

PACK = "tsm"
__version__ = "0.1.0"
