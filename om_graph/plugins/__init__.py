"""The plugin system: hook specifications, the manager factory, built-in plugins.

Packs write ``from om_graph.plugins import hookimpl``.
"""

import pluggy

from om_graph.plugins.hookspecs import PROJECT

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "PROJECT"]
